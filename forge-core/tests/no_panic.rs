//! Robustness of the UDPL parser: whatever the input, `parse_str` / `parse_sources` return
//! (no panic, no hang, no stack overflow), and every diagnostic they return is well formed:
//! 1-based line and column that match its byte span, a span inside the file on character
//! boundaries, the right source line, and renderings that don't panic.
//!
//! Each parse runs on a worker thread (default 2 MiB stack, like a test thread) with a
//! timeout, so a hang fails the test with its input instead of blocking the test run.

use std::ops::Range;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use forge_core::diagnostics::{Diagnostic, Severity};
use forge_core::udpl::{self, Error, Parsed};
use proptest::prelude::*;
use proptest::sample::Index;

/// The representative document of `/work/shared/bench` (3 zones, 5 sequences, 12 blocks).
const REPRESENTATIVE: &str = include_str!("../../examples/representative.toml");
/// Blocks × zones of [`REPRESENTATIVE`].
const REPRESENTATIVE_ZONES: usize = 36;

/// A parse that takes longer than this is treated as a hang.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `cases` per property, or `PROPTEST_CASES` from the environment for a longer soak run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // A failing case may be a hang; don't shrink for ever.
        max_shrink_time: 60_000,
        // Don't write `*.proptest-regressions` files; found failures become named tests below.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------------------------ harness

/// Parse `sources` on a worker thread, then check every returned diagnostic against them.
fn parse_sources(sources: &[(&str, &str)]) -> Result<Parsed, Error> {
    let result = parse_guarded(sources, TIMEOUT);
    check_result(sources, &result);
    result
}

fn parse(src: &str) -> Result<Parsed, Error> {
    parse_sources(&[("doc.toml", src)])
}

/// Parse `sources` on a worker thread; fail (with the input) if the parser panics or does not
/// return within `timeout`.
fn parse_guarded(sources: &[(&str, &str)], timeout: Duration) -> Result<Parsed, Error> {
    let owned: Vec<(String, String)> = sources
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("udpl-parse".into())
        .spawn(move || {
            let refs: Vec<(&str, &str)> = owned
                .iter()
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .collect();
            let _ = tx.send(udpl::parse_sources(&refs));
        })
        .expect("spawn parser thread");
    match rx.recv_timeout(timeout) {
        Ok(result) => {
            worker.join().expect("parser thread");
            result
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!(
                "parser did not return within {timeout:?}\ninput: {:?}",
                shown(sources)
            )
        }
        Err(RecvTimeoutError::Disconnected) => {
            let payload = worker
                .join()
                .expect_err("worker sent nothing but did not panic");
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("<non-string panic payload>");
            panic!("parser panicked: {msg}\ninput: {:?}", shown(sources))
        }
    }
}

/// Sources for failure messages, long ones abbreviated.
fn shown<'a>(sources: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
    sources.iter().map(|(n, t)| (*n, abbreviate(t))).collect()
}

/// The first and last 200 characters of a long input.
fn abbreviate(s: &str) -> String {
    let n = s.chars().count();
    if n <= 500 {
        return s.to_owned();
    }
    let head: String = s.chars().take(200).collect();
    let tail: String = s.chars().skip(n - 200).collect();
    format!("{head}…[{} chars]…{tail}", n - 400)
}

/// (1-based line, 1-based column in chars, line text without `\n`/`\r\n`) of byte `offset`.
fn locate(src: &str, offset: usize) -> (u32, u32, &str) {
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line_text = &src[line_start..line_end];
    let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
    let line = src[..line_start].matches('\n').count() + 1;
    let column = src[line_start..offset].chars().count() + 1;
    (line as u32, column as u32, line_text)
}

fn check_diagnostic(src: &str, d: &Diagnostic) {
    let ctx = || format!("diagnostic {d:#?}\nin source {:?}", abbreviate(src));
    assert!(d.line >= 1 && d.column >= 1, "{}", ctx());
    let Range { start, end } = d.span.clone();
    assert!(
        start <= end && end <= src.len(),
        "span out of range: {}",
        ctx()
    );
    assert!(
        src.is_char_boundary(start) && src.is_char_boundary(end),
        "span not on char boundaries: {}",
        ctx()
    );
    let (line, column, line_text) = locate(src, start);
    assert_eq!(
        (d.line, d.column),
        (line, column),
        "line/column do not match the span start: {}",
        ctx()
    );
    // A long line is shown as an excerpt around the column: its text (without the `…` marks)
    // is part of the line and starts at `source_column`.
    let excerpt = d.source_line.trim_start_matches('…').trim_end_matches('…');
    let excerpt_start = d.source_column as usize - 1 + usize::from(d.source_line.starts_with('…'));
    assert!(
        d.source_line.is_empty()
            || (d.source_column == 1 && d.source_line == line_text)
            || line_text
                .chars()
                .skip(excerpt_start)
                .collect::<String>()
                .starts_with(excerpt),
        "source_line is not (an excerpt of) line {line}: {}",
        ctx()
    );
    assert!(!d.source_line.contains('\n'), "{}", ctx());
    assert!(!d.message.is_empty(), "{}", ctx());

    let short = d.render_short();
    let prefix = format!("{}:{}:{}: {}: ", d.file, d.line, d.column, d.severity);
    assert!(short.starts_with(&prefix), "{short:?}");
    let human = d.render_human();
    assert!(
        human.contains(&format!("--> {}:{}:{}", d.file, d.line, d.column)),
        "{human}"
    );
    let _ = d.to_string();
}

fn check_result(sources: &[(&str, &str)], result: &Result<Parsed, Error>) {
    let diagnostics = match result {
        Ok(parsed) => {
            assert!(
                parsed
                    .warnings
                    .iter()
                    .all(|w| w.severity == Severity::Warning),
                "Ok with an error: {:#?}",
                parsed.warnings
            );
            let files: Vec<&str> = parsed.document.files.iter().map(|f| &**f).collect();
            let names: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
            assert_eq!(files, names);
            &parsed.warnings[..]
        }
        Err(Error::Invalid { diagnostics }) => {
            assert!(
                diagnostics.iter().any(Diagnostic::is_error),
                "Invalid without errors: {diagnostics:#?}"
            );
            let _ = result.as_ref().unwrap_err().to_string();
            &diagnostics[..]
        }
        Err(e @ Error::Io { .. }) => panic!("I/O error from in-memory sources: {e}"),
    };
    let _ =
        forge_core::diagnostics::render_all(diagnostics, forge_core::diagnostics::Format::Human);
    let _ =
        forge_core::diagnostics::render_all(diagnostics, forge_core::diagnostics::Format::Short);
    let mut last = (0, 0);
    for d in diagnostics {
        let file = sources
            .iter()
            .position(|(n, _)| **n == *d.file)
            .unwrap_or_else(|| panic!("diagnostic names an unknown file: {d:#?}"));
        check_diagnostic(sources[file].1, d);
        let key = (file, d.span.start);
        assert!(
            key >= last,
            "diagnostics not in file order: {diagnostics:#?}"
        );
        last = key;
    }
}

