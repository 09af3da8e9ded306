//! `forge run` against a loopback llama.cpp-style server (forge-http's test mock): the output
//! file, resuming it, and the errors found before and at connecting.

mod common;
#[path = "../../forge-http/tests/mock/mod.rs"]
mod mock;

use std::path::Path;
use std::sync::Arc;

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

/// A model that answers every prompt with two words and the zone's end pattern.
fn server() -> mock::Mock {
    mock::Mock::start(
        mock::Kind::LlamaCpp,
        Arc::new(|_: &str| mock::Output {
            tokens: vec![" fine".into(), " thanks".into(), " [A]".into()],
            eos: false,
        }),
    )
}

fn lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("out.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn streams_are_written_and_a_run_resumes() {
    let dir = setup("resume");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    let first = forge_run(&dir, &[&endpoint, "--streams=3"]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stderr.contains("3 finished, 0 failed"), "{first:#?}");
    let written = lines(&dir);
    assert_eq!(written.len(), 3);
    for line in &written {
        assert_eq!(line["status"], "finished");
        assert_eq!(line["endpoint"], server.url.as_str());
        // Zones: `[P]` (forced), ` hello` (tag Q, continued by the model), `[P]`, ` again`.
        assert_eq!(line["path"], serde_json::json!([0, 1, 2, 3]));
        // Each zone: the forced text, then the model's words and the pattern.
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
        assert_eq!(line["spans"][2]["tags"], serde_json::json!(["Q"]));
        assert_eq!(line["spans"][5]["tags"], serde_json::json!([]));
        assert_eq!(line["tokens"], 6);
        assert_eq!(
            line["extractions"]["Q"],
            serde_json::json!([" hello fine thanks [A]"])
        );
    }
    assert_eq!(server.seen().len(), 6);

    // Without --resume an existing file is refused, untouched.
    let before = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let refused = forge_run(&dir, &[&endpoint, "--streams=5"]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(
        refused.stderr.contains("pass --resume to continue it"),
        "{refused:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        before
    );

    // --resume runs only the missing streams, with the seeds an uninterrupted run would use.
    let resumed = forge_run(&dir, &[&endpoint, "--streams=5", "--resume"]);
    assert_eq!(resumed.code, 0, "{resumed:#?}");
    assert!(
        resumed
            .stderr
            .contains("2 finished, 0 failed, 3 already in the file"),
        "{resumed:#?}"
    );
    let after = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(server.seen().len(), 10);
    let fresh = setup("fresh");
    let whole = forge_run(&fresh, &[&endpoint, "--streams=5"]);
    assert_eq!(whole.code, 0, "{whole:#?}");
    let seeds = |lines: Vec<Value>| {
        let mut s: Vec<(u64, u64)> = lines
            .iter()
            .map(|l| (l["stream"].as_u64().unwrap(), l["seed"].as_u64().unwrap()))
            .collect();
        s.sort();
        s
    };
    assert_eq!(seeds(lines(&dir)), seeds(lines(&fresh)));
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
    std::fs::write(dir.join("out.jsonl"), "not json\n").unwrap();
    let server = server();
    let run = forge_run(&dir, &[&format!("--endpoint={}", server.url), "--resume"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("line 1: not a line of `forge run` output"),
        "{run:#?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        "not json\n"
    );
    assert!(server.seen().is_empty());
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
    let line = &lines(&dir)[0];
    assert_eq!(line["status"], "failed");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains("context ran out after 2 generated tokens")
            && error.contains("the slot holds 11 tokens, the request needed 17"),
        "{error}"
    );

    // Opted in: the zone is closed as ended by the full context; the next request no longer
    // fits at all, and the server refuses it.
    let run = forge_run(&dir, &[&endpoint, "--force", "--continue-on-full-context"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let line = &lines(&dir)[0];
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
