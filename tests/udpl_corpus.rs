//! Valid documents parse to the expected zones: texts, advance patterns, tags, limits and
//! placeholder bindings.

use std::path::Path;

use forge::udpl::{self, Block, Document, ResourceKind, Segment};

/// The repository's one copy of the representative document.
fn representative_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/representative.toml")
}

/// A fixture of the UI tests (one copy of each fixture serves every test).
fn data(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ui/fixtures")
        .join(p)
}

/// Zone texts of a block with placeholders written as `{key}`.
fn zone_texts(b: &Block) -> Vec<String> {
    b.zones.iter().map(|z| z.template(b)).collect()
}

fn advances(b: &Block) -> Vec<&str> {
    b.zones.iter().map(|z| z.advance.as_str()).collect()
}

fn tags(inst: &[Vec<String>]) -> Vec<Vec<&str>> {
    inst.iter()
        .map(|l| l.iter().map(String::as_str).collect())
        .collect()
}

fn representative() -> Document {
    let parsed = udpl::parse_file(representative_path()).expect("representative parses");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    parsed.document
}

#[test]
fn representative_config_and_sequences() {
    let doc = representative();
    assert_eq!(doc.config.zone_patterns, ["[Prompt]", "[Answer]", "[EOS]"]);
    assert_eq!(doc.config.required_patterns, ["[Prompt]", "[Answer]"]);
    assert_eq!(doc.config.default_max_token_length, 2000);
    assert_eq!(doc.config.control_pattern, "[Jump]");
    assert_eq!(doc.config.escape_patterns, ["[Escape]", "[EndEscape]"]);
    assert_eq!(doc.config.tools, ["search"]);
    let names: Vec<_> = doc.sequences.iter().map(|s| s.name.name.as_str()).collect();
    assert_eq!(
        names,
        ["setup", "reason", "loop_control", "decide", "conclude"]
    );
    let counts: Vec<_> = doc.sequences.iter().map(|s| s.instance_count()).collect();
    assert_eq!(counts, [5, 5, 1, 1, 3]);
    // run setup; loop(loop_control, reason); when(decide, reason, conclude); conclude:
    // 23 block instances of 3 zones = the 69 zones of the benchmark workload.
    let c = |n: &str| doc.sequence(n).unwrap().instance_count();
    let instances = c("setup")
        + c("loop_control")
        + c("reason")
        + c("decide")
        + c("reason")
        + c("conclude")
        + c("conclude");
    assert_eq!(instances * doc.zones_per_block(), 69);
    let resources: Vec<_> = doc
        .resources
        .iter()
        .map(|r| (r.name.name.as_str(), r.kind))
        .collect();
    assert_eq!(
        resources,
        [
            ("prompt", ResourceKind::Argument),
            ("constitution", ResourceKind::Standard),
            ("min", ResourceKind::Custom),
            ("max", ResourceKind::Custom),
        ]
    );
    let tag_idents: Vec<_> = doc.tags.iter().map(|t| t.pascal.as_str()).collect();
    assert_eq!(
        tag_idents,
        ["Training", "Correct", "Incorrect", "Feedback", "Final"]
    );
}

