//! Located diagnostics and their two renderings.
//!
//! A [`Diagnostic`] is plain data: severity, message, the file's display path, a 1-based line and
//! column (columns count characters, not bytes), the byte range in the file, the source line it
//! points into, an optional label under the caret, an optional help line and notes. Because every
//! diagnostic carries its own source line, it renders without access to the file, in two forms:
//!
//! - [`Diagnostic::render_human`]: rustc style, with the source line and a caret;
//! - [`Diagnostic::render_short`]: one line, `PATH:LINE:COL: error|warning: MESSAGE`.
//!
//! ```
//! let err = forge::udpl::parse_str("[config]\nzone_patterns = 3\n", "prompts.toml").unwrap_err();
//! let bad = err.errors().find(|d| d.message.contains("zone_patterns` must be")).unwrap();
//! assert_eq!((bad.line, bad.column), (2, 17));
//! assert_eq!(
//!     bad.render_short(),
//!     "prompts.toml:2:17: error: `zone_patterns` must be an array of strings"
//! );
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The document is still valid; something looks like a mistake.
    Warning,
    /// The document is invalid.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location attached to a diagnostic ("first defined here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Where the note points, if it points anywhere.
    pub location: Option<Location>,
    /// The note's text.
    pub message: String,
}

/// A position in a UDPL source file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file's display path (as given to the parser, e.g. relative to the manifest).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One located finding of the parser or linter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file's display path.
    pub file: Arc<str>,
    /// 1-based line of the offending value.
    pub line: u32,
    /// 1-based column (in characters) of the offending value.
    pub column: u32,
    /// Byte range of the offending value in the file.
    pub span: Range<usize>,
    /// The text of the source line `line` (without its line break); empty when the diagnostic
    /// is about a whole file or folder. A very long line is cut to an excerpt around the
    /// column, with `…` marking the cuts.
    pub source_line: String,
    /// The column (in the file's line) that the first character of `source_line` stands for:
    /// 1 unless `source_line` is an excerpt.
    pub source_column: u32,
    /// Short text printed under the caret.
    pub label: Option<String>,
    /// How to fix it, where known.
    pub help: Option<String>,
    /// Related locations and remarks.
    pub notes: Vec<Note>,
}

impl Diagnostic {
    /// The diagnostic's location.
    pub fn location(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
        }
    }

    /// Is this an error (as opposed to a warning)?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One line: `PATH:LINE:COL: error|warning: MESSAGE`.
    pub fn render_short(&self) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.message
        )
    }

    /// rustc-style rendering with the source line, a caret under the offending value, the
    /// label, and `= help:` / `= note:` lines. Ends without a trailing newline.
    pub fn render_human(&self) -> String {
        format!("{}: {}", self.severity, self.render_body())
    }

    /// For a message the compiler shows at a macro call (whose own location is the Rust file):
    /// the first line is `PATH:LINE:COL: MESSAGE` with the UDPL location, which
    /// `cargo build --message-format=short` and editors list after the macro call's location;
    /// the source line, caret, label,
    /// notes and help follow as in [`render_body`](Self::render_body), without its `-->` line.
    pub fn render_at_macro(&self) -> String {
        let body = self.render_body();
        // `render_body` is MESSAGE, then `\n  --> PATH:LINE:COL`, then the rest.
        let after = body.get(self.message.len()..).unwrap_or_default();
        let rest = after
            .get(1..)
            .and_then(|a| a.find('\n').map(|i| &a[i..]))
            .unwrap_or_default();
        format!(
            "{}:{}:{}: {}{rest}",
            self.file, self.line, self.column, self.message
        )
    }

    /// [`render_human`](Self::render_human) without the leading `error: ` / `warning: `, for
    /// embedding in another tool's message that prints its own severity (a `compile_error!`).
    pub fn render_body(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let line_no = self.line.to_string();
        let pad = " ".repeat(line_no.len());
        out.push_str(&self.message);
        let _ = write!(
            out,
            "\n{pad}--> {}:{}:{}",
            self.file, self.line, self.column
        );
        if !self.source_line.is_empty() {
            let shown = self.source_line.replace('\t', " ");
            let _ = write!(out, "\n{pad} |\n{line_no} | {shown}");
            let caret_start = self.caret_start();
            let width = self.caret_width();
            let _ = write!(
                out,
                "\n{pad} | {}{}",
                " ".repeat(caret_start),
                "^".repeat(width)
            );
            if let Some(label) = &self.label {
                let _ = write!(out, " {label}");
            }
        }
        if self.help.is_some() || !self.notes.is_empty() {
            let _ = write!(out, "\n{pad} |");
        }
        for note in &self.notes {
            match &note.location {
                Some(loc) => {
                    let _ = write!(out, "\n{pad} = note: {} (at {loc})", note.message);
                }
                None => {
                    let _ = write!(out, "\n{pad} = note: {}", note.message);
                }
            }
        }
        if let Some(help) = &self.help {
            let _ = write!(out, "\n{pad} = help: {help}");
        }
        out
    }

    /// Index in `source_line` of the character at `column`.
    fn caret_start(&self) -> usize {
        self.column.saturating_sub(self.source_column.max(1)) as usize
    }

    /// Number of carets: the span's characters on the first line, at least one.
    fn caret_width(&self) -> usize {
        let start = self.caret_start();
        let rest: usize = self.source_line.chars().skip(start).count();
        let span_len = self.span.end.saturating_sub(self.span.start);
        // Count characters of the span that fall on this line; approximate byte length by chars
        // of the remaining line, which is exact for the common single-line case.
        let mut chars = 0usize;
        let mut bytes = 0usize;
        for c in self.source_line.chars().skip(start) {
            if bytes >= span_len {
                break;
            }
            bytes += c.len_utf8();
            chars += 1;
        }
        chars.min(rest).max(1)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_human())
    }
}

