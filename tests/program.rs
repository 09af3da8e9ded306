//! Programs: graph shape per command, invariants, resource stages, sampling semantics,
//! thread safety and serialization.

use std::sync::Arc;

use forge::program::{Call, Program, ProgramError, SampleError, SampledWorkflow, Workflow, ZoneId};
use forge::resources::{Binding, Bindings, ListSampler};
use forge::udpl::{self, Document};

/// Two-zone blocks; `a`, `b`, `c` have one block each, `ctl` has a custom `n`,
/// `pick` a standard list placeholder, `ask` an argument placeholder.
const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Train", "Final"]
default_max_token_length = 50
sequences = ["a", "b", "c", "ctl", "pick", "ask"]
control_pattern = "[Jump]"
escape_patterns = ["[Esc]", "[/Esc]"]
tools = ["search"]

[[a]]
text = "[P] a [A]"
tags = [["Train"]]

[[b]]
text = "[P] b [A]"
tags = [["Final"]]

[[c]]
text = "[P] c [A]"
tags = [[]]

[[ctl]]
text = "[P] control {n} [A]"
tags = [[]]
[ctl.n]
name = "n"
type = "custom"

[[pick]]
text = "[P] {items} [A]"
tags = [["Train"]]
repeats = 2
[pick.items]
name = "items"
arguments = { num_samples = 2 }

[[ask]]
text = "[P] {q} [A]"
tags = [[]]
[ask.q]
name = "question"
type = "argument"
"#;

fn doc() -> Arc<Document> {
    Arc::new(udpl::parse_str(DOC, "p.toml").unwrap().document)
}

fn standard() -> Bindings {
    let mut b = Bindings::new();
    b.insert(
        "items",
        Binding::cached_factory(|| ListSampler::new((0..10).map(|i| format!("item{i}"))).unwrap()),
    );
    b
}

fn program() -> Program {
    Program::new(doc(), standard()).unwrap()
}

fn args() -> Bindings {
    let mut a = Bindings::new();
    a.insert("question", "why?");
    a
}

/// (next, jump target) of every zone; `u32::MAX` is the end, `-` no jump.
fn edges(w: &Workflow) -> Vec<String> {
    w.meta()
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let t = |t: Option<ZoneId>| t.map_or("end".to_owned(), |t| t.to_string());
            match &z.jump {
                Some(j) => format!("{i}->{} jump {}", t(z.next), t(j.target)),
                None => format!("{i}->{}", t(z.next)),
            }
        })
        .collect()
}

#[test]
fn run_chains_zones_and_blocks() {
    let mut p = program();
    p.run("a").unwrap().run("b").unwrap();
    let w = p.compile().unwrap();
    assert_eq!(edges(&w), ["0->1", "1->2", "2->3", "3->end"]);
    let s = w.sample_seeded(args(), 1).unwrap();
    let texts: Vec<_> = s.zones().map(|z| z.text().to_owned()).collect();
    assert_eq!(texts, ["[P]", " a [A]", "[P]", " b [A]"]);
    assert_eq!(&*s.zone(1).sequence, "a");
    assert_eq!(s.zone(1).tags.as_ref(), ["Train"]);
    assert_eq!(&*s.zone(3).advance, "[A]");
}

#[test]
fn loop_goes_body_then_back_and_exits_by_jump() {
    let mut p = program();
    p.loop_(Call::new("ctl").with("n", 1), |body| {
        body.run("a")?.run("b")?;
        Ok(())
    })
    .unwrap();
    p.run("c").unwrap();
    let w = p.compile().unwrap();
    // ctl 0-1, a 2-3, b 4-5 (back to ctl), c 6-7; the jump out of ctl goes to c.
    assert_eq!(
        edges(&w),
        [
            "0->1",
            "1->2 jump 6",
            "2->3",
            "3->4",
            "4->5",
            "5->0",
            "6->7",
            "7->end"
        ]
    );
    let z = w.meta().zones[1].jump.as_ref().unwrap();
    assert_eq!(&*z.pattern, "[Jump]");
}

