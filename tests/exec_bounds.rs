//! Bounded loops (docs/programs.md §2) with hand-worked transcripts: `at_most` forces the jump
//! without asking the model, `at_least` keeps the control pattern plain text, visits count
//! afresh per entry into a loop, and the bounds survive every format and rendering.
//!
//! Spans are written `F:` forced, `G:` generated, `C:` forced close; visits as
//! `zone/end/tokens`. Zone 0 of a block is `[P]`, zone 1 ends at `[A]`; the control pattern
//! is `[J]`.

#[path = "exec/common.rs"]
mod common;

use common::*;
use forge::dataset::Header;
use forge::exec::{Output, SpanKind, ZoneEnd};
use forge::program::{
    LoopBounds, ProgramError, SampledWorkflow, Workflow, to_dot, to_html, to_mermaid, to_text,
};

/// `loop(ctl, q)` with `bounds`: zones 0–1 ctl, 2–3 q.
fn bounded(bounds: LoopBounds) -> Workflow {
    workflow(|p| {
        p.loop_bounded("ctl", bounds, |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
    })
}

/// A model that never jumps: `body` iterations of ctl " go [A]" and q " wI [A]".
fn never_jumps(body: usize) -> Vec<Output> {
    (1..=body)
        .flat_map(|i| [Output::from(" go [A]"), Output::from(format!(" w{i} [A]"))])
        .collect()
}

#[test]
fn at_most_0_jumps_on_the_first_visit_without_asking_the_model() {
    let w = bounded(LoopBounds::new().at_most(0));
    let t = ok(run_one(&w, never_jumps(1)));
    assert_eq!(t.path(), [0, 1]);
    assert_eq!(spans(&t), "F:[P]|F: more?|C:[J]");
    assert_eq!(visits(&t), "0/forced/0 1/forced_jump/0");
    assert_eq!(t.visits[1].requests, 0);
    assert!(t.visits[1].end.jumped());
    assert_eq!(t.extraction("q").unwrap().len(), 0);
}

#[test]
fn at_most_1_runs_the_body_once_then_forces_the_jump() {
    let w = bounded(LoopBounds::new().at_most(1));
    let t = ok(run_one(&w, never_jumps(2)));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1]);
    assert_eq!(
        spans(&t),
        "F:[P]|F: more?|G: go [A]|F:[P]|F: q|G: w1 [A]|F:[P]|F: more?|C:[J]"
    );
    assert_eq!(
        visits(&t),
        "0/forced/0 1/pattern/7 2/forced/0 3/pattern/7 0/forced/0 1/forced_jump/0"
    );
    assert_eq!(t.text, "[P] more? go [A][P] q w1 [A][P] more?[J]");
}

#[test]
fn at_most_3_runs_the_body_exactly_3_times() {
    let w = bounded(LoopBounds::new().at_most(3));
    let t = ok(run_one(&w, never_jumps(5)));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert_eq!(
        t.extraction("q").unwrap(),
        [" q w1 [A]", " q w2 [A]", " q w3 [A]"]
    );
    let last = t.visits.last().unwrap();
    assert_eq!(last.end, ZoneEnd::ForcedJump);
    let closing: Vec<_> = t
        .spans()
        .filter(|s| s.kind == SpanKind::ForcedClose)
        .collect();
    assert_eq!(closing.len(), 1);
    assert_eq!(closing[0].text, "[J]");
    assert!(t.text.ends_with("[P] more?[J]"));
    // A model that leaves earlier still may: the bound is a ceiling.
    let t = ok(run_one(
        &w,
        vec![" go [A]".into(), " w1 [A]".into(), " stop [J]".into()],
    ));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1]);
    assert_eq!(t.visits.last().unwrap().end, ZoneEnd::Jump);
}

#[test]
fn at_least_2_makes_the_control_pattern_plain_text_for_2_visits() {
    let w = bounded(LoopBounds::new().at_least(2));
    // The model jumps at once on every visit; it can leave on the third.
    let jumps = || Output::from(" stop [J] then [A]");
    let t = ok(run_one(
        &w,
        vec![
            jumps(),
            " w1 [A]".into(),
            jumps(),
            " w2 [A]".into(),
            jumps(),
        ],
    ));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert_eq!(
        spans(&t),
        "F:[P]|F: more?|G: stop [J] then [A]|F:[P]|F: q|G: w1 [A]\
         |F:[P]|F: more?|G: stop [J] then [A]|F:[P]|F: q|G: w2 [A]\
         |F:[P]|F: more?|G: stop [J]"
    );
    assert_eq!(
        visits(&t),
        "0/forced/0 1/pattern/18 2/forced/0 3/pattern/7 \
         0/forced/0 1/pattern/18 2/forced/0 3/pattern/7 0/forced/0 1/jump/9"
    );
}

