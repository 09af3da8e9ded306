//! One test per UDPL rule: each asserts the diagnostic's severity, message, line and column
//! (of the offending value), and its help where a fix is known. Everything goes through the
//! public runtime API (`forge::udpl::parse_str` / `parse_sources`).

use forge::diagnostics::{Diagnostic, Severity};
use forge::udpl::{self, ResourceKind};

/// Lines 1–8: a valid config. Appended text starts on line 9.
const CONFIG: &str = r#"[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Correct", "Final"]
default_max_token_length = 100
sequences = ["setup"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
"#;

/// Lines 9–11: a valid block of `setup`.
const BLOCK: &str = "[[setup]]\ntext = \"[Prompt] Hi [Answer]\"\ntags = [[], []]\n";

/// The config with the line starting with `key =` replaced by `line`.
fn config_with(key: &str, line: &str) -> String {
    let prefix = format!("{key} =");
    let mut found = false;
    let out: Vec<String> = CONFIG
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                found = true;
                line.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "no config line for {key}");
    out.join("\n") + "\n"
}

fn diagnostics(src: &str) -> Vec<Diagnostic> {
    match udpl::parse_str(src, "t.toml") {
        Ok(parsed) => parsed.warnings,
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// Exactly one diagnostic, with this severity, position and message.
#[track_caller]
fn only(src: &str, severity: Severity, line: u32, column: u32, message: &str) -> Diagnostic {
    let ds = diagnostics(src);
    assert_eq!(
        ds.len(),
        1,
        "expected one diagnostic, got:\n{}",
        forge::diagnostics::render_all(&ds, forge::diagnostics::Format::Short)
    );
    let d = ds.into_iter().next().unwrap();
    assert_eq!(
        (d.severity, d.line, d.column, d.message.as_str()),
        (severity, line, column, message),
        "{}",
        d.render_short()
    );
    d
}

#[track_caller]
fn error(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let d = only(src, Severity::Error, line, column, message);
    assert!(udpl::parse_str(src, "t.toml").is_err());
    d
}

#[track_caller]
fn warning(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let d = only(src, Severity::Warning, line, column, message);
    assert!(
        udpl::parse_str(src, "t.toml").is_ok(),
        "warnings must not fail the parse"
    );
    d
}

/// Among several diagnostics, the one with this message; asserts its position.
#[track_caller]
fn find(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let ds = diagnostics(src);
    let d = ds.iter().find(|d| d.message == message).unwrap_or_else(|| {
        panic!(
            "no diagnostic {message:?} in:\n{}",
            forge::diagnostics::render_all(&ds, forge::diagnostics::Format::Short)
        )
    });
    assert_eq!((d.line, d.column), (line, column), "{}", d.render_short());
    d.clone()
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap_or("")
}

#[test]
fn baseline_is_valid() {
    let src = format!("{CONFIG}{BLOCK}");
    assert!(diagnostics(&src).is_empty());
}

// ---------------------------------------------------------------------------------- config

#[test]
fn toml_syntax_error_is_located() {
    let src = format!("{CONFIG}[[setup]]\ntext = \"[Prompt] unterminated\ntags = [[], []]\n");
    let d = only(
        &src,
        Severity::Error,
        10,
        30,
        "invalid TOML: invalid basic string, expected `\"`",
    );
    assert_eq!(d.label.as_deref(), Some("TOML syntax error"));
}

/// `CONFIG` and `BLOCK` with `from` replaced by `to` (once).
fn baseline_with(from: &str, to: &str) -> String {
    let src = format!("{CONFIG}{BLOCK}");
    assert!(src.contains(from), "{from}");
    src.replacen(from, to, 1)
}

#[test]
fn unclosed_array_is_one_error_at_its_opening() {
    // The parser's recovery reports every later line; the `[` to close is on line 3.
    let src = baseline_with(
        r#"required_patterns = ["[Prompt]", "[Answer]"]"#,
        r#"required_patterns = ["[Prompt]", "[Answer]""#,
    );
    let d = error(
        &src,
        3,
        21,
        "invalid TOML: unclosed array: this `[` has no matching `]`",
    );
    assert_eq!(help(&d), "close the array with `]` after its last element");
    // Nested, on the last line: the parser's error is on that line already; with lines after
    // it, the outer `[` that is never closed.
    let src = baseline_with("tags = [[], []]", "tags = [[], []");
    error(&src, 11, 15, "invalid TOML: unclosed array, expected `]`");
    let src = format!("{src}[[setup]]\ntext = \"[Prompt] Hi [Answer]\"\ntags = [[], []]\n");
    error(
        &src,
        11,
        8,
        "invalid TOML: unclosed array: this `[` has no matching `]`",
    );
    // Arrays may span lines: a closed one is no error, and a missing comma is reported where
    // the comma goes (after the previous element), not at the next element.
    let multi = baseline_with(
        r#"zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]"#,
        "zone_patterns = [\n  \"[Prompt]\",\n  \"[Answer]\",\n  \"[EOS]\"\n]",
    );
    assert!(diagnostics(&multi).is_empty());
    let src = multi.replacen("\"[Prompt]\",", "\"[Prompt]\"", 1);
    error(
        &src,
        3,
        12,
        "invalid TOML: missing comma between array elements",
    );
}

#[test]
fn unclosed_table_header_is_one_error_at_its_line() {
    let src = baseline_with("[[setup]]", "[[setup]");
    error(
        &src,
        9,
        9,
        "invalid TOML: unclosed array table, expected `]`",
    );
    let src = baseline_with("[config]", "[config");
    error(&src, 1, 8, "invalid TOML: unclosed table, expected `]`");
}

#[test]
fn unclosed_inline_table_is_one_error_at_its_line() {
    let src = format!(
        "{CONFIG}[[setup]]\ntext = \"[Prompt] {{x}} [Answer]\"\ntags = [[]]\n[setup.x]\nname = \"x\"\narguments = {{ n = 1\n"
    );
    error(
        &src,
        14,
        20,
        "invalid TOML: unclosed inline table, expected `}`",
    );
}

#[test]
fn unclosed_strings_are_one_error_at_their_opening() {
    let src = baseline_with(
        r#"control_pattern = "[Jump]""#,
        r#"control_pattern = "[Jump]"#,
    );
    error(
        &src,
        7,
        26,
        "invalid TOML: invalid basic string, expected `\"`",
    );
    // A multi-line string runs to the end of the file: the opening quotes are the mistake.
    let src = baseline_with(
        r#"text = "[Prompt] Hi [Answer]""#,
        r#"text = """[Prompt] Hi [Answer]"#,
    );
    let d = error(
        &src,
        10,
        8,
        "invalid TOML: unclosed multi-line string: this `\"\"\"` is never closed",
    );
    assert_eq!(d.label.as_deref(), Some("opened here"));
    let src = baseline_with(
        r#"text = "[Prompt] Hi [Answer]""#,
        "text = '''[Prompt] Hi [Answer]",
    );
    error(
        &src,
        10,
        8,
        "invalid TOML: unclosed multi-line string: this `'''` is never closed",
    );
    // Brackets and quotes inside strings and comments do not count.
    let src = baseline_with(
        r#"text = "[Prompt] Hi [Answer]""#,
        r#"text = """[Prompt] a [ { ' " \" [Answer]""" # ] [ {"#,
    );
    let ds = diagnostics(&src);
    assert!(
        ds.iter().all(|d| !d.message.starts_with("invalid TOML")),
        "{ds:?}"
    );
}

#[test]
fn missing_equals_is_one_error_at_its_line() {
    let src = baseline_with(r#"sequences = ["setup"]"#, r#"sequences ["setup"]"#);
    error(&src, 6, 11, "invalid TOML: key with no value, expected `=`");
}

#[test]
fn duplicate_key_is_one_error_naming_it() {
    let src = baseline_with(
        "default_max_token_length = 100",
        "default_max_token_length = 100\ndefault_max_token_length = 200",
    );
    let d = error(
        &src,
        6,
        1,
        "invalid TOML: duplicate key `default_max_token_length`",
    );
    assert_eq!(
        help(&d),
        "a key appears once per table: remove or rename one of them"
    );
}

#[test]
fn missing_config() {
    let d = error(BLOCK, 1, 1, "missing `[config]` table");
    assert!(help(&d).contains("zone_patterns"));
}

#[test]
fn config_must_be_a_table() {
    error("config = 3\n", 1, 10, "`config` must be a table");
}

#[test]
fn unknown_config_key_suggests() {
    let src = format!("{CONFIG}tool = [\"search\"]\n{BLOCK}");
    let d = error(&src, 9, 1, "unknown key `tool` in `[config]`");
    assert_eq!(help(&d), "did you mean `tools`?");
}

#[test]
fn missing_config_key() {
    let src = CONFIG.replace("control_pattern = \"[Jump]\"\n", "") + BLOCK;
    let d = error(&src, 1, 1, "`[config]` is missing `control_pattern`");
    assert_eq!(help(&d), "add `control_pattern = \"[Jump]\"`");
}

#[test]
fn zone_patterns_must_be_an_array_of_strings() {
    let src = config_with("zone_patterns", "zone_patterns = \"[Prompt]\"") + BLOCK;
    error(&src, 2, 17, "`zone_patterns` must be an array of strings");
    let src = config_with("zone_patterns", "zone_patterns = [\"[Prompt]\", 3]") + BLOCK;
    error(&src, 2, 30, "`zone_patterns` must hold only strings");
}

#[test]
fn zone_patterns_need_two() {
    let src = config_with("zone_patterns", "zone_patterns = [\"[Prompt]\"]");
    let src = src.replace(
        "required_patterns = [\"[Prompt]\", \"[Answer]\"]",
        "required_patterns = [\"[Prompt]\"]",
    );
    error(
        &(src + "[[setup]]\ntext = \"[Prompt] x\"\ntags = []\n"),
        2,
        17,
        "`zone_patterns` needs at least two patterns",
    );
}

#[test]
fn zone_patterns_distinct_and_non_empty() {
    let src = config_with(
        "zone_patterns",
        "zone_patterns = [\"[Prompt]\", \"[Answer]\", \"[Prompt]\"]",
    ) + BLOCK;
    let d = error(&src, 2, 42, "duplicate `[Prompt]` in `zone_patterns`");
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "t.toml:2:18"
    );
    let src = config_with(
        "zone_patterns",
        "zone_patterns = [\"[Prompt]\", \"[Answer]\", \"\"]",
    ) + BLOCK;
    error(&src, 2, 42, "empty string in `zone_patterns`");
}

#[test]
fn patterns_must_not_contain_braces() {
    let src = config_with(
        "zone_patterns",
        "zone_patterns = [\"[Prompt]\", \"[Answer]\", \"{EOS}\"]",
    ) + BLOCK;
    error(
        &src,
        2,
        42,
        "`zone_patterns` entry `{EOS}` contains a brace",
    );
}

#[test]
fn required_patterns_subset_of_zone_patterns() {
    let src = config_with(
        "required_patterns",
        "required_patterns = [\"[Prompt]\", \"[Answr]\"]",
    ) + BLOCK;
    let d = error(
        &src,
        3,
        34,
        "required pattern `[Answr]` is not one of `zone_patterns`",
    );
    assert_eq!(help(&d), "did you mean `[Answer]`?");
}

#[test]
fn required_patterns_non_empty() {
    let src = config_with("required_patterns", "required_patterns = []") + BLOCK;
    error(&src, 3, 21, "`required_patterns` must not be empty");
}

#[test]
fn empty_valid_tags_is_a_warning() {
    let src = config_with("valid_tags", "valid_tags = []") + BLOCK;
    warning(
        &src,
        4,
        14,
        "`valid_tags` is empty: no block can carry a tag",
    );
}

#[test]
fn valid_tags_distinct() {
    let src = config_with(
        "valid_tags",
        "valid_tags = [\"Training\", \"Correct\", \"Training\"]",
    ) + BLOCK;
    error(&src, 4, 38, "duplicate `Training` in `valid_tags`");
}

#[test]
fn tag_names_collide_after_conversion() {
    let src = config_with(
        "valid_tags",
        "valid_tags = [\"Training\", \"Correct\", \"Final\", \"final\"]",
    ) + BLOCK;
    let d = error(
        &src,
        4,
        47,
        "tag `final` and `Final` both become the Rust identifier `Final`",
    );
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "t.toml:4:38"
    );
}

#[test]
fn default_max_token_length_positive_integer_not_boolean() {
    let src = config_with(
        "default_max_token_length",
        "default_max_token_length = true",
    ) + BLOCK;
    let d = error(&src, 5, 28, "`default_max_token_length` must be an integer");
    assert_eq!(d.label.as_deref(), Some("found a boolean"));
    assert!(help(&d).contains("booleans are not integers"));
    let src = config_with("default_max_token_length", "default_max_token_length = 0") + BLOCK;
    error(&src, 5, 28, "`default_max_token_length` must be at least 1");
    let src = config_with("default_max_token_length", "default_max_token_length = 2.5") + BLOCK;
    let d = error(&src, 5, 28, "`default_max_token_length` must be an integer");
    assert_eq!(d.label.as_deref(), Some("found a float"));
}

#[test]
fn sequences_non_empty() {
    let src = config_with("sequences", "sequences = []") + BLOCK;
    find(&src, 6, 13, "`sequences` must not be empty");
    find(
        &src,
        9,
        3,
        "sequence `setup` is not listed in `config.sequences`",
    );
}

#[test]
fn sequences_distinct() {
    let src = config_with("sequences", "sequences = [\"setup\", \"setup\"]") + BLOCK;
    error(&src, 6, 23, "duplicate `setup` in `sequences`");
}

#[test]
fn sequence_names_must_become_identifiers() {
    let src = config_with("sequences", "sequences = [\"setup\", \"1st\"]")
        + BLOCK
        + "[[1st]]\ntext = \"[Prompt] x [Answer]\"\ntags = [[], []]\n";
    error(&src, 6, 23, "sequence `1st` cannot be a Rust identifier");
}

#[test]
fn sequence_names_collide_after_conversion() {
    let src = config_with("sequences", "sequences = [\"setup\", \"Setup\"]")
        + BLOCK
        + "[[Setup]]\ntext = \"[Prompt] x [Answer]\"\ntags = [[], []]\n";
    let d = error(
        &src,
        6,
        23,
        "sequence `Setup` and `setup` both become the Rust identifier `setup`",
    );
    assert_eq!(help(&d), "rename one of them");
}

#[test]
fn listed_sequence_without_blocks() {
    let src = config_with("sequences", "sequences = [\"setup\", \"answer\"]") + BLOCK;
    let d = error(&src, 6, 23, "sequence `answer` has no blocks");
    assert!(help(&d).contains("[[answer]]"));
}

#[test]
fn control_pattern_rules() {
    let src = config_with("control_pattern", "control_pattern = \"\"") + BLOCK;
    error(&src, 7, 19, "`control_pattern` must not be empty");
    let src = config_with("control_pattern", "control_pattern = \"[EOS]\"") + BLOCK;
    error(
        &src,
        7,
        19,
        "`control_pattern` `[EOS]` is also a zone pattern",
    );
    let src = config_with("control_pattern", "control_pattern = 1") + BLOCK;
    error(&src, 7, 19, "`control_pattern` must be a string");
}

#[test]
fn escape_patterns_exactly_two_distinct() {
    let src = config_with("escape_patterns", "escape_patterns = [\"[Escape]\"]") + BLOCK;
    error(
        &src,
        8,
        19,
        "`escape_patterns` must hold exactly two patterns",
    );
    let src = config_with("escape_patterns", "escape_patterns = [\"[E]\", \"[E]\"]") + BLOCK;
    error(&src, 8, 27, "the two escape patterns must differ");
    let src = config_with("escape_patterns", "escape_patterns = [\"\", \"[E]\"]") + BLOCK;
    error(&src, 8, 20, "escape pattern must not be empty");
}

#[test]
fn escape_patterns_differ_from_zone_and_control_patterns() {
    let src = config_with(
        "escape_patterns",
        "escape_patterns = [\"[Prompt]\", \"[End]\"]",
    ) + BLOCK;
    error(
        &src,
        8,
        20,
        "escape pattern `[Prompt]` is also a zone pattern",
    );
    let src = config_with(
        "escape_patterns",
        "escape_patterns = [\"[Jump]\", \"[End]\"]",
    ) + BLOCK;
    error(
        &src,
        8,
        20,
        "escape pattern `[Jump]` is also the control pattern",
    );
}

#[test]
fn tools_distinct_identifiers() {
    let src = format!("{CONFIG}tools = [\"search\", \"search\"]\n{BLOCK}");
    error(&src, 9, 20, "duplicate `search` in `tools`");
    let src = format!("{CONFIG}tools = [\"web-search\", \"web_search\"]\n{BLOCK}");
    error(
        &src,
        9,
        24,
        "tool `web_search` and `web-search` both become the Rust identifier `WebSearch`",
    );
}

// ------------------------------------------------------------------------------ top level

#[test]
fn unknown_top_level_key() {
    let src = format!("title = \"x\"\n{CONFIG}{BLOCK}");
    let d = error(&src, 1, 1, "unknown top-level key `title`");
    assert!(help(&d).contains("only `[config]` and `[[sequence]]`"));
}

#[test]
fn unlisted_sequence_is_an_error_with_suggestion() {
    let src =
        format!("{CONFIG}{BLOCK}[[setpu]]\ntext = \"[Prompt] x [Answer]\"\ntags = [[], []]\n");
    let d = error(
        &src,
        12,
        3,
        "sequence `setpu` is not listed in `config.sequences`",
    );
    assert_eq!(help(&d), "did you mean `setup`?");
}

#[test]
fn sequence_must_be_an_array_of_tables() {
    let src = format!("{CONFIG}[setup]\ntext = \"[Prompt] x [Answer]\"\n");
    error(
        &src,
        9,
        1,
        "sequence `setup` must be an array of tables (`[[setup]]` blocks)",
    );
    let src = format!("{CONFIG}\n");
    let src = src.replacen("[config]", "setup = []\n[config]", 1);
    error(&src, 1, 9, "sequence `setup` has no blocks");
}

#[test]
fn folder_needs_exactly_one_config() {
    let seqs = BLOCK;
    let err = udpl::parse_sources(&[("p/a.toml", seqs), ("p/b.toml", "")]).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(d.message, "no file of the folder has a `[config]` table");
    let err = udpl::parse_sources(&[("p/a.toml", CONFIG), ("p/b.toml", CONFIG)]).unwrap_err();
    let d = err
        .errors()
        .find(|d| d.message.starts_with("top-level key `config`"))
        .expect("a duplicate config error");
    assert_eq!(
        d.message,
        "top-level key `config` is defined in both `p/a.toml` and `p/b.toml`"
    );
    assert_eq!((&*d.file, d.line, d.column), ("p/b.toml", 1, 2));
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "p/a.toml:1:2"
    );
}

