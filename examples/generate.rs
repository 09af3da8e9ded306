//! Run the representative workflow (its declared program) on a local GGUF model with the in-process engine and print
//! each stream's transcript, its spans coloured by kind on a terminal (forced text plain,
//! generated green, fed cyan, closes the runtime forced yellow).
//!
//! ```sh
//! cargo run --release --example generate -- [PATH.gguf [STREAMS [MAX_TOKENS]]]
//! ```
//!
//! PATH.gguf `-` (or none) runs the default model (`FORGE_MODEL`, else the user cache,
//! downloaded on first use; see `forge::local::models`). STREAMS (default 2) streams run at once, greedy, every zone capped at MAX_TOKENS tokens
//! (default 16). Progress goes to stderr on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use forge::exec::{RunOptions, Runner, SpanKind, Transcript};
use forge::local::{LocalGenerator, LocalModel, Options, models};
use forge::resources::ListSampler;
use indicatif::{ProgressBar, ProgressStyle};

forge::include_udpl!(mod prompts = "examples/representative.toml");

fn arg<T: std::str::FromStr>(n: usize, name: &str, default: T) -> Result<T, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{name} must be a positive integer, got `{s}`")),
    }
}

fn print(t: &Transcript, colour: bool, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "=== {} · {} zone visits · {} generated tokens",
        t.stream,
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
    writeln!(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).filter(|p| p != "-");
    let path = models::resolve(path.as_deref().map(std::path::Path::new))?;
    let streams: u64 = arg(2, "STREAMS", 2)?;
    let max_tokens: u32 = arg(3, "MAX_TOKENS", 16)?;

    let principles = (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."));
    let mut program = prompts::builder()
        .constitution(ListSampler::new(principles)?)
        .build()?;
    // The document's declared program, as `forge run` runs it: its loop is bounded
    // (`at_most = 3`), so a greedy small model that never writes the control pattern still
    // leaves it; a jump forced by the runtime is coloured as a forced close.
    prompts::program(&mut program)?;
    let workflow = program.compile()?;
    let samples = (0..streams)
        .map(|seed| {
            let args = prompts::Args {
                prompt: "How do I keep a sourdough starter alive?",
            };
            workflow.sample_seeded(args, seed)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let model = Arc::new(LocalModel::load(&path)?);
    let mut generator = LocalGenerator::new(model, Options::default())?;
    // Greedy: the default sampling.
    let runner = Runner::new(RunOptions {
        max_tokens: Some(max_tokens),
        ..RunOptions::default()
    })?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(streams);
        bar.set_style(ProgressStyle::with_template(
            "{wide_bar} {pos}/{len} streams · {elapsed}",
        )?);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut results = Vec::new();
    for result in runner.execute(&mut generator, samples) {
        bar.inc(1);
        results.push(result);
    }
    bar.finish_and_clear();
    results.sort_by_key(|r| match r {
        Ok(t) => t.stream,
        Err(e) => e.stream,
    });
    let colour = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    for result in results {
        print(&result?, colour, &mut out)?;
    }
    Ok(())
}
