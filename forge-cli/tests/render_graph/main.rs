//! End-to-end tests of `forge render` and `forge graph`, run as processes, and of the HTML page
//! in a headless Chromium and of the DOT output in Graphviz. Those two need `/usr/bin/chromium`
//! and `/usr/bin/dot` and fail when they are missing, unless `FORGE_SKIP_SYSTEM_TOOLS=1` opts
//! out (CI never sets it).
//!
//! Commands run in `tests/fixtures/render` with relative paths.

mod chromium;
#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use forge_core::program::{Call, Program, SampledWorkflow, to_html};
use forge_core::resources::{Bindings, ListSampler};

use common::{CHROMIUM, Run, assert_usage_error, forge_in, system_tool};

const DOT: &str = "/usr/bin/dot";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render")
}

fn scratch(name: &str) -> PathBuf {
    common::scratch("forge-render-tests", name)
}

fn forge(args: &[&str]) -> Run {
    forge_in(&fixtures(), args)
}

/// `forge COMMAND [extra...] --set/--list for small.toml ... small.toml`.
fn small(command: &str, extra: &[&str]) -> Run {
    let mut args = vec![command];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--set",
        "persona=a patient tutor",
        "--list",
        "rules=rules.txt",
        "--set",
        "question=What is 2 + 2?",
        "small.toml",
    ]);
    forge(&args)
}

/// The repository's representative document (one copy, in `examples/`), relative to the
/// fixtures folder the commands run in.
const REPRESENTATIVE_TOML: &str = "../../../../examples/representative.toml";

/// The representative document's resources, as options.
const REPRESENTATIVE: [&str; 9] = [
    "--list",
    "constitution=principles.txt",
    "--set",
    "min=2",
    "--set",
    "max=5",
    "--set",
    "prompt=How do I keep a <sourdough> \"starter\" alive & well?",
    REPRESENTATIVE_TOML,
];

// ------------------------------------------------------------------------------------ render

const SMALL_SEED_7: &str = "\
--- zone 0 · intro block 0 · [Prompt] · tags: none ---
[Prompt]
--- zone 1 · intro block 0 · [Answer] · tags: none ---
 You are a patient tutor. Follow these rules:
Cite your sources.
Say \"I don't know\" when unsure.
[Answer]
--- zone 2 · ask block 0 · [Prompt] · tags: none ---
[Prompt]
--- zone 3 · ask block 0 · [Answer] · tags: Training ---
 What is 2 + 2? [Answer]
";

#[test]
fn render_prints_every_zone_under_a_header() {
    let run = small("render", &["--seed", "7"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout, SMALL_SEED_7);
    // `--seed=N` works too.
    assert_eq!(small("render", &["--seed=7"]).stdout, SMALL_SEED_7);
}

#[test]
fn render_is_reproducible_and_the_seed_matters() {
    let a = small("render", &["--seed", "1"]);
    let b = small("render", &["--seed", "1"]);
    assert_eq!(a.code, 0, "{a:#?}");
    assert_eq!(a.stdout, b.stdout, "same seed, different output");
    let c = small("render", &["--seed", "2"]);
    assert_eq!(c.code, 0);
    assert_ne!(a.stdout, c.stdout, "the list sampler ignored the seed");
    // The default seed is 0.
    assert_eq!(
        small("render", &[]).stdout,
        small("render", &["--seed", "0"]).stdout
    );
}

#[test]
fn list_binds_a_sampler_over_the_non_empty_lines_of_a_file() {
    let file = std::fs::read_to_string(fixtures().join("rules.txt")).unwrap();
    let items: Vec<&str> = file.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(items.len(), 6);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let run = small("render", &["--seed", &seed.to_string()]);
        assert_eq!(run.code, 0, "{run:#?}");
        let body: Vec<&str> = run
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with(" You are a patient tutor."))
            .skip(1)
            .take(2)
            .collect();
        assert_eq!(body.len(), 2, "{}", run.stdout);
        assert_ne!(body[0], body[1], "num_samples = 2 draws distinct items");
        for line in body {
            assert!(items.contains(&line), "{line:?} is not a line of rules.txt");
            seen.insert(line.to_owned());
        }
    }
    assert!(seen.len() >= 4, "12 seeds drew only {seen:?}");
}