#[test]
fn folder_key_defined_in_two_files_names_both() {
    let err = udpl::parse_sources(&[
        ("p/a.toml", &format!("{CONFIG}{BLOCK}")),
        ("p/b.toml", BLOCK),
    ])
    .unwrap_err();
    let ds: Vec<_> = err.errors().collect();
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].message,
        "top-level key `setup` is defined in both `p/a.toml` and `p/b.toml`"
    );
    assert_eq!((&*ds[0].file, ds[0].line, ds[0].column), ("p/b.toml", 1, 3));
}

// --------------------------------------------------------------------------------- blocks

fn block(body: &str) -> String {
    format!("{CONFIG}[[setup]]\n{body}")
}

#[test]
fn block_needs_text() {
    let d = error(
        &block("tags = [[], []]\n"),
        9,
        1,
        "block 1 of `setup` has no `text`",
    );
    assert!(help(&d).contains("text = "));
    error(
        &block("text = 3\ntags = [[], []]\n"),
        10,
        8,
        "`text` of block 1 of `setup` must be a string",
    );
}

#[test]
fn block_needs_exactly_one_of_tags_and_tagset() {
    let d = error(
        &block("text = \"[Prompt] x [Answer]\"\n"),
        9,
        1,
        "block 1 of `setup` has neither `tags` nor `tagset`",
    );
    assert_eq!(
        help(&d),
        "add `tags = [[], []]` (one list per zone after the first)"
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\ntagset = [[[], []]]\n"),
        12,
        1,
        "block 1 of `setup` has both `tags` and `tagset`",
    );
}

