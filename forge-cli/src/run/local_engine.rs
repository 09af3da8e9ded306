//! `forge run --model PATH.gguf|NAME`: the run on the in-process engine instead of a server.

use std::path::Path;

#[cfg(feature = "local")]
use super::{Args, Prepared};
use crate::Outcome;

/// The file `--model` names: the path itself, unless no such file exists and it is the name of
/// a catalog model, which is then taken from the cache (downloaded there first if needed).
#[cfg(feature = "local")]
fn model_file(value: &Path) -> Result<std::path::PathBuf, String> {
    use forge_local::models;
    let name = value.to_str().and_then(models::find);
    match name {
        Some(spec) if !value.exists() => models::Fetcher::from_env()
            .and_then(|f| f.with_terminal_progress().obtain(spec))
            .map_err(|e| e.to_string()),
        _ => Ok(value.to_owned()),
    }
}

/// Loads the GGUF model at `path` (a file or a catalog name, see [`model_file`]) and runs the prepared streams on it, `--max-in-flight`
/// streams per forward step (at most 16 by default), on every core.
#[cfg(feature = "local")]
pub(super) fn run(args: &Args, path: &Path, prepared: Prepared) -> Outcome {
    use forge_local::{LocalGenerator, LocalModel, Options};
    use serde_json::json;
    use std::sync::Arc;
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
    let capacity = options.capacity;
    let mut generator = match LocalGenerator::new(model, options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    // The model file by name and size (not its directory: shards may mount it elsewhere),
    // and the batch size, which changes results with greedy decoding.
    let engine = json!({
        "kind": "in-process",
        "model": path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "model_bytes": std::fs::metadata(path).map(|m| m.len()).ok(),
        "capacity": capacity,
    });
    let backend = format!("{} (in process)", path.display());
    super::execute(args, &mut generator, prepared, engine, &backend)
}

/// Without the `local` feature: says how to get the in-process engine.
/// Called before anything is loaded.
#[cfg(not(feature = "local"))]
pub(super) fn missing(path: &Path) -> Outcome {
    crate::usage_error(
        "run",
        format!(
            "--model {}: this forge was built without the in-process engine; rebuild \
             forge-cli with its `local` feature (on by default), or serve the model with \
             llama-server and pass --endpoint URL",
            path.display()
        ),
    )
}