fn zone_count(parsed: &Parsed) -> usize {
    parsed
        .document
        .sequences
        .iter()
        .flat_map(|s| &s.blocks)
        .map(|b| b.zones.len())
        .sum()
}

fn assert_representative_shape(parsed: &Parsed) {
    assert_eq!(parsed.document.sequences.len(), 5);
    let blocks: usize = parsed
        .document
        .sequences
        .iter()
        .map(|s| s.blocks.len())
        .sum();
    assert_eq!(blocks, 12);
    assert_eq!(zone_count(parsed), REPRESENTATIVE_ZONES);
}

// ---------------------------------------------------------------------------------- generators

/// Pieces of TOML and UDPL syntax, escapes and odd characters.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "{{",
    "}}",
    "{x}",
    "{who}",
    "{principles}",
    "{}",
    "{0}",
    "{a.b}",
    "{x:>4}",
    "{ }",
    "[Prompt]",
    "[Answer]",
    "[EOS]",
    "[Jump]",
    "[Escape]",
    "[EndEscape]",
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "\"\"\"",
    "'",
    "'''",
    "\\",
    "\\n",
    "\\t",
    "\\\"",
    "\\\\",
    "\\u00e9",
    "\\U0001F600",
    "\\x41",
    "\\e",
    "\\uD800",
    "\\u",
    "\\\n   ",
    "\n",
    "\r\n",
    "\r",
    "#",
    "=",
    ",",
    ".",
    " ",
    "\t",
    "[config]",
    "[[setup]]",
    "[[nope]]",
    "[setup.prompt]",
    "[setup.x]",
    "[reason.principles]",
    "config = 1",
    "tags = [[], []]",
    "tags = [[\"Nope\"]]",
    "tagset = []",
    "repeats = 0",
    "repeats = 1000",
    "repeats = true",
    "max_gen_tokens = -1",
    "text = \"\"",
    "text = 1",
    "name = \"\"",
    "name = \"héllo\"",
    "type = \"weird\"",
    "arguments = 3",
    "arguments = { a = { b = [1, 2.5, inf, nan] } }",
    "sequences = []",
    "valid_tags = []",
    "zone_patterns = [\"{\"]",
    "escape_patterns = [\"x\"]",
    "1e400",
    "0x7FFFFFFFFFFFFFFFFFFF",
    "99999999999999999999999",
    "-0",
    "+inf",
    "-nan",
    "1979-05-27T07:32:00Z",
    "true",
    "a.b.c = 1",
    "\u{0}",
    "\u{301}",
    "\u{202E}",
    "\u{200F}",
    "\u{FEFF}",
    "\u{200D}",
    "😀",
    "👩‍👩‍👧",
    "é",
    "\u{7F}",
    "\u{1B}",
    "\u{2028}",
];

/// Characters that stay valid inside a TOML basic string and are odd for humans and renderers:
/// combining marks, bidi controls, emoji and ZWJ sequences, wide and astral characters.
const ODD_TEXT: &[&str] = &[
    "\u{301}",
    "e\u{301}\u{302}\u{303}",
    "\u{202E}",
    "\u{202D}",
    "\u{200F}",
    "\u{200E}",
    "\u{2067}",
    "\u{2069}",
    "\u{FEFF}",
    "\u{200B}",
    "\u{200D}",
    "😀",
    "👩‍👩‍👧",
    "🇫🇷",
    "中文",
    "ｗｉｄｅ",
    "𝔘𝔇𝔓𝔏",
    "ש\u{5B8}לוֹם",
    "مرحبا",
    "\u{10FFFF}",
    "\u{E000}",
    "\u{1F3FB}",
    "\t",
];

/// Characters that are not allowed raw in TOML strings or are line breaks of other kinds.
const ODD_ANYWHERE: &[&str] = &[
    "\u{0}", "\u{1}", "\r", "\r\n", "\n\r", "\u{B}", "\u{C}", "\u{7F}", "\u{85}", "\u{2028}",
    "\u{2029}",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
        2 => prop::sample::select(ODD_TEXT).prop_map(str::to_owned),
        2 => prop::sample::select(ODD_ANYWHERE).prop_map(str::to_owned),
        2 => any::<char>().prop_map(String::from),
        1 => "(?s).{0,12}",
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    Replace(Index, String),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    ReplaceLine(Index, String),
    InsertLine(Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), fragment()).prop_map(|(i, s)| Edit::Insert(i, s)),
        2 => (any::<Index>(), 1..8usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        2 => (any::<Index>(), fragment()).prop_map(|(i, s)| Edit::Replace(i, s)),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        1 => (any::<Index>(), fragment()).prop_map(|(i, s)| Edit::ReplaceLine(i, s)),
        1 => (any::<Index>(), fragment()).prop_map(|(i, s)| Edit::InsertLine(i, s)),
    ]
}

/// Byte offsets of all char boundaries of `s`, including `s.len()`.
fn boundaries(s: &str) -> Vec<usize> {
    s.char_indices().map(|(i, _)| i).chain([s.len()]).collect()
}

fn apply(doc: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = doc.split_inclusive('\n').map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let b = boundaries(doc);
    let at = |i: &Index| b[i.index(b.len())];
    let mut out = doc.to_owned();
    match edit {
        Edit::Insert(i, s) => out.insert_str(at(i), s),
        Edit::Delete(i, n) => {
            let k = i.index(b.len());
            let end = b[(k + n).min(b.len() - 1)];
            out.replace_range(b[k]..end, "");
        }
        Edit::Replace(i, s) => {
            let k = i.index(b.len());
            let end = b[(k + 1).min(b.len() - 1)];
            out.replace_range(b[k]..end, s);
        }
        Edit::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
            out = lines.concat();
        }
        Edit::DuplicateLine(i) => {
            let k = i.index(lines.len());
            let mut line = lines[k].clone();
            if !line.ends_with('\n') {
                line.push('\n');
            }
            lines.insert(k, line);
            out = lines.concat();
        }
        Edit::SwapLines(x, y) => {
            let (x, y) = (x.index(lines.len()), y.index(lines.len()));
            lines.swap(x, y);
            out = lines.concat();
        }
        Edit::ReplaceLine(i, s) => {
            let k = i.index(lines.len());
            let nl = if lines[k].ends_with('\n') { "\n" } else { "" };
            lines[k] = format!("{s}{nl}");
            out = lines.concat();
        }
        Edit::InsertLine(i, s) => {
            lines.insert(i.index(lines.len() + 1), format!("{s}\n"));
            out = lines.concat();
        }
    }
    out
}