#[test]
fn unknown_block_key_suggests() {
    let d = error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nrepeat = 2\n"),
        12,
        1,
        "unknown key `repeat` in block 1 of `setup`",
    );
    assert_eq!(help(&d), "did you mean `repeats`?");
}

#[test]
fn tags_need_one_list_per_zone_after_the_first() {
    let d = error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[]]\n"),
        11,
        8,
        "expected 2 tag lists (one per zone after the first), found 1",
    );
    assert_eq!(
        help(&d),
        "write `tags = [[], []]` with tags in the lists as needed"
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [\"Training\", []]\n"),
        11,
        9,
        "each tag list must be an array of tag names",
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[1], []]\n"),
        11,
        10,
        "tags must be strings",
    );
}

#[test]
fn unknown_tag_suggests() {
    let d = error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[\"Trainig\"], []]\n"),
        11,
        10,
        "unknown tag `Trainig`",
    );
    assert_eq!(help(&d), "did you mean `Training`?");
}

#[test]
fn duplicate_tag_in_one_list() {
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[\"Training\", \"Training\"], []]\n"),
        11,
        22,
        "duplicate tag `Training` in one tag list",
    );
}

#[test]
fn tagset_rules() {
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntagset = []\n"),
        11,
        10,
        "`tagset` must not be empty",
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntagset = [[[]]]\n"),
        11,
        11,
        "expected 2 tag lists (one per zone after the first), found 1",
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntagset = [[[], []]]\nrepeats = 2\n"),
        12,
        11,
        "`repeats` applies only to blocks with `tags`",
    );
}

