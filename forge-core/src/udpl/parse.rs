//! The UDPL parser and linter: TOML → validated [`Document`], or every error found.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::model::*;
use super::names::{did_you_mean, pascal_case, snake_case};
use super::strings::StrMap;
use super::text::{Patterns, analyze};
use crate::diagnostics::{Diagnostic, LineIndex, Location, Note, Severity};

/// A successfully parsed document and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The validated model.
    pub document: Document,
    /// Warnings (never errors), in file order.
    pub warnings: Vec<Diagnostic>,
}

/// Why a document could not be parsed.
#[derive(Debug)]
pub enum Error {
    /// A file or folder could not be read.
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The document is invalid. Holds every error found, and the warnings, in file order.
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, error } => write!(f, "cannot read `{}`: {error}", path.display()),
            Error::Invalid { diagnostics } => f.write_str(&crate::diagnostics::render_all(
                diagnostics,
                crate::diagnostics::Format::Human,
            )),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { error, .. } => Some(error),
            Error::Invalid { .. } => None,
        }
    }
}

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
/// let parsed = forge_core::udpl::parse_str(src, "greet.toml").unwrap();
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
    Linter::new(sources, Origin::default()).run()
}

/// Where a UDPL text starts inside a larger file: UDPL embedded in a Rust string literal
/// (`forge!`) reports positions in the Rust file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// 1-based line of the text's first character in the enclosing file.
    pub line: u32,
    /// 1-based column (in characters) of the text's first character in the enclosing file.
    pub column: u32,
}

impl Default for Origin {
    fn default() -> Self {
        Origin { line: 1, column: 1 }
    }
}

/// Parse UDPL embedded in another file (e.g. a Rust string literal) at `origin`: every
/// diagnostic and location is shifted so that it points into the enclosing file `name`.
///
/// ```
/// use forge_core::udpl::{parse_embedded, Origin};
/// // The UDPL text starts at line 10, column 20 of src/main.rs.
/// let err = parse_embedded("[config]\nzone_patterns = 3\n", "src/main.rs", Origin { line: 10, column: 20 })
///     .unwrap_err();
/// let d = err.errors().find(|d| d.message.contains("array of strings")).unwrap();
/// assert_eq!((d.line, d.column), (11, 17));
/// ```
pub fn parse_embedded(src: &str, name: &str, origin: Origin) -> Result<Parsed, Error> {
    Linter::new(&[(name, src)], origin).run()
}

/// Parse a UDPL file. The path is shown in diagnostics as given.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Parsed, Error> {
    let path = path.as_ref();
    let text = read(path)?;
    parse_str(&text, &path.display().to_string())
}

/// Parse a folder document: every `*.toml` file directly in `dir` (not recursive), in file-name
/// order, shown in diagnostics as `dir/file.toml`.
pub fn parse_dir(dir: impl AsRef<Path>) -> Result<Parsed, Error> {
    let dir = dir.as_ref();
    let io = |error| Error::Io {
        path: dir.to_owned(),
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
        return Err(Error::Io {
            path: dir.to_owned(),
            error: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the folder holds no `*.toml` file",
            ),
        });
    }
    let mut texts = Vec::new();
    for p in &paths {
        texts.push((p.display().to_string(), read(p)?));
    }
    let sources: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    parse_sources(&sources)
}

/// Parse a file or a folder document, whichever `path` is.
pub fn parse_path(path: impl AsRef<Path>) -> Result<Parsed, Error> {
    let path = path.as_ref();
    if path.is_dir() {
        parse_dir(path)
    } else {
        parse_file(path)
    }
}

fn read(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|error| Error::Io {
        path: path.to_owned(),
        error,
    })?;
    String::from_utf8(bytes).map_err(|e| Error::Io {
        path: path.to_owned(),
        error: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (invalid byte at offset {}); UDPL files are UTF-8 text",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

// ------------------------------------------------------------------------------------------------

type Span = Range<usize>;

/// A top-level key of one file: (file index, key, value).
type TopEntry<'a, 's> = (
    usize,
    &'a Spanned<std::borrow::Cow<'s, str>>,
    &'a Spanned<DeValue<'s>>,
);

struct Source<'s> {
    name: Arc<str>,
    text: &'s str,
    lines: LineIndex,
    origin: Origin,
}

impl Source<'_> {
    /// (line, column, source line) of `offset`, shifted by the source's origin.
    fn locate(&self, offset: usize) -> (u32, u32, &str) {
        let (line, column, text) = self.lines.locate(self.text, offset);
        let column = if line == 1 {
            column.saturating_add(self.origin.column.saturating_sub(1))
        } else {
            column
        };
        (
            line.saturating_add(self.origin.line.saturating_sub(1)),
            column,
            text,
        )
    }

    /// Like `locate`, with long lines cut to an excerpt around the column.
    fn locate_shown(&self, offset: usize) -> (u32, u32, String, u32) {
        let (line, column, text, start) = self.lines.locate_shown(self.text, offset);
        let shift = if line == 1 {
            self.origin.column.saturating_sub(1)
        } else {
            0
        };
        (
            line.saturating_add(self.origin.line.saturating_sub(1)),
            column.saturating_add(shift),
            text,
            start.saturating_add(shift),
        )
    }
}

/// A value together with the file it lives in.
#[derive(Clone, Copy)]
struct At<'a, 's> {
    file: usize,
    value: &'a Spanned<DeValue<'s>>,
}

const CONFIG_KEYS: &[&str] = &[
    "zone_patterns",
    "required_patterns",
    "valid_tags",
    "default_max_token_length",
    "sequences",
    "control_pattern",
    "escape_patterns",
    "tools",
];
const BLOCK_KEYS: &[&str] = &["text", "tags", "tagset", "repeats", "max_gen_tokens"];
const SPEC_KEYS: &[&str] = &["name", "type", "arguments"];
const TYPES: &[&str] = &["standard", "custom", "argument"];

/// `repeats` above this is a warning.
const REPEATS_WARN: u64 = 100;

struct Linter<'s> {
    sources: Vec<Source<'s>>,
    diags: Vec<Diagnostic>,
}

/// Builder-style access to the diagnostic just pushed.
struct DiagMut<'d>(&'d mut Diagnostic);

impl DiagMut<'_> {
    fn label(self, l: impl Into<String>) -> Self {
        self.0.label = Some(l.into());
        self
    }
    fn help(self, h: impl Into<String>) -> Self {
        self.0.help = Some(h.into());
        self
    }
    fn help_opt(self, h: Option<String>) -> Self {
        if h.is_some() {
            self.0.help = h;
        }
        self
    }
    fn note(self, location: Option<Location>, message: impl Into<String>) -> Self {
        self.0.notes.push(Note {
            location,
            message: message.into(),
        });
        self
    }
}