#[test]
fn representative_zones() {
    let doc = representative();
    let setup = doc.sequence("setup").unwrap();
    let b0 = &setup.blocks[0];
    assert_eq!(
        zone_texts(b0),
        [
            "[Prompt]",
            " The user is asking the following of you: {prompt}\n[Answer]",
            " Understood, I will think about it carefully. [EOS]",
        ]
    );
    assert_eq!(advances(b0), ["[Prompt]", "[Answer]", "[EOS]"]);
    assert!(b0.zones.iter().all(|z| z.max_gen_tokens == 2000));
    assert_eq!(b0.placeholders[0].kind, ResourceKind::Argument);
    assert_eq!(
        b0.location.to_string(),
        format!("{}:17:8", representative_path().display())
    );

    // repeats = 3: three instances with the same tags; the last zone is left to the model.
    let b2 = &setup.blocks[2];
    assert_eq!(b2.instances.len(), 3);
    for inst in &b2.instances {
        assert_eq!(tags(inst), [vec![], vec!["Training"], vec!["Feedback"]]);
    }
    assert_eq!(
        zone_texts(b2),
        [
            "[Prompt]",
            " Consider this additional principle and how it applies:\n{principles}\n[Answer]",
            "",
        ]
    );
    let p = &b2.placeholders[0];
    assert_eq!(
        (p.key.as_str(), p.resource.as_str()),
        ("principles", "constitution")
    );
    assert_eq!(p.arguments["num_samples"].as_integer(), Some(3));

    let reason = doc.sequence("reason").unwrap();
    // tagset: one instance per entry, each with its own tags.
    let t: Vec<_> = reason.blocks[1].instances.iter().map(|i| tags(i)).collect();
    assert_eq!(
        t,
        [
            vec![vec![], vec![], vec!["Correct"]],
            vec![vec![], vec![], vec!["Incorrect"]],
        ]
    );
    // max_gen_tokens overrides the default in every zone of the block.
    assert!(
        reason.blocks[2]
            .zones
            .iter()
            .all(|z| z.max_gen_tokens == 512)
    );
    // `{{`/`}}` become literal braces.
    assert_eq!(
        zone_texts(&reason.blocks[3])[1],
        " List any open questions. JSON like {\"open\": [...]} is fine. [Answer]"
    );
    assert!(reason.blocks[3].zones.iter().all(|z| z.is_static()));

    // The escaped control pattern stays in the text and does not split anything.
    let lc = doc.sequence("loop_control").unwrap();
    let z1 = &zone_texts(&lc.blocks[0])[1];
    assert!(z1.contains("emit\n[Escape] \"[Jump]\" [EndEscape]. Loop at least {min} and at most {max} times.\n[Answer]"), "{z1}");
    assert_eq!(lc.resources_of_kind(ResourceKind::Custom), ["min", "max"]);

    let conclude = doc.sequence("conclude").unwrap();
    assert_eq!(
        zone_texts(&conclude.blocks[2]),
        [
            "[Prompt]",
            " Thank you. [Answer]",
            " You are welcome. [EOS]"
        ]
    );
    assert_eq!(
        tags(&conclude.blocks[1].instances[0]),
        [vec![], vec![], vec!["Final"]]
    );
}

#[test]
fn folder_document_with_keyword_sequence_names() {
    let parsed = udpl::parse_path(data("folder")).expect("folder parses");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let doc = parsed.document;
    assert_eq!(doc.files.len(), 3);
    let idents: Vec<_> = doc
        .sequences
        .iter()
        .map(|s| {
            (
                s.name.name.as_str(),
                s.name.snake.as_str(),
                s.name.pascal.as_str(),
            )
        })
        .collect();
    assert_eq!(
        idents,
        [
            ("loop", "r#loop", "Loop"),
            ("if", "r#if", "If"),
            ("type", "r#type", "Type")
        ]
    );
    assert_eq!(doc.tools[0].pascal, "Search");

    let lp = &doc.sequence("loop").unwrap().blocks[0];
    assert_eq!(
        zone_texts(lp)[1],
        " Loop at least {min} times. When done emit [Escape] \"[Jump]\" [EndEscape].\n[Answer]"
    );
    assert!(lp.zones.iter().all(|z| z.max_gen_tokens == 300));
    assert!(lp.placeholders[0].location.file.ends_with("control.toml"));

    // JSON in a prompt, a placeholder inside it, and a partial final zone.
    let ty = &doc.sequence("type").unwrap().blocks[0];
    assert_eq!(
        ty.zones[1].segments,
        [
            Segment::Text(" Reply as JSON like {\"answer\": \"".into()),
            Segment::Placeholder(0),
            Segment::Text("\"}.\n[Answer]".into()),
        ]
    );
    assert_eq!(zone_texts(ty)[2], " {\"answer\": ");
    assert!(ty.zones.iter().all(|z| z.max_gen_tokens == 64));
    assert_eq!(
        tags(&ty.instances[0]),
        [vec![], vec!["Training"], vec!["Final"]]
    );
}