#[test]
fn repeats_rules() {
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nrepeats = 0\n"),
        12,
        11,
        "`repeats` must be at least 1",
    );
    let d = error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nrepeats = true\n"),
        12,
        11,
        "`repeats` must be an integer",
    );
    assert!(help(&d).contains("booleans are not integers"));
    warning(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nrepeats = 101\n"),
        12,
        11,
        "`repeats = 101` is unusually large (over 100)",
    );
}

#[test]
fn max_gen_tokens_positive_integer() {
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nmax_gen_tokens = 0\n"),
        12,
        18,
        "`max_gen_tokens` must be at least 1",
    );
    error(
        &block("text = \"[Prompt] x [Answer]\"\ntags = [[], []]\nmax_gen_tokens = \"9\"\n"),
        12,
        18,
        "`max_gen_tokens` must be an integer",
    );
}

// ----------------------------------------------------------------------------------- text

fn text(t: &str) -> String {
    block(&format!("text = {t}\ntags = [[], []]\n"))
}

#[test]
fn text_needs_a_zone_pattern() {
    error(
        &text("\"hello\""),
        10,
        8,
        "block text contains no zone pattern; it must start with `[Prompt]`",
    );
}

#[test]
fn required_pattern_missing() {
    let d = error(
        &text("\"[Prompt] hello\""),
        10,
        8,
        "required zone pattern `[Answer]` is missing from the block text",
    );
    assert!(help(&d).contains("required_patterns"));
}

