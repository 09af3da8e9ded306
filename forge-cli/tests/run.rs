//! `forge run` against a loopback llama.cpp-style server (forge-http's test mock): the run
//! file, resuming it (also after `kill -9`), the retry pass, shards and `forge merge`, and
//! the errors found before and at connecting.

mod common;
#[path = "../../forge-http/tests/mock/mod.rs"]
mod mock;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Run, forge_in};
use serde_json::Value;

const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Q"]
default_max_token_length = 8
sequences = ["q", "r"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[q]]
text = "[P] hello"
tags = [["Q"]]

[[r]]
text = "[P] again"
tags = [[]]
"#;

fn setup(name: &str) -> std::path::PathBuf {
    let dir = common::scratch("forge-cli-run", name);
    std::fs::write(dir.join("doc.toml"), DOC).unwrap();
    dir
}

fn forge_run(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["run", "doc.toml", "--out=out.jsonl", "--dialect=llama.cpp"];
    args.extend_from_slice(extra);
    forge_in(dir, &args)
}

/// A model that answers every prompt with two words and the zone's end pattern, after
/// `delay`.
fn server_with_delay(delay: Duration) -> mock::Mock {
    mock::Mock::start(
        mock::Kind::LlamaCpp,
        Arc::new(move |_: &str| {
            std::thread::sleep(delay);
            mock::Output {
                tokens: vec![" fine".into(), " thanks".into(), " [A]".into()],
                eos: false,
            }
        }),
    )
}

fn server() -> mock::Mock {
    server_with_delay(Duration::ZERO)
}

/// The header and the stream lines of `dir/name`.
fn read(dir: &Path, name: &str) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

