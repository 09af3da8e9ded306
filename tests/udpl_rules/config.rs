//! The `[config]` table.

use super::*;

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
