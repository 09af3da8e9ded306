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

/// The representative document of the shared benchmark workload (3 zones, 5 sequences, 12 blocks).
const REPRESENTATIVE: &str = include_str!("../../../examples/representative.toml");
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

mod edits;
mod generated;

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