#[test]
fn at_least_equal_to_at_most_runs_the_body_exactly_that_often() {
    let w = bounded(LoopBounds::new().at_least(2).at_most(2));
    let t = ok(run_one(
        &w,
        vec![
            " stop [J] [A]".into(),
            " w1 [A]".into(),
            " stop [J] [A]".into(),
            " w2 [A]".into(),
        ],
    ));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert_eq!(t.visits.last().unwrap().end, ZoneEnd::ForcedJump);
}

#[test]
fn nested_bounded_loops_count_afresh_on_every_entry() {
    // outer loop(ctl ≤ 2) { inner loop(ctl ≤ 1) { q } }: zones 0–1 outer ctl, 2–3 inner ctl,
    // 4–5 q. The model never jumps.
    let w = workflow(|p| {
        p.loop_bounded("ctl", LoopBounds::new().at_most(2), |outer| {
            outer.loop_bounded("ctl", LoopBounds::new().at_most(1), |inner| {
                inner.run("q")?;
                Ok(())
            })?;
            Ok(())
        })
        .unwrap();
    });
    let go = || Output::from(" go [A]");
    let t = ok(run_one(
        &w,
        vec![go(), go(), " w1 [A]".into(), go(), go(), " w2 [A]".into()],
    ));
    assert_eq!(
        t.path(),
        [0, 1, 2, 3, 4, 5, 2, 3, 0, 1, 2, 3, 4, 5, 2, 3, 0, 1]
    );
    assert_eq!(t.extraction("q").unwrap(), [" q w1 [A]", " q w2 [A]"]);
    let forced: Vec<u32> = t
        .visits
        .iter()
        .filter(|v| v.end == ZoneEnd::ForcedJump)
        .map(|v| v.zone.get())
        .collect();
    assert_eq!(forced, [3, 3, 1]);
}

#[test]
fn bounds_out_of_order_are_an_error_naming_the_loop() {
    let mut p = forge::program::Program::new(doc(), forge::resources::Bindings::new()).unwrap();
    let err = p
        .loop_bounded("ctl", LoopBounds::new().at_least(3).at_most(2), |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, ProgramError::BoundsOutOfOrder { .. }));
    assert_eq!(
        err.to_string(),
        "the loop on `ctl` has at_least = 3 above at_most = 2; lower `at_least` or raise `at_most`"
    );
    assert_eq!(p.zone_count(), 0, "nothing was added");
}

#[test]
fn unbounded_loops_and_whens_carry_no_bounds() {
    let w = bounded(LoopBounds::new());
    assert_eq!(w.meta().zones[1].jump.as_ref().unwrap().bounds, None);
    let w = workflow(|p| {
        p.when("ctl", |_| Ok(()), |_| Ok(())).unwrap();
    });
    assert_eq!(w.meta().zones[1].jump.as_ref().unwrap().bounds, None);
}

#[test]
fn bounds_round_trip_through_json_postcard_and_the_dataset_header() {
    let b = LoopBounds::new().at_least(1).at_most(3);
    let w = bounded(b);
    assert_eq!(w.meta().zones[1].jump.as_ref().unwrap().bounds, Some(b));
    let s = sample(&w);
    let json = s.to_json();
    assert!(json.contains("\"at_least\": 1"), "{json}");
    assert!(json.contains("\"at_most\": 3"), "{json}");
    let back = SampledWorkflow::from_json(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.zone(1).jump.as_ref().unwrap().bounds, Some(b));
    let back = SampledWorkflow::from_bytes(&s.to_bytes()).unwrap();
    assert_eq!(back, s);

    let header = Header::new(&w, 7);
    let line = header.to_line();
    assert!(
        line.contains("\"bounds\":{\"at_least\":1,\"at_most\":3}"),
        "{line}"
    );
    let parsed = Header::parse(&line).unwrap();
    assert_eq!(parsed, header);
    assert_eq!(
        parsed.workflow.zones[1].jump.as_ref().unwrap().bounds,
        Some(b)
    );

    // Bounds out of order in an edited file are rejected, never run.
    let bad = json.replace("\"at_least\": 1", "\"at_least\": 4");
    let e = SampledWorkflow::from_json(&bad).unwrap_err().to_string();
    assert!(e.contains("out of order"), "{e}");
    let bad = line.replace("\"at_least\":1", "\"at_least\":4");
    let e = Header::parse(&bad).unwrap_err().to_string();
    assert!(e.contains("zone 1's loop bounds are out of order"), "{e}");
}