/// Byte ranges of the bodies of the `text = """..."""` strings of `doc`.
fn text_bodies(doc: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = doc[from..].find("text = \"\"\"") {
        let start = from + rel + "text = \"\"\"".len();
        let Some(len) = doc[start..].find("\"\"\"") else {
            break;
        };
        let end = start + len;
        out.push(start..end);
        from = end + 3;
    }
    out
}

/// Offsets in text bodies right after a space: inserting there never splits a zone, escape or
/// control pattern, a placeholder or a `{{`/`}}` pair, and never touches a string delimiter.
fn after_spaces(doc: &str) -> Vec<usize> {
    text_bodies(doc)
        .into_iter()
        .flat_map(|r| {
            doc[r.clone()]
                .match_indices(' ')
                .map(move |(i, _)| r.start + i + 1)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Escapes and characters that are valid anywhere in a `"""` string and contain no brace.
const SAFE_IN_TEXT: &[&str] = &[
    "plain",
    " ",
    "\\t",
    "\\n",
    "\\\"",
    "\\\\",
    "\\u00e9",
    "\\u007B\\u007B",
    "\\U0001F600",
    "\\x41",
    "\\e",
    "é",
    "😀",
    "\u{301}",
    "\u{202E}",
    "\u{FEFF}",
    "中文",
    "\n",
    "\t",
    "[[x]]",
    "[Escape] [EndEscape]",
];

/// Line-ending backslashes: they decode to nothing. Only before the brace for now: right after
/// it they stretch the span's end (see `span_end_stops_before_a_line_ending_backslash`).
const LINE_CONTINUATIONS: &[&str] = &["\\\n    ", "\\  \n  \n  ", "\\\r\n"];

// ---------------------------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_strings(src in "(?s).{0,300}") {
        let _ = parse(&src);
    }

    #[test]
    fn arbitrary_bytes_lossy(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let src = String::from_utf8_lossy(&bytes);
        let _ = parse(&src);
    }

    /// Random sequences of TOML/UDPL tokens get further into the linter than random text.
    #[test]
    fn token_soup(tokens in prop::collection::vec(fragment(), 0..40)) {
        let _ = parse(&tokens.concat());
    }

    /// The representative document after a few random edits.
    #[test]
    fn mutated_representative(edits in prop::collection::vec(edit(), 1..6)) {
        let mut doc = REPRESENTATIVE.to_owned();
        for e in &edits {
            doc = apply(&doc, e);
        }
        let _ = parse(&doc);
    }

    /// Braces, zone/escape/control patterns and TOML escapes inserted into block texts: the
    /// document stays valid TOML (mostly), so these reach the text analysis and `StrMap`.
    #[test]
    fn mutated_block_texts(
        inserts in prop::collection::vec((any::<Index>(), fragment()), 1..6),
    ) {
        let mut doc = REPRESENTATIVE.to_owned();
        for (i, s) in &inserts {
            let bodies = text_bodies(&doc);
            let positions: Vec<usize> = bodies
                .iter()
                .flat_map(|r| boundaries(&doc[r.clone()]).into_iter().map(|o| r.start + o))
                .collect();
            let at = positions[i.index(positions.len())];
            // Raw quotes would end the string; keep the document valid TOML.
            let s = s.replace('"', "\\\"");
            doc.insert_str(at, &s);
            if text_bodies(&doc).len() != 12 {
                break;
            }
        }
        let _ = parse(&doc);
    }

    /// Location oracle: an unmatched `}` inserted after some escapes and odd characters in a
    /// block text is reported exactly where it is, as the only error.
    #[test]
    fn unmatched_brace_is_located_exactly(
        pos in any::<Index>(),
        before in prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(SAFE_IN_TEXT),
                1 => prop::sample::select(LINE_CONTINUATIONS),
            ],
            0..6,
        ),
        after in prop::collection::vec(prop::sample::select(SAFE_IN_TEXT), 0..3),
        crlf in any::<bool>(),
    ) {
        let base = if crlf { REPRESENTATIVE.replace('\n', "\r\n") } else { REPRESENTATIVE.to_owned() };
        let positions = after_spaces(&base);
        let at = positions[pos.index(positions.len())];
        let insert = format!("{}}}{}", before.concat(), after.concat());
        let brace = at + before.concat().len();
        let mut doc = base.clone();
        doc.insert_str(at, &insert);
        let err = parse(&doc).expect_err("an unmatched `}` is an error");
        let errors: Vec<&Diagnostic> = err.errors().collect();
        prop_assert_eq!(errors.len(), 1, "{:#?}", errors);
        let d = errors[0];
        prop_assert_eq!(&d.message, "unmatched `}`");
        prop_assert_eq!(d.span.clone(), brace..brace + 1, "input: {:?}", doc);
        let (line, column, _) = locate(&doc, brace);
        prop_assert_eq!((d.line, d.column), (line, column));
    }

    /// Odd but valid Unicode inserted into block texts keeps the document valid, with the same
    /// number of zones.
    #[test]
    fn odd_unicode_in_block_texts_stays_valid(
        inserts in prop::collection::vec((any::<Index>(), prop::sample::select(ODD_TEXT)), 1..8),
    ) {
        let mut doc = REPRESENTATIVE.to_owned();
        for (i, s) in &inserts {
            let positions = after_spaces(&doc);
            doc.insert_str(positions[i.index(positions.len())], s);
        }
        let parsed = parse(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
        assert_representative_shape(&parsed);
    }

    /// Odd characters (NUL, CR, bidi controls, ...) anywhere in the document.
    #[test]
    fn odd_unicode_anywhere(
        inserts in prop::collection::vec(
            (any::<Index>(), prop_oneof![
                prop::sample::select(ODD_TEXT),
                prop::sample::select(ODD_ANYWHERE),
            ]),
            1..6,
        ),
    ) {
        let mut doc = REPRESENTATIVE.to_owned();
        for (i, s) in &inserts {
            let b = boundaries(&doc);
            doc.insert_str(b[i.index(b.len())], s);
        }
        let _ = parse(&doc);
    }

    /// A folder document: the representative split into two files at any line. Splitting at
    /// a line that starts a top-level table keeps it valid.
    #[test]
    fn split_into_two_files(line in any::<Index>()) {
        let lines: Vec<&str> = REPRESENTATIVE.split_inclusive('\n').collect();
        let k = line.index(lines.len() + 1);
        let (a, b) = (lines[..k].concat(), lines[k..].concat());
        let result = parse_sources(&[("doc/a.toml", &a), ("doc/b.toml", &b)]);
        // Valid splits: before `[config]` (file a holds only comments), or before the comment
        // that starts a sequence's section, or at the end.
        let config_line = lines.iter().position(|l| l.starts_with("[config]")).unwrap();
        let starts_table = k <= config_line
            || k == lines.len()
            || lines[k].starts_with("# ---");
        if starts_table {
            let parsed = result.unwrap_or_else(|e| panic!("split at line {}: {e}", k + 1));
            assert_representative_shape(&parsed);
        }
    }
}