#[test]
fn loop_as_last_command_exits_to_the_end() {
    let mut p = program();
    p.loop_(Call::new("ctl").with("n", "x"), |b| {
        b.run("a")?;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        edges(&p.compile().unwrap()),
        ["0->1", "1->2 jump end", "2->3", "3->0"]
    );
}

#[test]
fn when_branches_and_rejoins() {
    let mut p = program();
    p.when(
        Call::new("ctl").with("n", 0),
        |then| {
            then.run("a")?;
            Ok(())
        },
        |otherwise| {
            otherwise.run("b")?;
            Ok(())
        },
    )
    .unwrap();
    p.run("c").unwrap();
    // ctl 0-1: next → a (2), jump → b (4); both → c (6).
    assert_eq!(
        edges(&p.compile().unwrap()),
        [
            "0->1",
            "1->2 jump 4",
            "2->3",
            "3->6",
            "4->5",
            "5->6",
            "6->7",
            "7->end"
        ]
    );
}

#[test]
fn when_with_an_empty_branch_continues_after_it() {
    let mut p = program();
    p.when(
        Call::new("ctl").with("n", 0),
        |then| {
            then.run("a")?;
            Ok(())
        },
        |_| Ok(()),
    )
    .unwrap();
    p.run("c").unwrap();
    assert_eq!(
        edges(&p.compile().unwrap()),
        ["0->1", "1->2 jump 4", "2->3", "3->4", "4->5", "5->end"]
    );
}

#[test]
fn subroutine_inlines_a_copy_of_another_program() {
    let mut sub = program();
    sub.loop_(Call::new("ctl").with("n", 7), |b| {
        b.run("a")?;
        Ok(())
    })
    .unwrap();
    let mut p = program();
    p.run("c")
        .unwrap()
        .subroutine(&sub)
        .unwrap()
        .run("b")
        .unwrap();
    p.subroutine(&sub).unwrap();
    let w = p.compile().unwrap();
    assert_eq!(
        edges(&w),
        [
            "0->1",
            "1->2", // c
            "2->3",
            "3->4 jump 6",
            "4->5",
            "5->2", // ctl, a (first copy)
            "6->7",
            "7->8", // b
            "8->9",
            "9->10 jump end",
            "10->11",
            "11->8", // second copy
        ]
    );
    // The subroutine's custom binding travels with it.
    let s = w.sample_seeded(args(), 0).unwrap();
    assert_eq!(s.zone(3).text(), " control 7 [A]");
    assert_eq!(s.zone(9).text(), " control 7 [A]");
    // A program over another document is refused.
    let other = Program::new(
        Arc::new(
            udpl::parse_str(&DOC.replace("[P] a", "[P] A"), "q.toml")
                .unwrap()
                .document,
        ),
        standard(),
    )
    .unwrap();
    assert!(matches!(
        p.subroutine(&other),
        Err(ProgramError::DifferentDocument)
    ));
}

#[test]
fn capture_and_feed_flag_the_last_zone() {
    let mut p = program();
    p.capture("a", "search").unwrap().feed("b").unwrap();
    let w = p.compile().unwrap();
    let z = &w.meta().zones;
    assert!(z[1].output && z[1].tool.as_deref() == Some("search") && !z[1].input);
    assert!(z[3].input && !z[3].output && z[3].tool.is_none());
    assert!(!z[0].output && !z[2].input);
    let err = p.capture("a", "serch").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown tool `serch` (not in `config.tools`); did you mean `search`?"
    );
}

#[test]
fn extract_selects_zones_by_tag() {
    let mut p = program();
    p.run("a").unwrap().run("b").unwrap().run("pick").unwrap();
    p.extract("train", &["Train"]).unwrap();
    p.extract("final", &["Final", "Train"]).unwrap();
    let w = p.compile().unwrap();
    let e = &w.meta().extractions;
    assert_eq!(e[0].name, "train");
    assert_eq!(e[0].zones, [1, 5, 7]);
    assert_eq!(e[1].zones, [1, 3, 5, 7]);
    let s = w.sample_seeded(args(), 3).unwrap();
    assert_eq!(s.extraction_texts("train").unwrap()[0], " a [A]");
    assert!(matches!(
        p.extract("train", &["Final"]),
        Err(ProgramError::DuplicateExtraction { .. })
    ));
    let err = p.extract("x", &["Fnal"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown tag `Fnal` (not in `config.valid_tags`); did you mean `Final`?"
    );
}

#[test]
fn empty_program_and_empty_loop_body_are_errors() {
    assert!(matches!(program().compile(), Err(ProgramError::Empty)));
    let mut p = program();
    let err = p
        .loop_(Call::new("ctl").with("n", 1), |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, ProgramError::EmptyBody { .. }), "{err}");
}

#[test]
fn unknown_sequence_is_an_error_with_suggestion() {
    let err = program().run("ctk").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown sequence `ctk`; did you mean `ctl`?"
    );
}

#[test]
fn standard_resources_are_checked_at_setup() {
    let err = Program::new(doc(), Bindings::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "standard resources for program setup do not match the document\n  missing `items` (declared at p.toml:35:1)"
    );
    let mut b = standard();
    b.insert("n", 3).insert("itemz", "x");
    let err = Program::new(doc(), b).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unexpected `itemz`: did you mean `items`?"),
        "{text}"
    );
    assert!(
        text.contains("unexpected `n`: `n` is a custom resource: bind it at sequence invocation"),
        "{text}"
    );
    // Arguments are converted when binding: a static string cannot take `num_samples`.
    let mut b = Bindings::new();
    b.insert("items", "not a list");
    let text = Program::new(doc(), b).unwrap_err().to_string();
    assert!(text.contains("at program setup"), "{text}");
    assert!(text.contains("takes no arguments"), "{text}");
    assert!(text.contains("--> p.toml:37:13"), "{text}");
}

