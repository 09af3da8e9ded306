//! Random documents built from the grammar, and the properties they must keep.

use super::*;

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
