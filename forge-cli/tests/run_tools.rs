//! `forge run --tool NAME=COMMAND`: a declared program's tool bound to a script (stdin →
//! stdout, no shell), against a loopback llama.cpp-style server; a failing tool fails its
//! stream with the stderr tail, a slow one is killed at `--tool-timeout`, an unbound one is a
//! usage error before anything runs; calls run concurrently, at most `--max-tool-calls`.
#![cfg(unix)]

mod common;
#[path = "../../forge-http/tests/mock/mod.rs"]
mod mock;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Run, forge_in};
use serde_json::Value;

/// `ask` (its generated text goes to `check`), then `show` (fed the result). The argument
/// `topic` differs per stream (a list), and the model repeats it.
const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Out"]
default_max_token_length = 8
sequences = ["ask", "show"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["check"]

[[ask]]
text = "[P] topic {topic}:"
tags = [[]]
[ask.topic]
name = "topic"
type = "argument"
arguments = { num_samples = 1 }

[[show]]
text = "[P] result:"
tags = [["Out"]]

[program]
extract = { shown = ["Out"] }
[[program.step]]
capture = "ask"
tool = "check"
[[program.step]]
feed = "show"
"#;

fn setup(name: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = common::scratch("forge-cli-tools", name);
    std::fs::write(dir.join("doc.toml"), DOC).unwrap();
    std::fs::write(dir.join("topics.txt"), "good\nbad\n").unwrap();
    for (file, body) in scripts {
        let path = dir.join(file);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// A model that writes the topic it was asked about (` good`/` bad`) and ends the zone.
fn server() -> mock::Mock {
    mock::Mock::start(
        mock::Kind::LlamaCpp,
        Arc::new(|prompt: &str| {
            let word = if prompt.ends_with("topic bad:") {
                " bad"
            } else {
                " good"
            };
            mock::Output {
                tokens: vec![word.into(), " [A]".into()],
                eos: false,
            }
        }),
    )
}

fn run(dir: &Path, server: &mock::Mock, extra: &[&str]) -> Run {
    let endpoint = format!("--endpoint={}", server.url);
    let mut args = vec![
        "run",
        "doc.toml",
        "--out=out.jsonl",
        "--dialect=llama.cpp",
        "--streams=6",
        "--seed=3",
        "--list=topic=topics.txt",
        endpoint.as_str(),
    ];
    args.extend_from_slice(extra);
    forge_in(dir, &args)
}

fn lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("out.jsonl"))
        .unwrap_or_default()
        .lines()
        .skip(1) // the header
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_tool_script_upper_cases_its_input() {
    let dir = setup("upper", &[("upper.sh", "tr a-z A-Z")]);
    let server = server();
    let r = run(&dir, &server, &["--tool", "check=./upper.sh"]);
    assert_eq!(r.code, 0, "{r:#?}");
    let out = lines(&dir);
    assert_eq!(out.len(), 6);
    for line in &out {
        assert_eq!(line["status"], "finished", "{line}");
        let shown = line["extractions"]["shown"][0].as_str().unwrap();
        // The tool got the generated text (without the pattern that ended the zone).
        assert!(
            shown == " result: GOOD [A]" || shown == " result: BAD [A]",
            "{shown}"
        );
    }
}

#[test]
fn a_failing_tool_fails_its_stream_with_the_stderr_tail_and_others_finish() {
    let script = r#"input=$(cat)
case "$input" in
  *bad*) echo "cannot check:$input" >&2; exit 1 ;;
esac
printf 'checked%s' "$input""#;
    let dir = setup("fail", &[("check.sh", script)]);
    let server = server();
    let r = run(&dir, &server, &["--tool", "check=./check.sh"]);
    assert_eq!(r.code, 1, "a failed stream: {r:#?}");
    let out = lines(&dir);
    assert_eq!(out.len(), 6);
    let failed: Vec<&Value> = out.iter().filter(|l| l["status"] == "failed").collect();
    let finished: Vec<&Value> = out.iter().filter(|l| l["status"] == "finished").collect();
    assert!(!failed.is_empty() && !finished.is_empty(), "{out:#?}");
    for line in failed {
        let error = line["error"]["message"].as_str().unwrap();
        assert!(error.contains("tool `check`"), "{error}");
        assert!(error.contains("exit status 1"), "{error}");
        assert!(error.contains("cannot check: bad"), "{error}");
    }
    for line in finished {
        assert_eq!(line["extractions"]["shown"][0], " result:checked good [A]");
    }
}

#[test]
fn a_tool_past_its_timeout_is_killed_and_fails_its_stream() {
    let dir = setup("slow", &[("slow.sh", "cat > /dev/null\nsleep 30")]);
    let server = server();
    let start = std::time::Instant::now();
    let r = run(
        &dir,
        &server,
        &["--tool", "check=./slow.sh", "--tool-timeout", "0.3"],
    );
    assert!(start.elapsed().as_secs() < 20, "the tool was not killed");
    assert_eq!(r.code, 1, "{r:#?}");
    let out = lines(&dir);
    assert_eq!(out.len(), 6);
    for line in &out {
        assert_eq!(line["status"], "failed");
        let error = line["error"]["message"].as_str().unwrap();
        assert!(error.contains("ran longer than 0.3 s"), "{error}");
    }
}

#[test]
fn an_unbound_declared_tool_is_a_usage_error_and_nothing_runs() {
    let dir = setup("unbound", &[]);
    let server = server();
    let r = run(&dir, &server, &[]);
    common::assert_usage_error(&r, "tool `check`, which no --tool binds");
    assert!(!dir.join("out.jsonl").exists());
    assert_eq!(server.seen().len(), 0, "nothing was sent to the model");
    let r = run(&dir, &server, &["--tool", "chek=cat"]);
    common::assert_usage_error(&r, "did you mean `check`?");
    let r = run(&dir, &server, &["--tool", "check=cat 'open"]);
    common::assert_usage_error(&r, "never closed");
}

/// The most calls of `calls.sh` that were running at once: each call marks itself in
/// `calls/`, waits `secs`, and logs how many marks it sees.
fn most_at_once(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("counts.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse::<usize>().unwrap())
        .max()
        .unwrap()
}

fn counting(secs: &str) -> String {
    format!(
        "cat > /dev/null\nmkdir -p calls\ntouch calls/$$\nsleep {secs}\nls calls | wc -l >> counts.txt\nrm calls/$$\nprintf ' ok'"
    )
}

#[test]
fn tool_calls_run_concurrently_at_most_max_tool_calls_at_once() {
    let dir = setup("concurrent", &[("calls.sh", &counting("1"))]);
    let server = server();
    let r = run(
        &dir,
        &server,
        &["--tool", "check=./calls.sh", "--max-tool-calls", "3"],
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(lines(&dir).len(), 6);
    let most = most_at_once(&dir);
    assert!((2..=3).contains(&most), "{most} calls at once");

    let dir = setup("one-at-a-time", &[("calls.sh", &counting("0.2"))]);
    let r = run(
        &dir,
        &server,
        &["--tool", "check=./calls.sh", "--max-tool-calls", "1"],
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(most_at_once(&dir), 1);
    let r = run(
        &dir,
        &server,
        &["--tool", "check=cat", "--max-tool-calls", "0"],
    );
    assert_eq!(r.code, 2, "{r:#?}");
}