#[test]
fn custom_resources_are_checked_at_invocation() {
    let err = program().run("ctl").unwrap_err();
    assert_eq!(
        err.to_string(),
        "custom resources for sequence `ctl` do not match the document\n  missing `n` (declared at p.toml:27:1)"
    );
    let err = program().run(Call::new("a").with("n", 1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("unexpected `n`: `n` is not used by sequence `a`"),
        "{err}"
    );
}

#[test]
fn argument_resources_are_checked_at_sampling() {
    let mut p = program();
    p.run("ask").unwrap();
    let w = p.compile().unwrap();
    let err = w.sample_seeded(Bindings::new(), 0).unwrap_err();
    assert!(matches!(err, SampleError::Arguments(_)));
    assert!(err.to_string().contains("missing `question`"), "{err}");
    let s = w.sample_seeded(args(), 0).unwrap();
    assert_eq!(s.zone(1).text(), " why? [A]");
}

#[test]
fn every_command_and_every_sample_draws_afresh() {
    let mut p = program();
    p.run("pick").unwrap().run("pick").unwrap();
    let w = p.compile().unwrap();
    let s = w.sample_seeded(args(), 5).unwrap();
    // pick has repeats = 2 and runs twice: four instances, 2 items each, all distinct within
    // the sample because the cached factory's sampler is shared by the whole sample.
    let items: Vec<&str> = (0..4)
        .flat_map(|i| s.zone(2 * i + 1).text().split_whitespace())
        .filter(|t| t.starts_with("item"))
        .collect();
    let mut unique = items.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((items.len(), unique.len()), (8, 8), "{items:?}");
    // A new sample draws again; the same seed reproduces byte for byte.
    let again = w.sample_seeded(args(), 5).unwrap();
    assert_eq!(s, again);
    assert_eq!(s.text(), again.text());
    let other = w.sample_seeded(args(), 6).unwrap();
    assert_ne!(s.text(), other.text());
    let unseeded: Vec<String> = (0..5)
        .map(|_| w.sample(args()).unwrap().text().to_owned())
        .collect();
    assert!(unseeded.windows(2).any(|p| p[0] != p[1]));
}

#[test]
fn workflows_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Workflow>();
    assert_send_sync::<SampledWorkflow>();
    assert_send_sync::<Program>();
    let mut p = program();
    p.run("pick")
        .unwrap()
        .run("ask")
        .unwrap()
        .run("pick")
        .unwrap();
    let w = p.compile().unwrap();
    let expected: Vec<SampledWorkflow> = (0..32)
        .map(|s| w.sample_seeded(args(), s).unwrap())
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let w = w.clone();
            std::thread::spawn(move || {
                (0..32u64)
                    .filter(|s| s % 4 == t)
                    .map(|s| (s, w.sample_seeded(args(), s).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for (seed, sample) in t.join().unwrap() {
            assert_eq!(sample, expected[seed as usize], "seed {seed}");
        }
    }
}

#[test]
fn json_and_binary_round_trip_exactly() {
    let mut p = program();
    p.run("ask").unwrap();
    p.loop_(Call::new("ctl").with("n", "{\"json\": [1]}\n<tag>"), |b| {
        b.run("pick")?;
        Ok(())
    })
    .unwrap();
    p.capture("a", "search").unwrap().feed("b").unwrap();
    p.extract("train", &["Train"]).unwrap();
    let w = p.compile().unwrap();
    let s = w.sample_seeded(args(), 9).unwrap();
    let json = s.to_json();
    assert!(json.contains("\"advance\": \"[A]\""), "{json}");
    assert!(json.contains("\"pattern\": \"[Jump]\""));
    let back = SampledWorkflow::from_json(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.to_json(), json);
    let bytes = s.to_bytes();
    assert!(bytes.len() < json.len());
    let back = SampledWorkflow::from_bytes(&bytes).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.to_bytes(), bytes);
    // Corrupt input is an error, never a panic.
    assert!(SampledWorkflow::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    assert!(SampledWorkflow::from_json("{}").is_err());
    let bad = json.replacen("\"next\": 1", "\"next\": 999", 1);
    assert!(SampledWorkflow::from_json(&bad).is_err());
}

#[test]
fn large_programs_compile_and_sample_without_recursion() {
    // 150,000 commands of a one-block sequence = 300,000 zones in one path.
    let mut p = program();
    for _ in 0..150_000 {
        p.run("a").unwrap();
    }
    p.loop_(Call::new("ctl").with("n", 1), |b| {
        for _ in 0..1000 {
            b.run("b")?;
        }
        Ok(())
    })
    .unwrap();
    let w = p.compile().unwrap();
    assert_eq!(w.zone_count(), 300_000 + 2 + 2000);
    let s = w.sample_seeded(args(), 0).unwrap();
    assert_eq!(s.len(), w.zone_count());
    assert_eq!(s.zone(299_999).text(), " a [A]");
    assert_eq!(s.zone(302_001).next, Some(ZoneId::new(300_000)));
}

#[test]
fn sampled_zone_names_compare_with_str() {
    let mut p = program();
    p.loop_(Call::new("ctl").with("n", 1), |body| {
        body.capture("a", "search")?;
        Ok(())
    })
    .unwrap();
    let s = p.compile().unwrap().sample_seeded(args(), 0).unwrap();
    let z = s.zone(1);
    assert!(z.sequence == "ctl");
    assert!("ctl" == z.sequence);
    assert!(z.sequence == *"ctl");
    let owned = String::from("ctl");
    assert!(z.sequence == owned);
    assert!(z.sequence != "a");
    assert!(z.advance == "[A]");
    let jump = z.jump.as_ref().expect("the control zone jumps");
    assert!(jump.pattern == "[Jump]");
    assert!(s.zone(3).tool.as_ref().is_some_and(|t| t == "search"));
    assert_eq!(s.zone(3).tool.as_deref(), Some("search"));
    // Strings still print as strings.
    assert_eq!(format!("{} {:?}", z.sequence, z.sequence), "ctl \"ctl\"");
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints for an error: `Error: {err:?}`.
fn termination_report(err: impl std::error::Error + 'static) -> String {
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    format!("Error: {boxed:?}")
}

#[test]
fn errors_returned_from_main_print_the_located_message() {
    // A bind error at program setup: a static string cannot take `num_samples`.
    let mut b = Bindings::new();
    b.insert("items", "not a list");
    let err = Program::new(doc(), b).unwrap_err();
    let display = err.to_string();
    assert_eq!(termination_report(err), format!("Error: {display}"));
    assert!(
        display.starts_with("cannot bind resource `items`"),
        "{display}"
    );
    assert!(display.contains("\n  --> p.toml:37:13"), "{display}");

    // The same for a sampling error and for a resource's own failure.
    let mut p = program();
    p.run("ask").unwrap();
    let err = p
        .compile()
        .unwrap()
        .sample_seeded(Bindings::new(), 0)
        .unwrap_err();
    let display = err.to_string();
    assert!(display.contains("missing `question`"), "{display}");
    assert_eq!(termination_report(err), format!("Error: {display}"));
    let err = forge::resources::ResourceError::new("the list is empty");
    assert_eq!(termination_report(err), "Error: the list is empty");
}

/// `tone` (standard, passing `arguments`), `max` (custom) and `q` (argument) have defaults.
const DEFAULTS: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = []
default_max_token_length = 50
sequences = ["a"]
control_pattern = "[Jump]"
escape_patterns = ["[Esc]", "[/Esc]"]

[[a]]
text = "[P] {tone} {max} {q} [A]"
tags = [[]]
[a.tone]
name = "tone"
default = "calm"
arguments = { num_samples = 2 }
[a.max]
name = "max"
type = "custom"
default = "3"
[a.q]
name = "q"
type = "argument"
default = "why?"
"#;

#[test]
fn resources_with_defaults_may_be_left_unbound() {
    let doc = Arc::new(udpl::parse_str(DEFAULTS, "d.toml").unwrap().document);
    // Nothing bound at any stage: every default fills its placeholder (arguments ignored).
    let mut p = Program::new(doc.clone(), Bindings::new()).unwrap();
    p.run("a").unwrap();
    let s = p
        .compile()
        .unwrap()
        .sample_seeded(Bindings::new(), 0)
        .unwrap();
    assert_eq!(s.zone(1).text(), " calm 3 why? [A]");

    // Everything bound: the bindings win.
    let mut standard = Bindings::new();
    standard.insert("tone", ListSampler::new(["x", "y"]).unwrap());
    let mut p = Program::new(doc, standard).unwrap();
    p.run(Call::new("a").with("max", 9)).unwrap();
    let mut args = Bindings::new();
    args.insert("q", "how?");
    let s = p.compile().unwrap().sample_seeded(args, 0).unwrap();
    let text = s.zone(1).text();
    assert!(text.ends_with(" 9 how? [A]"), "{text}");
    assert!(
        text.starts_with(" x\ny ") || text.starts_with(" y\nx "),
        "{text}"
    );
}
