//! Block text analysis: escapes, zone splitting and placeholders, in one left-to-right pass.
//!
//! Offsets here are byte offsets into the *decoded* text; the caller maps them to the file.

use std::ops::Range;

use super::model::Segment;
use super::names::is_identifier;
use crate::diagnostics::Severity;

/// The patterns of a document's config that matter for text analysis.
pub(crate) struct Patterns<'a> {
    pub zone: &'a [String],
    pub required: &'a [String],
    pub control: &'a str,
    pub escape_open: &'a str,
    pub escape_close: &'a str,
}

/// A problem found in a block's text.
#[derive(Debug)]
pub(crate) struct TextIssue {
    pub severity: Severity,
    /// Decoded byte range, or `None` for the whole text value.
    pub range: Option<Range<usize>>,
    pub message: String,
    pub label: Option<String>,
    pub help: Option<String>,
}

/// The result of analyzing one block text.
pub(crate) struct Analysis {
    /// `zone.len()` zones of segments; empty when an error prevented splitting.
    pub zones: Vec<Vec<Segment>>,
    /// Distinct placeholder keys in order of first appearance, with that appearance's range.
    pub placeholders: Vec<(String, Range<usize>)>,
    pub issues: Vec<TextIssue>,
}

enum Event {
    Placeholder(usize, Range<usize>),
    Brace(char, Range<usize>),
    Zone(usize, Range<usize>),
}

