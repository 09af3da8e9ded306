//! A run file of many streams, for measuring `forge report` and `forge export` at scale
//! (BENCHMARKS.md): the workflow of `run_scripted` (a revision loop, a `when` around the
//! `search` tool, a final note, four extractions) run through the run library
//! ([`forge::run::Run`]) against the `Scripted` generator, written as `forge run` writes it.
//!
//! ```sh
//! cargo run --example run_file -- big.jsonl 100000
//! ```
//!
//! Stream `i`'s model writes `i % 3` revisions; even streams look something up; every fourth
//! stream's final note runs past its 60-token limit; every fiftieth stream's first request
//! fails.
//!
//! With a third argument, `WINDOW`, it measures the reorder window instead (BENCHMARKS.md,
//! "Runs"): the run's window is `WINDOW` streams, replies complete in a random order, and every
//! 10,000th stream revises 400 times, so that the streams after it finish and wait for it to be
//! written: the window fills. The peak RSS then follows `WINDOW`, not the number of streams:
//!
//! ```sh
//! cargo build --release --example run_file
//! /usr/bin/time -f %M target/release/examples/run_file /dev/null 100000 4096
//! ```

#[path = "run_scripted.rs"]
mod run_scripted;

use forge::exec::{Output, RunOptions, Scripted};
use forge::run::Run;

use run_scripted::prompts;

/// What the "model" writes for stream `i`.
/// `slow`: every 10,000th stream revises 400 times.
fn script(i: u64, slow: bool) -> Vec<Output> {
    if i % 50 == 49 {
        return vec![Output::Fail(format!("the server dropped request {i}"))];
    }
    let revisions = if slow && i.is_multiple_of(10_000) {
        400
    } else {
        i % 3
    };
    let mut out = vec![Output::from(format!(" Draft {i}. [EOS]"))];
    for r in 0..revisions {
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
    out.push(if i.is_multiple_of(4) {
        format!(" Final note {i}, which goes on and on without ever reaching its end").into()
    } else {
        format!(" Final note {i}. [EOS]").into()
    });
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), count, window) = (args.next(), args.next(), args.next()) else {
        return Err("usage: run_file OUT.jsonl [STREAMS [WINDOW]]".into());
    };
    let streams: u64 = count.as_deref().unwrap_or("100000").parse()?;
    let window: Option<usize> = window.as_deref().map(str::parse).transpose()?;
    let topics = [
        "bread", "tea", "bees", "salt", "rain", "moss", "ink", "glass",
    ];
    let workflow = run_scripted::workflow()?;
    let slow = window.is_some();
    // Each stream's script is made as it starts: memory follows the streams in flight.
    let mut generator = Scripted::from_fn(move |stream| script(u64::from(stream.0), slow));
    if slow {
        generator = generator.shuffled(1);
    }
    let out = std::fs::File::create(&path)?;
    let mut out = std::io::BufWriter::new(out);
    let mut run = Run::new(&workflow, 7, 0..streams);
    if let Some(window) = window {
        run = run.window(window);
    }
    let summary = run
        .args(move |i| prompts::Args {
            topic: topics[(i % 8) as usize],
        })
        .options(RunOptions {
            retry: forge::exec::RetryPolicy::NONE,
            max_in_flight: 64,
            ..RunOptions::default()
        })
        .tools(run_scripted::tools())
        .record("engine", serde_json::json!({ "kind": "scripted" }))
        .write(&mut generator, &mut out)?;
    std::io::Write::flush(&mut out)?;
    eprintln!("wrote `{path}`: {summary:?}");
    Ok(())
}
