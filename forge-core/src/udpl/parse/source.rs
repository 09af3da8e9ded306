//! Source files, locations, and the linter's diagnostic sink.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use toml::Spanned;
use toml::de::DeValue;

use super::Error;
use crate::diagnostics::{Diagnostic, LineIndex, Location, Note, Severity};

/// A byte range in one source file.
pub(super) type Span = Range<usize>;

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

pub(super) struct Source<'s> {
    pub(super) name: Arc<str>,
    pub(super) text: &'s str,
    lines: LineIndex,
    origin: Origin,
}

impl Source<'_> {
    /// (line, column, source line) of `offset`, shifted by the source's origin.
    pub(super) fn locate(&self, offset: usize) -> (u32, u32, &str) {
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
pub(super) struct At<'a, 's> {
    pub(super) file: usize,
    pub(super) value: &'a Spanned<DeValue<'s>>,
}

/// The linter: the sources of one document and every diagnostic found so far. Its phases are
/// spread over the sibling modules, one `impl` block per concern.
pub(super) struct Linter<'s> {
    pub(super) sources: Vec<Source<'s>>,
    diags: Vec<Diagnostic>,
}

/// Builder-style access to the diagnostic just pushed.
pub(super) struct DiagMut<'d>(&'d mut Diagnostic);

impl DiagMut<'_> {
    pub(super) fn label(self, l: impl Into<String>) -> Self {
        self.0.label = Some(l.into());
        self
    }
    pub(super) fn help(self, h: impl Into<String>) -> Self {
        self.0.help = Some(h.into());
        self
    }
    pub(super) fn help_opt(self, h: Option<String>) -> Self {
        if h.is_some() {
            self.0.help = h;
        }
        self
    }
    pub(super) fn note(self, location: Option<Location>, message: impl Into<String>) -> Self {
        self.0.notes.push(Note {
            location,
            message: message.into(),
        });
        self
    }
}

impl<'s> Linter<'s> {
    pub(super) fn new<'n>(
        sources: impl IntoIterator<Item = (&'n str, &'s str)>,
        origin: Origin,
    ) -> Self {
        Linter {
            sources: sources
                .into_iter()
                .map(|(name, text)| Source {
                    name: Arc::from(name),
                    text,
                    lines: LineIndex::new(text),
                    origin,
                })
                .collect(),
            diags: Vec::new(),
        }
    }

    pub(super) fn location(&self, file: usize, offset: usize) -> Location {
        let src = &self.sources[file];
        let (line, column, _) = src.locate(offset);
        Location {
            file: src.name.clone(),
            line,
            column,
        }
    }

    pub(super) fn push(
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

    pub(super) fn error(
        &mut self,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> DiagMut<'_> {
        self.push(Severity::Error, file, span, message.into())
    }

    pub(super) fn warning(
        &mut self,
        file: usize,
        span: Span,
        message: impl Into<String>,
    ) -> DiagMut<'_> {
        self.push(Severity::Warning, file, span, message.into())
    }

    pub(super) fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    pub(super) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// The diagnostics in file order, then position.
    pub(super) fn sorted(mut self) -> Vec<Diagnostic> {
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

    pub(super) fn finish_err(self) -> Error {
        Error::Invalid {
            diagnostics: self.sorted(),
        }
    }
}