#[test]
fn render_prints_a_folder_document_and_a_repeated_block() {
    let mut args = vec!["render"];
    args.extend_from_slice(&REPRESENTATIVE);
    let run = forge(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    let headers: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("--- zone "))
        .collect();
    // The document's declared program: setup, a loop, a when, conclude.
    assert_eq!(headers.len(), 69, "{}", run.stdout);
    assert_eq!(
        headers[10],
        "--- zone 10 · setup block 2 instance 1 · [Answer] · tags: Training ---"
    );
    assert_eq!(
        headers[68],
        "--- zone 68 · conclude block 2 · [EOS] · tags: none ---"
    );
    assert!(run.stdout.contains(
        "\n The user is asking the following of you: How do I keep a <sourdough> \"starter\" alive & well?\n[Answer]\n"
    ));
}

// ---------------------------------------------------------------------------------- errors

#[test]
fn unbound_resources_are_shown_as_markers_with_a_note() {
    // Nothing bound: every placeholder shows its resource's name and the arguments it passes.
    let run = forge(&["render", "small.toml"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        "\
--- zone 0 · intro block 0 · [Prompt] · tags: none ---
[Prompt]
--- zone 1 · intro block 0 · [Answer] · tags: none ---
 You are ⟨persona⟩. Follow these rules:
⟨rules num_samples = 2⟩
[Answer]
--- zone 2 · ask block 0 · [Prompt] · tags: none ---
[Prompt]
--- zone 3 · ask block 0 · [Answer] · tags: Training ---
 ⟨question⟩ [Answer]
"
    );
    assert_eq!(
        run.stderr,
        "note: not bound by any --set or --list, shown as ⟨name arguments⟩ markers: \
         `persona` (custom), `rules` (standard), `question` (argument)\n"
    );

    // Some bound: only the others are markers, and the note names only them.
    let run = forge(&[
        "graph",
        "--format",
        "mermaid",
        "--set",
        "persona=x",
        "small.toml",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("flowchart TD"), "{}", run.stdout);
    assert_eq!(
        run.stderr,
        "note: not bound by any --set or --list, shown as ⟨name arguments⟩ markers: \
         `rules` (standard), `question` (argument)\n"
    );

    // Every resource bound: no note.
    let run = small("render", &[]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "");
    assert!(!run.stdout.contains('⟨'), "{}", run.stdout);

    // The representative document, with nothing bound, renders every zone.
    let run = forge(&["render", REPRESENTATIVE_TOML]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        run.stdout.matches("\n--- zone ").count() + 1,
        69,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("⟨prompt⟩"), "{}", run.stdout);
}

#[test]
fn set_previews_a_placeholder_that_passes_arguments() {
    let run = forge(&[
        "render",
        "--set",
        "persona=x",
        "--set",
        "rules=just one rule",
        "--set",
        "question=q",
        "small.toml",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains(" You are x. Follow these rules:\njust one rule\n[Answer]\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "note: `--set rules` fills every `rules` placeholder with its value; \
         the arguments they pass (num_samples = 2) are ignored\n"
    );
}

#[test]
fn an_unknown_resource_is_named_and_exits_1() {
    let run = small("render", &["--set", "persnoa=x"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("unexpected `persnoa`: did you mean `persona`? (a custom resource, bound at sequence invocation)"),
        "{}",
        run.stderr
    );
}

#[test]
fn unreadable_or_empty_list_files_exit_2() {
    let run = small("render", &["--list", "extra=does_not_exist.txt"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .starts_with("error: cannot read `does_not_exist.txt` (for `--list extra`): "),
        "{}",
        run.stderr
    );
    let dir = scratch("empty_list");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "\n  \n\n").unwrap();
    let arg = format!("rules={}", empty.display());
    let run = forge(&[
        "render",
        "--set",
        "persona=x",
        "--list",
        &arg,
        "--set",
        "question=q",
        "small.toml",
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("has no non-empty line"),
        "{}",
        run.stderr
    );
}

#[test]
fn udpl_errors_print_diagnostics_and_exit_1() {
    let run = forge(&["render", "../errors.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("error: unknown key `colour` in `[config]`\n"),
        "{}",
        run.stderr
    );
    let run = forge(&["graph", "--format", "html", "../errors.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(" --> ../errors.toml:10:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_document_exits_2() {
    let run = forge(&["render", "nope.toml"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.starts_with("error: cannot read `nope.toml`"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_usage_error(
        &small("graph", &["--format", "svg"]),
        "invalid value 'svg' for '--format <dot|mermaid|html>'\n  [possible values: dot, mermaid, html]",
    );
    assert_usage_error(&small("graph", &["--format=png"]), "invalid value 'png'");
    assert_usage_error(
        &forge(&["graph", "small.toml", "--format"]),
        "a value is required for '--format <dot|mermaid|html>'",
    );
    // `render` has no --format.
    assert_usage_error(
        &small("render", &["--format", "dot"]),
        "unexpected argument '--format' found",
    );
    assert_usage_error(
        &forge(&["render"]),
        "the following required arguments were not provided:\n  <PATH>",
    );
    assert_usage_error(
        &forge(&["graph", "a.toml", "b.toml"]),
        "unexpected argument 'b.toml' found",
    );
    for seed in ["-1", "x", "1.5", "18446744073709551616"] {
        assert_usage_error(
            &small("render", &["--seed", seed]),
            &format!("invalid value '{seed}' for '--seed <N>': expected an integer >= 0"),
        );
    }
    assert_usage_error(
        &small("render", &["--set", "novalue"]),
        "invalid value 'novalue' for '--set <NAME=VALUE>': expected NAME=VALUE",
    );
    assert_usage_error(
        &small("render", &["--list=x"]),
        "invalid value 'x' for '--list <NAME=FILE>': expected NAME=FILE",
    );
    assert_usage_error(
        &small("graph", &["--set", "=v"]),
        "expected NAME=VALUE; the resource name is empty",
    );
    // Bound twice, by the same option or by two: a usage error with the subcommand's usage.
    for extra in [
        &["--set", "persona=again"][..],
        &["--list", "question=rules.txt"],
    ] {
        let run = small("render", extra);
        assert_usage_error(&run, "resource `");
        assert!(run.stderr.contains("` is bound twice"), "{}", run.stderr);
        assert!(
            run.stderr.contains("Usage: forge render [OPTIONS] <PATH>"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn every_option_takes_its_value_after_a_space_or_an_equals_sign() {
    let spaced = small("graph", &["--format", "mermaid", "--seed", "3"]);
    assert_eq!(spaced.code, 0, "{spaced:#?}");
    let equals = forge(&[
        "graph",
        "--format=mermaid",
        "--seed=3",
        "--set=persona=a patient tutor",
        "--list=rules=rules.txt",
        "--set=question=What is 2 + 2?",
        "small.toml",
    ]);
    assert_eq!(equals.code, 0, "{equals:#?}");
    assert_eq!(spaced.stdout, equals.stdout);
    assert!(
        spaced.stdout.contains("\nflowchart TD\n"),
        "{}",
        spaced.stdout
    );
    // A value may itself contain `=`: only the first one splits NAME from VALUE.
    let run = forge(&[
        "render",
        "--set=persona=a=b",
        "--list",
        "rules=rules.txt",
        "--set",
        "question=x",
        "small.toml",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains(" You are a=b."), "{}", run.stdout);
}

// ------------------------------------------------------------------------------------- graph

#[test]
fn graph_prints_dot_by_default_and_each_format_on_request() {
    let dot = small("graph", &[]);
    assert_eq!(dot.code, 0, "{dot:#?}");
    assert_eq!(dot.stdout, small("graph", &["--format", "dot"]).stdout);
    assert!(
        dot.stdout
            .starts_with("// forge workflow: 4 zones, entry zone 0\ndigraph workflow {\n")
    );
    for line in [
        "  START -> n0;",
        "  n0 -> n1;",
        "  n2 -> n3;",
        "  n3 -> END;",
    ] {
        assert!(dot.stdout.lines().any(|l| l == line), "{line:?}");
    }
    assert!(dot.stdout.contains(
        "    n3 [label=\"#3 ask b0 z1\\nTraining\", tooltip=\"zone 3 · ask block 0 instance 0 zone 1\\ntags: Training\\n"
    ));

    let mermaid = small("graph", &["--format", "mermaid"]);
    assert_eq!(mermaid.code, 0);
    assert!(mermaid.stdout.contains("flowchart TD\n"));
    assert!(mermaid.stdout.contains("  n3 --> forge_end\n"));

    let html = small("graph", &["--format=html", "--seed", "7"]);
    assert_eq!(html.code, 0);
    assert!(html.stdout.starts_with("<!DOCTYPE html>"));
    assert!(html.stdout.contains(
        " data-x=\" You are a patient tutor. Follow these rules:\nCite your sources.\nSay &quot;I don&#39;t know&quot; when unsure.\n[Answer]\">#1 intro b0 z1</div>"
    ));
    assert_eq!(html.stdout.matches("<div class=\"z row ").count(), 4);
}

/// Graphviz accepts the DOT output.
#[test]
fn graphviz_accepts_the_dot_output() {
    if !system_tool(DOT, "graphviz") {
        return;
    }
    let mut args = vec!["graph"];
    args.extend_from_slice(&REPRESENTATIVE);
    let run = forge(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    let dir = scratch("graphviz");
    let input = dir.join("representative.dot");
    std::fs::write(&input, &run.stdout).unwrap();
    let loops = dir.join("loops.dot");
    std::fs::write(
        &loops,
        forge_core::program::to_dot(&representative_with_loops()),
    )
    .unwrap();
    for file in [input, loops] {
        let out = Command::new(DOT)
            .arg("-Tsvg")
            .arg(&file)
            .output()
            .expect("run dot");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "dot failed on {}: {stderr}",
            file.display()
        );
        assert!(!stderr.contains("syntax error"), "{stderr}");
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<title>END</title>"));
        // Tooltips survive with their text escaped once.
        assert!(svg.contains("xlink:title=\"zone 0 ·"), "{}", file.display());
    }
}

/// The representative workflow of `examples/representative.rs`: run, loop, when, run; so the
/// page has next edges, jump edges and a loop-back.
fn representative_with_loops() -> SampledWorkflow {
    let doc = forge_core::udpl::parse_path(fixtures().join(REPRESENTATIVE_TOML))
        .unwrap()
        .document;
    let principles =
        (0..50).map(|i| format!("Principle {i}: <be> \"helpful\" & [honest] {{{i}}}."));
    let mut standard = Bindings::new();
    standard.insert("constitution", ListSampler::new(principles).unwrap());
    let mut p = Program::new(doc, standard).unwrap();
    p.run("setup").unwrap();
    p.loop_(
        Call::new("loop_control").with("min", 2).with("max", 5),
        |b| {
            b.run("reason")?;
            Ok(())
        },
    )
    .unwrap();
    p.when(
        "decide",
        |t| {
            t.run("reason")?;
            Ok(())
        },
        |o| {
            o.run("conclude")?;
            Ok(())
        },
    )
    .unwrap();
    p.run("conclude").unwrap();
    p.extract("training", &["Training"]).unwrap();
    let mut args = Bindings::new();
    args.insert("prompt", "How do I keep a <sourdough> \"starter\" alive?");
    p.compile().unwrap().sample_seeded(args, 42).unwrap()
}
