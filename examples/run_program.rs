//! A program run from Rust into a run file, with resume: `run_scripted.toml` checked at
//! compile time, a program with a loop, a `when`, a capture/feed pair around the `search` tool
//! and extractions, executed through `forge::run` against the `Scripted` generator (prepared
//! model outputs, completed out of order). The run is stopped after a few streams (as Ctrl-C
//! would), resumed, and read back.
//!
//! ```sh
//! cargo run --example run_program
//! ```

#![allow(dead_code)]

use forge::exec::{Output, RunOptions, Scripted, Tools};
use std::path::Path;

use forge::program::Workflow;
use forge::run::{Cancel, Progress, Run, RunReader, Summary};

forge::include_udpl!(pub mod prompts = "examples/run_scripted.toml");

const TOPICS: [&str; 8] = [
    "bread", "tea", "bees", "salt", "rain", "moss", "ink", "glass",
];

/// task; loop(revise, improve); when(decide, then: capture(query, search), feed(results));
/// conclude; extractions of every tag.
pub fn workflow() -> Result<Workflow, Box<dyn std::error::Error>> {
    let mut program = prompts::builder().build()?;
    program.run(prompts::Task)?;
    program.loop_(prompts::Revise, |body| {
        body.run(prompts::Improve)?;
        Ok(())
    })?;
    program.when(
        prompts::Decide,
        |then| {
            then.capture(prompts::Query, prompts::Tool::Search)?;
            then.feed(prompts::Results)?;
            Ok(())
        },
        |_otherwise| Ok(()),
    )?;
    program.run(prompts::Conclude)?;
    program.extract("drafts", &[prompts::Tag::Draft])?;
    program.extract("final", &[prompts::Tag::Final])?;
    Ok(program.compile()?)
}

/// What the "model" writes for stream `i`: a draft, `i % 3` revisions, a jump out of the
/// loop; even streams ask for a source; a final note.
fn script(i: usize) -> Vec<Output> {
    let mut out = vec![Output::from(format!(" Draft {i}. [EOS]"))];
    for r in 0..i % 3 {
        out.push(" Not yet. [EOS]".into());
        out.push(format!(" Draft {i}, revision {}. [EOS]", r + 1).into());
    }
    out.push(" Good. [Jump]".into());
    if i.is_multiple_of(2) {
        out.push(" Yes. [EOS]".into());
        out.push(format!(" origin of topic {i} [EOS]").into());
    } else {
        out.push(" No. [Jump]".into());
    }
    out.push(format!(" Final note {i}. [EOS]").into());
    out
}

fn tools() -> Tools {
    let mut tools = Tools::new(prompts::Tool::ALL);
    tools
        .add(prompts::Tool::Search, |query: &str| {
            Ok::<_, std::io::Error>(format!(" Found: a page about {}.", query.trim()))
        })
        .expect("`search` is declared");
    tools
}

/// The run of streams 0..16 of the dataset with seed 7, stream `i` about `TOPICS[i % 8]`.
pub fn run(workflow: &Workflow) -> Run<'_> {
    Run::new(workflow, 7, 0..16)
        .args(|i| prompts::Args {
            topic: TOPICS[i as usize % TOPICS.len()],
        })
        .options(RunOptions {
            max_in_flight: 4,
            ..RunOptions::default()
        })
        .tools(tools())
        .record("engine", serde_json::json!({ "kind": "scripted" }))
}

/// Stops the run once 5 streams are written, as a first Ctrl-C would.
struct StopAfterFive(Cancel);

impl Progress for StopAfterFive {
    fn update(&mut self, summary: &Summary) {
        if summary.written() >= 5 {
            self.0.stop();
        }
    }
}

/// Runs into a new file at `path`, stopped after 5 streams, then resumes it: the two
/// summaries.
pub fn stop_then_resume(path: &Path) -> Result<(Summary, Summary), Box<dyn std::error::Error>> {
    let workflow = workflow()?;
    let cancel = Cancel::new();
    let mut generator = Scripted::new((0..16).map(script)).shuffled(1);
    let first = run(&workflow)
        .cancel(cancel.clone())
        .progress(StopAfterFive(cancel))
        .create(path, &mut generator)?;
    let mut generator = Scripted::new((0..16).map(script)).shuffled(2);
    let rest = run(&workflow).resume(path, &mut generator)?;
    Ok((first, rest))
}

/// The same run, uninterrupted, into `path`.
pub fn uninterrupted(path: &Path) -> Result<Summary, Box<dyn std::error::Error>> {
    let workflow = workflow()?;
    let mut generator = Scripted::new((0..16).map(script));
    Ok(run(&workflow).create(path, &mut generator)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("forge-run-program-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let (first, rest) = stop_then_resume(&path)?;
    println!(
        "stopped: {} written, {} not started",
        first.written(),
        first.not_started
    );
    println!(
        "resumed: {} already in the file, {} finished now, {} tokens",
        rest.already, rest.finished, rest.tokens
    );

    let reader = RunReader::new(std::io::BufReader::new(std::fs::File::open(&path)?))?;
    for line in reader {
        let line = line?;
        let t = line.outcome.map_err(|f| f.message)?;
        let finals = t.extraction("final").unwrap_or_default();
        println!(
            "{:>2}: {} drafts, final: {}",
            line.index,
            t.extraction("drafts").map_or(0, <[String]>::len),
            finals.first().map_or("", |s| s.trim())
        );
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
