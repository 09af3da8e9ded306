//! The `[program]` table through `forge check`: one test per lint rule, each error at the
//! offending value's line:col, all errors at once; and a declared program used by `render`.

mod common;

use common::{Run, forge_in};

/// 24 lines: a control sequence `ctl` with the custom resource `n`, `think`, a fully written
/// `full`, the tool `search`, the tag `Out`.
const BASE: &str = r#"[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Out"]
default_max_token_length = 10
sequences = ["ctl", "think", "full"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["search"]

[[ctl]]
text = "[P] Round {n}. Say [E][J][/E] to stop."
tags = [[]]
[ctl.n]
name = "n"
type = "custom"

[[think]]
text = "[P] Think."
tags = [["Out"]]

[[full]]
text = "[P] Done. [A]"
tags = [[]]
"#;

/// `forge check --format short` on BASE followed by `program` (from line 25 on).
fn check(name: &str, program: &str) -> Run {
    assert_eq!(BASE.lines().count(), 24);
    let dir = common::scratch("forge-cli-declared", name);
    std::fs::write(dir.join("p.toml"), format!("{BASE}{program}")).unwrap();
    forge_in(&dir, &["check", "--format", "short", "p.toml"])
}

/// `forge check` (human format) on the file `check(name, …)` wrote.
fn human(name: &str) -> Run {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("forge-cli-declared")
        .join(name);
    forge_in(&dir, &["check", "p.toml"])
}

/// Exit 1 with exactly these error lines.
fn assert_errors(run: &Run, expected: &[&str]) {
    assert_eq!(run.code, 1, "{run:#?}");
    let got: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(got, expected, "{}", run.stdout);
}

#[test]
fn a_valid_program_checks_clean() {
    let run = check(
        "valid",
        r#"[program]
extract = { thoughts = ["Out"] }
[[program.step]]
loop = "ctl"
at_least = 1
at_most = 3
with = { n = 2 }
body = [{ run = "think" }, { capture = "think", tool = "search" }, { feed = "think" }]
[[program.step]]
when = "ctl"
with = { n = "last" }
then = []
otherwise = [{ run = "full" }]
"#,
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:#?}");
}

#[test]
fn unknown_step_kind() {
    let run = check("kind", "[program]\n[[program.step]]\nrepeat = \"think\"\n");
    assert_errors(&run, &["p.toml:27:1: error: unknown step kind `repeat`"]);
    let run = check("kind_typo", "[program]\nstep = [{ rum = \"think\" }]\n");
    assert_errors(&run, &["p.toml:26:11: error: unknown step kind `rum`"]);
    let human = human("kind_typo");
    assert!(
        human.stdout.contains("did you mean `run`?"),
        "{}",
        human.stdout
    );
}

#[test]
fn unknown_sequence_tag_and_tool_all_at_once() {
    let run = check(
        "names",
        r#"[program]
extract = { out = ["Outt"] }
[[program.step]]
run = "thinc"
[[program.step]]
capture = "think"
tool = "serch"
"#,
    );
    assert_errors(
        &run,
        &[
            "p.toml:26:20: error: unknown tag `Outt`",
            "p.toml:28:7: error: unknown sequence `thinc`",
            "p.toml:31:8: error: unknown tool `serch`",
        ],
    );
    let human = human("names");
    for hint in [
        "did you mean `Out`?",
        "did you mean `think`?",
        "did you mean `search`?",
    ] {
        assert!(human.stdout.contains(hint), "{hint}: {}", human.stdout);
    }
}

#[test]
fn unknown_and_missing_with_keys() {
    let run = check(
        "with",
        r#"[program]
[[program.step]]
run = "ctl"
with = { m = 1 }
"#,
    );
    assert_errors(
        &run,
        &[
            "p.toml:27:7: error: custom resource `n` of sequence `ctl` is not set",
            "p.toml:28:10: error: `m` is not a custom resource of sequence `ctl`",
        ],
    );
    let human = human("with");
    assert!(
        human.stdout.contains("did you mean `n`?"),
        "{}",
        human.stdout
    );
}

#[test]
fn bounds_out_of_order_point_at_at_least() {
    let run = check(
        "bounds",
        r#"[program]
[[program.step]]
loop = "ctl"
with = { n = 1 }
at_least = 4
at_most = 2
body = [{ run = "think" }]
"#,
    );
    assert_errors(
        &run,
        &["p.toml:29:12: error: `at_least = 4` is above `at_most = 2`"],
    );
}

#[test]
fn a_control_sequence_that_cannot_carry_a_jump() {
    let run = check("jump", "[program]\n[[program.step]]\nwhen = \"full\"\n");
    assert_errors(
        &run,
        &[
            "p.toml:27:8: error: sequence `full` cannot carry a jump edge: its last zone is fully written",
        ],
    );
}

#[test]
fn an_empty_program_and_an_empty_loop_body() {
    let run = check("empty", "[program]\nextract = { out = [\"Out\"] }\n");
    assert_errors(&run, &["p.toml:25:2: error: the declared program is empty"]);
    let run = check(
        "empty_body",
        "[program]\nstep = [{ loop = \"ctl\", with = { n = 1 }, body = [] }]\n",
    );
    assert_errors(&run, &["p.toml:26:50: error: the loop body is empty"]);
}

#[test]
fn a_sequence_named_program_names_both() {
    let src = BASE.replace(
        r#"sequences = ["ctl", "think", "full"]"#,
        r#"sequences = ["ctl", "think", "full", "program"]"#,
    ) + "\n[[program]]\ntext = \"[P] x\"\ntags = [[]]\n";
    let dir = common::scratch("forge-cli-declared", "named_program");
    std::fs::write(dir.join("p.toml"), src).unwrap();
    let run = forge_in(&dir, &["check", "p.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout
            .contains("error: sequence `program` clashes with the `[program]` table"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--> p.toml:6:38"), "{}", run.stdout);
    assert!(
        run.stdout.contains("p.toml:26:3"),
        "the table: {}",
        run.stdout
    );
}

#[test]
fn render_uses_the_declared_program_and_set_overrides_with() {
    let program = r#"[program]
[[program.step]]
loop = "ctl"
at_least = 1
at_most = 3
with = { n = 2 }
body = [{ run = "think" }]
"#;
    let run = check("render", program);
    assert_eq!(run.code, 0, "{run:#?}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("forge-cli-declared")
        .join("render");
    let render = forge_in(&dir, &["render", "p.toml"]);
    assert_eq!(render.code, 0, "{render:#?}");
    // The loop, not the default program (every sequence once, `full` included).
    assert!(
        render
            .stdout
            .contains("jump [J] (at least 1, at most 3) → end"),
        "{}",
        render.stdout
    );
    assert!(render.stdout.contains("Round 2."), "{}", render.stdout);
    assert!(!render.stdout.contains("Done."), "{}", render.stdout);
    let render = forge_in(&dir, &["render", "--set", "n=7", "p.toml"]);
    assert_eq!(render.code, 0, "{render:#?}");
    assert!(render.stdout.contains("Round 7."), "{}", render.stdout);
}