/// A config list: each element's text and span.
type StrList = Vec<(String, Span)>;

#[derive(Default)]
struct RawConfig {
    file: usize,
    header: Span,
    zone_patterns: Option<StrList>,
    required_patterns: Option<StrList>,
    valid_tags: Option<StrList>,
    default_max_token_length: Option<u64>,
    sequences: Option<StrList>,
    control_pattern: Option<(String, Span)>,
    escape_patterns: Option<StrList>,
    tools: Option<StrList>,
    /// Set when a key was present but invalid, so dependent checks are skipped.
    broken: Vec<&'static str>,
    /// Span of each config key's value.
    value_spans: HashMap<String, Span>,
}

/// What the block-level checks need from a valid config.
struct ConfigView {
    zone: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    patterns_ok: bool,
    required: Vec<String>,
    control: String,
    escape: [String; 2],
    default_max: u64,
}

impl<'s> Linter<'s> {
    fn new(sources: &[(&str, &'s str)], origin: Origin) -> Self {
        Linter {
            sources: sources
                .iter()
                .map(|(name, text)| Source {
                    name: Arc::from(*name),
                    text,
                    lines: LineIndex::new(text),
                    origin,
                })
                .collect(),
            diags: Vec::new(),
        }
    }

    fn location(&self, file: usize, offset: usize) -> Location {
        let src = &self.sources[file];
        let (line, column, _) = src.locate(offset);
        Location {
            file: src.name.clone(),
            line,
            column,
        }
    }

    fn push(
        &mut self,
        severity: Severity,
        file: usize,
        span: Span,
        message: String,
    ) -> DiagMut<'_> {
        let src = &self.sources[file];
        let (line, column, source_line, source_column) = src.locate_shown(span.start);
        self.diags.push(Diagnostic {
            severity,
            message,
            file: src.name.clone(),
            line,
            column,
            span,
            source_line,
            source_column,
            label: None,
            help: None,
            notes: Vec::new(),
        });
        DiagMut(self.diags.last_mut().expect("just pushed"))
    }

    fn error(&mut self, file: usize, span: Span, message: impl Into<String>) -> DiagMut<'_> {
        self.push(Severity::Error, file, span, message.into())
    }

