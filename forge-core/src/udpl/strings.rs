//! Maps byte offsets in a decoded TOML string back to byte offsets in the source file.
//!
//! The TOML parser gives the span of the whole string literal. To point at a placeholder on the
//! fifth line of a `"""` string, we re-read the literal: skip the delimiter and the newline that
//! directly follows an opening `"""`/`'''`, and track how escapes (`\n`, `\"`, `\u00e9`, line-ending
//! backslashes) shrink or grow the text. The re-decoded text is compared with the parser's value;
//! if they ever differ, every offset maps to the start of the literal, which is still a valid,
//! if less precise, location.

use std::ops::Range;

pub(crate) struct StrMap {
    /// (decoded offset, source offset) at the start of each run of verbatim text.
    points: Vec<(usize, usize)>,
    fallback: Option<usize>,
}

impl StrMap {
    pub(crate) fn new(src: &str, span: Range<usize>, decoded: &str) -> StrMap {
        match Self::build(src, span.clone(), decoded) {
            Some(points) => StrMap {
                points,
                fallback: None,
            },
            None => StrMap {
                points: Vec::new(),
                fallback: Some(span.start),
            },
        }
    }

    /// The source offset where a range ending at decoded offset `off` ends: like
    /// [`source_offset`](Self::source_offset), but an offset right after an escape maps to the
    /// end of that escape's text, not past the zero-width part that follows (a line-ending
    /// backslash, say).
    pub(crate) fn source_end(&self, off: usize) -> usize {
        if let Some(f) = self.fallback {
            return f;
        }
        if off == 0 {
            return self.points.first().map_or(0, |p| p.1);
        }
        // The run containing the last decoded byte before `off`.
        let i = match self.points.binary_search_by_key(&(off - 1), |p| p.0) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let (d, s) = self.points[i];
        s + (off - d)
    }

    /// The source offset of decoded byte offset `off`.
    pub(crate) fn source_offset(&self, off: usize) -> usize {
        if let Some(f) = self.fallback {
            return f;
        }
        let i = match self.points.binary_search_by_key(&off, |p| p.0) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let (d, s) = self.points[i];
        s + (off - d)
    }

    fn build(src: &str, span: Range<usize>, decoded: &str) -> Option<Vec<(usize, usize)>> {
        let raw = src.get(span.clone())?;
        let (delim, basic) = if raw.starts_with("\"\"\"") {
            ("\"\"\"", true)
        } else if raw.starts_with("'''") {
            ("'''", false)
        } else if raw.starts_with('"') {
            ("\"", true)
        } else if raw.starts_with('\'') {
            ("'", false)
        } else {
            return None;
        };
        let multi = delim.len() == 3;
        let mut start = span.start + delim.len();
        let end = span.end.checked_sub(delim.len())?;
        if end < start {
            return None;
        }
        if multi {
            if src[start..].starts_with("\r\n") {
                start += 2;
            } else if src[start..].starts_with('\n') {
                start += 1;
            }
        }
        let body = src.get(start..end)?;
        let mut points = vec![(0usize, start)];
        if !basic || !body.contains('\\') {
            // No escapes: the text is the body, byte for byte.
            return (body == decoded).then_some(points);
        }
        let mut out = String::with_capacity(body.len());
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'\\' {
                let next = body[i..].find('\\').map_or(body.len(), |n| i + n);
                out.push_str(&body[i..next]);
                i = next;
                continue;
            }
            // An escape sequence starting at i.
            let rest = &body[i + 1..];
            let mut chars = rest.chars();
            let c = chars.next()?;
            let consumed = match c {
                'b' => {
                    out.push('\u{8}');
                    2
                }
                't' => {
                    out.push('\t');
                    2
                }
                'n' => {
                    out.push('\n');
                    2
                }
                'f' => {
                    out.push('\u{c}');
                    2
                }
                'r' => {
                    out.push('\r');
                    2
                }
                'e' => {
                    out.push('\u{1b}');
                    2
                }
                '"' => {
                    out.push('"');
                    2
                }
                '\\' => {
                    out.push('\\');
                    2
                }
                'x' | 'u' | 'U' => {
                    let n = match c {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = rest.get(1..1 + n)?;
                    let v = u32::from_str_radix(hex, 16).ok()?;
                    out.push(char::from_u32(v)?);
                    2 + n
                }
                ' ' | '\t' | '\r' | '\n' if multi => {
                    // Line-ending backslash: skip whitespace and newlines up to the next
                    // non-whitespace character.
                    let skip = rest
                        .find(|ch: char| !matches!(ch, ' ' | '\t' | '\r' | '\n'))
                        .unwrap_or(rest.len());
                    1 + skip
                }
                _ => return None,
            };
            i += consumed;
            points.push((out.len(), start + i));
        }
        (out == decoded).then_some(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str, decoded: &str, needle: &str) {
        let start = src.find(['"', '\'']).unwrap();
        let span = start..src.len();
        let map = StrMap::new(src, span, decoded);
        assert!(map.fallback.is_none(), "fell back for {src:?}");
        let off = decoded.find(needle).unwrap();
        let s = map.source_offset(off);
        assert_eq!(&src[s..s + needle.len()], needle, "{src:?}");
    }

    #[test]
    fn basic_and_literal_strings() {
        check(r#"text = "a\tb {x}""#, "a\tb {x}", "{x}");
        check(r#"text = "\u00e9\"q {x}""#, "é\"q {x}", "{x}");
        check("text = 'lit {x}'", "lit {x}", "{x}");
        check(
            "text = \"\"\"\nline1\nline2 {x}\"\"\"",
            "line1\nline2 {x}",
            "{x}",
        );
        check("text = '''\r\nA\n{x}'''", "A\n{x}", "{x}");
        check(
            "text = \"\"\"one \\\n    two {x}\"\"\"",
            "one two {x}",
            "{x}",
        );
    }

    #[test]
    fn mismatch_falls_back_to_literal_start() {
        let src = "text = \"abc\"";
        let map = StrMap::new(src, 7..src.len(), "different");
        assert_eq!(map.source_offset(2), 7);
    }
}