#[test]
fn zone_patterns_in_order_without_skipping() {
    let d = error(
        &text("\"[Prompt] a [EOS] [Answer]\""),
        10,
        20,
        "zone pattern `[EOS]` appears before `[Answer]`",
    );
    assert!(help(&d).contains("escape it as [Escape] \"[EOS]\" [EndEscape]"));
}

#[test]
fn zone_pattern_repeated() {
    error(
        &text("\"[Prompt] a [Answer] b [Answer]\""),
        10,
        31,
        "zone pattern `[Answer]` appears more than once",
    );
}

#[test]
fn text_before_first_pattern() {
    error(
        &text("\"  hi [Prompt] a [Answer]\""),
        10,
        11,
        "text before the first zone pattern `[Prompt]`",
    );
}

#[test]
fn text_after_last_pattern_when_all_present() {
    let d = error(
        &text("\"[Prompt] a [Answer] b [EOS] tail\""),
        10,
        37,
        "text after the last zone pattern `[EOS]`",
    );
    assert_eq!(d.label.as_deref(), Some("this text would be dropped"));
    // Only whitespace after the last pattern is fine.
    assert!(diagnostics(&text("\"[Prompt] a [Answer] b [EOS]  \\n\"")).is_empty());
}

#[test]
fn escape_must_be_balanced() {
    error(
        &text("\"[Prompt] a [EndEscape] [Answer]\""),
        10,
        20,
        "unmatched escape close `[EndEscape]`",
    );
    let d = error(
        &text("\"[Prompt] a [Escape] b [Answer]\""),
        10,
        20,
        "unclosed escape `[Escape]`",
    );
    assert_eq!(help(&d), "close it with `[EndEscape]`");
}