    fn warning(&mut self, file: usize, span: Span, message: impl Into<String>) -> DiagMut<'_> {
        self.push(Severity::Warning, file, span, message.into())
    }

    fn run(mut self) -> Result<Parsed, Error> {
        // 1. TOML syntax, per file. Syntax errors stop here: a recovered tree would only produce
        //    confusing follow-on errors.
        let mut tables = Vec::new();
        for file in 0..self.sources.len() {
            let text = self.sources[file].text;
            let (table, errors) = DeTable::parse_recoverable(text);
            // The parser's recovery reports follow-on errors on the line of a mistake; the
            // first error of each line is the one that says what is wrong.
            let mut errors: Vec<_> = errors
                .into_iter()
                .map(|e| (e.span().unwrap_or(0..0), e))
                .collect();
            errors.sort_by_key(|(span, _)| span.start);
            let mut lines_seen = std::collections::HashSet::new();
            for (span, e) in errors {
                let line = self.sources[file].locate(span.start).0;
                if !lines_seen.insert(line) {
                    continue;
                }
                let msg = format!("invalid TOML: {}", e.message().trim());
                self.error(file, span, msg).label("TOML syntax error");
            }
            tables.push(table);
        }
        if self.has_errors() {
            return Err(self.finish_err());
        }

        // 2. Merge top-level keys of all files.
        let mut top: Vec<TopEntry<'_, 's>> = Vec::new();
        let mut seen: HashMap<&str, (usize, Span)> = HashMap::new();
        for (file, table) in tables.iter().enumerate() {
            for (k, v) in table.get_ref().iter() {
                let key: &str = k.get_ref();
                if let Some((first_file, first_span)) = seen.get(key).cloned() {
                    let first = self.location(first_file, first_span.start);
                    let other = self.sources[first_file].name.clone();
                    let here = self.sources[file].name.clone();
                    self.error(
                        file,
                        k.span(),
                        format!("top-level key `{key}` is defined in both `{other}` and `{here}`"),
                    )
                    .label("defined again here")
                    .note(Some(first), "first defined here")
                    .help("keep each sequence and `[config]` in exactly one file of the folder");
                    continue;
                }
                seen.insert(key, (file, k.span()));
                top.push((file, k, v));
            }
        }

        // 3. Config.
        let raw = match top.iter().find(|(_, k, _)| k.get_ref() == "config") {
            Some(&(file, key, value)) => self.config(file, key.span(), value),
            None => {
                let msg = if self.sources.len() > 1 {
                    "no file of the folder has a `[config]` table"
                } else {
                    "missing `[config]` table"
                };
                self.error(0, 0..0, msg).help(
                    "add a `[config]` table with zone_patterns, required_patterns, valid_tags, \
                     default_max_token_length, sequences, control_pattern and escape_patterns",
                );
                return Err(self.finish_err());
            }
        };
        let config = self.check_config(raw);

        // 4. Top-level keys other than config.
        let listed: Option<Vec<(String, Span)>> = config.sequences.clone();
        let listed_set: std::collections::HashSet<&str> =
            listed.iter().flatten().map(|(n, _)| n.as_str()).collect();
        let top_keys: std::collections::HashSet<&str> = top
            .iter()
            .map(|(_, k, _)| -> &str { k.get_ref() })
            .collect();
        let mut seq_values: HashMap<String, At<'_, 's>> = HashMap::new();
        for &(file, key, value) in &top {
            let name: &str = key.get_ref();
            if name == "config" {
                continue;
            }
            let is_listed = listed_set.contains(name);
            let is_aot = is_array_of_tables(value.get_ref());
            if is_listed {
                if is_aot {
                    seq_values.insert(name.to_owned(), At { file, value });
                } else {
                    self.error(
                        file,
                        value.span(),
                        format!(
                            "sequence `{name}` must be an array of tables (`[[{name}]]` blocks)"
                        ),
                    )
                    .label(format!("found {}", describe(value.get_ref())))
                    .help(format!(
                        "write each block as a `[[{name}]]` table with `text` and `tags`"
                    ));
                }
            } else if listed.is_some() || config.sequences_broken {
                if config.sequences_broken {
                    continue;
                }
                let suggestion = listed.as_ref().and_then(|l| {
                    did_you_mean(name, l.iter().map(|(n, _)| n.as_str()))
                        .map(|s| format!("did you mean `{s}`?"))
                });
                if is_aot {
                    let help = suggestion.unwrap_or_else(|| {
                        format!("add \"{name}\" to `config.sequences`, or remove these blocks")
                    });
                    self.error(
                        file,
                        key.span(),
                        format!("sequence `{name}` is not listed in `config.sequences`"),
                    )
                    .label("not a declared sequence")
                    .help(help);
                } else {
                    let help = suggestion.unwrap_or_else(|| {
                        "a UDPL document holds only `[config]` and `[[sequence]]` blocks".into()
                    });
                    self.error(file, key.span(), format!("unknown top-level key `{name}`"))
                        .label("not `config` or a sequence")
                        .help(help);
                }
            }
        }

        // 5. Sequences and their blocks.
        let mut sequences = Vec::new();
        let mut resources = ResourceTable::default();
        if let (Some(list), false) = (&listed, config.sequences_broken) {
            for (name, span) in list {
                let Some(at) = seq_values.get(name).copied() else {
                    if !top_keys.contains(name.as_str()) {
                        self.error(
                            config.file,
                            span.clone(),
                            format!("sequence `{name}` has no blocks"),
                        )
                        .label("declared here")
                        .help(format!(
                            "add at least one `[[{name}]]` block with `text` and `tags`"
                        ));
                    }
                    continue;
                };
                let location = self.location(config.file, span.start);
                let blocks = self.sequence(name, at, &config.view, &mut resources);
                let snake = snake_case(name).unwrap_or_default();
                let pascal = pascal_case(name).unwrap_or_default();
                sequences.push(Sequence {
                    name: Name {
                        name: name.clone(),
                        snake,
                        pascal,
                    },
                    location,
                    blocks,
                });
            }
        }
        self.check_resources(&resources);

        if self.has_errors() {
            return Err(self.finish_err());
        }
        let Some(cfg) = config.model else {
            return Err(self.finish_err());
        };
        let document = Document {
            files: self.sources.iter().map(|s| s.name.clone()).collect(),
            tags: names_of(&cfg.valid_tags),
            tools: names_of(&cfg.tools),
            config: cfg,
            sequences,
            resources: resources
                .entries
                .into_iter()
                .map(|e| Resource {
                    name: Name {
                        snake: snake_case(&e.name).unwrap_or_default(),
                        pascal: pascal_case(&e.name).unwrap_or_default(),
                        name: e.name,
                    },
                    kind: e.kind,
                    location: e.location,
                })
                .collect(),
        };
        let warnings = self.sorted();
        Ok(Parsed { document, warnings })
    }

    fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    fn sorted(mut self) -> Vec<Diagnostic> {
        let order: HashMap<Arc<str>, usize> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        self.diags
            .sort_by_key(|d| (order.get(&d.file).copied().unwrap_or(0), d.span.start));
        self.diags
    }

    fn finish_err(self) -> Error {
        Error::Invalid {
            diagnostics: self.sorted(),
        }
    }

    // -------------------------------------------------------------------------------- config

    fn config(&mut self, file: usize, key_span: Span, value: &Spanned<DeValue<'s>>) -> RawConfig {
        let mut raw = RawConfig {
            file,
            header: value.span(),
            ..RawConfig::default()
        };
        let DeValue::Table(table) = value.get_ref() else {
            self.error(file, value.span(), "`config` must be a table")
                .label(format!("found {}", describe(value.get_ref())))
                .help("write it as a `[config]` table");
            raw.header = key_span;
            raw.broken = CONFIG_KEYS.to_vec();
            return raw;
        };
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            raw.value_spans.insert(key.to_owned(), v.span());
            match key {
                "zone_patterns" => {
                    raw.zone_patterns = self.str_list(file, "zone_patterns", v, &mut raw.broken)
                }
                "required_patterns" => {
                    raw.required_patterns =
                        self.str_list(file, "required_patterns", v, &mut raw.broken)
                }
                "valid_tags" => {
                    raw.valid_tags = self.str_list(file, "valid_tags", v, &mut raw.broken)
                }
                "sequences" => raw.sequences = self.str_list(file, "sequences", v, &mut raw.broken),
                "escape_patterns" => {
                    raw.escape_patterns = self.str_list(file, "escape_patterns", v, &mut raw.broken)
                }
                "tools" => raw.tools = self.str_list(file, "tools", v, &mut raw.broken),
                "control_pattern" => match v.get_ref() {
                    DeValue::String(s) => raw.control_pattern = Some((s.to_string(), v.span())),
                    other => {
                        self.error(file, v.span(), "`control_pattern` must be a string")
                            .label(format!("found {}", describe(other)))
                            .help("for example `control_pattern = \"[Jump]\"`");
                        raw.broken.push("control_pattern");
                    }
                },
                "default_max_token_length" => {
                    match self.positive_int(file, "default_max_token_length", v) {
                        Some(n) => raw.default_max_token_length = Some(n),
                        None => raw.broken.push("default_max_token_length"),
                    }
                }
                _ => {
                    let help = did_you_mean(key, CONFIG_KEYS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("valid keys are: {}", CONFIG_KEYS.join(", ")));
                    self.error(file, k.span(), format!("unknown key `{key}` in `[config]`"))
                        .label("unknown key")
                        .help(help);
                }
            }
        }
        raw
    }

    /// A list of strings; reports non-arrays and non-string elements.
    fn str_list(
        &mut self,
        file: usize,
        key: &'static str,
        v: &Spanned<DeValue<'s>>,
        broken: &mut Vec<&'static str>,
    ) -> Option<StrList> {
        let DeValue::Array(arr) = v.get_ref() else {
            self.error(
                file,
                v.span(),
                format!("`{key}` must be an array of strings"),
            )
            .label(format!("found {}", describe(v.get_ref())));
            broken.push(key);
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for el in arr.iter() {
            match el.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), el.span())),
                other => {
                    self.error(file, el.span(), format!("`{key}` must hold only strings"))
                        .label(format!("found {}", describe(other)))
                        .help("quote it");
                    ok = false;
                }
            }
        }
        if ok {
            Some(out)
        } else {
            broken.push(key);
            None
        }
    }

    /// An integer ≥ 1 (booleans and floats are not integers).
    fn positive_int(&mut self, file: usize, key: &str, v: &Spanned<DeValue<'s>>) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                match i128::from_str_radix(&digits, i.radix()) {
                    Ok(n) if n >= 1 && n <= i128::from(u64::MAX) => u64::try_from(n).ok(),
                    Ok(n) if n < 1 => {
                        self.error(file, v.span(), format!("`{key}` must be at least 1"))
                            .label(format!("found {n}"));
                        None
                    }
                    _ => {
                        self.error(file, v.span(), format!("`{key}` is too large"))
                            .label("does not fit in 64 bits");
                        None
                    }
                }
            }
            other => {
                self.error(file, v.span(), format!("`{key}` must be an integer"))
                    .label(format!("found {}", describe(other)))
                    .help_opt(matches!(other, DeValue::Boolean(_)).then(|| {
                        "booleans are not integers in UDPL; write a number such as 1".to_owned()
                    }));
                None
            }
        }
    }

    /// Report duplicates (and empty strings) in a list; returns false if any.
    fn distinct(&mut self, file: usize, key: &str, list: &StrList) -> bool {
        let mut ok = true;
        let mut firsts: FirstSeen<&str, usize> = FirstSeen::default();
        for (s, span) in list {
            if s.is_empty() {
                self.error(file, span.clone(), format!("empty string in `{key}`"))
                    .label("must not be empty");
                ok = false;
                continue;
            }
            if let Some(first) = firsts.get(&s.as_str()) {
                let first = self.location(file, first);
                self.error(file, span.clone(), format!("duplicate `{s}` in `{key}`"))
                    .label("duplicate")
                    .note(Some(first), "first listed here")
                    .help("remove the duplicate");
                ok = false;
            } else {
                firsts.insert(s.as_str(), span.start);
            }
        }
        ok
    }

    /// Every name converts to an identifier and no two collide after conversion.
    fn identifiers(
        &mut self,
        file: usize,
        what: &str,
        list: &StrList,
        convert: fn(&str) -> Option<String>,
    ) -> bool {
        let mut ok = true;
        let mut seen: FirstSeen<String, (&str, usize)> = FirstSeen::default();
        for (s, span) in list {
            if s.is_empty() {
                continue;
            }
            let Some(ident) = convert(s) else {
                self.error(
                    file,
                    span.clone(),
                    format!("{what} `{s}` cannot be a Rust identifier"),
                )
                .label("no identifier for this name")
                .help("use ASCII letters, digits, `_` or `-`, starting with a letter");
                ok = false;
                continue;
            };
            if let Some((other, other_start)) = seen.get(&ident).filter(|(o, _)| o != s) {
                let first = self.location(file, other_start);
                let other = other.to_string();
                self.error(
                    file,
                    span.clone(),
                    format!("{what} `{s}` and `{other}` both become the Rust identifier `{ident}`"),
                )
                .label("collides after case conversion")
                .note(Some(first), format!("`{other}` is here"))
                .help("rename one of them");
                ok = false;
                continue;
            }
            if seen.get(&ident).is_none() {
                seen.insert(ident, (s, span.start));
            }
        }
        ok
    }

    fn no_braces(&mut self, file: usize, key: &str, s: &str, span: &Span) -> bool {
        if s.contains(['{', '}']) {
            self.error(
                file,
                span.clone(),
                format!("`{key}` entry `{s}` contains a brace"),
            )
            .label("braces delimit placeholders")
            .help("choose a pattern without `{` or `}`");
            return false;
        }
        true
    }

    fn check_config(&mut self, mut raw: RawConfig) -> CheckedConfig {
        let file = raw.file;
        let header = raw.header.clone();
        for key in [
            "zone_patterns",
            "required_patterns",
            "valid_tags",
            "default_max_token_length",
            "sequences",
            "control_pattern",
            "escape_patterns",
        ] {
            let present = match key {
                "zone_patterns" => raw.zone_patterns.is_some(),
                "required_patterns" => raw.required_patterns.is_some(),
                "valid_tags" => raw.valid_tags.is_some(),
                "default_max_token_length" => raw.default_max_token_length.is_some(),
                "sequences" => raw.sequences.is_some(),
                "control_pattern" => raw.control_pattern.is_some(),
                _ => raw.escape_patterns.is_some(),
            };
            if !present && !raw.broken.contains(&key) {
                let example = match key {
                    "zone_patterns" => "zone_patterns = [\"[Prompt]\", \"[Answer]\", \"[EOS]\"]",
                    "required_patterns" => "required_patterns = [\"[Prompt]\", \"[Answer]\"]",
                    "valid_tags" => "valid_tags = [\"Training\"]",
                    "default_max_token_length" => "default_max_token_length = 2000",
                    "sequences" => "sequences = [\"setup\"]",
                    "control_pattern" => "control_pattern = \"[Jump]\"",
                    _ => "escape_patterns = [\"[Escape]\", \"[EndEscape]\"]",
                };
                self.error(
                    file,
                    header.clone(),
                    format!("`[config]` is missing `{key}`"),
                )
                .label("in this table")
                .help(format!("add `{example}`"));
                raw.broken.push(key);
            }
        }

        // zone_patterns
        let mut zone_ok = false;
        if let Some(z) = &raw.zone_patterns {
            zone_ok = self.distinct(file, "zone_patterns", z);
            for (s, span) in z {
                zone_ok &= self.no_braces(file, "zone_patterns", s, span);
            }
            if z.len() < 2 {
                let span = Self::value_span_of(&raw.value_spans, &header, "zone_patterns");
                self.error(file, span, "`zone_patterns` needs at least two patterns")
                    .label(format!("found {}", z.len()))
                    .help("a block has a prompt zone and at least one more, e.g. [\"[Prompt]\", \"[Answer]\"]");
                zone_ok = false;
            }
        }
        let zones: Vec<String> = raw
            .zone_patterns
            .as_ref()
            .map(|z| z.iter().map(|(s, _)| s.clone()).collect())
            .unwrap_or_default();

        // required_patterns
        let mut required_ok = false;
        if let Some(r) = &raw.required_patterns {
            required_ok = self.distinct(file, "required_patterns", r);
            if r.is_empty() {
                let span = Self::value_span_of(&raw.value_spans, &header, "required_patterns");
                self.error(file, span, "`required_patterns` must not be empty")
                    .help("list at least the first zone pattern");
                required_ok = false;
            }
            if raw.zone_patterns.is_some() {
                for (s, span) in r {
                    if !s.is_empty() && !zones.contains(s) {
                        let help = did_you_mean(s, zones.iter().map(String::as_str))
                            .map(|m| format!("did you mean `{m}`?"))
                            .unwrap_or_else(|| {
                                "required patterns must be listed in `zone_patterns`".into()
                            });
                        self.error(
                            file,
                            span.clone(),
                            format!("required pattern `{s}` is not one of `zone_patterns`"),
                        )
                        .label("not a zone pattern")
                        .help(help);
                        required_ok = false;
                    }
                }
            }
        }

        // valid_tags
        let mut tags_ok = false;
        if let Some(t) = &raw.valid_tags {
            tags_ok = self.distinct(file, "valid_tags", t);
            tags_ok &= self.identifiers(file, "tag", t, pascal_case);
            if t.is_empty() {
                let span = Self::value_span_of(&raw.value_spans, &header, "valid_tags");
                self.warning(
                    file,
                    span,
                    "`valid_tags` is empty: no block can carry a tag",
                )
                .label("empty")
                .help("list the tags your extractions will select, e.g. [\"Training\"]");
            }
        }

        // sequences
        let mut sequences_broken = raw.sequences.is_none();
        if let Some(s) = &raw.sequences {
            let mut ok = self.distinct(file, "sequences", s);
            ok &= self.identifiers(file, "sequence", s, snake_case);
            if s.is_empty() {
                let span = Self::value_span_of(&raw.value_spans, &header, "sequences");
                self.error(file, span, "`sequences` must not be empty")
                    .help("list the sequences of the document, e.g. [\"setup\"]");
            }
            // Names that are not distinct leave the sequence set ambiguous for later checks.
            if !ok {
                sequences_broken = s
                    .iter()
                    .enumerate()
                    .any(|(i, (n, _))| n.is_empty() || s[..i].iter().any(|(o, _)| o == n));
            }
        }

        // control_pattern
        let mut control_ok = false;
        if let Some((c, span)) = &raw.control_pattern {
            control_ok = true;
            if c.is_empty() {
                self.error(file, span.clone(), "`control_pattern` must not be empty")
                    .help("for example `control_pattern = \"[Jump]\"`");
                control_ok = false;
            } else if zones.contains(c) {
                self.error(
                    file,
                    span.clone(),
                    format!("`control_pattern` `{c}` is also a zone pattern"),
                )
                .label("ambiguous")
                .help("choose a control pattern that differs from every zone pattern");
                control_ok = false;
            }
            control_ok &= self.no_braces(file, "control_pattern", c, span);
        }

        // escape_patterns
        let mut escape_ok = false;
        if let Some(e) = &raw.escape_patterns {
            escape_ok = true;
            if e.len() != 2 {
                let span = Self::value_span_of(&raw.value_spans, &header, "escape_patterns");
                self.error(
                    file,
                    span,
                    "`escape_patterns` must hold exactly two patterns",
                )
                .label(format!("found {}", e.len()))
                .help(
                    "give an opening and a closing pattern, e.g. [\"[Escape]\", \"[EndEscape]\"]",
                );
                escape_ok = false;
            }
            for (i, (s, span)) in e.iter().enumerate() {
                if s.is_empty() {
                    self.error(file, span.clone(), "escape pattern must not be empty")
                        .label("empty");
                    escape_ok = false;
                } else if i == 1 && *s == e[0].0 {
                    self.error(file, span.clone(), "the two escape patterns must differ")
                        .label("same as the opening pattern")
                        .help("use distinct opening and closing patterns, e.g. [\"[Escape]\", \"[EndEscape]\"]");
                    escape_ok = false;
                } else if zones.contains(s) {
                    self.error(
                        file,
                        span.clone(),
                        format!("escape pattern `{s}` is also a zone pattern"),
                    )
                    .label("ambiguous")
                    .help("choose escape patterns that differ from every zone pattern");
                    escape_ok = false;
                } else if raw.control_pattern.as_ref().is_some_and(|(c, _)| c == s) {
                    self.error(
                        file,
                        span.clone(),
                        format!("escape pattern `{s}` is also the control pattern"),
                    )
                    .label("ambiguous")
                    .help("choose escape patterns that differ from the control pattern");
                    escape_ok = false;
                }
                escape_ok &= self.no_braces(file, "escape_patterns", s, span);
            }
        }

        // tools
        let mut tools_ok = true;
        if let Some(t) = &raw.tools {
            tools_ok = self.distinct(file, "tools", t);
            tools_ok &= self.identifiers(file, "tool", t, pascal_case);
        }

        let patterns_ok = zone_ok && control_ok && escape_ok;
        let all_ok = patterns_ok
            && tags_ok
            && required_ok
            && tools_ok
            && !sequences_broken
            && raw.default_max_token_length.is_some()
            && !self.has_errors();
        let strs = |l: &Option<StrList>| -> Vec<String> {
            l.as_ref()
                .map(|l| l.iter().map(|(s, _)| s.clone()).collect())
                .unwrap_or_default()
        };
        let escape = {
            let e = strs(&raw.escape_patterns);
            [
                e.first().cloned().unwrap_or_default(),
                e.get(1).cloned().unwrap_or_default(),
            ]
        };
        let control = raw
            .control_pattern
            .as_ref()
            .map(|(c, _)| c.clone())
            .unwrap_or_default();
        let model = all_ok.then(|| Config {
            zone_patterns: zones.clone(),
            required_patterns: strs(&raw.required_patterns),
            valid_tags: strs(&raw.valid_tags),
            default_max_token_length: raw.default_max_token_length.unwrap_or(1),
            sequences: strs(&raw.sequences),
            control_pattern: control.clone(),
            escape_patterns: escape.clone(),
            tools: strs(&raw.tools),
        });
        CheckedConfig {
            file,
            sequences: raw.sequences.clone(),
            sequences_broken,
            view: ConfigView {
                zone: zone_ok.then(|| zones.clone()),
                tags: tags_ok.then(|| strs(&raw.valid_tags)),
                patterns_ok,
                required: strs(&raw.required_patterns)
                    .into_iter()
                    .filter(|r| zones.contains(r))
                    .collect(),
                control,
                escape,
                default_max: raw.default_max_token_length.unwrap_or(1),
            },
            model,
        }
    }

    /// The span of a whole config value, for errors about the array itself.
    fn value_span_of(raw_spans: &HashMap<String, Span>, header: &Span, key: &str) -> Span {
        raw_spans
            .get(key)
            .cloned()
            .unwrap_or_else(|| header.clone())
    }
}

