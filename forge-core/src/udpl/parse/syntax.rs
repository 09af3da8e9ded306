//! TOML syntax errors: exactly one per file, at the line a reader would fix.
//!
//! The TOML parser recovers after a mistake and reports what follows it, so one missing `]` at
//! the end of an array yields an error on every later line and none on the line to fix. Here,
//! the first error the parser reports is kept, unless the file leaves an array, an inline table
//! or a multi-line string open from an earlier line: then that opening is the mistake, and the
//! error points at it.

use super::source::Span;

/// The one syntax error of a file.
pub(super) struct SyntaxError {
    pub(super) span: Span,
    pub(super) message: String,
    pub(super) label: &'static str,
    pub(super) help: Option<String>,
}

/// What the scanner found open at the end of the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Array,
    InlineTable,
    MultiLineString(&'static str),
}

/// The error to report for `text`, given the parser's errors (`None` when there are none).
pub(super) fn syntax_error(text: &str, errors: &[toml::de::Error]) -> Option<SyntaxError> {
    let first = errors
        .iter()
        .map(|e| (e.span().unwrap_or(0..0), e))
        .min_by_key(|(span, _)| span.start)?;
    let (span, error) = first;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count();
    if let Some((open, at)) = first_unclosed(text)
        && at < span.start
        && line_of(at) < line_of(span.start)
    {
        let (message, help, width) = match open {
            Open::Array => (
                "unclosed array: this `[` has no matching `]`".to_owned(),
                "close the array with `]` after its last element",
                1,
            ),
            Open::InlineTable => (
                "unclosed inline table: this `{` has no matching `}`".to_owned(),
                "close the table with `}` after its last entry",
                1,
            ),
            Open::MultiLineString(quotes) => (
                format!("unclosed multi-line string: this `{quotes}` is never closed"),
                "end the string with the same three quotes",
                3,
            ),
        };
        return Some(SyntaxError {
            span: at..at + width,
            message: format!("invalid TOML: {message}"),
            label: "opened here",
            help: Some(help.to_owned()),
        });
    }
    let message = error.message().trim();
    if message.starts_with("missing comma between array elements") {
        // The comma goes after the previous element, which may end on an earlier line.
        let before = text[..span.start.min(text.len())].trim_end();
        if let Some(last) = before.chars().next_back()
            && line_of(before.len()) < line_of(span.start)
        {
            let at = before.len() - last.len_utf8();
            return Some(SyntaxError {
                span: at..before.len(),
                message: "invalid TOML: missing comma between array elements".to_owned(),
                label: "add `,` after this element",
                help: None,
            });
        }
    }
    let key = text
        .get(span.clone())
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.contains('\n'));
    let (message, help) = match (message, key) {
        ("duplicate key", Some(key)) => (
            format!("invalid TOML: duplicate key `{key}`"),
            Some("a key appears once per table: remove or rename one of them".to_owned()),
        ),
        _ => (format!("invalid TOML: {message}"), None),
    };
    Some(SyntaxError {
        span,
        message,
        label: "TOML syntax error",
        help,
    })
}

/// The first construct still open at the end of `text` (the one a reader closes first), with
/// its byte offset. Comments and strings are skipped; a `[` that starts a line outside any
/// value opens a table header, not an array.
fn first_unclosed(text: &str) -> Option<(Open, usize)> {
    let b = text.as_bytes();
    let mut stack: Vec<(Open, usize)> = Vec::new();
    let mut line_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = skip_line(b, i);
                continue;
            }
            b'"' | b'\'' => {
                let triple = b.get(i..i + 3).is_some_and(|t| t.iter().all(|&x| x == c));
                if triple {
                    match find_triple(b, i + 3, c) {
                        Some(end) => i = end,
                        None => {
                            let quotes = if c == b'"' { "\"\"\"" } else { "'''" };
                            stack.push((Open::MultiLineString(quotes), i));
                            break;
                        }
                    }
                } else {
                    i = skip_string(b, i + 1, c);
                }
            }
            b'[' if line_start && stack.is_empty() => i = skip_line(b, i),
            b'[' => {
                stack.push((Open::Array, i));
                i += 1;
            }
            b'{' => {
                stack.push((Open::InlineTable, i));
                i += 1;
            }
            b']' | b'}' => {
                let want = if c == b']' {
                    Open::Array
                } else {
                    Open::InlineTable
                };
                if stack.last().is_some_and(|(o, _)| *o == want) {
                    stack.pop();
                }
                i += 1;
            }
            _ => i += 1,
        }
        line_start = false;
    }
    stack.first().copied()
}

/// The offset of the newline ending the line at `i` (or the end).
fn skip_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

/// After the closing quote of a one-line string starting at `i` (after its opening quote);
/// a string left open ends at its line's end, where the parser reports it.
fn skip_string(b: &[u8], mut i: usize, quote: u8) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// After the closing triple quote of a multi-line string whose text starts at `i`.
fn find_triple(b: &[u8], mut i: usize, quote: u8) -> Option<usize> {
    while i < b.len() {
        if b[i] == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if b.get(i..i + 3)
            .is_some_and(|t| t.iter().all(|&x| x == quote))
        {
            // Up to two more quotes may belong to the string (`""""` ends with one inside).
            let mut end = i + 3;
            while end < b.len() && b[end] == quote && end < i + 5 {
                end += 1;
            }
            return Some(end);
        }
        i += 1;
    }
    None
}