#[test]
fn unescaped_control_pattern_is_a_warning() {
    let d = warning(
        &text("\"[Prompt] emit [Jump] now [Answer]\""),
        10,
        23,
        "unescaped control pattern `[Jump]` in block text",
    );
    assert_eq!(help(&d), "escape it as [Escape] \"[Jump]\" [EndEscape]");
    assert!(
        diagnostics(&text(
            "\"[Prompt] emit [Escape] \\\"[Jump]\\\" [EndEscape] [Answer]\""
        ))
        .is_empty()
    );
}

#[test]
fn bad_braces_point_at_their_column() {
    for (t, col, msg) in [
        ("\"[Prompt] {} [Answer]\"", 18, "empty placeholder `{}`"),
        ("\"[Prompt] {0} [Answer]\"", 18, "invalid placeholder `{0}`"),
        (
            "\"[Prompt] {a.b} [Answer]\"",
            18,
            "invalid placeholder `{a.b}`",
        ),
        (
            "\"[Prompt] {x:>4} [Answer]\"",
            18,
            "invalid placeholder `{x:>4}`",
        ),
        ("\"[Prompt] a } [Answer]\"", 20, "unmatched `}`"),
        ("\"[Prompt] a { [Answer]\"", 20, "unclosed `{`"),
    ] {
        let d = error(&text(t), 10, col, msg);
        assert!(
            help(&d).contains("{{") || help(&d).contains("}}"),
            "{msg}: {:?}",
            d.help
        );
    }
}

#[test]
fn errors_inside_multiline_text_point_at_the_real_line_and_column() {
    // Line 10 opens the string; escapes before the error shift byte offsets.
    let src = block(
        "text = \"\"\"\n[Prompt] \\\"quoted\\\" caf\\u00e9\n  and {bad.one} here\n[Answer]\"\"\"\ntags = [[], []]\n",
    );
    let d = error(&src, 12, 7, "invalid placeholder `{bad.one}`");
    assert_eq!(d.source_line, "  and {bad.one} here");
    let rendered = d.render_human();
    assert!(rendered.contains("--> t.toml:12:7"), "{rendered}");
    assert!(
        rendered.contains("12 |   and {bad.one} here\n   |       ^^^^^^^^^"),
        "{rendered}"
    );
}

#[test]
fn escape_errors_inside_multiline_literal_string() {
    let src = block("text = '''\n[Prompt] a\nb [EndEscape]\n[Answer]'''\ntags = [[], []]\n");
    error(&src, 12, 3, "unmatched escape close `[EndEscape]`");
}

