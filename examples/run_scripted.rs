//! Executing sampled workflows: `run_scripted.toml` checked at compile time, a program with a
//! loop, a `when`, a capture/feed pair around the `search` tool and extractions, 8 streams run
//! against the `Scripted` generator (prepared model outputs, completed out of order), and each
//! stream's extractions printed.
//!
//! ```sh
//! cargo run --example run_scripted
//! ```

#![allow(dead_code)]

use forge::exec::{Output, RunOptions, Runner, Sampling, Scripted, StreamResult, Tools};
use forge::program::{SampledWorkflow, Workflow};

forge::include_udpl!(pub mod prompts = "examples/run_scripted.toml");

/// The streams of the run.
pub const STREAMS: usize = 8;

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
    program.extract("queries", &[prompts::Tag::Query])?;
    program.extract("found", &[prompts::Tag::Found])?;
    program.extract("final", &[prompts::Tag::Final])?;
    Ok(program.compile()?)
}

/// One sample per stream, each about its own topic.
pub fn samples(workflow: &Workflow) -> Result<Vec<SampledWorkflow>, Box<dyn std::error::Error>> {
    let topics = [
        "bread", "tea", "bees", "salt", "rain", "moss", "ink", "glass",
    ];
    (0..STREAMS)
        .map(|i| {
            let args = prompts::Args { topic: topics[i] };
            Ok(workflow.sample_seeded(args, i as u64)?)
        })
        .collect()
}

/// What the "model" writes for stream `i`: a draft, `i % 3` revisions, then leaves the loop
/// with `[Jump]`; even streams ask for a source (odd ones jump past it); a final note whose
/// closing pattern arrives split over two tokens.
pub fn script(i: usize) -> Vec<Output> {
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
    out.push(Output::Tokens(vec![
        format!(" Final note {i}."),
        " [E".into(),
        "OS] ignored".into(),
    ]));
    out
}

/// The `search` tool: a stand-in that "finds" one line about the query.
pub fn tools() -> Tools {
    let mut tools = Tools::new(prompts::Tool::ALL);
    tools
        .add(prompts::Tool::Search, |query: &str| {
            Ok::<_, std::io::Error>(format!(" Found: a page about {}.", query.trim()))
        })
        .expect("`search` is declared");
    tools
}

/// Run the 8 streams; replies complete in a seeded random order.
pub fn run() -> Result<Vec<StreamResult>, Box<dyn std::error::Error>> {
    let workflow = workflow()?;
    let mut generator = Scripted::new((0..STREAMS).map(script)).shuffled(42);
    let runner = Runner::new(RunOptions {
        sampling: Sampling {
            seed: 7,
            ..Sampling::default()
        },
        ..RunOptions::default()
    })?
    .with_tools(tools());
    Ok(runner.run(&mut generator, samples(&workflow)?)?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for result in run()? {
        let t = result?;
        println!(
            "=== {} · {} zone visits · {} tokens",
            t.stream,
            t.visits.len(),
            t.tokens()
        );
        for e in &t.extractions {
            for text in &e.texts {
                println!("  {:<8}{}", e.name, text.trim());
            }
        }
    }
    Ok(())
}