fn err(range: Range<usize>, message: String, label: &str, help: Option<String>) -> TextIssue {
    TextIssue {
        severity: Severity::Error,
        range: Some(range),
        message,
        label: Some(label.to_owned()),
        help,
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Analyze `text` against the config's patterns.
pub(crate) fn analyze(text: &str, p: &Patterns<'_>) -> Analysis {
    let mut issues = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut placeholders: Vec<(String, Range<usize>)> = Vec::new();
    let mut open_escapes: Vec<usize> = Vec::new();

    // Zone patterns longest first, so a pattern that is a prefix of another never shadows it.
    let mut zone_order: Vec<usize> = (0..p.zone.len()).collect();
    zone_order.sort_by_key(|&i| std::cmp::Reverse(p.zone[i].len()));
    // Bytes that can start something interesting; everything else is skipped quickly.
    let mut interesting = [false; 256];
    let mut firsts: Vec<u8> = vec![b'{', b'}'];
    for pat in p
        .zone
        .iter()
        .map(String::as_str)
        .chain([p.control, p.escape_open, p.escape_close])
    {
        if let Some(&b) = pat.as_bytes().first()
            && !firsts.contains(&b)
        {
            firsts.push(b);
        }
    }
    for &b in &firsts {
        interesting[usize::from(b)] = true;
    }
    let (first_escape, second_escape) = if p.escape_close.len() > p.escape_open.len() {
        ((p.escape_close, false), (p.escape_open, true))
    } else {
        ((p.escape_open, true), (p.escape_close, false))
    };

    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !interesting[usize::from(b)] {
            i += 1;
            continue;
        }
        let rest = &text[i..];
        if b == b'{' {
            if rest.starts_with("{{") {
                events.push(Event::Brace('{', i..i + 2));
                i += 2;
                continue;
            }
            // Find the end of the placeholder: the next `}`, unless a `{` comes first.
            let close = rest[1..].find(['{', '}']).map(|n| n + 1);
            match close {
                Some(n) if rest.as_bytes()[n] == b'}' => {
                    let inner = &rest[1..n];
                    let range = i..i + n + 1;
                    if inner.is_empty() {
                        issues.push(err(
                            range,
                            "empty placeholder `{}`".into(),
                            "no name between the braces",
                            Some(
                                "write a name such as `{topic}`, or `{{}}` for literal braces"
                                    .into(),
                            ),
                        ));
                    } else if !is_identifier(inner) {
                        issues.push(err(
                            range,
                            format!("invalid placeholder `{{{}}}`", shorten(inner)),
                            "not an identifier",
                            Some(
                                "placeholder names match [A-Za-z_][A-Za-z0-9_]*; write `{{` and `}}` for literal braces"
                                    .into(),
                            ),
                        ));
                    } else {
                        let idx = match placeholders.iter().position(|(k, _)| k == inner) {
                            Some(idx) => idx,
                            None => {
                                placeholders.push((inner.to_owned(), range.clone()));
                                placeholders.len() - 1
                            }
                        };
                        events.push(Event::Placeholder(idx, range));
                    }
                    i += n + 1;
                }
                _ => {
                    issues.push(err(
                        i..i + 1,
                        "unclosed `{`".into(),
                        "this brace is never closed",
                        Some(
                            "close the placeholder with `}`, or write `{{` for a literal brace"
                                .into(),
                        ),
                    ));
                    i += 1;
                }
            }
            continue;
        }
        if b == b'}' {
            if rest.starts_with("}}") {
                events.push(Event::Brace('}', i..i + 2));
                i += 2;
            } else {
                issues.push(err(
                    i..i + 1,
                    "unmatched `}`".into(),
                    "no `{` opens this",
                    Some("write `}}` for a literal brace".into()),
                ));
                i += 1;
            }
            continue;
        }
        let mut matched = false;
        for (pat, is_open) in [first_escape, second_escape] {
            if !pat.is_empty() && rest.starts_with(pat) {
                if is_open {
                    open_escapes.push(i);
                } else if open_escapes.pop().is_none() {
                    issues.push(err(
                        i..i + pat.len(),
                        format!("unmatched escape close `{pat}`"),
                        "no escape is open here",
                        Some(format!(
                            "open the escaped region first with `{}`, or remove this",
                            p.escape_open
                        )),
                    ));
                }
                i += pat.len();
                matched = true;
                break;
            }
        }
        if matched {
            continue;
        }
        if open_escapes.is_empty() {
            if let Some(&z) = zone_order
                .iter()
                .find(|&&z| !p.zone[z].is_empty() && rest.starts_with(p.zone[z].as_str()))
            {
                let len = p.zone[z].len();
                events.push(Event::Zone(z, i..i + len));
                i += len;
                continue;
            }
            if !p.control.is_empty() && rest.starts_with(p.control) {
                issues.push(TextIssue {
                    severity: Severity::Warning,
                    range: Some(i..i + p.control.len()),
                    message: format!("unescaped control pattern `{}` in block text", p.control),
                    label: Some("this triggers flow control as soon as it is fed".into()),
                    help: Some(format!(
                        "escape it as {} \"{}\" {}",
                        p.escape_open, p.control, p.escape_close
                    )),
                });
                i += p.control.len();
                continue;
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    for &open in &open_escapes {
        issues.push(err(
            open..open + p.escape_open.len(),
            format!("unclosed escape `{}`", p.escape_open),
            "this escaped region never ends",
            Some(format!("close it with `{}`", p.escape_close)),
        ));
    }

    let zones = if p.zone.is_empty() || issues.iter().any(|i| i.severity == Severity::Error) {
        Vec::new()
    } else {
        split_zones(text, p, &events, &mut issues)
    };
    Analysis {
        zones,
        placeholders,
        issues,
    }
}

fn split_zones(
    text: &str,
    p: &Patterns<'_>,
    events: &[Event],
    issues: &mut Vec<TextIssue>,
) -> Vec<Vec<Segment>> {
    let n = p.zone.len();
    let found: Vec<(usize, Range<usize>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Zone(z, r) => Some((*z, r.clone())),
            _ => None,
        })
        .collect();
    let escape_help = |pat: &str| {
        format!(
            "zone patterns must appear in the order of `config.zone_patterns`, none skipped or repeated; \
             to write it literally, escape it as {} \"{pat}\" {}",
            p.escape_open, p.escape_close
        )
    };
    for (j, (z, r)) in found.iter().enumerate() {
        if *z == j {
            continue;
        }
        let pat = &p.zone[*z];
        let message = if *z < j {
            format!("zone pattern `{pat}` appears more than once")
        } else {
            format!("zone pattern `{pat}` appears before `{}`", p.zone[j])
        };
        issues.push(err(
            r.clone(),
            message,
            "out of order",
            Some(escape_help(pat)),
        ));
        return Vec::new();
    }
    let k = found.len();
    if k == 0 {
        issues.push(TextIssue {
            severity: Severity::Error,
            range: None,
            message: format!(
                "block text contains no zone pattern; it must start with `{}`",
                p.zone[0]
            ),
            label: Some("no zone pattern in this text".into()),
            help: Some(format!("begin the text with `{}`", p.zone[0])),
        });
        return Vec::new();
    }
    let mut ok = true;
    for req in p.required {
        if let Some(idx) = p.zone.iter().position(|z| z == req)
            && idx >= k
        {
            issues.push(TextIssue {
                severity: Severity::Error,
                range: None,
                message: format!("required zone pattern `{req}` is missing from the block text"),
                label: Some(format!("`{req}` not found")),
                help: Some(format!(
                    "add `{req}` (every block needs all of `config.required_patterns`)"
                )),
            });
            ok = false;
        }
    }
    let lead = &text[..found[0].1.start];
    if let Some(off) = lead.find(|c: char| !c.is_whitespace()) {
        let end = lead.trim_end().len();
        issues.push(err(
            off..end,
            format!("text before the first zone pattern `{}`", p.zone[0]),
            "this text would be dropped",
            Some(format!("move it after `{}`, or delete it", p.zone[0])),
        ));
        ok = false;
    }
    if k == n {
        let last_end = found[k - 1].1.end;
        let tail = &text[last_end..];
        if let Some(off) = tail.find(|c: char| !c.is_whitespace()) {
            let end = last_end + tail.trim_end().len();
            issues.push(err(
                last_end + off..end,
                format!("text after the last zone pattern `{}`", p.zone[n - 1]),
                "this text would be dropped",
                Some(format!("move it before `{}`, or delete it", p.zone[n - 1])),
            ));
            ok = false;
        }
    }
    if !ok {
        return Vec::new();
    }
    let mut zones = Vec::with_capacity(n);
    zones.push(vec![Segment::Text(p.zone[0].clone())]);
    for i in 1..n {
        let range = if i < k {
            found[i - 1].1.end..found[i].1.end
        } else if i == k {
            found[k - 1].1.end..text.len()
        } else {
            text.len()..text.len()
        };
        zones.push(segments(text, range, events));
    }
    zones
}

/// The segments of `text[range]`: literal text with `{{`/`}}` unescaped, and placeholders.
fn segments(text: &str, range: Range<usize>, events: &[Event]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut buf = String::new();
    let mut pos = range.start;
    for e in events {
        let (r, what) = match e {
            Event::Placeholder(idx, r) => (r, Some(*idx)),
            Event::Brace(_, r) => (r, None),
            Event::Zone(..) => continue,
        };
        if r.start < range.start || r.end > range.end {
            continue;
        }
        buf.push_str(&text[pos..r.start]);
        match (what, e) {
            (Some(idx), _) => {
                if !buf.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut buf)));
                }
                out.push(Segment::Placeholder(idx));
            }
            (None, Event::Brace(c, _)) => buf.push(*c),
            _ => {}
        }
        pos = r.end;
    }
    buf.push_str(&text[pos..range.end]);
    if !buf.is_empty() {
        out.push(Segment::Text(buf));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats() -> (Vec<String>, Vec<String>) {
        (
            vec!["[Prompt]".into(), "[Answer]".into(), "[EOS]".into()],
            vec!["[Prompt]".into(), "[Answer]".into()],
        )
    }

    fn run(text: &str) -> Analysis {
        let (zone, required) = pats();
        let p = Patterns {
            zone: &zone,
            required: &required,
            control: "[Jump]",
            escape_open: "[Escape]",
            escape_close: "[EndEscape]",
        };
        analyze(text, &p)
    }

    fn texts(a: &Analysis) -> Vec<String> {
        a.zones
            .iter()
            .map(|z| {
                z.iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.clone(),
                        Segment::Placeholder(i) => format!("<{}>", a.placeholders[*i].0),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn splits_all_present() {
        let a = run("[Prompt] Hi {x} {{y}}\n[Answer] ok [EOS]");
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        assert_eq!(
            texts(&a),
            ["[Prompt]", " Hi <x> {y}\n[Answer]", " ok [EOS]"]
        );
    }

    #[test]
    fn first_missing_gets_rest_later_missing_empty() {
        let a = run("[Prompt] Q [Answer] partial");
        assert_eq!(texts(&a), ["[Prompt]", " Q [Answer]", " partial"]);
        let (zone, required) = (
            vec!["[A]".to_string(), "[B]".into(), "[C]".into(), "[D]".into()],
            vec!["[A]".to_string()],
        );
        let p = Patterns {
            zone: &zone,
            required: &required,
            control: "[J]",
            escape_open: "<e>",
            escape_close: "</e>",
        };
        let a = analyze("[A] x", &p);
        assert_eq!(a.zones.len(), 4);
        assert_eq!(a.zones[1], vec![Segment::Text(" x".into())]);
        assert!(a.zones[2].is_empty() && a.zones[3].is_empty());
    }

    #[test]
    fn escaped_patterns_do_not_count() {
        let a =
            run("[Prompt] say [Escape] \"[Jump]\" [Escape][EOS][EndEscape] [EndEscape] [Answer]");
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        assert_eq!(a.zones.len(), 3);
        let a = run("[Prompt] emit [Jump] [Answer]");
        assert_eq!(a.issues.len(), 1);
        assert_eq!(a.issues[0].severity, Severity::Warning);
    }

    #[test]
    fn patterns_inside_placeholders_are_not_patterns() {
        let zone = vec!["User".to_string(), "Bot".into()];
        let p = Patterns {
            zone: &zone,
            required: &zone[..1],
            control: "[J]",
            escape_open: "<e>",
            escape_close: "</e>",
        };
        let a = analyze("User {User_name} Bot", &p);
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        assert_eq!(a.placeholders[0].0, "User_name");
    }

    #[test]
    fn brace_errors() {
        for (text, msg) in [
            ("[Prompt] {} [Answer]", "empty placeholder"),
            ("[Prompt] {0} [Answer]", "invalid placeholder `{0}`"),
            ("[Prompt] {a.b} [Answer]", "invalid placeholder `{a.b}`"),
            ("[Prompt] {x:>4} [Answer]", "invalid placeholder `{x:>4}`"),
            ("[Prompt] a } b [Answer]", "unmatched `}`"),
            ("[Prompt] a { b [Answer]", "unclosed `{`"),
        ] {
            let a = run(text);
            assert_eq!(a.issues.len(), 1, "{text}");
            assert!(
                a.issues[0].message.contains(msg),
                "{text}: {}",
                a.issues[0].message
            );
        }
    }
}