// ------------------------------------------------------------------------ generated documents
//
// Random UDPL documents built from the grammar: always valid TOML, often a valid UDPL
// document, with every config key, block key and spec key sometimes missing, mistyped or
// holding odd names, so the linter's checks (not just the TOML parser) see the input.

/// Zone, control and escape pattern candidates.
const PATTERNS: &[&str] = &[
    "[Prompt]",
    "[Answer]",
    "[EOS]",
    "[Jump]",
    "[Escape]",
    "[EndEscape]",
    "",
    "{x}",
    "}",
    "[P]",
    "<é>",
    "[Prompt",
    "\n",
    "😀",
];
/// Sequence, tag, tool and resource name candidates (valid, colliding and invalid).
const NAMES: &[&str] = &[
    "setup",
    "reason",
    "loop",
    "s-1",
    "s_1",
    "Self",
    "1st",
    "",
    "héllo",
    "a b",
    "LoopControl",
    "loop_control",
    "type",
    "config",
    "Training",
    "training",
    "Final",
    "search",
    "_",
];
const SEQ_NAMES: &[&str] = &[
    "setup", "reason", "loop", "s-1", "s_1", "a b", "Self", "1st",
];
const GOOD_TAGS: &[&str] = &["Training", "Final"];
const TAGS: &[&str] = &["Training", "Final", "Nope", "training", ""];
/// Block text pieces that keep a `[Prompt] ... [Answer]` text valid.
const GOOD_TEXT: &[&str] = &[
    " words ",
    "\n",
    "{a}",
    "{b}",
    "{c}",
    "{{",
    "}}",
    "é",
    "😀",
    "\t",
    "\"",
    "\\",
    "'",
    "\r\n",
    "[Escape] [Jump] [EndEscape]",
    "[Escape][EOS][Escape][Answer][EndEscape][EndEscape]",
    "{{\"json\": [1]}}",
    "\u{202E}",
    "e\u{301}",
];
/// Block text pieces that are errors or warnings in most places.
const BAD_TEXT: &[&str] = &[
    "[Prompt]",
    "[Answer]",
    "[EOS]",
    "[Jump]",
    "[Escape]",
    "[EndEscape]",
    "{",
    "}",
    "{0}",
    "{}",
    "{a.b}",
    "{x:>4}",
    "\u{0}",
];
const SPEC_KEYS: &[&str] = &["a", "b", "c", "text", "x y", "é"];
const RESOURCES: &[&str] = &["user_name", "topic", "constitution", "min"];
const RESOURCE_TYPES: &[&str] = &["standard", "custom", "argument", "weird", ""];
const ARGUMENTS: &[&str] = &[
    "{ n = 3 }",
    "{}",
    "3",
    "{ x = [1, { y = 2.5 }], s = \"é\", d = 1979-05-27T07:32:00Z }",
    "{ big = 99999999999999999999 }",
    "{ f = inf, g = -nan, h = 0xf_f }",
    "{ h = 0xff, o = 0o7 }",
];
const INTS: &[&str] = &[
    "1",
    "3",
    "0",
    "-1",
    "101",
    "true",
    "1.5",
    "99999999999999999999",
    "0x10",
    "\"5\"",
    "1_000",
];
/// Values of the wrong type for a list or table key.
const WRONG: &[&str] = &[
    "3",
    "true",
    "\"x\"",
    "[1, \"a\"]",
    "{ a = 1 }",
    "1.5",
    "1979-05-27",
    "[[]]",
    "[{}]",
];

/// A TOML string literal for `s` in one of five styles: basic, multi-line basic, literal,
/// multi-line literal, or basic with every non-ASCII character written as a `\U` escape.
/// Styles that cannot hold `s` fall back to basic.
fn quote(s: &str, style: u8) -> String {
    let basic = |s: &str, multi: bool, escape_all: bool| {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' if multi => out.push('\n'),
                '\n' => out.push_str("\\n"),
                '\t' => out.push('\t'),
                c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                c if escape_all && !c.is_ascii() => {
                    out.push_str(&format!("\\U{:08X}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        if multi {
            format!("\"\"\"{out}\"\"\"")
        } else {
            format!("\"{out}\"")
        }
    };
    let plain = !s.chars().any(|c| c.is_control() && c != '\t');
    let plain_lines = !s.chars().any(|c| c.is_control() && c != '\t' && c != '\n');
    match style {
        1 => basic(s, true, false),
        2 if plain && !s.contains('\'') => format!("'{s}'"),
        3 if plain_lines && !s.contains('\'') && !s.starts_with('\n') => format!("'''{s}'''"),
        4 => basic(s, false, true),
        _ => basic(s, false, false),
    }
}

fn toml_str(pool: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    (prop::sample::select(pool), 0..5u8).prop_map(|(s, style)| quote(s, style))
}

fn array_of(
    elem: impl Strategy<Value = String> + Clone,
    max: usize,
) -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(elem, 0..max).prop_map(|v| format!("[{}]", v.join(", ")))
}

fn wrong() -> impl Strategy<Value = String> + Clone {
    prop::sample::select(WRONG).prop_map(str::to_owned)
}

fn str_array(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![8 => array_of(toml_str(pool), 5), 1 => wrong()]
}

/// `good`, or with weight `bad` (against 12) `other`. Documents are generated at two levels of
/// hostility: `bad = 0` only makes valid choices, so about half the documents are valid.
fn pick<T: std::fmt::Debug + 'static>(
    bad: u32,
    good: impl Strategy<Value = T> + 'static,
    other: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    if bad == 0 {
        good.boxed()
    } else {
        prop_oneof![12 => good, bad => other].boxed()
    }
}

