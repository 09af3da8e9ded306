//! The `[program]` table through the run-time parse API: both TOML surfaces give the same
//! model, `with` values of every type bind, and `run_declared` builds the program the same
//! commands written by hand build.

use forge::program::{Call, LoopBounds, Program, ProgramError};
use forge::resources::Bindings;
use forge::udpl::{self, StepKind, WithValue};

const BASE: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Out"]
default_max_token_length = 10
sequences = ["ctl", "think", "ask", "show"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
tools = ["search"]

[[ctl]]
text = "[P] Round {n}, {label}, {ratio}, {flag}."
tags = [[]]
[ctl.n]
name = "n"
type = "custom"
[ctl.label]
name = "label"
type = "custom"
[ctl.ratio]
name = "ratio"
type = "custom"
[ctl.flag]
name = "flag"
type = "custom"
default = "no"

[[think]]
text = "[P] Think."
tags = [["Out"]]

[[ask]]
text = "[P] Ask."
tags = [[]]

[[show]]
text = "[P] Got:"
tags = [["Out"]]
"#;

/// Nested tables: `[[program.step]]` with `[[program.step.body]]`.
const TABLES: &str = r#"
[program]
extract = { out = ["Out"] }

[[program.step]]
loop = "ctl"
at_least = 1
at_most = 2
with = { n = 3, label = "x y", ratio = 0.5, flag = true }

[[program.step.body]]
run = "think"

[[program.step.body]]
when = "ctl"
with = { n = 0, label = "inner", ratio = 1.5 }
otherwise = [{ capture = "ask", tool = "search" }, { feed = "show" }]
"#;

/// The same program as arrays of inline tables.
const INLINE: &str = r#"
[program]
extract = { out = ["Out"] }
step = [
  { loop = "ctl", at_least = 1, at_most = 2, with = { n = 3, label = "x y", ratio = 0.5, flag = true }, body = [
    { run = "think" },
    { when = "ctl", with = { n = 0, label = "inner", ratio = 1.5 }, otherwise = [
      { capture = "ask", tool = "search" }, { feed = "show" },
    ] },
  ] },
]
"#;

/// The steps without their locations.
fn shape(steps: &[udpl::DeclaredStep]) -> String {
    let mut out = String::new();
    for s in steps {
        let with: Vec<String> = s
            .call
            .with
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let call = format!("{} [{}]", s.call.sequence, with.join(", "));
        match &s.kind {
            StepKind::Run => out += &format!("run {call}"),
            StepKind::Feed => out += &format!("feed {call}"),
            StepKind::Capture { tool } => out += &format!("capture {call} -> {tool}"),
            StepKind::Loop {
                at_least,
                at_most,
                body,
            } => {
                out += &format!(
                    "loop {call} {at_least}..{} {{ {} }}",
                    at_most.map_or("".to_owned(), |m| m.to_string()),
                    shape(body)
                )
            }
            StepKind::When { then, otherwise } => {
                out += &format!(
                    "when {call} {{ {} }} else {{ {} }}",
                    shape(then),
                    shape(otherwise)
                )
            }
            other => out += &format!("{other:?}"),
        }
        out += " ; ";
    }
    out
}

fn parse(program: &str) -> udpl::Document {
    udpl::parse_str(&format!("{BASE}{program}"), "p.toml")
        .unwrap()
        .document
}

#[test]
fn both_surfaces_give_the_same_steps() {
    let a = parse(TABLES).program.unwrap();
    let b = parse(INLINE).program.unwrap();
    assert_eq!(shape(&a.steps), shape(&b.steps));
    assert_eq!(
        shape(&a.steps),
        "loop ctl [n=3, label=x y, ratio=0.5, flag=true] 1..2 { run think [] ; \
         when ctl [n=0, label=inner, ratio=1.5] {  } else { capture ask [] -> search ; feed show [] ;  } ;  } ; "
    );
    assert_eq!(a.steps.len(), 1);
    let StepKind::Loop {
        at_least,
        at_most,
        body,
    } = &a.steps[0].kind
    else {
        panic!("a loop: {:?}", a.steps[0].kind);
    };
    assert_eq!((*at_least, *at_most), (1, Some(2)));
    assert_eq!(body.len(), 2);
    assert_eq!(
        a.steps[0].call.with,
        [
            ("n".to_owned(), WithValue::Integer(3)),
            ("label".to_owned(), WithValue::Text("x y".to_owned())),
            ("ratio".to_owned(), WithValue::Float(0.5)),
            ("flag".to_owned(), WithValue::Bool(true)),
        ]
    );
    assert_eq!(a.steps[0].call.location.to_string(), "p.toml:45:8");
    assert_eq!(a.extractions[0].tags, ["Out"]);
    assert!(parse("").program.is_none());
}

#[test]
fn run_declared_builds_what_the_commands_build() {
    let doc = parse(TABLES);
    let mut declared = Program::new(doc.clone(), Bindings::new()).unwrap();
    declared.run_declared().unwrap();
    let declared = declared.compile().unwrap();

    let mut by_hand = Program::new(doc, Bindings::new()).unwrap();
    let ctl = |n: i64, label: &str, ratio: &str| {
        Call::new("ctl")
            .with("n", n)
            .with("label", label)
            .with("ratio", ratio)
    };
    by_hand
        .loop_bounded(
            ctl(3, "x y", "0.5").with("flag", true),
            LoopBounds::new().at_least(1).at_most(2),
            |body| {
                body.run("think")?;
                body.when(
                    ctl(0, "inner", "1.5"),
                    |_| Ok(()),
                    |otherwise| {
                        otherwise.capture("ask", "search")?.feed("show")?;
                        Ok(())
                    },
                )?;
                Ok(())
            },
        )
        .unwrap();
    by_hand.extract("out", &["Out"]).unwrap();
    let by_hand = by_hand.compile().unwrap();
    assert_eq!(declared.meta(), by_hand.meta());
    let a = declared.sample_seeded(Bindings::new(), 1).unwrap();
    assert_eq!(a, by_hand.sample_seeded(Bindings::new(), 1).unwrap());
    // `with` values bind as their text; `flag`'s default is used where `with` leaves it out.
    assert_eq!(a.zone(1).text(), " Round 3, x y, 0.5, true.");
    let inner = a.zones().find(|z| z.text().contains("inner")).unwrap();
    assert_eq!(inner.text(), " Round 0, inner, 1.5, no.");
}

#[test]
fn without_a_declared_program_run_declared_says_so() {
    let mut p = Program::new(parse(""), Bindings::new()).unwrap();
    let err = p.run_declared().unwrap_err();
    assert!(matches!(err, ProgramError::NoDeclaredProgram));
    assert!(err.to_string().contains("add a `[program]` table"));
}

#[test]
fn overrides_take_the_place_of_with_values_and_unknown_names_are_errors() {
    let doc = parse(TABLES);
    let mut p = Program::new(doc.clone(), Bindings::new()).unwrap();
    let mut custom = Bindings::new();
    custom.insert("n", 9);
    p.run_declared_steps(&custom).unwrap();
    let s = p
        .compile()
        .unwrap()
        .sample_seeded(Bindings::new(), 0)
        .unwrap();
    assert_eq!(s.zone(1).text(), " Round 9, x y, 0.5, true.");

    let mut p = Program::new(doc, Bindings::new()).unwrap();
    let mut custom = Bindings::new();
    custom.insert("m", 9);
    let err = p.run_declared_steps(&custom).unwrap_err().to_string();
    assert!(err.contains("unexpected `m`"), "{err}");
    assert!(err.contains("did you mean `n`?"), "{err}");
}
