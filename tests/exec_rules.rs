//! Every rule of `docs/execution.md` §2, each with a hand-worked expected transcript.
//!
//! Spans are written `F:` forced, `G:` generated, `D:` fed, `C:` forced close; visits as
//! `zone/end/tokens`. In the document every block has two zones: zone 0 is `[P]`, zone 1
//! ends at `[A]`; the control pattern is `[J]`, the escapes `[E]` and `[/E]`.

#[path = "exec/common.rs"]
mod common;

use common::*;
use forge::exec::{
    Automaton, End, ErrorKind, Output, Plan, Reply, RequestId, Sampling, Step, StreamId,
};

#[test]
fn a_fully_written_zone_ends_without_a_request() {
    let w = workflow(|p| {
        p.run("full").unwrap();
    });
    // No output at all: a request would get an empty end-of-sequence reply and close the
    // zone with a forced `[A]`; instead the forced text ends it.
    let t = ok(run_one(&w, vec![]));
    assert_eq!(spans(&t), "F:[P]|F: hi [A]");
    assert_eq!(visits(&t), "0/forced/0 1/forced/0");
    assert!(t.visits.iter().all(|v| v.requests == 0));
}

#[test]
fn a_pattern_split_over_2_3_and_n_chunks() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    // The reply holds the tokens up to the one that completes `[A]`.
    for (chunks, n) in [
        (&[" yes [", "A] tail"][..], 2),
        (&[" yes [", "A", "] tail"], 3),
        (&[" ", "y", "e", "s", " ", "[", "A", "]", " ", "tail"], 8),
    ] {
        let t = ok(run_one(&w, vec![tokens(chunks)]));
        assert_eq!(spans(&t), "F:[P]|F: q|G: yes [A]", "{chunks:?}");
        assert_eq!(visits(&t), format!("0/forced/0 1/pattern/{n}"));
        assert_eq!(t.text, "[P] q yes [A]");
    }
}

#[test]
fn a_pattern_split_across_two_replies() {
    // A generator that stops (claims a stop) in the middle of `[A]`: the runtime finds the
    // pattern across the two replies.
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let raw = |text: &str, end| {
        Output::Raw(Reply {
            text: text.into(),
            tokens: 1,
            end,
        })
    };
    let t = ok(run_one(
        &w,
        vec![raw(" yes [", End::Stop(0)), raw("A] tail", End::Eos)],
    ));
    assert_eq!(spans(&t), "F:[P]|F: q|G: yes [|G:A]");
    assert_eq!(visits(&t), "0/forced/0 1/pattern/2");
    assert_eq!(t.corrections.len(), 1, "the tail after `[A]` is dropped");
}

#[test]
fn escape_open_and_close_split_across_chunks() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    // Request 1 (stop `[A]`, `[E]`) is cut at `[E]`; request 2 (stop `[/E]`) at `[/E]`, so the
    // `[A]` inside the escape is plain text; request 3 ends the zone.
    let t = ok(run_one(
        &w,
        vec![
            tokens(&[" x [", "E] lost"]),
            tokens(&[" in [A", "] [/", "E] lost"]),
            tokens(&[" out [", "A] lost"]),
        ],
    ));
    assert_eq!(spans(&t), "F:[P]|F: q|G: x [E]|G: in [A] [/E]|G: out [A]");
    assert_eq!(visits(&t), "0/forced/0 1/pattern/7");
    assert!(
        t.corrections.is_empty(),
        "a conforming generator needs no correction"
    );
}