/// Output format of a set of diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// rustc style, with source lines and carets.
    #[default]
    Human,
    /// One line per diagnostic: `PATH:LINE:COL: error|warning: MESSAGE`.
    Short,
}

/// Render diagnostics in the given format, separated by blank lines (human) or newlines (short).
pub fn render_all<'a>(
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
    format: Format,
) -> String {
    let mut out = String::new();
    for d in diagnostics {
        match format {
            Format::Human => {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(&d.render_human());
            }
            Format::Short => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&d.render_short());
            }
        }
    }
    out
}

/// Maps byte offsets of one source file to 1-based line and character column.
#[derive(Clone, Debug)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    /// Whether each line is ASCII, so its columns are byte offsets; `None` when the whole
    /// text is.
    ascii: Option<Vec<bool>>,
}

/// Lines longer than this (in bytes) are shown as an excerpt around the column.
const MAX_SHOWN_LINE: usize = 240;
/// Characters of context kept before the column in an excerpt.
const EXCERPT_BEFORE: usize = 60;
/// Characters kept from the column on in an excerpt.
const EXCERPT_AFTER: usize = 120;

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        // Sized exactly: growing this vector was a measurable part of parsing.
        let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        let mut starts = Vec::with_capacity(lines);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let ascii = (!text.is_ascii()).then(|| {
            (0..starts.len())
                .map(|i| {
                    let end = starts.get(i + 1).copied().unwrap_or(text.len());
                    text.as_bytes()[starts[i]..end].is_ascii()
                })
                .collect()
        });
        LineIndex { starts, ascii }
    }

    fn line_is_ascii(&self, line: usize) -> bool {
        self.ascii.as_ref().is_none_or(|a| a[line])
    }

    /// (1-based line, 1-based column, shown line text, column of the shown text's first
    /// character) of a byte offset; long lines are cut to an excerpt around the column.
    pub(crate) fn locate_shown(&self, text: &str, offset: usize) -> (u32, u32, String, u32) {
        let (line, column, line_text) = self.locate(text, offset);
        if line_text.len() <= MAX_SHOWN_LINE {
            return (line, column, line_text.to_owned(), 1);
        }
        let col0 = column as usize - 1;
        let first = col0.saturating_sub(EXCERPT_BEFORE);
        let ascii = self.line_is_ascii(line as usize - 1);
        let (excerpt, cut_end) = if ascii {
            let end = (col0 + EXCERPT_AFTER).min(line_text.len());
            (&line_text[first.min(end)..end], end < line_text.len())
        } else {
            let mut it = line_text.char_indices().skip(first);
            let a = it.next().map_or(line_text.len(), |(i, _)| i);
            let b = it
                .nth(col0 - first + EXCERPT_AFTER)
                .map_or(line_text.len(), |(i, _)| i);
            (&line_text[a..b], b < line_text.len())
        };
        let mut shown = String::with_capacity(excerpt.len() + 6);
        let mut start_col = first as u32 + 1;
        if first > 0 {
            shown.push('…');
            start_col -= 1;
        }
        shown.push_str(excerpt);
        if cut_end {
            shown.push('…');
        }
        (line, column, shown, start_col)
    }

    /// 0-based line index containing `offset`.
    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// (1-based line, 1-based char column, line text) of a byte offset.
    pub(crate) fn locate<'t>(&self, text: &'t str, offset: usize) -> (u32, u32, &'t str) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |&next| next - 1);
        let line_text = text[start..end]
            .strip_suffix('\r')
            .unwrap_or(&text[start..end]);
        let column = if self.line_is_ascii(line) {
            offset - start + 1
        } else {
            text[start..offset].chars().count() + 1
        };
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
            line_text,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_chars_not_bytes() {
        let text = "a = 1\nbé = \"x\"\n";
        let idx = LineIndex::new(text);
        let off = text.find('=').unwrap();
        assert_eq!(idx.locate(text, off).0, 1);
        let off2 = text.rfind('=').unwrap();
        let (line, col, src) = idx.locate(text, off2);
        assert_eq!((line, col, src), (2, 4, "bé = \"x\""));
    }

    #[test]
    fn human_rendering_has_caret_under_span() {
        let d = Diagnostic {
            severity: Severity::Error,
            message: "bad".into(),
            file: "p.toml".into(),
            line: 12,
            column: 8,
            span: 100..103,
            source_line: "text = \"abc\"".into(),
            source_column: 1,
            label: Some("here".into()),
            help: Some("fix it".into()),
            notes: vec![],
        };
        let r = d.render_human();
        assert_eq!(
            r,
            "error: bad\n  --> p.toml:12:8\n   |\n12 | text = \"abc\"\n   |        ^^^ here\n   |\n   = help: fix it"
        );
    }
}
