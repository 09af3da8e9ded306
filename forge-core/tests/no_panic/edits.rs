//! Edits of the representative document: fragments inserted, removed or replaced anywhere,
//! and the properties they must keep.

use super::*;

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
