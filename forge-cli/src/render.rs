//! `forge render`: print every zone of the sampled default program.

use forge_core::program::SampledWorkflow;

use crate::Outcome;
use crate::preview::{SampleArgs, emit, sample_default};

/// Sample the document's default program and print every zone's text.
///
/// The default program runs every sequence once, in `config.sequences` order. Each zone's text
/// is printed under a header line naming its index, sequence, block, advance pattern and tags.
/// Resources are bound by name, whatever their kind: `--set` binds a static string, `--list` a
/// list sampler. The same seed gives the same output.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    #[command(flatten)]
    sample: SampleArgs,
}

pub(crate) fn run(args: Args) -> Outcome {
    match sample_default("render", &args.sample) {
        Ok(sample) => emit(&render_text(&sample)),
        Err(outcome) => outcome,
    }
}

/// Every zone's text in order, each under a header line:
/// `--- zone 3 · setup block 1 · [Answer] · tags: Training ---`.
fn render_text(sample: &SampledWorkflow) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(sample.text().len() + sample.len() * 64);
    for z in sample.zones() {
        let _ = write!(
            out,
            "--- zone {} · {} block {}",
            z.index, z.sequence, z.block
        );
        if z.instance > 0 {
            let _ = write!(out, " instance {}", z.instance);
        }
        let _ = write!(out, " · {} · tags: ", z.advance);
        if z.tags.is_empty() {
            out.push_str("none");
        } else {
            out.push_str(&z.tags.join(", "));
        }
        if z.input {
            out.push_str(" · input");
        }
        if let Some(tool) = &z.tool {
            let _ = write!(out, " · output to {tool}");
        }
        if let Some(j) = &z.jump {
            match j.target {
                Some(t) => {
                    let _ = write!(out, " · jump {} → zone {t}", j.pattern);
                }
                None => {
                    let _ = write!(out, " · jump {} → end", j.pattern);
                }
            }
        }
        out.push_str(" ---\n");
        out.push_str(z.text());
        out.push('\n');
    }
    out
}