#[test]
fn streams_are_written_and_a_cut_run_resumes_to_the_same_bytes() {
    let dir = setup("resume");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    let first = forge_run(&dir, &[&endpoint, "--streams=5", "--seed=3"]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stderr.contains("5 finished, 0 failed"), "{first:#?}");
    assert!(first.stderr.contains("zone visits ended by:"), "{first:#?}");
    let (header, written) = read(&dir, "out.jsonl");
    assert_eq!(header["format"], "forge-run");
    assert_eq!(header["seed"], 3);
    assert_eq!(header["range"], serde_json::json!([0, 5]));
    assert_eq!(header["generator"]["engine"]["kind"], "http");
    assert_eq!(header["generator"]["engine"]["dialect"], "llama.cpp");
    assert!(header["generator"]["resources"]["document"].is_string());
    assert_eq!(written.len(), 5);
    for (i, line) in written.iter().enumerate() {
        assert_eq!(line["index"], i);
        // The dataset seed, never a derived one.
        assert_eq!(line["seed"], 3);
        assert_eq!(line["status"], "finished");
        // Zones: `[P]` (forced), ` hello` (tag Q, continued by the model), `[P]`, ` again`.
        let zones: Vec<u64> = line["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["zone"].as_u64().unwrap())
            .collect();
        assert_eq!(zones, [0, 1, 2, 3]);
        let texts: Vec<&str> = line["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            [
                "[P]",
                " hello",
                " fine thanks [A]",
                "[P]",
                " again",
                " fine thanks [A]"
            ]
        );
        assert_eq!(line["spans"][2]["kind"], "generated");
        assert_eq!(line["spans"][2]["zone"], 1);
        let tokens: u64 = line["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["tokens"].as_u64().unwrap())
            .sum();
        assert_eq!(tokens, 6);
        assert_eq!(
            line["extractions"]["Q"],
            serde_json::json!([" hello fine thanks [A]"])
        );
    }
    assert_eq!(server.seen().len(), 10);
    let whole = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();

    // Without --resume an existing file is refused, untouched.
    let refused = forge_run(&dir, &[&endpoint, "--streams=5", "--seed=3"]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(
        refused.stderr.contains("pass --resume to continue it"),
        "{refused:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        whole
    );

    // Cut in the fourth stream line: --resume cuts the torn line and runs streams 3 and 4.
    let cut: usize = whole.lines().take(4).map(|l| l.len() + 1).sum::<usize>() + 30;
    std::fs::write(dir.join("out.jsonl"), &whole[..cut]).unwrap();
    let resumed = forge_run(&dir, &[&endpoint, "--streams=5", "--seed=3", "--resume"]);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert!(
        resumed
            .stderr
            .contains("2 finished, 0 failed, 3 already in the file"),
        "{resumed:#?}"
    );
    assert!(resumed.stderr.contains("torn line"), "{resumed:#?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        whole
    );
}

#[test]
fn resume_refuses_another_document_set_list_or_option_naming_it() {
    let dir = setup("refuse");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    std::fs::write(dir.join("items.txt"), "a\nb\n").unwrap();
    std::fs::write(dir.join("other.txt"), "a\nc\n").unwrap();
    let doc = DOC.replace("text = \"[P] again\"", "text = \"[P] again {x} {y}\"")
        + "[r.x]\nname = \"x\"\n[r.y]\nname = \"y\"\narguments = { num_samples = 1 }\n";
    std::fs::write(dir.join("doc.toml"), &doc).unwrap();
    let base = ["--streams=4", "--set=x=1", "--list=y=items.txt"];
    let first = forge_run(&dir, &[&endpoint, base[0], base[1], base[2]]);
    assert_eq!(first.code, 0, "{first:#?}");
    let cut = {
        let text = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
        let keep: usize = text.lines().take(2).map(|l| l.len() + 1).sum();
        text[..keep].to_owned()
    };
    let cases: [(&[&str], &str); 5] = [
        (
            &["--streams=4", "--set=x=2", "--list=y=items.txt"],
            "resources.x.set",
        ),
        (
            &["--streams=4", "--set=x=1", "--list=y=other.txt"],
            "resources.y.list.fnv1a64",
        ),
        (
            &["--streams=4", "--set=x=1", "--list=y=items.txt", "--seed=9"],
            "`seed`",
        ),
        (
            &["--streams=6", "--set=x=1", "--list=y=items.txt"],
            "`range[1]`",
        ),
        (
            &[
                "--streams=4",
                "--set=x=1",
                "--list=y=items.txt",
                "--temperature=0",
            ],
            "generator.sampling.temperature",
        ),
    ];
    for (args, field) in cases {
        std::fs::write(dir.join("out.jsonl"), &cut).unwrap();
        let mut all = vec![endpoint.as_str(), "--resume"];
        all.extend_from_slice(args);
        let run = forge_run(&dir, &all);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stderr.contains("belongs to another run"), "{run:#?}");
        assert!(run.stderr.contains(field), "{field}: {run:#?}");
        assert_eq!(std::fs::read_to_string(dir.join("out.jsonl")).unwrap(), cut);
    }
    // Another document (same shape, other text).
    std::fs::write(dir.join("doc.toml"), doc.replace("[P] hello", "[P] howdy")).unwrap();
    std::fs::write(dir.join("out.jsonl"), &cut).unwrap();
    let run = forge_run(&dir, &[&endpoint, "--resume", base[0], base[1], base[2]]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("resources.document"), "{run:#?}");
    assert_eq!(std::fs::read_to_string(dir.join("out.jsonl")).unwrap(), cut);
}

#[test]
fn a_run_whose_streams_all_failed_is_completed_by_the_retry_pass() {
    let dir = setup("retry");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    server.inject((0..4).map(|_| mock::Fault::Status(400, "bad request", None)));
    let failed = forge_run(
        &dir,
        &[
            &endpoint,
            "--streams=4",
            "--max-in-flight=1",
            "--error-budget=100",
        ],
    );
    assert_eq!(failed.code, 1, "{failed:#?}");
    assert!(
        failed.stderr.contains("0 finished, 4 failed"),
        "{failed:#?}"
    );
    let (_, lines) = read(&dir, "out.jsonl");
    assert!(lines.iter().all(|l| l["status"] == "failed"));
    assert!(
        lines[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream 2")
    );
    // Resume has nothing to run, and says how to run the failed streams again.
    let resumed = forge_run(
        &dir,
        &[
            &endpoint,
            "--streams=4",
            "--max-in-flight=1",
            "--error-budget=100",
            "--resume",
        ],
    );
    assert_eq!(resumed.code, 1, "{resumed:#?}");
    assert!(resumed.stderr.contains("--retry-failed"), "{resumed:#?}");
    let retried = forge_run(
        &dir,
        &[
            &endpoint,
            "--streams=4",
            "--max-in-flight=1",
            "--error-budget=100",
            "--retry-failed",
        ],
    );
    assert_eq!(retried.code, 0, "{retried:#?}");
    assert!(
        retried.stderr.contains("4 finished, 0 failed"),
        "{retried:#?}"
    );
    let fresh = setup("retry-fresh");
    let whole = forge_in(
        &fresh,
        &[
            "run",
            "doc.toml",
            "--out=out.jsonl",
            "--dialect=llama.cpp",
            &endpoint,
            "--streams=4",
            "--max-in-flight=1",
            "--error-budget=100",
        ],
    );
    assert_eq!(whole.code, 0, "{whole:#?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        std::fs::read_to_string(fresh.join("out.jsonl")).unwrap()
    );
}

#[test]
fn a_killed_run_resumed_gives_the_uninterrupted_bytes() {
    let server = server_with_delay(Duration::from_millis(5));
    let endpoint = format!("--endpoint={}", server.url);
    let args = ["--streams=300", "--max-in-flight=8", "--seed=5"];
    let whole = setup("kill-whole");
    let run = forge_run(&whole, &[&endpoint, args[0], args[1], args[2]]);
    assert_eq!(run.code, 0, "{run:#?}");
    let expected = std::fs::read(whole.join("out.jsonl")).unwrap();

    let dir = setup("kill");
    let mut child = Command::new(common::FORGE)
        .args([
            "run",
            "doc.toml",
            "--out=out.jsonl",
            "--dialect=llama.cpp",
            &endpoint,
        ])
        .args(args)
        .current_dir(&dir)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let len = std::fs::metadata(dir.join("out.jsonl")).map_or(0, |m| m.len());
        if len as usize > expected.len() / 3 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let cut = std::fs::read(dir.join("out.jsonl")).unwrap();
    assert!(
        cut.len() < expected.len(),
        "the run finished before it was killed"
    );
    assert!(expected.starts_with(&cut));
    let resumed = forge_run(&dir, &[&endpoint, args[0], args[1], args[2], "--resume"]);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert!(std::fs::read(dir.join("out.jsonl")).unwrap() == expected);
}

#[test]
fn shards_merge_into_the_single_process_file() {
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    let dir = setup("shards");
    let single = forge_in(
        &dir,
        &[
            "run",
            "doc.toml",
            "--out=single.jsonl",
            "--dialect=llama.cpp",
            &endpoint,
            "--streams=64",
            "--max-in-flight=7",
        ],
    );
    assert_eq!(single.code, 0, "{single:#?}");
    let mut shards = Vec::new();
    for k in 0..4 {
        let out = format!("--out=shard{k}.jsonl");
        let shard = format!("--shard={k}/4");
        let run = forge_in(
            &dir,
            &[
                "run",
                "doc.toml",
                &out,
                "--dialect=llama.cpp",
                &endpoint,
                "--streams=64",
                &shard,
            ],
        );
        assert_eq!(run.code, 0, "{run:#?}");
        shards.push(format!("shard{k}.jsonl"));
    }
    // `--shard env/4` reads the shard number from a Kubernetes Indexed Job's variable.
    let env_shard = Command::new(common::FORGE)
        .args([
            "run",
            "doc.toml",
            "--out=env2.jsonl",
            "--dialect=llama.cpp",
            &endpoint,
            "--streams=64",
            "--shard=env/4",
        ])
        .env("JOB_COMPLETION_INDEX", "2")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(env_shard.status.success(), "{env_shard:?}");
    assert_eq!(
        std::fs::read(dir.join("env2.jsonl")).unwrap(),
        std::fs::read(dir.join("shard2.jsonl")).unwrap()
    );
    let mut args = vec!["merge", "merged.jsonl"];
    args.extend(shards.iter().map(String::as_str));
    let merged = forge_in(&dir, &args);
    assert_eq!(merged.code, 0, "{merged:#?}");
    assert_eq!(
        std::fs::read(dir.join("merged.jsonl")).unwrap(),
        std::fs::read(dir.join("single.jsonl")).unwrap()
    );
    // A gap, and an overlap: refused, nothing written.
    for (list, message) in [
        (vec![&shards[0], &shards[2]], "(a gap)"),
        (vec![&shards[0], &shards[1], &shards[1]], "overlap"),
    ] {
        let mut args = vec!["merge", "refused.jsonl"];
        args.extend(list.iter().map(|s| s.as_str()));
        let run = forge_in(&dir, &args);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stderr.contains(message), "{run:#?}");
        assert!(!dir.join("refused.jsonl").exists());
    }
}

#[test]
fn zero_streams_exit_at_once_and_a_missing_directory_is_named() {
    let dir = setup("zero");
    // No server, no model: nothing is loaded for an empty run.
    let run = forge_run(&dir, &["--streams=0"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("no streams to run"), "{run:#?}");
    assert!(!dir.join("out.jsonl").exists());
    let missing = forge_in(
        &dir,
        &[
            "run",
            "doc.toml",
            "--streams=3",
            "--endpoint=http://127.0.0.1:9",
            "--out=no/such/dir/out.jsonl",
        ],
    );
    assert_eq!(missing.code, 2, "{missing:#?}");
    assert!(
        missing
            .stderr
            .contains("the directory `no/such/dir` does not exist"),
        "{missing:#?}"
    );
}

#[test]
fn the_widest_run_starts_lazily_and_ctrl_c_drains_it() {
    let dir = setup("widest");
    let server = server_with_delay(Duration::from_millis(2));
    let child = Command::new(common::FORGE)
        .args(["run", "doc.toml", "--out=out.jsonl", "--dialect=llama.cpp"])
        .arg(format!("--endpoint={}", server.url))
        .args(["--streams=4294967295", "--max-in-flight=4", "--log-every=1"])
        .current_dir(&dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(dir.join("out.jsonl")).map_or(0, |t| t.lines().count()) < 20 {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Long enough for a log line (every second without a terminal).
    std::thread::sleep(Duration::from_millis(1500));
    // Memory does not follow the number of streams.
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    if let Some(rss) = status.lines().find(|l| l.starts_with("VmRSS:")) {
        let kb: u64 = rss.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(kb < 200 * 1024, "{rss}");
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: starting no new stream"),
        "{stderr}"
    );
    assert!(stderr.contains("not started"), "{stderr}");
    assert!(
        !stderr.contains("in flight when stopped"),
        "drained: {stderr}"
    );
    // Without a terminal, progress is logged.
    assert!(stderr.contains("streams written"), "{stderr}");
    let text = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    for (i, line) in text.lines().skip(1).enumerate() {
        assert!(line.starts_with(&format!("{{\"index\":{i},")), "{line}");
    }
}

#[test]
fn a_run_needs_an_endpoint() {
    let dir = setup("no_endpoint");
    common::assert_usage_error(&forge_run(&dir, &[]), "--endpoint");
    common::assert_usage_error(
        &forge_run(&dir, &["--endpoint=localhost:8080"]),
        "has no scheme",
    );
}

#[test]
fn an_unreachable_server_is_reported_before_running() {
    let dir = setup("unreachable");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = forge_run(&dir, &[&format!("--endpoint={url}")]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(&url) && run.stderr.contains("cannot reach"),
        "{run:#?}"
    );
}

#[test]
fn a_foreign_output_file_is_not_resumed() {
    let dir = setup("foreign");
    let server = server();
    let cases = [
        ("not json\n", "the header is not JSON"),
        (
            "{\"format\":\"forge-run\",\"version\":99}\n",
            "run format version 99",
        ),
        (
            "{\"format\":\"forge-run\",\"vers",
            "the header line is incomplete",
        ),
    ];
    for (contents, message) in cases {
        std::fs::write(dir.join("out.jsonl"), contents).unwrap();
        let run = forge_run(&dir, &[&format!("--endpoint={}", server.url), "--resume"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stderr.contains(message), "{run:#?}");
        assert!(run.stderr.contains("nothing was changed"), "{run:#?}");
        assert_eq!(
            std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
            contents
        );
    }
}

#[test]
fn stream_i_runs_line_i_of_forge_sample() {
    let dir = setup("aligned");
    std::fs::write(dir.join("colours.txt"), "red\ngreen\nblue\n").unwrap();
    let doc = DOC.replace("text = \"[P] again\"", "text = \"[P] again {c}\"")
        + "[r.c]\nname = \"c\"\narguments = { num_samples = 1 }\n";
    std::fs::write(dir.join("doc.toml"), doc).unwrap();
    let server = server();
    let run = forge_run(
        &dir,
        &[
            &format!("--endpoint={}", server.url),
            "--streams=6",
            "--seed=4",
            "--list=c=colours.txt",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let sample = forge_in(
        &dir,
        &[
            "sample",
            "doc.toml",
            "--count=6",
            "--seed=4",
            "--list=c=colours.txt",
            "--out=data.jsonl",
        ],
    );
    assert_eq!(sample.code, 0, "{sample:#?}");
    let (_, runs) = read(&dir, "out.jsonl");
    let (_, samples) = read(&dir, "data.jsonl");
    let mut colours = Vec::new();
    for (r, s) in runs.iter().zip(&samples) {
        assert_eq!(r["index"], s["index"]);
        assert_eq!(r["seed"], s["seed"]);
        let forced: String = r["spans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|span| span["kind"] == "forced")
            .map(|span| span["text"].as_str().unwrap())
            .collect();
        let zones: String = s["zones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z.as_str().unwrap())
            .collect();
        assert_eq!(forced, zones, "stream {}", r["index"]);
        colours.push(s["zones"][3].as_str().unwrap().to_owned());
    }
    // The list sampler's cycle spans the run's streams: 3 streams, 3 colours.
    let mut first: Vec<_> = colours[..3].to_vec();
    first.sort();
    first.dedup();
    assert_eq!(first.len(), 3, "{colours:?}");
}

/// A server whose slots hold 11 tokens: the first zone's 9-token prompt leaves room for 2 of
/// its 8 tokens.
fn small_server() -> mock::Mock {
    mock::Mock::start_with(
        mock::Kind::LlamaCpp,
        Arc::new(|_: &str| mock::Output {
            tokens: vec![" fine".into(), " thanks".into(), " [A]".into()],
            eos: false,
        }),
        mock::Options {
            context: Some(11),
            ..mock::Options::default()
        },
    )
}

#[test]
fn a_full_context_is_foreseen_and_fails_the_stream_unless_asked_to_go_on() {
    let dir = setup("full_context");
    let server = small_server();
    let endpoint = format!("--endpoint={}", server.url);
    let run = forge_run(&dir, &[&endpoint]);
    assert_eq!(run.code, 1, "a failed stream: {run:#?}");
    // Foreseen before the run, from the slot context the probe read.
    assert!(
        run.stderr.contains("warning: a stream may need about")
            && run.stderr.contains("a server slot holds 11"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("0 finished, 1 failed"), "{run:#?}");
    let line = &read(&dir, "out.jsonl").1[0];
    assert_eq!(line["status"], "failed");
    let error = line["error"]["message"].as_str().unwrap();
    assert!(
        error.contains("context ran out after 2 generated tokens")
            && error.contains("the slot holds 11 tokens, the request needed 17"),
        "{error}"
    );

    // Opted in: the zone is closed as ended by the full context; the next request no longer
    // fits at all, and the server refuses it.
    let run = forge_run(&dir, &[&endpoint, "--force", "--continue-on-full-context"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let line = &read(&dir, "out.jsonl").1[0];
    let text = line.to_string();
    assert!(text.contains("context_full"), "{text}");
    assert!(
        text.contains("exceeds the available context size"),
        "{text}"
    );
}

#[test]
fn forge_probe_prints_what_was_detected() {
    let dir = setup("probe");
    let server = server();
    let probe = forge_in(&dir, &["probe", &server.url]);
    assert_eq!(probe.code, 0, "{probe:#?}");
    for part in [
        "server    llama.cpp (llama-server), version b-mock",
        "dialect   llama.cpp (POST /completion)",
        "model     mock-model",
        "context   4096 tokens per slot, 4 slots",
        "\"top_k\":0",
        "repeat_penalty 1.1 → 1",
    ] {
        assert!(probe.stdout.contains(part), "{part:?} in {}", probe.stdout);
    }
    // Nothing listens here: an error naming the address, exit 2.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let failed = forge_in(&dir, &["probe", &url]);
    assert_eq!(failed.code, 2, "{failed:#?}");
    assert!(
        failed.stderr.contains(&url) && failed.stderr.contains("cannot reach"),
        "{failed:#?}"
    );
}

/// Two million streams against a server that is down: the run fails within seconds, with no
/// stream sampled ahead (an eager run sampled all 2,000,000 workflows first: 5.6 GB and 46 s
/// before the first request). The address space is capped at 1 GiB, which the eager run
/// could not have lived in; the peak resident size measured by hand is in BENCHMARKS.md.
#[test]
fn two_million_streams_against_a_down_server_fail_fast_in_bounded_memory() {
    let dir = setup("down");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
        .arg(common::FORGE)
        .args(["run", "doc.toml", "--out=out.jsonl", "--dialect=llama.cpp"])
        .arg(format!("--endpoint=http://127.0.0.1:{port}"))
        .args(["--streams=2000000", "--retries=0"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 2: the server cannot be reached, found before any stream starts.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}: {stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("cannot reach the server"), "{stderr}");
    assert!(!stderr.contains("memory allocation"), "{stderr}");
}
