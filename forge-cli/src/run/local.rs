//! `forge run --model PATH.gguf`: the run on the in-process engine instead of a server.

use std::path::Path;
use std::sync::Arc;

use forge_local::{LocalGenerator, LocalModel, Options};

use super::{Args, execute, prepare};
use crate::Outcome;

/// Load the GGUF model at `path` and run the plan's streams on it, `--max-in-flight` streams
/// per forward step (at most 16 by default), on every core.
pub(super) fn run(args: &Args, path: &Path) -> Outcome {
    let plan = match prepare(args) {
        Ok(plan) => plan,
        Err(outcome) => return outcome,
    };
    let model = match LocalModel::load(path) {
        Ok(model) => Arc::new(model),
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let options = Options {
        capacity: (args.max_in_flight as usize).min(Options::default().capacity),
        ..Options::default()
    };
    let mut generator = match LocalGenerator::new(model, options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let backend = format!("{} (in process)", path.display());
    execute(&mut generator, plan, &backend, &|_| None)
}