#[test]
fn renderings_show_the_bounds() {
    let s = sample(&bounded(LoopBounds::new().at_least(1).at_most(3)));
    let label = "(at least 1, at most 3)";
    let dot = to_dot(&s);
    assert!(dot.contains(&format!("label=\"[J] {label}\"")), "{dot}");
    let mermaid = to_mermaid(&s);
    assert!(mermaid.contains("at least 1, at most 3"), "{mermaid}");
    let html = to_html(&s);
    assert!(
        html.contains(&format!("<span class=\"j\">[J] {label}</span>")),
        "bounds missing from the HTML zone badge"
    );
    assert!(to_text(&s).contains(&format!("jump [J] {label} → end")));
    let s = sample(&bounded(LoopBounds::new().at_most(0)));
    assert!(to_dot(&s).contains("(at most 0)"));
}

forge::include_udpl!(mod prompts = "examples/representative.toml");

fn built() -> forge::program::Program {
    prompts::builder()
        .constitution(
            forge::resources::ListSampler::new((0..9).map(|i| format!("Rule {i}."))).unwrap(),
        )
        .build()
        .unwrap()
}

#[test]
fn the_typed_api_bounds_a_loop_over_a_typed_handle() {
    let mut program = built();
    program.run(prompts::Setup).unwrap();
    program
        .loop_bounded(
            prompts::LoopControl { min: 2, max: 5 },
            LoopBounds::new().at_least(2).at_most(5),
            |body| {
                body.run(prompts::Reason)?;
                Ok(())
            },
        )
        .unwrap();
    let w = program.compile().unwrap();
    let bounds: Vec<_> = w
        .meta()
        .zones
        .iter()
        .filter_map(|z| z.jump.as_ref().and_then(|j| j.bounds))
        .collect();
    assert_eq!(bounds, [LoopBounds::new().at_least(2).at_most(5)]);
}

#[test]
fn the_generated_program_is_the_declared_one() {
    let mut typed = built();
    prompts::program(&mut typed).unwrap();
    let typed = typed.compile().unwrap();
    let mut runtime = built();
    runtime.run_declared().unwrap();
    let runtime = runtime.compile().unwrap();
    assert_eq!(typed.meta(), runtime.meta());
    let bounds: Vec<_> = typed
        .meta()
        .zones
        .iter()
        .filter_map(|z| z.jump.as_ref().and_then(|j| j.bounds))
        .collect();
    assert_eq!(bounds, [LoopBounds::new().at_least(1).at_most(3)]);
    let names: Vec<&str> = typed
        .meta()
        .extractions
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["training", "final"]);
    let args = || prompts::Args {
        prompt: "Why?".to_owned(),
    };
    assert_eq!(
        typed.sample_seeded(args(), 3).unwrap(),
        runtime.sample_seeded(args(), 3).unwrap()
    );
}

#[test]
fn the_declared_representative_program_ends_when_the_model_never_jumps() {
    // A model that ends every reply at once never writes `[Jump]`: `at_most = 3` ends the
    // loop after 3 body runs, and `decide` (a `when`) takes `then`.
    let mut p = built();
    p.run_declared().unwrap();
    let w = p.compile().unwrap();
    let sample = w
        .sample_seeded(
            prompts::Args {
                prompt: "Why?".to_owned(),
            },
            1,
        )
        .unwrap();
    let mut g = forge::exec::Scripted::new([Vec::<Output>::new()]);
    let runner = forge::exec::Runner::new(options()).unwrap();
    let t = ok(runner.run(&mut g, [sample.clone()]).unwrap().pop().unwrap());
    let control: Vec<ZoneEnd> = t
        .visits
        .iter()
        .filter(|v| {
            let z = sample.zone(v.zone);
            &*z.sequence == "loop_control" && z.jump.is_some()
        })
        .map(|v| v.end)
        .collect();
    assert_eq!(
        control,
        [
            ZoneEnd::Eos,
            ZoneEnd::Eos,
            ZoneEnd::Eos,
            ZoneEnd::ForcedJump
        ]
    );
}