// ---------------------------------------------------------------------------- placeholders

#[test]
fn placeholder_needs_a_spec_table() {
    let d = error(
        &text("\"[Prompt] Hello {user} [Answer]\""),
        10,
        24,
        "placeholder `{user}` has no spec table",
    );
    assert!(help(&d).contains("[setup.user]"));
}

#[test]
fn unused_spec_table_is_a_warning() {
    let src = text("\"[Prompt] Hello [Answer]\"") + "[setup.user]\nname = \"user\"\n";
    let d = warning(
        &src,
        12,
        8,
        "spec table `[setup.user]` is not used by any placeholder of this block",
    );
    assert!(help(&d).contains("{user}"));
}

#[test]
fn spec_table_keys() {
    let base = text("\"[Prompt] Hello {user} [Answer]\"");
    let d = error(
        &(base.clone() + "[setup.user]\nnme = \"user\"\nname = \"user\"\n"),
        13,
        1,
        "unknown key `nme` in spec table `[setup.user]`",
    );
    assert_eq!(help(&d), "did you mean `name`?");
    error(
        &(base.clone() + "[setup.user]\ntype = \"custom\"\n"),
        12,
        1,
        "spec table `[setup.user]` has no `name`",
    );
    error(
        &(base.clone() + "[setup.user]\nname = \"\"\n"),
        13,
        8,
        "resource `name` must not be empty",
    );
    error(
        &(base.clone() + "[setup.user]\nname = 5\n"),
        13,
        8,
        "resource `name` must be a string",
    );
    error(
        &(base.clone() + "[setup.user]\nname = \"9lives\"\n"),
        13,
        8,
        "resource name `9lives` cannot be a Rust identifier",
    );
    let d = error(
        &(base.clone() + "[setup.user]\nname = \"user\"\ntype = \"custon\"\n"),
        14,
        8,
        "unknown resource type `custon`",
    );
    assert_eq!(help(&d), "did you mean `custom`?");
    error(
        &(base + "[setup.user]\nname = \"user\"\narguments = 3\n"),
        14,
        13,
        "`arguments` must be a table",
    );
}

#[test]
fn one_resource_one_type() {
    let src = config_with("sequences", "sequences = [\"setup\", \"answer\"]")
        + "[[setup]]\ntext = \"[Prompt] {a} [Answer]\"\ntags = [[], []]\n[setup.a]\nname = \"topic\"\ntype = \"custom\"\n"
        + "[[answer]]\ntext = \"[Prompt] {b} [Answer]\"\ntags = [[], []]\n[answer.b]\nname = \"topic\"\ntype = \"argument\"\n";
    // At the `type` values, not the spec tables' headers.
    let d = error(
        &src,
        20,
        8,
        "resource `topic` is `argument` here but `custom` at t.toml:14:8",
    );
    assert_eq!(d.label.as_deref(), Some("declared `argument` here"));
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "t.toml:14:8"
    );
    // No `type` means `standard`: the `name` value decides it.
    let src = src.replace("type = \"argument\"\n", "");
    let d = error(
        &src,
        19,
        8,
        "resource `topic` is `standard` here but `custom` at t.toml:14:8",
    );
    assert_eq!(
        d.label.as_deref(),
        Some("`standard` by default: this spec has no `type`")
    );
}

#[test]
fn resource_names_collide_after_conversion() {
    let src = text("\"[Prompt] {a} {b} [Answer]\"")
        + "[setup.a]\nname = \"user-name\"\n[setup.b]\nname = \"user_name\"\n";
    // At the `name` values.
    let d = error(
        &src,
        15,
        8,
        "resource names `user_name` and `user-name` both become the Rust identifier `user_name`",
    );
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "t.toml:13:8"
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let src = config_with("valid_tags", "valid_tags = [\"Training\"]")
        + "[[setup]]\ntext = \"[Prompt] {a} {0} [Answer]\"\ntags = [[\"Final\"], []]\nrepeats = 0\n";
    let err = udpl::parse_str(&src, "t.toml").unwrap_err();
    let got: Vec<String> = err.errors().map(Diagnostic::render_short).collect();
    assert_eq!(
        got,
        [
            "t.toml:10:18: error: placeholder `{a}` has no spec table",
            "t.toml:10:22: error: invalid placeholder `{0}`",
            "t.toml:11:10: error: unknown tag `Final`",
            "t.toml:12:11: error: `repeats` must be at least 1",
        ]
    );
}