#[test]
fn the_control_pattern_jumps_only_where_the_zone_has_a_jump_edge() {
    // `when(ctl, then q, otherwise full)`: zone 1 of ctl has a jump edge.
    let w = workflow(|p| {
        p.when(
            "ctl",
            |t| {
                t.run("q")?;
                Ok(())
            },
            |o| {
                o.run("full")?;
                Ok(())
            },
        )
        .unwrap();
    });
    // The jump: ctl → full (zones 4, 5).
    let t = ok(run_one(&w, vec![" no [J] tail".into()]));
    assert_eq!(spans(&t), "F:[P]|F: more?|G: no [J]|F:[P]|F: hi [A]");
    assert_eq!(t.path(), [0, 1, 4, 5]);
    assert_eq!(visits(&t), "0/forced/0 1/jump/7 4/forced/0 5/forced/0");
    // In zone q (no jump edge) `[J]` is plain text; the stop set does not even hold it.
    let t = ok(run_one(&w, vec![" yes [A]".into(), " [J] x [A]".into()]));
    assert_eq!(
        spans(&t),
        "F:[P]|F: more?|G: yes [A]|F:[P]|F: q|G: [J] x [A]"
    );
    assert_eq!(t.path(), [0, 1, 2, 3]);
}

#[test]
fn the_control_pattern_inside_an_escape_is_plain_text() {
    let w = workflow(|p| {
        p.when("ctl", |_| Ok(()), |_| Ok(())).unwrap();
    });
    let t = ok(run_one(
        &w,
        vec![" [E]".into(), " [J] [/E]".into(), " stay [A]".into()],
    ));
    assert_eq!(spans(&t), "F:[P]|F: more?|G: [E]|G: [J] [/E]|G: stay [A]");
    assert_eq!(visits(&t), "0/forced/0 1/pattern/22");
}

#[test]
fn the_token_limit_outside_and_inside_an_escape() {
    let w = workflow(|p| {
        p.run("tight").unwrap();
    });
    // Outside: cut after 5 tokens, then the advance pattern is forced.
    let t = ok(run_one(&w, vec![" abcdefgh".into()]));
    assert_eq!(spans(&t), "F:[P]|F: t|G: abcd|C:[A]");
    assert_eq!(visits(&t), "0/forced/0 1/limit/5");
    // Inside: `[E]` after 3 tokens, 2 left inside the escape, then the escape close and the
    // advance pattern are forced.
    let t = ok(run_one(&w, vec!["[E]xyz".into(), "abc".into()]));
    assert_eq!(spans(&t), "F:[P]|F: t|G:[E]|G:ab|C:[/E]|C:[A]");
    assert_eq!(visits(&t), "0/forced/0 1/limit/5");
    // The budget spent exactly by the reply that opens the escape: no further request.
    let t = ok(run_one(&w, vec![" a[E]".into(), "never".into()]));
    assert_eq!(spans(&t), "F:[P]|F: t|G: a[E]|C:[/E]|C:[A]");
    assert_eq!(t.visits[1].requests, 1);
}

#[test]
fn the_run_option_caps_every_zone_budget() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let mut g = forge::exec::Scripted::new([vec![Output::from(" abcdef")]]);
    let runner = forge::exec::Runner::new(forge::exec::RunOptions {
        max_tokens: Some(3),
        ..options()
    })
    .unwrap();
    let t = ok(runner.run(&mut g, [sample(&w)]).unwrap().remove(0));
    assert_eq!(spans(&t), "F:[P]|F: q|G: ab|C:[A]");
}

#[test]
fn end_of_sequence_mid_zone_and_mid_escape() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let t = ok(run_one(&w, vec![" partial".into()]));
    assert_eq!(spans(&t), "F:[P]|F: q|G: partial|C:[A]");
    assert_eq!(visits(&t), "0/forced/0 1/eos/8");
    let t = ok(run_one(&w, vec![" [E]".into(), " inside".into()]));
    assert_eq!(spans(&t), "F:[P]|F: q|G: [E]|G: inside|C:[/E]|C:[A]");
    assert_eq!(visits(&t), "0/forced/0 1/eos/11");
}

