//! `forge_cli::App`: a program built into a binary gets `forge`'s subcommands without a PATH,
//! with its own program closure and Rust tools, run in process here against a loopback
//! llama.cpp-style server: the Rust tool's result lands in the run file, `--tool` replaces it,
//! resume works, and the built-in document's usage errors (a PATH, a custom resource set from
//! the command line, an unbound tool) exit 2 before anything runs.

#![cfg(unix)] // `--tool` runs `tr`

#[path = "../../forge-http/tests/mock/mod.rs"]
mod mock;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use forge_cli::App;
use forge_core::exec::Tools;
use forge_core::program::{Call, Program, ProgramError};
use forge_core::udpl::{self, Document};
use serde_json::Value;

/// `ask` (its generated text goes to `count`), `show` (fed the result), `end` (custom
/// resource `mood`). No `[program]`: the closure builds it.
const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Asked", "Out"]
default_max_token_length = 8
sequences = ["ask", "show", "end"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["count"]

[[ask]]
text = "[P] about {topic}:"
tags = [["Asked"]]
[ask.topic]
name = "topic"
type = "argument"

[[show]]
text = "[P] counted:"
tags = [["Out"]]

[[end]]
text = "[P] bye, {mood}"
tags = [[]]
[end.mood]
name = "mood"
type = "custom"
"#;

fn document() -> Arc<Document> {
    Arc::new(udpl::parse_str(DOC, "doc.toml").unwrap().document)
}

/// capture(ask, count); feed(show); run(end, mood = "glad"); extraction `shown`.
fn program(p: &mut Program) -> Result<(), ProgramError> {
    p.capture("ask", "count")?;
    p.feed("show")?;
    p.run(Call::new("end").with("mood", "glad"))?;
    p.extract("shown", &["Out"])?;
    Ok(())
}

/// The Rust tool `count`: the number of words it was given.
fn tools() -> Tools {
    let mut tools = Tools::new(["count"]);
    tools
        .add("count", |text: &str| {
            Ok::<_, std::io::Error>(format!(" {} words", text.split_whitespace().count()))
        })
        .unwrap();
    tools
}

fn app() -> App {
    App::new(document())
        .name("words")
        .tools(tools())
        .program(program)
}

fn words(app: App, dir: &Path, args: &[&str]) -> ExitCode {
    let args: Vec<String> = std::iter::once("words")
        .chain(args.iter().copied())
        .map(|a| a.replace("{dir}", dir.to_str().unwrap()))
        .collect();
    app.run_with(args)
}

/// A model that writes three words and ends the zone.
fn server() -> mock::Mock {
    mock::Mock::start(
        mock::Kind::LlamaCpp,
        Arc::new(|_: &str| mock::Output {
            tokens: vec![" one".into(), " two three".into(), " [A]".into()],
            eos: false,
        }),
    )
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A fresh, empty folder under `CARGO_TARGET_TMPDIR`.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("forge-cli-app")
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn run_calls_the_rust_tool_and_resumes() {
    let dir = scratch("run");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            endpoint.as_str(),
            "--dialect=llama.cpp",
            "--streams=3",
            "--set=topic=tea",
            "--out={dir}/out.jsonl",
        ];
        args.extend_from_slice(extra);
        words(app(), &dir, &args)
    };
    assert_eq!(run(&[]), ExitCode::SUCCESS);
    let out = lines(&dir.join("out.jsonl"));
    assert_eq!(out.len(), 4, "a header and 3 streams");
    for line in &out[1..] {
        assert_eq!(line["status"], "finished", "{line}");
        // The Rust tool counted the model's three words; the closure bound `mood`.
        assert_eq!(line["extractions"]["shown"][0], " counted: 3 words[A]");
        assert_eq!(line["extractions"].as_object().unwrap().len(), 1);
    }
    let header = &out[0];
    assert_eq!(header["generator"]["tools"], serde_json::json!(["count"]));
    let text = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    assert!(text.contains(" bye, glad"), "{text}");
    // Resumed, the file is complete already: nothing changes.
    assert_eq!(run(&["--resume"]), ExitCode::SUCCESS);
    assert_eq!(
        std::fs::read_to_string(dir.join("out.jsonl")).unwrap(),
        text
    );
    // `--tool` replaces the Rust tool for a run.
    assert_eq!(
        run(&["--force", "--tool=count=tr a-z A-Z"]),
        ExitCode::SUCCESS
    );
    let out = lines(&dir.join("out.jsonl"));
    assert_eq!(
        out[1]["extractions"]["shown"][0],
        " counted: ONE TWO THREE [A]"
    );
}

#[test]
fn without_a_closure_the_default_program_runs_with_one_extraction_per_tag() {
    let dir = scratch("default");
    let out = dir.join("samples.jsonl");
    let code = words(
        App::new(document()),
        &dir,
        &[
            "sample",
            "--count=2",
            "--set=topic=tea",
            "--set=mood=calm",
            "--out={dir}/samples.jsonl",
        ],
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let header = &lines(&out)[0];
    let names: Vec<&str> = header["workflow"]["extractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Asked", "Out"]);
    // A closure that declares none gets the same; `--extract` adds to the closure's.
    let code = words(
        App::new(document()).program(|p| {
            p.run("ask")?;
            Ok::<_, ProgramError>(())
        }),
        &dir,
        &[
            "sample",
            "--count=1",
            "--set=topic=tea",
            "--force",
            "--out={dir}/samples.jsonl",
        ],
    );
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(
        lines(&out)[0]["workflow"]["extractions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let code = words(
        app(),
        &dir,
        &[
            "sample",
            "--count=1",
            "--set=topic=tea",
            "--extract=asked=Asked",
            "--force",
            "--out={dir}/samples.jsonl",
        ],
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let names: Vec<String> = lines(&out)[0]["workflow"]["extractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["shown", "asked"]);
}

#[test]
fn usage_errors_of_a_built_in_document_exit_2_before_anything_runs() {
    let dir = scratch("usage");
    let server = server();
    let endpoint = format!("--endpoint={}", server.url);
    // A PATH: the document is built in.
    assert_eq!(
        words(app(), &dir, &["render", "doc.toml"]),
        ExitCode::from(2)
    );
    // The closure binds `mood`: the command line cannot.
    assert_eq!(
        words(app(), &dir, &["render", "--set=mood=sad"]),
        ExitCode::from(2)
    );
    // No Rust tool and no `--tool` for `count`.
    let code = words(
        App::new(document()).program(program),
        &dir,
        &[
            "run",
            endpoint.as_str(),
            "--set=topic=tea",
            "--out={dir}/out.jsonl",
        ],
    );
    assert_eq!(code, ExitCode::from(2));
    assert!(!dir.join("out.jsonl").exists());
    assert_eq!(server.seen().len(), 0, "nothing was sent to the model");
    // A program that does not build fails with exit 1.
    let code = words(
        App::new(document()).program(|p| {
            p.run("nope")?;
            Ok::<_, ProgramError>(())
        }),
        &dir,
        &["check"],
    );
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(words(app(), &dir, &["check"]), ExitCode::SUCCESS);
}
