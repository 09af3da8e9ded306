//! The main job: `representative.toml` checked at compile time by `include_udpl!`, the typed
//! builder and handles, a program built in Rust, sampled with a seed and run end to end on the
//! in-process engine with a real model (SmolLM2-135M-Instruct; obtained on first use and cached,
//! see `forge::local::models`). Prints each stream's transcript, its spans coloured by kind on
//! a terminal (forced text plain, generated green, fed cyan, forced closes yellow), and its
//! extractions.
//!
//! ```sh
//! cargo run --example representative [SEED] [STREAMS] [MAX_TOKENS]
//! ```
//!
//! SEED (default 42) seeds the sampled workflows and the model's sampling (temperature 0.7,
//! top-p 0.9); STREAMS (default 2) streams run at once; every zone the model writes is capped
//! at MAX_TOKENS tokens (default 48). `FORGE_MODEL=PATH.gguf` runs another file.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use forge::exec::{RunOptions, Runner, Sampling, SpanKind, Transcript};
use forge::local::{LocalGenerator, LocalModel, Options, models};
use forge::resources::ListSampler;

// Parsed and linted at compile time: a mistake in the TOML is a `cargo build` error.
forge::include_udpl!(mod prompts = "examples/representative.toml");

fn arg<T: std::str::FromStr>(n: usize, name: &str, default: T) -> Result<T, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{name} must be a non-negative integer, got `{s}`")),
    }
}

fn print(t: &Transcript, seed: u64, colour: bool, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "=== stream {} · workflow seed {} · {} zone visits · {} generated tokens",
        t.stream.0,
        seed,
        t.visits.len(),
        t.tokens()
    )?;
    for span in t.spans() {
        let code = match span.kind {
            SpanKind::Forced => "",
            SpanKind::Generated => "\x1b[32m",
            SpanKind::Fed => "\x1b[36m",
            SpanKind::ForcedClose => "\x1b[33m",
        };
        if colour && !code.is_empty() {
            write!(out, "{code}{}\x1b[0m", span.text)?;
        } else {
            write!(out, "{}", span.text)?;
        }
    }
    writeln!(out)?;
    for e in &t.extractions {
        writeln!(out, "extraction {}: {} texts", e.name, e.texts.len())?;
        for text in &e.texts {
            writeln!(out, "  - {:?}", text.trim())?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = arg(1, "SEED", 42)?;
    let streams: u64 = arg(2, "STREAMS", 2)?;
    let max_tokens: u32 = arg(3, "MAX_TOKENS", 48)?;

    // Standard resources: `build()` does not compile until every one is set.
    let principles = (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."));
    let mut program = prompts::builder()
        .constitution(ListSampler::new(principles)?)
        .build()?;
    program.run(prompts::Setup)?;
    program.run(prompts::Reason)?;
    // Custom resources are the fields of the sequence's handle. The loop control runs once:
    // a small model may never write the control pattern that would leave a `loop_`.
    program.run(prompts::LoopControl { min: 1, max: 2 })?;
    // A branch: the model's `[Jump]` in the decision zone takes the first branch.
    program.when(
        prompts::Decide,
        |then| {
            then.run(prompts::Reason)?;
            Ok(())
        },
        |otherwise| {
            otherwise.run(prompts::Conclude)?;
            Ok(())
        },
    )?;
    program.run(prompts::Conclude)?;
    program.extract("training", &[prompts::Tag::Training])?;
    program.extract("final", &[prompts::Tag::Final, prompts::Tag::Correct])?;
    let workflow = program.compile()?;

    // Argument resources are the fields of `Args`, bound when a workflow is sampled.
    let seeds: Vec<u64> = (0..streams).map(|i| seed.wrapping_add(i)).collect();
    let samples = seeds
        .iter()
        .map(|&s| {
            let args = prompts::Args {
                prompt: "How do I keep a sourdough starter alive?",
            };
            workflow.sample_seeded(args, s)
        })
        .collect::<Result<Vec<_>, _>>()?;

    // The model: FORGE_MODEL if set, else the cached default, downloaded on first use.
    let path = models::resolve(None)?;
    let model = Arc::new(LocalModel::load(&path)?);
    let mut generator = LocalGenerator::new(model, Options::default())?;
    let runner = Runner::new(RunOptions {
        sampling: Sampling {
            temperature: 0.7,
            top_p: 0.9,
            seed,
        },
        max_tokens: Some(max_tokens),
        ..RunOptions::default()
    })?;
    println!(
        "{} zones per workflow · {streams} streams on {} (in process) · at most {max_tokens} tokens per zone",
        samples.first().map_or(0, |s| s.len()),
        path.file_name().map_or(path.display().to_string(), |n| n
            .to_string_lossy()
            .into_owned()),
    );
    let colour = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    // Streams are printed as they finish.
    for result in runner.execute(&mut generator, samples) {
        match result {
            Ok(t) => print(&t, seeds[t.stream.0 as usize], colour, &mut out)?,
            Err(e) => {
                failed += 1;
                writeln!(out, "=== stream {} failed: {e}", e.stream.0)?;
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {streams} streams failed").into());
    }
    Ok(())
}