#[test]
fn an_output_zone_sends_its_generated_text_and_an_input_zone_is_fed() {
    // capture(ask, upper), then feed(show): zone 3 gets the tool's result.
    let w = workflow(|p| {
        p.capture("ask", "upper").unwrap();
        p.feed("show").unwrap();
    });
    let t = ok(run_one(
        &w,
        vec![" the [E]".into(), "x[/E]".into(), " answer [A]".into()],
    ));
    // Tool input: the generated text without the `[A]` that ended the zone.
    assert_eq!(
        spans(&t),
        "F:[P]|F: ask|G: the [E]|G:x[/E]|G: answer [A]|F:[P]|F: got:|D: THE [E]X[/E] ANSWER |C:[A]"
    );
    assert_eq!(visits(&t), "0/forced/0 1/pattern/24 2/forced/0 3/forced/0");
    assert_eq!(
        t.extraction("out").unwrap(),
        [" got: THE [E]X[/E] ANSWER [A]"]
    );
}

#[test]
fn an_input_zone_before_any_tool_call_is_fed_nothing() {
    let w = workflow(|p| {
        p.feed("show").unwrap();
    });
    let t = ok(run_one(&w, vec![]));
    assert_eq!(spans(&t), "F:[P]|F: got:|C:[A]");
}

/// `loop(ctl, q)`: zones 0–1 ctl, 2–3 q; the jump in zone 1 leaves the loop.
fn loop_workflow() -> forge::program::Workflow {
    workflow(|p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
    })
}

#[test]
fn a_loop_runs_0_1_and_3_times_as_the_model_jumps() {
    let w = loop_workflow();
    let t = ok(run_one(&w, vec![" stop [J]".into()]));
    assert_eq!(t.path(), [0, 1]);
    assert_eq!(spans(&t), "F:[P]|F: more?|G: stop [J]");

    let t = ok(run_one(
        &w,
        vec![" go [A]".into(), " w1 [A]".into(), " stop [J]".into()],
    ));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1]);
    assert_eq!(
        spans(&t),
        "F:[P]|F: more?|G: go [A]|F:[P]|F: q|G: w1 [A]|F:[P]|F: more?|G: stop [J]"
    );

    let mut outputs = Vec::new();
    for i in 1..=3 {
        outputs.push(Output::from(" go [A]"));
        outputs.push(Output::from(format!(" w{i} [A]")));
    }
    outputs.push(" stop [J]".into());
    let t = ok(run_one(&w, outputs));
    assert_eq!(t.path(), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert_eq!(
        t.extraction("q").unwrap(),
        [" q w1 [A]", " q w2 [A]", " q w3 [A]"]
    );
    assert_eq!(t.extraction("ctl").unwrap().len(), 4);
}

#[test]
fn when_takes_then_by_default_and_otherwise_on_a_jump() {
    let w = workflow(|p| {
        p.when(
            "ctl",
            |t| {
                t.run("q")?;
                Ok(())
            },
            |o| {
                o.run("full")?;
                Ok(())
            },
        )
        .unwrap();
        p.run("full").unwrap();
    });
    // Zones: ctl 0–1, q 2–3, full (otherwise) 4–5, full (after) 6–7.
    let t = ok(run_one(&w, vec![" yes [A]".into(), " a [A]".into()]));
    assert_eq!(t.path(), [0, 1, 2, 3, 6, 7]);
    let t = ok(run_one(&w, vec![" no [J]".into()]));
    assert_eq!(t.path(), [0, 1, 4, 5, 6, 7]);
    assert_eq!(t.text, "[P] more? no [J][P] hi [A][P] hi [A]");
}

#[test]
fn the_stream_ends_after_its_last_zone_and_extractions_follow_visits() {
    let w = workflow(|p| {
        p.run("q").unwrap();
        p.run("q").unwrap();
    });
    let t = ok(run_one(
        &w,
        vec![" one [A]".into(), " two [A]".into(), "unused".into()],
    ));
    assert_eq!(t.path(), [0, 1, 2, 3]);
    assert_eq!(t.extraction("q").unwrap(), [" q one [A]", " q two [A]"]);
    assert_eq!(t.extraction("nope"), None);
    assert_eq!(t.tokens(), 16);
}

