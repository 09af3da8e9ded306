//! Resolving and reading UDPL files relative to the calling crate.

use std::path::{Component, Path, PathBuf};

/// One source file of a document.
pub struct SourceFile {
    /// Path shown in diagnostics: as written, relative to the manifest directory.
    pub display: String,
    /// Absolute path, for the rebuild anchor (`include_str!`).
    pub absolute: PathBuf,
    /// The file's text.
    pub text: String,
}

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

fn read(abs: &Path, shown: &str) -> Result<String, String> {
    let bytes = std::fs::read(abs).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("`{shown}` is not valid UTF-8"))
}

/// Load the file or folder document at `rel` (relative to the manifest directory).
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
    if abs.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&abs)
            .map_err(|e| format!("cannot read folder `{shown}`: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("folder `{shown}` holds no `*.toml` file"));
        }
        files
            .into_iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let display = format!("{shown}/{name}");
                let text = read(&p, &display)?;
                Ok(SourceFile {
                    display,
                    absolute: p,
                    text,
                })
            })
            .collect()
    } else if abs.exists() {
        let text = read(&abs, &shown)?;
        Ok(vec![SourceFile {
            display: shown,
            absolute: abs,
            text,
        }])
    } else {
        Err(format!(
            "cannot find `{shown}`: paths are relative to the directory of the crate's Cargo.toml"
        ))
    }
}
