//! The UDPL parser and linter: TOML → validated [`Document`], or every error found.
//!
//! - this file: the entry points (string, embedded string, file, folder) and their error type;
//! - [`source`]: the source files, locations and the diagnostic sink;
//! - [`pipeline`]: the phases, in order (TOML syntax, top-level keys, config, sequences);
//! - [`keys`]: the `[config]` keys, listed once, and reading their values;
//! - [`config`]: the checks on the config values, and the pattern-role disjointness;
//! - [`block`]: blocks, their keys and tag lists;
//! - [`placeholder`]: spec tables, placeholders and the document's resources;
//! - [`declared`]: the `[program]` table (a forge extension);
//! - [`syntax`]: TOML syntax errors, one per file at the line to fix;
//! - [`value`]: TOML values to numbers and `toml::Value`s.

mod block;
mod config;
mod declared;
mod keys;
mod pipeline;
mod placeholder;
mod source;
mod syntax;
mod value;

use std::path::{Path, PathBuf};

use super::load::{self, SourceFile, read_document};
use super::model::Document;
use crate::diagnostics::Diagnostic;
use source::Linter;
pub use source::Origin;

/// A successfully parsed document and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The validated model.
    pub document: Document,
    /// Warnings (never errors), in file order.
    pub warnings: Vec<Diagnostic>,
}

/// Why a document could not be parsed.
///
/// `Debug` prints the same text as `Display` (every diagnostic, rustc-style), so returning it
/// from `main` or unwrapping it shows what to fix. An I/O error's cause is part of the message
/// (and not repeated as [`source`](std::error::Error::source)).
#[derive(thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read `{}`: {error}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The document is invalid. Holds every error found, and the warnings, in file order.
    #[error(
        "{}",
        crate::diagnostics::render_all(diagnostics, crate::diagnostics::Format::Human)
    )]
    Invalid {
        /// Errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
}

impl Error {
    /// All diagnostics (errors and warnings); empty for I/O errors.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Io { .. } => &[],
            Error::Invalid { diagnostics } => diagnostics,
        }
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics().iter().filter(|d| d.is_error())
    }
}

debug_as_display!(Error);

/// Parse one UDPL document from a string. `name` is the display path used in diagnostics.
///
/// ```
/// let src = r#"
/// [config]
/// zone_patterns = ["[Prompt]", "[Answer]"]
/// required_patterns = ["[Prompt]"]
/// valid_tags = ["Training"]
/// default_max_token_length = 100
/// sequences = ["greet"]
/// control_pattern = "[Jump]"
/// escape_patterns = ["[Escape]", "[EndEscape]"]
///
/// [[greet]]
/// text = "[Prompt] Say hello to {who}. [Answer]"
/// tags = [["Training"]]
///
/// [greet.who]
/// name = "user_name"
/// type = "argument"
/// "#;
/// let parsed = forge::udpl::parse_str(src, "greet.toml").unwrap();
/// let block = &parsed.document.sequences[0].blocks[0];
/// assert_eq!(block.zones[1].template(block), " Say hello to {who}. [Answer]");
/// assert_eq!(block.placeholders[0].resource, "user_name");
/// ```
pub fn parse_str(src: &str, name: &str) -> Result<Parsed, Error> {
    parse_sources(&[(name, src)])
}

/// Parse a document made of several sources (a folder document), given as `(display path,
/// text)` pairs. Exactly one source must hold `[config]`; a top-level key may appear in only one.
pub fn parse_sources(sources: &[(&str, &str)]) -> Result<Parsed, Error> {
    if sources.is_empty() {
        return Err(Error::Io {
            path: PathBuf::new(),
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no UDPL source given: a document needs at least one file",
            ),
        });
    }
    Linter::new(sources.iter().copied(), Origin::default()).run()
}

/// Parse UDPL embedded in another file (e.g. a Rust string literal) at `origin`: every
/// diagnostic and location is shifted so that it points into the enclosing file `name`.
///
/// ```
/// use forge::udpl::{parse_embedded, Origin};
/// // The UDPL text starts at line 10, column 20 of src/main.rs.
/// let err = parse_embedded("[config]\nzone_patterns = 3\n", "src/main.rs", Origin { line: 10, column: 20 })
///     .unwrap_err();
/// let d = err.errors().find(|d| d.message.contains("array of strings")).unwrap();
/// assert_eq!((d.line, d.column), (11, 17));
/// ```
pub fn parse_embedded(src: &str, name: &str, origin: Origin) -> Result<Parsed, Error> {
    Linter::new([(name, src)], origin).run()
}

/// Parse a document read from disk or built from [`SourceFile`]s (see [`read_document`]).
/// Exactly one source must hold `[config]`; a top-level key may appear in only one.
pub fn parse_files(files: &[SourceFile]) -> Result<Parsed, Error> {
    if files.is_empty() {
        return parse_sources(&[]);
    }
    Linter::new(
        files.iter().map(|f| (f.name.as_str(), f.text.as_str())),
        Origin::default(),
    )
    .run()
}

/// Parse a UDPL file. The path is shown in diagnostics as given.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Parsed, Error> {
    let path = path.as_ref();
    let file = load::read_file(path, &path.display().to_string())?;
    parse_files(std::slice::from_ref(&file))
}

/// Parse a folder document: every `*.toml` file directly in `dir` (not recursive), in file-name
/// order, shown in diagnostics as `dir/file.toml` (the rule of [`read_document`]).
pub fn parse_dir(dir: impl AsRef<Path>) -> Result<Parsed, Error> {
    let dir = dir.as_ref();
    parse_files(&load::read_folder(dir, &dir.display().to_string())?)
}

/// Parse a file or a folder document, whichever `path` is (the rule of [`read_document`]).
pub fn parse_path(path: impl AsRef<Path>) -> Result<Parsed, Error> {
    let path = path.as_ref();
    parse_files(&read_document(path, &path.display().to_string())?)
}
