//! Resolving and reading UDPL files relative to the calling crate.

use std::path::{Component, Path, PathBuf};

use forge_core::udpl::{SourceFile, read_document};

/// The one place this crate reads the environment. A test-only override comes first, because
/// trybuild compiles UI tests in a directory of its own (trybuild#202).
#[allow(clippy::disallowed_methods)]
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn manifest_dir() -> Result<PathBuf, String> {
    env("FORGE_TEST_MANIFEST_DIR")
        .or_else(|| env("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .ok_or_else(|| "CARGO_MANIFEST_DIR is not set; build with cargo".to_owned())
}

fn display(rel: &Path) -> String {
    rel.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Load the file or folder document at `rel` (relative to the manifest directory), with the
/// names diagnostics show relative to it.
pub fn load(rel: &str) -> Result<Vec<SourceFile>, String> {
    let rel_path = Path::new(rel);
    if rel.is_empty() {
        return Err("expected a path to a UDPL file or folder, relative to Cargo.toml".into());
    }
    if rel_path.is_absolute() {
        return Err(format!(
            "`{rel}` is an absolute path; give a path relative to the crate's Cargo.toml so the build works on every machine"
        ));
    }
    let base = manifest_dir()?;
    let abs = base.join(rel_path);
    let shown = display(rel_path);
    if !abs.exists() {
        return Err(format!(
            "cannot find `{shown}`: paths are relative to the directory of the crate's Cargo.toml"
        ));
    }
    // Which files, in which order, decoded how: forge-core's rule, shared with the runtime.
    read_document(&abs, &shown).map_err(|e| e.to_string())
}