#[test]
fn placeholder_kinds_and_arguments_reach_the_model() {
    let src = text("\"[Prompt] {a} {b} {c} {a} [Answer]\"")
        + "[setup.a]\nname = \"alpha\"\narguments = { num_samples = 3, mode = \"all\", list = [1, 2.5], nested = { x = true } }\n"
        + "[setup.b]\nname = \"beta\"\ntype = \"custom\"\n"
        + "[setup.c]\nname = \"gamma\"\ntype = \"argument\"\n";
    let parsed = udpl::parse_str(&src, "t.toml").unwrap();
    let doc = &parsed.document;
    let b = &doc.sequences[0].blocks[0];
    let kinds: Vec<_> = b
        .placeholders
        .iter()
        .map(|p| (p.key.as_str(), p.resource.as_str(), p.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("a", "alpha", ResourceKind::Standard),
            ("b", "beta", ResourceKind::Custom),
            ("c", "gamma", ResourceKind::Argument),
        ]
    );
    let a = &b.placeholders[0];
    assert_eq!(a.arguments["num_samples"].as_integer(), Some(3));
    assert_eq!(a.arguments["mode"].as_str(), Some("all"));
    assert_eq!(
        a.arguments["list"].as_array().unwrap()[1].as_float(),
        Some(2.5)
    );
    assert_eq!(a.arguments["nested"]["x"].as_bool(), Some(true));
    assert_eq!(a.location.to_string(), "t.toml:10:18");
    assert_eq!(a.spec_location.to_string(), "t.toml:12:1");
    assert_eq!(a.arguments_location.to_string(), "t.toml:14:13");
    assert_eq!(
        b.placeholders[1].arguments_location.to_string(),
        "t.toml:15:1"
    );
    assert!(b.placeholders[1].arguments.is_empty() && !b.placeholders[1].has_arguments);
    let names: Vec<_> = doc
        .resources
        .iter()
        .map(|r| (r.name.name.as_str(), r.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("alpha", ResourceKind::Standard),
            ("beta", ResourceKind::Custom),
            ("gamma", ResourceKind::Argument),
        ]
    );
}

// -------------------------------------------------------------------------------- defaults

#[test]
fn default_makes_a_resource_optional_and_reaches_the_model() {
    // The second spec naming `tone` omits the default: it means the same default.
    let src = text("\"[Prompt] {a} {b} {c} [Answer]\"")
        + "[setup.a]\nname = \"tone\"\ndefault = \"neutral\"\n"
        + "[setup.b]\nname = \"tone\"\n"
        + "[setup.c]\nname = \"other\"\n";
    let parsed = udpl::parse_str(&src, "t.toml").unwrap();
    let doc = &parsed.document;
    assert_eq!(
        doc.resource("tone").unwrap().default.as_deref(),
        Some("neutral")
    );
    assert_eq!(doc.resource("other").unwrap().default, None);
    let ps = &doc.sequences[0].blocks[0].placeholders;
    let defaults: Vec<_> = ps.iter().map(|p| p.default.as_deref()).collect();
    assert_eq!(defaults, [Some("neutral"), Some("neutral"), None]);
    // The same default twice is fine, and a later spec may be the one declaring it.
    let src = text("\"[Prompt] {a} {b} [Answer]\"")
        + "[setup.a]\nname = \"tone\"\n"
        + "[setup.b]\nname = \"tone\"\ndefault = \"x\"\n";
    let parsed = udpl::parse_str(&src, "t.toml").unwrap();
    let ps = &parsed.document.sequences[0].blocks[0].placeholders;
    assert!(ps.iter().all(|p| p.default.as_deref() == Some("x")));
}

#[test]
fn default_must_be_a_string() {
    let src = text("\"[Prompt] {a} [Answer]\"") + "[setup.a]\nname = \"n\"\ndefault = 3\n";
    let d = error(&src, 14, 11, "`default` must be a string");
    assert_eq!(d.label.as_deref(), Some("found an integer"));
}

#[test]
fn two_defaults_for_one_resource_is_an_error_naming_both() {
    let src = text("\"[Prompt] {a} {b} [Answer]\"")
        + "[setup.a]\nname = \"tone\"\ndefault = \"calm\"\n"
        + "[setup.b]\nname = \"tone\"\ndefault = \"loud\"\n";
    let d = error(
        &src,
        17,
        11,
        "resource `tone` has two defaults: \"loud\" here and \"calm\" at t.toml:14:11",
    );
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "t.toml:14:11"
    );
    assert_eq!(
        help(&d),
        "give every spec naming `tone` the same `default`, or omit it on all but one"
    );
}

#[test]
fn a_misspelt_default_key_is_suggested() {
    let src = text("\"[Prompt] {a} [Answer]\"") + "[setup.a]\nname = \"n\"\ndefualt = \"x\"\n";
    let d = error(
        &src,
        14,
        1,
        "unknown key `defualt` in spec table `[setup.a]`",
    );
    assert_eq!(help(&d), "did you mean `default`?");
}