/// The checked config and what later phases need from it.
struct CheckedConfig {
    file: usize,
    sequences: Option<StrList>,
    sequences_broken: bool,
    view: ConfigView,
    model: Option<Config>,
}

fn names_of(list: &[String]) -> Vec<Name> {
    list.iter()
        .map(|n| Name {
            name: n.clone(),
            snake: snake_case(n).unwrap_or_default(),
            pascal: pascal_case(n).unwrap_or_default(),
        })
        .collect()
}

fn is_array_of_tables(v: &DeValue<'_>) -> bool {
    matches!(v, DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_table()))
}

fn describe(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

// ------------------------------------------------------------------------------------ blocks

#[derive(Default)]
struct ResourceTable {
    entries: Vec<ResourceEntry>,
    by_name: HashMap<String, usize>,
}

struct ResourceEntry {
    name: String,
    kind: ResourceKind,
    location: Location,
    file: usize,
    span: Span,
}

/// A spec table found in a block, before it is matched with placeholders.
struct Spec {
    key: String,
    key_span: Span,
    resource: Option<String>,
    kind: ResourceKind,
    arguments: Arguments,
    has_arguments: bool,
    header: Span,
}

impl<'s> Linter<'s> {
    fn sequence(
        &mut self,
        name: &str,
        at: At<'_, 's>,
        config: &ConfigView,
        resources: &mut ResourceTable,
    ) -> Vec<Block> {
        let DeValue::Array(blocks) = at.value.get_ref() else {
            return Vec::new();
        };
        if blocks.is_empty() {
            self.error(
                at.file,
                at.value.span(),
                format!("sequence `{name}` has no blocks"),
            )
            .label("empty array")
            .help(format!(
                "add at least one `[[{name}]]` block with `text` and `tags`"
            ));
            return Vec::new();
        }
        let mut out = Vec::new();
        for (index, el) in blocks.iter().enumerate() {
            if let DeValue::Table(table) = el.get_ref()
                && let Some(b) =
                    self.block(name, index, at.file, el.span(), table, config, resources)
            {
                out.push(b);
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        seq: &str,
        index: usize,
        file: usize,
        header: Span,
        table: &DeTable<'s>,
        config: &ConfigView,
        resources: &mut ResourceTable,
    ) -> Option<Block> {
        let errors_before = self.error_count();
        let mut text: Option<(String, Span)> = None;
        let mut tags: Option<(Vec<Vec<String>>, Span)> = None;
        let mut tagset: Option<(Vec<Vec<Vec<String>>>, Span)> = None;
        let mut tagset_key: Option<Span> = None;
        let mut repeats: Option<(u64, Span)> = None;
        let mut max_gen: Option<u64> = None;
        let mut specs: Vec<Spec> = Vec::new();
        let what = BlockName(index + 1, seq);

        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            match (key, v.get_ref()) {
                ("text", DeValue::String(s)) => text = Some((s.to_string(), v.span())),
                ("text", other) => {
                    self.error(file, v.span(), format!("`text` of {what} must be a string"))
                        .label(format!("found {}", describe(other)));
                }
                ("tags", _) => {
                    tags = self
                        .tag_lists(file, v, config, "tags")
                        .map(|t| (t, v.span()));
                }
                ("tagset", val) => {
                    tagset_key = Some(k.span());
                    match val {
                        DeValue::Array(arr) if arr.is_empty() => {
                            self.error(file, v.span(), "`tagset` must not be empty")
                                .label("no entries")
                                .help("give one tag list per instance, or use `tags` for a single instance");
                        }
                        DeValue::Array(arr) => {
                            let mut all = Vec::new();
                            let mut ok = true;
                            for entry in arr.iter() {
                                match self.tag_lists(file, entry, config, "tagset") {
                                    Some(t) => all.push(t),
                                    None => ok = false,
                                }
                            }
                            if ok {
                                tagset = Some((all, v.span()));
                            }
                        }
                        other => {
                            self.error(file, v.span(), "`tagset` must be an array of tag lists")
                                .label(format!("found {}", describe(other)));
                        }
                    }
                }
                ("repeats", _) => {
                    if let Some(n) = self.positive_int(file, "repeats", v) {
                        repeats = Some((n, v.span()));
                    }
                }
                ("max_gen_tokens", _) => max_gen = self.positive_int(file, "max_gen_tokens", v),
                (_, DeValue::Table(spec)) => {
                    specs.push(self.spec(seq, key, k.span(), file, v.span(), spec));
                }
                _ => {
                    let help = did_you_mean(key, BLOCK_KEYS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            format!(
                                "block keys are {}; a placeholder spec is a table `[{seq}.{key}]`",
                                BLOCK_KEYS.join(", ")
                            )
                        });
                    self.error(file, k.span(), format!("unknown key `{key}` in {what}"))
                        .label("unknown key")
                        .help(help);
                }
            }
        }

        let has_tags_key = table.iter().any(|(k, _)| k.get_ref() == "tags");
        if !table.iter().any(|(k, _)| k.get_ref() == "text") {
            self.error(file, header.clone(), format!("{what} has no `text`"))
                .label("this block")
                .help("add `text = \"\"\"[Prompt] ...\"\"\"`");
        }
        match (has_tags_key, tagset_key.clone()) {
            (true, Some(span)) => {
                self.error(file, span, format!("{what} has both `tags` and `tagset`"))
                    .label("remove one")
                    .help("use `tags` for one instance or `tagset` for one instance per entry");
            }
            (false, None) => {
                let n = config.zone.as_ref().map_or(2, Vec::len);
                let example = vec!["[]"; n.saturating_sub(1)].join(", ");
                self.error(
                    file,
                    header.clone(),
                    format!("{what} has neither `tags` nor `tagset`"),
                )
                .label("this block")
                .help(format!(
                    "add `tags = [{example}]` (one list per zone after the first)"
                ));
            }
            _ => {}
        }
        if let (Some((_, span)), Some(_)) = (&repeats, &tagset_key) {
            self.error(
                file,
                span.clone(),
                "`repeats` applies only to blocks with `tags`",
            )
            .label("not allowed with `tagset`")
            .help(
                "a `tagset` block is already instantiated once per entry; repeat entries instead",
            );
        }
        if let Some((n, span)) = &repeats
            && *n > REPEATS_WARN
        {
            self.warning(
                file,
                span.clone(),
                format!("`repeats = {n}` is unusually large (over {REPEATS_WARN})"),
            )
            .label("many instances")
            .help("every instance is fed to the model; check this is intended");
        }

        // Text analysis and placeholder/spec matching.
        let mut zones_out = Vec::new();
        let mut placeholders = Vec::new();
        let mut text_location = self.location(file, header.start);
        if let Some((text, span)) = &text {
            text_location = self.location(file, span.start);
            let map = StrMap::new(self.sources[file].text, span.clone(), text);
            // With broken config patterns, still scan braces and placeholders (no zone split).
            let no_patterns: &[String] = &[];
            let (zone, split) = match (&config.zone, config.patterns_ok) {
                (Some(zone), true) => (zone.as_slice(), true),
                _ => (no_patterns, false),
            };
            let patterns = Patterns {
                zone,
                required: &config.required,
                control: if split { &config.control } else { "" },
                escape_open: if split { &config.escape[0] } else { "" },
                escape_close: if split { &config.escape[1] } else { "" },
            };
            let analysis = analyze(text, &patterns);
            for issue in analysis.issues {
                let sp = match issue.range {
                    Some(r) => map.source_offset(r.start)..map.source_end(r.end),
                    None => span.clone(),
                };
                let d = self.push(issue.severity, file, sp, issue.message);
                let d = match issue.label {
                    Some(l) => d.label(l),
                    None => d,
                };
                d.help_opt(issue.help);
            }
            zones_out = analysis.zones;
            let placeholders_found = analysis.placeholders;
            for (key, range) in &placeholders_found {
                let sp = map.source_offset(range.start)..map.source_end(range.end);
                match specs.iter().find(|s| s.key == *key) {
                    Some(spec) => {
                        if let Some(resource) = &spec.resource {
                            placeholders.push(Placeholder {
                                key: key.clone(),
                                resource: resource.clone(),
                                kind: spec.kind,
                                arguments: spec.arguments.clone(),
                                has_arguments: spec.has_arguments,
                                spec_location: self.location(file, spec.header.start),
                                location: self.location(file, sp.start),
                            });
                        }
                    }
                    None => {
                        self.error(file, sp, format!("placeholder `{{{key}}}` has no spec table"))
                            .label("undeclared placeholder")
                            .help(format!(
                                "add a table after this block: `[{seq}.{key}]` with `name = \"<resource>\"` \
                                 (and optionally `type` and `arguments`)"
                            ));
                    }
                }
            }
            {
                for spec in &specs {
                    if !placeholders_found.iter().any(|(k, _)| *k == spec.key) {
                        self.warning(
                            file,
                            spec.key_span.clone(),
                            format!("spec table `[{seq}.{}]` is not used by any placeholder of this block", spec.key),
                        )
                        .label("unused")
                        .help(format!(
                            "write `{{{}}}` in the block's text, or remove the table",
                            spec.key
                        ));
                    }
                }
            }
            for spec in &specs {
                if let Some(resource) = &spec.resource
                    && placeholders_found.iter().any(|(k, _)| *k == spec.key)
                {
                    resources.add(self, file, spec, resource);
                }
            }
        }

        if self.error_count() > errors_before {
            return None;
        }
        let (text, _) = text?;
        let zone_patterns = config.zone.as_ref()?;
        let n = zone_patterns.len();
        let instances: Vec<Vec<Vec<String>>> = match (tags, tagset) {
            (Some((t, _)), None) => {
                let inst = with_head(t);
                let r = repeats.map_or(1, |(n, _)| n);
                (0..r).map(|_| inst.clone()).collect()
            }
            (None, Some((ts, _))) => ts.into_iter().map(with_head).collect(),
            _ => return None,
        };
        let max_gen_tokens = max_gen.unwrap_or(config.default_max);
        let zones = zones_out
            .into_iter()
            .enumerate()
            .map(|(i, segments)| Zone {
                index: i,
                segments,
                advance: zone_patterns[i].clone(),
                max_gen_tokens,
            })
            .collect::<Vec<_>>();
        if zones.len() != n {
            return None;
        }
        Some(Block {
            index,
            text,
            location: text_location,
            zones,
            instances,
            placeholders,
        })
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// `[[..], [..]]`: one tag list per zone after the first.
    fn tag_lists(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
        config: &ConfigView,
        key: &str,
    ) -> Option<Vec<Vec<String>>> {
        let DeValue::Array(outer) = v.get_ref() else {
            self.error(
                file,
                v.span(),
                format!("`{key}` must be an array of tag lists"),
            )
            .label(format!("found {}", describe(v.get_ref())))
            .help("for example `tags = [[], [\"Training\"]]`");
            return None;
        };
        let mut ok = true;
        if let Some(zones) = &config.zone {
            let want = zones.len() - 1;
            if outer.len() != want {
                let example = vec!["[]"; want].join(", ");
                let d = self
                    .error(
                        file,
                        v.span(),
                        format!(
                            "expected {want} tag list{} (one per zone after the first), found {}",
                            if want == 1 { "" } else { "s" },
                            outer.len()
                        ),
                    )
                    .label("wrong number of tag lists");
                d.help(format!(
                    "write `{key} = [{example}]` with tags in the lists as needed"
                ));
                ok = false;
            }
        }
        let mut lists = Vec::new();
        for inner in outer.iter() {
            let DeValue::Array(arr) = inner.get_ref() else {
                self.error(
                    file,
                    inner.span(),
                    "each tag list must be an array of tag names",
                )
                .label(format!("found {}", describe(inner.get_ref())))
                .help("wrap it in brackets, e.g. [\"Training\"]");
                ok = false;
                continue;
            };
            lists.push(self.tag_list(file, arr, config).unwrap_or_else(|| {
                ok = false;
                Vec::new()
            }));
        }
        ok.then_some(lists)
    }

    fn tag_list(
        &mut self,
        file: usize,
        arr: &DeArray<'s>,
        config: &ConfigView,
    ) -> Option<Vec<String>> {
        let mut ok = true;
        let mut out: Vec<String> = Vec::new();
        for el in arr.iter() {
            let DeValue::String(tag) = el.get_ref() else {
                self.error(file, el.span(), "tags must be strings")
                    .label(format!("found {}", describe(el.get_ref())));
                ok = false;
                continue;
            };
            if let Some(valid) = &config.tags
                && !valid.iter().any(|t| t == tag.as_ref())
            {
                let help = did_you_mean(tag, valid.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        if valid.is_empty() {
                            "`config.valid_tags` is empty; add the tag there".into()
                        } else {
                            format!(
                                "valid tags are: {}; or add it to `config.valid_tags`",
                                valid.join(", ")
                            )
                        }
                    });
                self.error(file, el.span(), format!("unknown tag `{tag}`"))
                    .label("not in `config.valid_tags`")
                    .help(help);
                ok = false;
                continue;
            }
            if out.iter().any(|t| t == tag.as_ref()) {
                self.error(
                    file,
                    el.span(),
                    format!("duplicate tag `{tag}` in one tag list"),
                )
                .label("duplicate")
                .help("list each tag once");
                ok = false;
                continue;
            }
            out.push(tag.to_string());
        }
        ok.then_some(out)
    }

    fn spec(
        &mut self,
        seq: &str,
        key: &str,
        key_span: Span,
        file: usize,
        header: Span,
        table: &DeTable<'s>,
    ) -> Spec {
        let mut spec = Spec {
            key: key.to_owned(),
            key_span,
            resource: None,
            kind: ResourceKind::Standard,
            arguments: Arguments::new(),
            has_arguments: false,
            header: header.clone(),
        };
        let mut has_name = false;
        for (k, v) in table.iter() {
            let name: &str = k.get_ref();
            match name {
                "name" => {
                    has_name = true;
                    match v.get_ref() {
                        DeValue::String(s) if s.is_empty() => {
                            self.error(file, v.span(), "resource `name` must not be empty")
                                .label("empty")
                                .help("name the resource that fills this placeholder");
                        }
                        DeValue::String(s) => {
                            if snake_case(s).is_none() {
                                self.error(
                                    file,
                                    v.span(),
                                    format!("resource name `{s}` cannot be a Rust identifier"),
                                )
                                .label("no identifier for this name")
                                .help(
                                    "use ASCII letters, digits, `_` or `-`, starting with a letter",
                                );
                            } else {
                                spec.resource = Some(s.to_string());
                            }
                        }
                        other => {
                            self.error(file, v.span(), "resource `name` must be a string")
                                .label(format!("found {}", describe(other)));
                        }
                    }
                }
                "type" => match v.get_ref() {
                    DeValue::String(s) => match s.as_ref() {
                        "standard" => spec.kind = ResourceKind::Standard,
                        "custom" => spec.kind = ResourceKind::Custom,
                        "argument" => spec.kind = ResourceKind::Argument,
                        other => {
                            let help = did_you_mean(other, TYPES.iter().copied())
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| "use `standard`, `custom` or `argument`".into());
                            self.error(file, v.span(), format!("unknown resource type `{other}`"))
                                .label("not a resource type")
                                .help(help);
                        }
                    },
                    other => {
                        self.error(file, v.span(), "resource `type` must be a string")
                            .label(format!("found {}", describe(other)))
                            .help("use `standard`, `custom` or `argument`");
                    }
                },
                "arguments" => match v.get_ref() {
                    DeValue::Table(t) => {
                        spec.has_arguments = true;
                        match self.convert_table(file, t) {
                            Some(t) => spec.arguments = t,
                            None => spec.resource = None,
                        }
                    }
                    other => {
                        self.error(file, v.span(), "`arguments` must be a table")
                            .label(format!("found {}", describe(other)))
                            .help("for example `arguments = { num_samples = 3 }`");
                    }
                },
                _ => {
                    let help = did_you_mean(name, SPEC_KEYS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| {
                            "spec tables hold `name`, `type` and `arguments`".into()
                        });
                    self.error(
                        file,
                        k.span(),
                        format!("unknown key `{name}` in spec table `[{seq}.{key}]`"),
                    )
                    .label("unknown key")
                    .help(help);
                }
            }
        }
        if !has_name {
            self.error(
                file,
                header,
                format!("spec table `[{seq}.{key}]` has no `name`"),
            )
            .label("this table")
            .help("add `name = \"<resource>\"`: the resource that fills the placeholder");
        }
        spec
    }

    fn convert_table(&mut self, file: usize, t: &DeTable<'s>) -> Option<toml::Table> {
        let mut out = toml::Table::new();
        for (k, v) in t.iter() {
            out.insert(k.get_ref().to_string(), self.convert_value(file, v)?);
        }
        Some(out)
    }

    fn convert_value(&mut self, file: usize, v: &Spanned<DeValue<'s>>) -> Option<toml::Value> {
        Some(match v.get_ref() {
            DeValue::String(s) => toml::Value::String(s.to_string()),
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                match i64::from_str_radix(&digits, i.radix()) {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => {
                        self.error(file, v.span(), "integer argument does not fit in 64 bits")
                            .label("too large");
                        return None;
                    }
                }
            }
            DeValue::Float(f) => {
                let digits: String = f.as_str().chars().filter(|&c| c != '_').collect();
                let parsed = match digits.trim_start_matches(['+', '-']) {
                    "inf" => Some(f64::INFINITY),
                    "nan" => Some(f64::NAN),
                    _ => digits.parse::<f64>().ok(),
                };
                let Some(mut x) = parsed else {
                    self.error(file, v.span(), "invalid float")
                        .label("cannot read this number");
                    return None;
                };
                if digits.starts_with('-') && x > 0.0 {
                    x = -x;
                }
                toml::Value::Float(x)
            }
            DeValue::Boolean(b) => toml::Value::Boolean(*b),
            DeValue::Datetime(d) => toml::Value::Datetime(*d),
            DeValue::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for el in a.iter() {
                    out.push(self.convert_value(file, el)?);
                }
                toml::Value::Array(out)
            }
            DeValue::Table(t) => toml::Value::Table(self.convert_table(file, t)?),
        })
    }

    fn check_resources(&mut self, resources: &ResourceTable) {
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, e) in resources.entries.iter().enumerate() {
            let Some(ident) = snake_case(&e.name) else {
                continue;
            };
            if let Some((_, j)) = seen.iter().find(|(id, _)| *id == ident) {
                let other = &resources.entries[*j];
                let (other_name, other_loc) = (other.name.clone(), other.location.clone());
                self.error(
                    e.file,
                    e.span.clone(),
                    format!(
                        "resource names `{}` and `{other_name}` both become the Rust identifier `{ident}`",
                        e.name
                    ),
                )
                .label("collides after case conversion")
                .note(Some(other_loc), format!("`{other_name}` is declared here"))
                .help("rename one of the resources");
            } else {
                seen.push((ident, i));
            }
        }
    }
}