/// Mostly `usual`, sometimes any of `other`.
fn usually(
    bad: u32,
    usual: &'static str,
    other: impl Strategy<Value = String> + 'static,
) -> BoxedStrategy<String> {
    pick(bad, Just(usual.to_owned()), other)
}

/// `Some` with probability `p`, or always when `bad == 0`.
fn maybe<S: Strategy + 'static>(bad: u32, p: f64, s: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug,
{
    if bad == 0 {
        s.prop_map(Some).boxed()
    } else {
        prop::option::weighted(p, s).boxed()
    }
}

/// `key = value` lines, values as TOML text.
type Entries = Vec<(String, String)>;

fn entries<const N: usize>(pairs: [(&str, Option<String>); N]) -> Entries {
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
}

/// The config entries; `sequences` is `None` when it should list the generated sequences.
fn config_entries(bad: u32) -> impl Strategy<Value = (Entries, Option<Option<String>>)> {
    let ints = prop::sample::select(INTS).prop_map(str::to_owned);
    let b = bad;
    (
        maybe(
            b,
            0.98,
            usually(
                b,
                r#"["[Prompt]", "[Answer]", "[EOS]"]"#,
                str_array(PATTERNS),
            ),
        ),
        maybe(
            b,
            0.98,
            usually(b, r#"["[Prompt]", "[Answer]"]"#, str_array(PATTERNS)),
        ),
        maybe(
            b,
            0.98,
            usually(b, r#"["Training", "Final"]"#, str_array(NAMES)),
        ),
        maybe(b, 0.98, usually(b, "100", ints)),
        maybe(
            b,
            0.98,
            pick(b, Just(None), str_array(SEQ_NAMES).prop_map(Some)),
        ),
        maybe(
            b,
            0.98,
            usually(b, "\"[Jump]\"", prop_oneof![toml_str(PATTERNS), wrong()]),
        ),
        maybe(
            b,
            0.98,
            usually(b, r#"["[Escape]", "[EndEscape]"]"#, str_array(PATTERNS)),
        ),
        maybe(
            b,
            0.3,
            pick(b, Just(r#"["search"]"#.to_owned()), str_array(NAMES)),
        ),
        pick(b, Just(None), Just(Some("\"blue\"".to_owned()))),
    )
        .prop_map(|(a, b, c, d, sequences, f, g, h, i)| {
            let e = entries([
                ("zone_patterns", a),
                ("required_patterns", b),
                ("valid_tags", c),
                ("default_max_token_length", d),
                ("control_pattern", f),
                ("escape_patterns", g),
                ("tools", h),
                ("colour", i),
            ]);
            (e, sequences)
        })
}

#[derive(Clone, Debug)]
struct GenBlock {
    keys: Entries,
    specs: Vec<(String, Entries)>,
    /// Add a valid spec table for every placeholder `{a}`, `{b}`, `{c}` without one.
    auto_specs: bool,
}

fn block_text(bad: u32) -> impl Strategy<Value = String> {
    let piece = move || {
        pick(
            bad,
            prop::sample::select(GOOD_TEXT),
            prop::sample::select(BAD_TEXT),
        )
    };
    let pieces = move || prop::collection::vec(piece(), 0..8);
    let good = (pieces(), pieces(), 0..5u8).prop_map(|(a, b, style)| {
        quote(
            &format!("[Prompt]{}[Answer]{}", a.concat(), b.concat()),
            style,
        )
    });
    let other = prop_oneof![
        (pieces(), 0..5u8).prop_map(|(p, style)| quote(&p.concat(), style)),
        wrong(),
    ];
    pick(bad, good, other)
}

fn tag_lists(bad: u32) -> impl Strategy<Value = String> + Clone {
    let good = || array_of(toml_str(GOOD_TAGS), 2);
    let list = prop_oneof![6 => array_of(toml_str(TAGS), 3), 1 => wrong()];
    pick(
        bad,
        (good(), good()).prop_map(|(a, b)| format!("[{a}, {b}]")),
        prop_oneof![array_of(list, 4), wrong()],
    )
}

fn spec_table(bad: u32) -> impl Strategy<Value = (String, Entries)> {
    let b = bad;
    (
        prop::sample::select(SPEC_KEYS),
        maybe(b, 0.95, pick(b, toml_str(RESOURCES), toml_str(NAMES))),
        pick(b, Just(None), maybe(1, 0.5, toml_str(RESOURCE_TYPES))),
        maybe(
            b,
            0.3,
            pick(
                b,
                prop::sample::select(&ARGUMENTS[..2]),
                prop::sample::select(ARGUMENTS),
            )
            .prop_map(str::to_owned),
        ),
        pick(b, Just(None), Just(Some("1".to_owned()))),
    )
        .prop_map(|(key, name, kind, args, bogus)| {
            let e = entries([
                ("name", name),
                ("type", kind),
                ("arguments", args),
                ("nmae", bogus),
            ]);
            (key.to_owned(), e)
        })
}

fn block(bad: u32) -> impl Strategy<Value = GenBlock> {
    let b = bad;
    let ints = || prop::sample::select(INTS).prop_map(str::to_owned);
    let tagset = move || {
        let entries = prop::collection::vec(tag_lists(b), if b == 0 { 1..3 } else { 0..3 });
        entries.prop_map(|v| format!("[{}]", v.join(", ")))
    };
    (
        maybe(b, 0.98, block_text(b)),
        prop_oneof![
            10 => (Just(Some(())), pick(b, Just(None), tagset().prop_map(Some))),
            1 => (Just(None), maybe(b, 0.9, tagset())),
        ],
        tag_lists(b),
        pick(b, Just(None), maybe(1, 0.5, ints())),
        pick(b, Just(None), maybe(1, 0.5, ints())),
        pick(b, Just(None), Just(Some("[[]]".to_owned()))),
        prop::collection::vec(spec_table(b), 0..2),
        pick(b, Just(true), prop::bool::ANY),
    )
        .prop_map(
            |(text, (has_tags, tagset), tags, repeats, max_gen, bogus, specs, auto_specs)| {
                GenBlock {
                    keys: entries([
                        ("text", text),
                        ("tags", has_tags.map(|()| tags)),
                        ("tagset", tagset),
                        ("repeats", repeats),
                        ("max_gen_tokens", max_gen),
                        ("tag", bogus),
                    ]),
                    specs,
                    auto_specs,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct GenDoc {
    /// Hostility: 0 makes only valid choices.
    bad: u32,
    config: Entries,
    /// `[config].sequences`: `None` lists the generated sequences, in order.
    listed: Option<Option<String>>,
    sequences: Vec<(&'static str, Vec<GenBlock>)>,
    /// Put `[config]` after the sequences.
    config_last: bool,
    /// Parse as a folder document: config in one file, sequences in another.
    split: bool,
}

fn document() -> impl Strategy<Value = GenDoc> {
    prop_oneof![document_at(0), document_at(1)]
}

fn document_at(bad: u32) -> impl Strategy<Value = GenDoc> {
    let sequence = (
        pick(
            bad,
            prop::sample::select(&SEQ_NAMES[..3]),
            prop::sample::select(SEQ_NAMES),
        ),
        prop::collection::vec(block(bad), 1..3),
    );
    (
        config_entries(bad),
        prop::collection::vec(sequence, if bad == 0 { 1..4 } else { 0..4 }),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            move |((config, listed), sequences, config_last, split)| GenDoc {
                bad,
                config,
                listed,
                sequences,
                config_last,
                split,
            },
        )
}

/// The document's text: (config, sequences), to be concatenated or parsed as two files.
fn render(doc: &GenDoc) -> (String, String) {
    let key = |k: &str| quote(k, 0);
    let mut config = String::from("[config]\n");
    for (k, v) in &doc.config {
        config.push_str(&format!("{k} = {v}\n"));
    }
    match &doc.listed {
        Some(Some(list)) => config.push_str(&format!("sequences = {list}\n")),
        Some(None) => {
            let mut names: Vec<String> = Vec::new();
            for (name, _) in &doc.sequences {
                if !names.contains(&key(name)) {
                    names.push(key(name));
                }
            }
            config.push_str(&format!("sequences = [{}]\n", names.join(", ")));
        }
        None => {}
    }
    let mut seqs = String::new();
    for (name, blocks) in &doc.sequences {
        for b in blocks {
            seqs.push_str(&format!("\n[[{}]]\n", key(name)));
            for (k, v) in &b.keys {
                seqs.push_str(&format!("{k} = {v}\n"));
            }
            let mut specs = b.specs.clone();
            if b.auto_specs {
                let text = b.keys.iter().find(|(k, _)| k == "text").map(|(_, v)| v);
                for p in ["a", "b", "c"] {
                    let used = text.is_some_and(|t| t.contains(&format!("{{{p}}}")));
                    if used && !specs.iter().any(|(k, _)| k == p) {
                        let name = ("name".to_owned(), format!("\"res_{p}\""));
                        specs.push((p.to_owned(), vec![name]));
                    }
                }
            }
            // TOML forbids defining a key twice: skip spec tables whose key is taken.
            let mut used: Vec<&str> = b.keys.iter().map(|(k, _)| k.as_str()).collect();
            for (spec, entries) in &specs {
                if used.contains(&spec.as_str()) {
                    continue;
                }
                used.push(spec);
                seqs.push_str(&format!("[{}.{}]\n", key(name), key(spec)));
                for (k, v) in entries {
                    seqs.push_str(&format!("{k} = {v}\n"));
                }
            }
        }
    }
    (config, seqs)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn generated_documents(doc in document()) {
        let (config, seqs) = render(&doc);
        let result = if doc.split {
            parse_sources(&[("doc/a.toml", &config), ("doc/b.toml", &seqs)])
        } else if doc.config_last {
            parse(&format!("{seqs}\n{config}"))
        } else {
            parse(&format!("{config}{seqs}"))
        };
        match &result {
            // The generator only writes valid TOML: a syntax error here is a generator bug.
            Err(e) => {
                prop_assert!(
                    !e.diagnostics().iter().any(|d| d.message.starts_with("invalid TOML")),
                    "generated invalid TOML: {}\n{config}{seqs}", e
                );
                prop_assert!(doc.bad > 0, "a document of valid choices was rejected: {}\n{config}{seqs}", e);
            }
            Ok(parsed) => {
                let blocks: usize = doc.sequences.iter().map(|(_, b)| b.len()).sum();
                let parsed_blocks: usize =
                    parsed.document.sequences.iter().map(|s| s.blocks.len()).sum();
                prop_assert_eq!(parsed_blocks, blocks);
                prop_assert_eq!(zone_count(parsed), blocks * 3);
            }
        }
    }
}

// ------------------------------------------------------------------------------ fixed inputs

#[test]
fn representative_parses() {
    let parsed = parse(REPRESENTATIVE).expect("representative document is valid");
    assert!(parsed.warnings.is_empty(), "{:#?}", parsed.warnings);
    assert_representative_shape(&parsed);
}

#[test]
fn crlf_representative_parses_to_the_same_zones() {
    let crlf = REPRESENTATIVE.replace('\n', "\r\n");
    let parsed = parse(&crlf).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.warnings.is_empty(), "{:#?}", parsed.warnings);
    assert_representative_shape(&parsed);

    // Mixed line endings: every other line CRLF.
    let mixed: String = REPRESENTATIVE
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| {
            if i % 2 == 0 {
                l.replace('\n', "\r\n")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_representative_shape(&parse(&mixed).unwrap_or_else(|e| panic!("{e}")));
}

/// Diagnostics of a CRLF file have the same lines, columns and messages as those of the LF file.
#[test]
fn crlf_diagnostics_match_lf() {
    let lf = r#"[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
valid_tags = ["Training"]
default_max_token_length = 100
sequences = ["greet"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
colour = "blue"

[[greet]]
text = """[Prompt] Line one.
Line two has {who} and {0}.
Then [Jump] and a } here.
[Answer]"""
tags = [["Trainig"]]
"#;
    let crlf = lf.replace('\n', "\r\n");
    let key = |d: &Diagnostic| (d.severity, d.line, d.column, d.message.clone());
    let lf_diags: Vec<_> = parse(lf)
        .unwrap_err()
        .diagnostics()
        .iter()
        .map(key)
        .collect();
    let crlf_diags: Vec<_> = parse(&crlf)
        .unwrap_err()
        .diagnostics()
        .iter()
        .map(key)
        .collect();
    assert!(lf_diags.len() >= 4, "{lf_diags:#?}");
    assert_eq!(crlf_diags, lf_diags);
}

#[test]
fn odd_documents() {
    let crlf = REPRESENTATIVE.replace('\n', "\r\n");
    for src in [
        String::new(),
        "\n".into(),
        "\r\n".into(),
        "\r".into(),
        "\u{0}".into(),
        "\u{FEFF}".into(),
        format!("\u{FEFF}{REPRESENTATIVE}"),
        format!("\u{FEFF}{crlf}"),
        REPRESENTATIVE.replace('\n', "\r"),
        REPRESENTATIVE.replace('\n', "\n\r"),
        REPRESENTATIVE.replace(' ', "\u{0}"),
        REPRESENTATIVE.replace(' ', "\u{3000}"),
        REPRESENTATIVE.replace("[Prompt]", "[Prompt\u{301}]"),
        REPRESENTATIVE.replace("[Answer]", "[\u{202E}Answer]"),
        REPRESENTATIVE.replace("\"[Jump]\"", "\"[😀]\""),
        REPRESENTATIVE.replace("Training", "Tr\u{0}aining"),
        REPRESENTATIVE.replace("{", "{\u{301}"),
        REPRESENTATIVE.replace("}", "\u{301}}"),
        REPRESENTATIVE.replace("\"\"\"", "'''"),
        REPRESENTATIVE.replace("\"\"\"", "\""),
        REPRESENTATIVE.replace("\n", ""),
        REPRESENTATIVE.replace("[", "[\n"),
        REPRESENTATIVE[..REPRESENTATIVE.len() / 2].to_owned(),
        "[config]\r\nzone_patterns = [\"a\", \"b\"]\r\n".into(),
        "\u{0}[config]\u{0}".into(),
        "config = \"\u{202E}\"".into(),
    ] {
        let _ = parse(&src);
    }
    // Odd Unicode in every kind of name and pattern, where the rest of the document is valid.
    let valid_odd = REPRESENTATIVE
        .replace("[Prompt]", "⟦提示⟧")
        .replace("[Answer]", "[Ответ👩‍👩‍👧]")
        .replace("[Jump]", "[\u{202E}Jump]")
        .replace("[Escape]", "«e\u{301}»");
    assert_representative_shape(&parse(&valid_odd).unwrap_or_else(|e| panic!("{e}")));
}

/// Several sources, including files that are empty or hold only comments.
#[test]
fn odd_folder_documents() {
    let _ = parse_sources(&[("a.toml", ""), ("b.toml", "")]);
    let _ = parse_sources(&[("a.toml", REPRESENTATIVE), ("b.toml", REPRESENTATIVE)]);
    let _ = parse_sources(&[("a.toml", "[config]"), ("b.toml", "[config]")]);
    let _ = parse_sources(&[("a.toml", "# only a comment"), ("b.toml", "x = [")]);
    let parsed = parse_sources(&[("a.toml", REPRESENTATIVE), ("b.toml", "# nothing\n")])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_representative_shape(&parsed);
}

// --------------------------------------------------------------------------------- deep nesting

const DEPTH: usize = 10_000;

fn nested(open: &str, close: &str) -> String {
    format!("{}{}", open.repeat(DEPTH), close.repeat(DEPTH))
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let cases = [
        format!("a = {}", nested("[", "]")),
        format!("a = {}1{}", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        format!("a = {}", nested("{ b = ", "}")),
        format!("a = {}1{}", "{ b = ".repeat(DEPTH), " }".repeat(DEPTH)),
        format!("a = {}", "[".repeat(DEPTH)),
        format!("a = {}", "{ b = ".repeat(DEPTH)),
        format!("a = {}", "[{ b = ".repeat(DEPTH)),
        format!("{} = 1", vec!["a"; DEPTH].join(".")),
        format!("[{}]", vec!["a"; DEPTH].join(".")),
        format!("[[{}]]", vec!["a"; DEPTH].join(".")),
        format!("a = {{ {} = 1 }}", vec!["a"; DEPTH].join(".")),
        "[".repeat(DEPTH),
        "{".repeat(DEPTH),
        "[[".repeat(DEPTH),
    ];
    for src in &cases {
        let result = parse(src);
        assert!(result.is_err(), "accepted {}…", &src[..40]);
    }
    // The same inside an otherwise valid document, where the linter walks `arguments`.
    for value in [nested("[", "]"), nested("{ b = ", "}")] {
        let doc = REPRESENTATIVE.replacen(
            "arguments = { num_samples = 3 }",
            &format!("arguments = {{ num_samples = 3, deep = {value} }}"),
            1,
        );
        assert!(parse(&doc).is_err());
    }
    let doc = REPRESENTATIVE.replacen(
        "[[setup]]",
        &format!("deep = {}\n\n[[setup]]", nested("[", "]")),
        1,
    );
    assert!(parse(&doc).is_err());
}

/// Nesting the TOML parser accepts (below its limit) in `arguments`: the linter's own
/// recursion copes.
#[test]
fn moderate_nesting_in_arguments_parses() {
    for depth in [10, 40, 70] {
        let value = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let table = format!("{}1{}", "{ b = ".repeat(depth), " }".repeat(depth));
        let doc = REPRESENTATIVE.replacen(
            "arguments = { num_samples = 3 }",
            &format!("arguments = {{ num_samples = 3, a = {value}, t = {table} }}"),
            1,
        );
        let _ = parse(&doc);
    }
}

// ------------------------------------------------------------------------------- huge documents

fn huge_document(n: usize) -> String {
    use std::fmt::Write as _;
    let names: Vec<String> = (0..n).map(|i| format!("\"seq_{i:04}\"")).collect();
    let mut doc = format!(
        "[config]
zone_patterns = [\"[Prompt]\", \"[Answer]\", \"[EOS]\"]
required_patterns = [\"[Prompt]\", \"[Answer]\"]
valid_tags = [\"Training\", \"Correct\", \"Incorrect\", \"Feedback\", \"Final\"]
default_max_token_length = 2000
sequences = [{}]
control_pattern = \"[Jump]\"
escape_patterns = [\"[Escape]\", \"[EndEscape]\"]
",
        names.join(", ")
    );
    for i in 0..n {
        let _ = write!(
            doc,
            r#"
[[seq_{i:04}]]
text = """[Prompt] Step {i}: consider {{topic}} and {{{{"json": {i}}}}}.
[Answer] Done. [EOS]"""
tags = [["Training"], []]

[seq_{i:04}.topic]
name = "topic_{rem}"
type = "{kind}"

[[seq_{i:04}]]
text = """[Prompt] Escaped [Escape] "[Jump]" [EndEscape] here. [Answer]"""
tagset = [[[], ["Correct"]], [[], ["Incorrect"]]]
"#,
            rem = i % 50,
            kind = ["standard", "custom", "argument"][i % 50 % 3],
        );
    }
    doc
}

#[test]
fn huge_document_parses() {
    let n = 2_000;
    let doc = huge_document(n);
    let start = std::time::Instant::now();
    let parsed = parse(&doc).unwrap_or_else(|e| panic!("{}", &e.to_string()[..2000]));
    let elapsed = start.elapsed();
    assert_eq!(parsed.document.sequences.len(), n);
    assert_eq!(zone_count(&parsed), n * 2 * 3);
    assert_eq!(parsed.document.resources.len(), 50);
    assert!(parsed.warnings.is_empty(), "{:#?}", &parsed.warnings[..1]);
    eprintln!(
        "huge document: {} bytes, {n} sequences parsed in {elapsed:?}",
        doc.len()
    );
}

/// A huge document where every block has an error: all of them are reported, in order.
#[test]
fn huge_document_with_errors_reports_them_all() {
    let n = 2_000;
    let doc = huge_document(n).replace("{topic}", "{topic} }");
    let err = parse(&doc).expect_err("every block has an unmatched brace");
    assert_eq!(err.errors().count(), n);
    assert!(err.errors().all(|d| d.message == "unmatched `}`"));
}

// ------------------------------------------------------------------------ regressions
//
// Each test below reproduces a bug found by these tests, fixed since.

/// `parse_sources(&[])` is public API; a folder document with no file must be an error, not a
/// panic. It used to fail: "index out of bounds: the len is 0 but the index is 0" in `Linter::push`
/// (reporting "missing `[config]` table" at file 0).
#[test]
fn parse_sources_without_any_source_is_an_error() {
    assert!(parse_guarded(&[], TIMEOUT).is_err());
}

/// An empty config array is located by searching the text for `key = [`; a comment holding the
/// same text comes first. It used to: the warning points into the comment, at 2:21.
#[test]
fn empty_array_is_not_located_in_a_comment() {
    let src = r#"[config]
# was: valid_tags = ["Training"]
valid_tags = []
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
default_max_token_length = 100
sequences = ["s"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]

[[s]]
text = "[Prompt] Hi. [Answer]"
tags = [[]]
"#;
    let parsed = parse(src).expect("only a warning");
    let w = &parsed.warnings[0];
    assert_eq!(w.message, "`valid_tags` is empty: no block can carry a tag");
    assert_eq!((w.line, w.column), (3, 14), "{w}");
}

/// An array's own `[` is found with `rfind('[')` before its first element, which finds a
/// bracket in a comment between them. It used to: the error points at 2:21 (the `[` of `[x]`).
#[test]
fn array_bracket_is_not_located_in_a_comment() {
    let src = "[config]\nzone_patterns = [ # [x]\n  \"[Prompt]\"]\n";
    let err = parse(src).unwrap_err();
    let d = err
        .errors()
        .find(|d| d.message == "`zone_patterns` needs at least two patterns")
        .expect("the error about zone_patterns");
    assert_eq!((d.line, d.column), (2, 17), "{d}");
}

/// A `\` line continuation decodes to nothing. A decoded range that ends right before one is
/// mapped to the end of the continuation, so the span of a lone `}` covers `}\<newline>    `
/// (7 bytes, and two carets under `}\`). Expected: exactly the brace.
#[test]
fn span_end_stops_before_a_line_ending_backslash() {
    let src = REPRESENTATIVE.replacen(
        "[Prompt] The user is asking",
        "[Prompt] }\\\n    The user is asking",
        1,
    );
    let brace = src.find("] }\\").unwrap() + 2;
    let err = parse(&src).unwrap_err();
    let d = err.errors().next().unwrap();
    assert_eq!(d.message, "unmatched `}`");
    assert_eq!(d.span, brace..brace + 1);
    assert!(d.render_human().contains(" ^ no `{` opens this"), "{d}");
}

/// "Did you mean" runs a full edit-distance table per candidate: O(len(a) × len(b)) time and
/// memory. Eight 3,000-character names against eight unknown 3,000-character keys (a 50 KB
/// file) take about 20 s in a debug build and 72 MB per comparison; 50,000-character names
/// would need 20 GB for one table.
#[test]
fn suggestions_for_long_names_are_cheap() {
    let listed: Vec<String> = (0..8)
        .map(|i| format!("\"{}{i}\"", "a".repeat(3_000)))
        .collect();
    let mut src = format!(
        "[config]
zone_patterns = [\"[Prompt]\", \"[Answer]\"]
required_patterns = [\"[Prompt]\"]
valid_tags = [\"Training\"]
default_max_token_length = 100
sequences = [
{}
]
control_pattern = \"[Jump]\"
escape_patterns = [\"[Escape]\", \"[EndEscape]\"]
",
        listed.join(",\n")
    );
    for i in 0..8 {
        src.push_str(&format!(
            "\n[[{}{i}]]\ntext = \"[Prompt] x [Answer]\"\ntags = [[]]\n",
            "b".repeat(3_000)
        ));
    }
    let result = parse_guarded(&[("long.toml", &src)], Duration::from_secs(2));
    check_result(&[("long.toml", &src)], &result);
    assert_eq!(result.unwrap_err().errors().count(), 16);
}

/// Every diagnostic copies its whole source line and counts characters from the line start,
/// so N diagnostics on one line of length L cost O(N × L) time and memory. 8,000 undefined
/// sequences listed on one line (a 63 KB file) allocate 500 MB; 16,000 (133 KB) take 5.5 s
/// and 2 GB in a release build. The same diagnostics one per line are linear.
#[test]
fn many_diagnostics_on_one_long_line_are_linear() {
    let doc = |sep: &str| {
        let names: Vec<String> = (0..8_000).map(|i| format!("\"n{i}\"")).collect();
        format!(
            "[config]
zone_patterns = [\"[Prompt]\", \"[Answer]\"]
required_patterns = [\"[Prompt]\"]
valid_tags = [\"Training\"]
default_max_token_length = 100
sequences = [{}]
control_pattern = \"[Jump]\"
escape_patterns = [\"[Escape]\", \"[EndEscape]\"]
",
            names.join(sep)
        )
    };
    let time = |src: &str| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                let errors = parse_guarded(&[("d.toml", src)], TIMEOUT)
                    .unwrap_err()
                    .errors()
                    .count();
                assert_eq!(errors, 8_000);
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let one_per_line = time(&doc(",\n"));
    let one_line = time(&doc(", "));
    assert!(
        one_line < one_per_line * 3,
        "one line: {one_line:?}, one per line: {one_per_line:?}"
    );
}
