//! `examples/my_cli.rs`, a program as a command-line tool (`forge_cli::App`): its `check`,
//! `sample` and `run` subcommands on the built-in document (no PATH), its Rust tool called
//! during a run on the in-process model (SmolLM2 from the model cache), and the usage errors
//! of a built-in document.
#![cfg(feature = "local")]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use forge::exec::SpanKind;
use forge::run::RunReader;

#[allow(dead_code)] // its `main` is the example's
#[path = "../examples/my_cli.rs"]
mod my_cli;

fn my_cli(args: &[&str]) -> ExitCode {
    my_cli::app().run_with(std::iter::once("my_cli").chain(args.iter().copied()))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("my_cli")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_builds_the_program_of_the_built_in_document() {
    assert_eq!(my_cli(&["check"]), ExitCode::SUCCESS);
    // The document is built in: a PATH is a usage error.
    assert_eq!(
        my_cli(&["check", "examples/my_cli.toml"]),
        ExitCode::from(2)
    );
    assert_eq!(
        my_cli(&["render", "examples/my_cli.toml"]),
        ExitCode::from(2)
    );
    assert_eq!(my_cli(&["no-such-subcommand"]), ExitCode::from(2));
    assert_eq!(my_cli(&["--help"]), ExitCode::SUCCESS);
}

#[test]
fn sample_writes_the_dataset_of_the_rust_program() {
    let dir = scratch("sample");
    let out = dir.join("samples.jsonl");
    let code = my_cli(&[
        "sample",
        "--count",
        "3",
        "--set",
        "topic=tea",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "a header and 3 samples: {text}");
    let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    // The extractions the Rust program declares (not one per tag).
    let names: Vec<&str> = header["workflow"]["extractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["drafts", "count", "verdict"]);
    assert!(
        lines[1].contains("Write one sentence about tea."),
        "{}",
        lines[1]
    );
    // Resumed, nothing is left to write; without `topic` bound, nothing is written.
    let resumed = my_cli(&[
        "sample",
        "--count",
        "3",
        "--set",
        "topic=tea",
        "--resume",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(resumed, ExitCode::SUCCESS);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    let unbound = dir.join("unbound.jsonl");
    let code = my_cli(&["sample", "--count", "1", "--out", unbound.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
}

#[test]
fn run_calls_the_rust_tool_on_the_in_process_model() {
    let model = forge::local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    let dir = scratch("run");
    let out = dir.join("runs.jsonl");
    let code = my_cli(&[
        "run",
        "--model",
        model.to_str().unwrap(),
        "--streams",
        "2",
        "--temperature",
        "0",
        "--max-zone-tokens",
        "12",
        "--set",
        "topic=tea",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let reader =
        RunReader::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap())).unwrap();
    let mut streams = 0;
    for line in reader {
        let line = line.unwrap();
        let t = line.outcome.unwrap_or_else(|f| panic!("{}", f.message));
        let spans: Vec<_> = t.spans().collect();
        // The one fed span is the Rust tool's word count of what the model wrote in the
        // zone before it (`repeat`'s answer, without the pattern that ended it).
        let fed: Vec<usize> = (0..spans.len())
            .filter(|&i| spans[i].kind == SpanKind::Fed)
            .collect();
        assert_eq!(fed.len(), 1, "{:#?}", spans);
        let fed_span = &spans[fed[0]];
        let asked = spans[..fed[0]]
            .iter()
            .rev()
            .find(|s| s.kind == SpanKind::Generated)
            .expect("the model answered before the feed")
            .visit;
        let input: String = spans
            .iter()
            .filter(|s| s.visit == asked && s.kind == SpanKind::Generated)
            .map(|s| s.text)
            .collect();
        let input = input.strip_suffix("[EOS]").unwrap_or(&input);
        assert_eq!(fed_span.text, my_cli::count_words(input), "{spans:#?}");
        assert!(fed_span.text.ends_with(" words."), "{}", fed_span.text);
        assert_eq!(
            t.extraction("count").unwrap(),
            [format!("{}[EOS]", fed_span.text)]
        );
        // The loop ran at most twice: at most 3 visits of its control zone.
        let again = spans
            .iter()
            .filter(|s| s.kind == SpanKind::Forced && s.text.contains("Could it be shorter?"))
            .count();
        assert!((1..=3).contains(&again), "{again}");
        streams += 1;
    }
    assert_eq!(streams, 2);
}