impl ResourceTable {
    fn add(&mut self, linter: &mut Linter<'_>, file: usize, spec: &Spec, resource: &str) {
        let location = linter.location(file, spec.header.start);
        if let Some(existing) = self.by_name.get(resource).map(|&i| &self.entries[i]) {
            if existing.kind != spec.kind {
                let first = existing.location.clone();
                let first_kind = existing.kind;
                linter
                    .error(
                        file,
                        spec.header.clone(),
                        format!(
                            "resource `{resource}` is `{}` here but `{first_kind}` at {first}",
                            spec.kind
                        ),
                    )
                    .label(format!("declared `{}` here", spec.kind))
                    .note(Some(first), format!("declared `{first_kind}` here"))
                    .help("a resource is bound at one stage: give every spec naming it the same `type`");
            }
            return;
        }
        self.by_name.insert(resource.to_owned(), self.entries.len());
        self.entries.push(ResourceEntry {
            name: resource.to_owned(),
            kind: spec.kind,
            location,
            file,
            span: spec.header.clone(),
        });
    }
}

/// First occurrences by key: a scan for short lists (most config lists are), a hash map
/// beyond.
struct FirstSeen<K, V> {
    small: Vec<(K, V)>,
    map: Option<HashMap<K, V>>,
}

impl<K, V> Default for FirstSeen<K, V> {
    fn default() -> Self {
        FirstSeen {
            small: Vec::new(),
            map: None,
        }
    }
}

impl<K: Eq + std::hash::Hash + Clone, V: Copy> FirstSeen<K, V> {
    const SCAN_LIMIT: usize = 32;

    fn get(&self, key: &K) -> Option<V> {
        match &self.map {
            Some(map) => map.get(key).copied(),
            None => self.small.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
        }
    }

    /// Record `key` (which must not be present yet).
    fn insert(&mut self, key: K, value: V) {
        match &mut self.map {
            Some(map) => {
                map.insert(key, value);
            }
            None => {
                self.small.push((key, value));
                if self.small.len() > Self::SCAN_LIMIT {
                    self.map = Some(self.small.drain(..).collect());
                }
            }
        }
    }
}

/// "block N of `seq`", formatted only when a message needs it.
#[derive(Clone, Copy)]
struct BlockName<'a>(usize, &'a str);

impl fmt::Display for BlockName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {} of `{}`", self.0, self.1)
    }
}

/// Prefix a tag list (zones 1..N) with the empty tag list of zone 0.
fn with_head(t: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(t.len() + 1);
    out.push(Vec::new());
    out.extend(t);
    out
}
