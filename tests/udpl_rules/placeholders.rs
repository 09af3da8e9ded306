//! Placeholders, spec tables and defaults.

use super::blocks::text;
use super::*;

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
