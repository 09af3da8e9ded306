//! `forge graph`: draw the sampled default program as DOT, Mermaid or an HTML page.

use forge_core::program::{to_dot, to_html, to_mermaid};

use crate::preview::{SampleArgs, emit, sample_default};
use crate::{Builtin, Outcome};

/// Draw the sampled default program: Graphviz DOT, Mermaid, or a self-contained HTML page.
///
/// Samples the same workflow as `forge render` (same options, same seed) and prints the
/// drawing on stdout.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    /// The rendering
    #[arg(
        long,
        value_enum,
        value_name = "dot|mermaid|html",
        default_value = "dot"
    )]
    format: GraphFormat,
    #[command(flatten)]
    sample: SampleArgs,
}

/// A graph rendering.
#[derive(Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Html,
}

pub(crate) fn run(args: Args, builtin: Option<&Builtin>) -> Outcome {
    let sample = match sample_default("graph", &args.sample, builtin) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let text = match args.format {
        GraphFormat::Dot => to_dot(&sample),
        GraphFormat::Mermaid => to_mermaid(&sample),
        GraphFormat::Html => to_html(&sample),
    };
    emit(&text)
}