#[test]
fn the_automaton_is_driven_by_hand_without_a_runner() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let s = sample(&w);
    let plan = Plan::new(&s, None).unwrap();
    let mut a = Automaton::new(plan, s, StreamId(0)).unwrap();
    assert_eq!(a.step(), Step::Generate);
    let r = a.request(RequestId(0), Sampling::default());
    assert_eq!(r.context(), "[P] q");
    assert_eq!(
        r.stop().iter().map(|s| &**s).collect::<Vec<_>>(),
        ["[A]", "[E]"]
    );
    assert_eq!(r.max_tokens(), 50);
    let first = std::sync::Arc::as_ptr(r.shared_context());
    drop(r);
    a.reply(Reply {
        text: " [E]".into(),
        tokens: 2,
        end: End::Stop(1),
    });
    assert_eq!(a.step(), Step::Generate);
    let r = a.request(RequestId(1), Sampling::default());
    assert_eq!(r.new_text(), " [E]");
    assert_eq!(r.prefix_len(), 5);
    assert_eq!(r.stop().iter().map(|s| &**s).collect::<Vec<_>>(), ["[/E]"]);
    assert_eq!(r.max_tokens(), 48);
    // The generator dropped the first request: the reply was appended in place, no copy.
    assert_eq!(std::sync::Arc::as_ptr(r.shared_context()), first);
    drop(r);
    a.reply(Reply {
        text: "[/E] [A]".into(),
        tokens: 3,
        end: End::Stop(0),
    });
    assert_eq!(a.step(), Step::Finished);
    let t = a.finish();
    assert_eq!(spans(&t), "F:[P]|F: q|G: [E]|G:[/E] [A]");
}

#[test]
fn a_tool_error_fails_the_stream_naming_the_zone() {
    let w = workflow(|p| {
        p.capture("ask", "fail").unwrap();
        p.feed("show").unwrap();
    });
    let e = run_one(&w, vec![" x [A]".into()]).unwrap_err();
    assert!(matches!(&e.kind, ErrorKind::Tool { tool, .. } if &**tool == "fail"));
    assert_eq!(
        e.to_string(),
        "stream 0, zone 1 (sequence `ask`, block 0, instance 0, zone 1 of the block): tool \
         `fail` failed: cannot handle ` x `"
    );
    let partial = e.partial.unwrap();
    assert_eq!(partial.text, "[P] ask x [A]");
}

#[test]
fn an_unescaped_control_pattern_in_forced_text_jumps_and_the_rest_is_dropped() {
    let w = workflow(|p| {
        p.when(
            "jumpy",
            |t| {
                t.run("q")?;
                Ok(())
            },
            |o| {
                o.run("full")?;
                Ok(())
            },
        )
        .unwrap();
    });
    let t = ok(run_one(&w, vec![]));
    assert_eq!(spans(&t), "F:[P]|F: go [J]|F:[P]|F: hi [A]");
    assert_eq!(visits(&t), "0/forced/0 1/jump/0 4/forced/0 5/forced/0");
}

#[test]
fn fed_text_that_opens_an_escape_is_closed_before_the_advance_pattern() {
    let w = workflow(|p| {
        p.capture("ask", "upper").unwrap();
        p.feed("show").unwrap();
    });
    // `[E]` stops the first reply; the second ends the sequence inside the escape.
    let t = ok(run_one(&w, vec![" [E]".into(), "x".into()]));
    assert_eq!(
        spans(&t),
        "F:[P]|F: ask|G: [E]|G:x|C:[/E]|C:[A]|F:[P]|F: got:|D: [E]X|C:[/E]|C:[A]"
    );
    assert_eq!(visits(&t), "0/forced/0 1/eos/5 2/forced/0 3/forced/0");
}

#[test]
fn the_types_users_share_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<forge::exec::Runner>();
    shared::<forge::exec::Tools>();
    shared::<forge::exec::Transcript>();
    shared::<forge::exec::StreamError>();
    shared::<forge::exec::RunError>();
    shared::<forge::exec::Plan>();
    shared::<forge::exec::Automaton>();
    shared::<forge::exec::Request>();
    shared::<forge::exec::Scripted>();
}
