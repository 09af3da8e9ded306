//! Reading a document from disk: the one rule for which files make a document, in which order,
//! and how they are decoded. The runtime ([`parse_path`](super::parse_path)) and the
//! `include_udpl!` macro both use it.

use std::path::{Path, PathBuf};

use super::Error;

/// One source text of a document, with the name diagnostics show for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The name shown in diagnostics (`prompts/setup.toml`).
    pub name: String,
    /// Where the text was read from; `None` for text given directly (a string, a macro
    /// literal).
    pub path: Option<PathBuf>,
    /// The text.
    pub text: String,
}

impl SourceFile {
    /// A source given as text, not read from disk.
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            path: None,
            text: text.into(),
        }
    }
}

/// Read the document at `path`, shown in diagnostics as `shown`:
///
/// - a file is a document of one source;
/// - a folder is a document of every `*.toml` regular file directly in it (not recursive), in
///   file-name order, each shown as `shown/file.toml`; a folder without one is an error;
/// - every file must be UTF-8 (the error gives the offset of the first invalid byte).
///
/// I/O errors name the path as `shown`, so a caller that resolves relative paths (the macro
/// resolves them against the crate's `Cargo.toml`) reports them as the user wrote them.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("forge-doc-read-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("b.toml"), "[[b]]\n").unwrap();
/// std::fs::write(dir.join("a.toml"), "[config]\n").unwrap();
/// std::fs::write(dir.join("notes.md"), "not UDPL").unwrap();
/// let files = forge::udpl::read_document(&dir, "prompts").unwrap();
/// let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
/// assert_eq!(names, ["prompts/a.toml", "prompts/b.toml"]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_document(path: impl AsRef<Path>, shown: &str) -> Result<Vec<SourceFile>, Error> {
    let path = path.as_ref();
    if path.is_dir() {
        read_folder(path, shown)
    } else {
        Ok(vec![read_file(path, shown)?])
    }
}

/// Read one file of a document.
pub(crate) fn read_file(path: &Path, shown: &str) -> Result<SourceFile, Error> {
    let io = |error| Error::Io {
        path: PathBuf::from(shown),
        error,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (invalid byte at offset {}); UDPL files are UTF-8 text",
                e.utf8_error().valid_up_to()
            ),
        ))
    })?;
    Ok(SourceFile {
        name: shown.to_owned(),
        path: Some(path.to_owned()),
        text,
    })
}

/// Read a folder document.
pub(crate) fn read_folder(dir: &Path, shown: &str) -> Result<Vec<SourceFile>, Error> {
    let io = |error| Error::Io {
        path: PathBuf::from(shown),
        error,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the folder holds no `*.toml` file",
        )));
    }
    let prefix = shown.strip_suffix('/').unwrap_or(shown);
    paths
        .iter()
        .map(|p| {
            let file_name = p.file_name().unwrap_or_default().to_string_lossy();
            read_file(p, &format!("{prefix}/{file_name}"))
        })
        .collect()
}
