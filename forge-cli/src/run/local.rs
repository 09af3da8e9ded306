//! `forge run --model PATH.gguf|NAME`: the run on the in-process engine instead of a server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_local::{LocalGenerator, LocalModel, Options, models};

use super::{Args, execute, prepare};
use crate::Outcome;

/// The file `--model` names: the path itself, unless no such file exists and it is the name of
/// a catalog model, which is then taken from the cache (downloaded there first if needed).
fn model_file(value: &Path) -> Result<PathBuf, String> {
    let name = value.to_str().and_then(models::find);
    match name {
        Some(spec) if !value.exists() => models::Fetcher::from_env()
            .and_then(|f| f.with_terminal_progress().obtain(spec))
            .map_err(|e| e.to_string()),
        _ => Ok(value.to_owned()),
    }
}

/// Load the GGUF model at `path` (a file or a catalog name, see [`model_file`]) and run the plan's streams on it, `--max-in-flight` streams
/// per forward step (at most 16 by default), on every core.
pub(super) fn run(args: &Args, path: &Path) -> Outcome {
    let plan = match prepare(args) {
        Ok(plan) => plan,
        Err(outcome) => return outcome,
    };
    let path = match model_file(path) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let path = path.as_path();
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