const SMALL_CONFIG: &str = r#"[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]"]
valid_tags = ["T"]
default_max_token_length = 10
sequences = ["s"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
"#;

fn single_block(text: &str) -> Block {
    let src = format!(
        "{SMALL_CONFIG}[[s]]\ntext = '''{text}'''\ntags = [[], [\"T\"]]\n[s.x]\nname = \"x\"\n"
    );
    let mut parsed = udpl::parse_str(&src, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    parsed.document.sequences.remove(0).blocks.remove(0)
}

#[test]
fn escaped_zone_patterns_are_literal_and_escapes_nest() {
    let b = single_block(
        "[Prompt] Write [Escape][Answer] and [Escape]nested [EOS][EndEscape][EndEscape] {x} literally. [Answer] ok",
    );
    assert_eq!(
        zone_texts(&b),
        [
            "[Prompt]",
            " Write [Escape][Answer] and [Escape]nested [EOS][EndEscape][EndEscape] {x} literally. [Answer]",
            " ok",
        ]
    );
    // Placeholders inside escaped regions are still placeholders.
    let b = single_block("[Prompt] [Escape]{x}[EndEscape] [Answer]");
    assert_eq!(b.zones[1].segments[1], Segment::Placeholder(0));
}

#[test]
fn missing_patterns_first_gets_the_rest_later_are_empty() {
    let b = single_block("[Prompt] only a prompt, the model writes the rest {x}");
    assert_eq!(
        zone_texts(&b),
        [
            "[Prompt]",
            " only a prompt, the model writes the rest {x}",
            ""
        ]
    );
    assert_eq!(advances(&b), ["[Prompt]", "[Answer]", "[EOS]"]);
    assert!(b.zones.iter().all(|z| z.max_gen_tokens == 10));
}

#[test]
fn repeated_placeholder_is_one_binding() {
    let b = single_block("[Prompt] {x} and {x} again [Answer] {x}");
    assert_eq!(b.placeholders.len(), 1);
    let count = b
        .zones
        .iter()
        .flat_map(|z| &z.segments)
        .filter(|s| **s == Segment::Placeholder(0))
        .count();
    assert_eq!(count, 3);
}

#[test]
fn whitespace_around_patterns_is_allowed() {
    let b = single_block("\n   [Prompt] a {x} [Answer] b [EOS]\n\n");
    assert_eq!(zone_texts(&b), ["[Prompt]", " a {x} [Answer]", " b [EOS]"]);
}

#[test]
fn unicode_text_keeps_columns_in_characters() {
    let src = format!(
        "{SMALL_CONFIG}[[s]]\ntext = \"[Prompt] héllo wörld 🎉 {{bad.x}} [Answer]\"\ntags = [[], [\"T\"]]\n"
    );
    let err = udpl::parse_str(&src, "u.toml").unwrap_err();
    let d = err.errors().next().unwrap();
    assert_eq!(d.message, "invalid placeholder `{bad.x}`");
    // `text = "` is 8 characters, then `[Prompt] héllo wörld 🎉 ` is 23: the brace is at column 32.
    assert_eq!((d.line, d.column), (10, 32));
}

#[test]
fn io_errors_are_reported_not_panicked() {
    let err = udpl::parse_file(data("does-not-exist.toml")).unwrap_err();
    match &err {
        udpl::Error::Io { path, .. } => assert!(path.ends_with("does-not-exist.toml")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    // The cause is in the message, and not repeated by a reporter walking `source()`.
    assert!(err.to_string().contains("cannot read `"), "{err}");
    assert!(std::error::Error::source(&err).is_none());
    let empty = std::env::temp_dir().join(format!("forge-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let err = udpl::parse_dir(&empty).unwrap_err();
    assert!(err.to_string().contains("holds no `*.toml` file"), "{err}");
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn documents_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Document>();
    assert_send_sync::<udpl::Error>();
    assert_send_sync::<forge::diagnostics::Diagnostic>();
}
