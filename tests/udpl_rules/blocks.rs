//! Blocks and their text.

use super::*;

// --------------------------------------------------------------------------------- blocks

pub(crate) fn block(body: &str) -> String {
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

pub(crate) fn text(t: &str) -> String {
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
