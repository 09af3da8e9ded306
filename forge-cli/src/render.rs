//! `forge render`: print every zone of the sampled default program.

use forge_core::program::to_text;

use crate::preview::{SampleArgs, emit, sample_default};
use crate::{Builtin, Outcome};

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

pub(crate) fn run(args: Args, builtin: Option<&Builtin>) -> Outcome {
    match sample_default("render", &args.sample, builtin) {
        Ok(sample) => emit(&to_text(&sample)),
        Err(outcome) => outcome,
    }
}
