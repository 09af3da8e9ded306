//! The runner: many streams, bounded concurrency, order independence, results as a stream,
//! serialization, seeds, tools, and bad input from generators and tools.

#[path = "exec/common.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use forge::exec::{
    Completion, Correction, End, ErrorKind, FatalError, FnGenerator, Generator, Output, Reply,
    Request, RetryPolicy, RunOptions, Runner, Sampling, Scripted, StreamId, Tools, Transcript,
    request_seed,
};

fn raw(text: &str, tokens: u32, end: End) -> Output {
    Output::Raw(Reply {
        text: text.into(),
        tokens,
        end,
    })
}

/// `loop(ctl, q)` then `capture(ask, upper)`, `feed(show)`.
fn mixed() -> forge::program::Workflow {
    workflow(|p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
        p.capture("ask", "upper").unwrap();
        p.feed("show").unwrap();
    })
}

/// Stream `i` loops `i % 3` times.
fn script(i: usize) -> Vec<Output> {
    let mut out = Vec::new();
    for k in 0..i % 3 {
        out.push(Output::from(" go [A]"));
        out.push(Output::Tokens(vec![
            format!(" s{i}"),
            format!(" k{k} ["),
            "A".into(),
            "]".into(),
        ]));
    }
    out.push(" stop [J]".into());
    out.push(Output::Tokens(vec![format!(" ask{i} ["), "A]".into()]));
    out
}

#[test]
fn completion_order_and_concurrency_do_not_change_results() {
    let w = mixed();
    let other = workflow(|p| {
        p.run("q").unwrap();
    });
    // Any mix of workflows: every fourth stream runs the other one.
    let samples = |n: usize| {
        (0..n)
            .map(|i| sample(if i % 4 == 3 { &other } else { &w }))
            .collect::<Vec<_>>()
    };
    let scripts = |n: usize| (0..n).map(script).collect::<Vec<_>>();
    let runner = Runner::new(options()).unwrap().with_tools(tools());
    let base = runner
        .run(&mut Scripted::new(scripts(24)), samples(24))
        .unwrap();
    for (seed, max) in [(1, 1), (2, 3), (3, 64)] {
        let runner = Runner::new(RunOptions {
            max_in_flight: max,
            ..options()
        })
        .unwrap()
        .with_tools(tools());
        let mut g = Scripted::new(scripts(24)).shuffled(seed);
        let results = runner.run(&mut g, samples(24)).unwrap();
        assert_eq!(results.len(), 24);
        for (a, b) in base.iter().zip(&results) {
            assert_eq!(a.as_ref().unwrap(), b.as_ref().unwrap());
        }
    }
    let t = base[2].as_ref().unwrap();
    assert_eq!(t.stream, StreamId(2));
    assert_eq!(t.extraction("q").unwrap(), [" q s2 k0 [A]", " q s2 k1 [A]"]);
    assert_eq!(t.extraction("out").unwrap(), [" got: ASK2 [A]"]);
}

/// A generator that records how many requests are in flight.
struct Counting {
    inner: Scripted,
    in_flight: usize,
    peak: usize,
    capacity: usize,
}

impl Generator for Counting {
    type Error = <Scripted as Generator>::Error;
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn submit(&mut self, request: Request) {
        self.in_flight += 1;
        self.peak = self.peak.max(self.in_flight);
        self.inner.submit(request)
    }
    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error> {
        let before = out.len();
        self.inner.wait(out)?;
        self.in_flight -= out.len() - before;
        Ok(())
    }
}

#[test]
fn concurrency_is_bounded_by_the_options_and_the_generator() {
    let w = mixed();
    for (max, capacity, peak) in [(5, 100, 5), (100, 7, 7), (3, 3, 3)] {
        let mut g = Counting {
            inner: Scripted::new((0..40).map(script)).shuffled(9),
            in_flight: 0,
            peak: 0,
            capacity,
        };
        let runner = Runner::new(RunOptions {
            max_in_flight: max,
            ..options()
        })
        .unwrap()
        .with_tools(tools());
        let results = runner.run(&mut g, (0..40).map(|_| sample(&w))).unwrap();
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(g.peak, peak, "max_in_flight {max}, capacity {capacity}");
    }
}

#[test]
fn results_stream_out_as_streams_finish() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    // Stream 0 needs three requests, stream 1 one: with both in flight, 1 finishes first.
    let mut g = Scripted::new([
        vec![Output::from(" [E]"), " x[/E]".into(), " a [A]".into()],
        vec![" b [A]".into()],
    ]);
    let runner = Runner::new(options()).unwrap();
    let order: Vec<u32> = runner
        .execute(&mut g, [sample(&w), sample(&w)])
        .map(|r| r.unwrap().stream.0)
        .collect();
    assert_eq!(order, [1, 0]);
}

#[test]
fn transcripts_round_trip_through_json_and_postcard() {
    let w = mixed();
    let runner = Runner::new(options()).unwrap().with_tools(tools());
    let mut g = Scripted::new([script(2)]);
    let t = runner.run(&mut g, [sample(&w)]).unwrap().remove(0).unwrap();
    assert_eq!(Transcript::from_json(&t.to_json()).unwrap(), t);
    assert_eq!(Transcript::from_bytes(&t.to_bytes()).unwrap(), t);
    assert!(
        t.to_json().contains("\"kind\": \"forced_close\"") || t.to_json().contains("\"generated\"")
    );
    assert!(t.to_bytes().len() < t.to_json().len());
    // A damaged file is an error, not a panic later.
    let bad = t.to_json().replacen("\"end\": ", "\"end\": 9999", 1);
    let e = Transcript::from_json(&bad).unwrap_err().to_string();
    assert!(e.contains("span 0 is out of range"), "{e}");
}

#[test]
fn every_request_gets_a_seed_derived_from_the_run_seed_stream_and_position() {
    let w = workflow(|p| {
        p.run("q").unwrap();
        p.run("q").unwrap();
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut g = FnGenerator::new(move |r: &Request| {
        log.lock()
            .unwrap()
            .push((r.stream(), r.sampling().seed, r.sampling().temperature));
        Ok::<_, std::io::Error>(Reply {
            text: "[A]".into(),
            tokens: 1,
            end: End::Stop(0),
        })
    });
    let runner = Runner::new(RunOptions {
        sampling: Sampling {
            temperature: 0.7,
            top_p: 1.0,
            seed: 99,
        },
        ..options()
    })
    .unwrap();
    runner.run(&mut g, [sample(&w), sample(&w)]).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    for s in 0..2 {
        let seeds: Vec<u64> = seen
            .iter()
            .filter(|x| x.0 == StreamId(s))
            .map(|x| x.1)
            .collect();
        assert_eq!(
            seeds,
            [
                request_seed(99, StreamId(s), 0),
                request_seed(99, StreamId(s), 1)
            ]
        );
    }
    assert!(seen.iter().all(|x| x.2 == 0.7));
    let mut all: Vec<u64> = seen.iter().map(|x| x.1).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 4, "seeds differ across streams and requests");
}

#[test]
fn a_generator_error_fails_its_stream_after_the_retries_only() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let runner = Runner::new(RunOptions {
        retry: RetryPolicy::new(1, Duration::from_millis(1), Duration::from_millis(1)),
        ..options()
    })
    .unwrap();
    let mut g = Scripted::new([
        vec![Output::Fail("overloaded".into()), " ok [A]".into()],
        vec![
            Output::Fail("down".into()),
            Output::Fail("still down".into()),
        ],
        vec![" fine [A]".into()],
    ]);
    let results = runner.run(&mut g, (0..3).map(|_| sample(&w))).unwrap();
    assert_eq!(results[0].as_ref().unwrap().text, "[P] q ok [A]");
    let e = results[1].as_ref().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Generator { attempts: 2, .. }));
    assert_eq!(
        e.to_string(),
        "stream 1, zone 1 (sequence `q`, block 0, instance 0, zone 1 of the block): the \
         generation request failed (2 attempts): stream 1: still down"
    );
    assert_eq!(e.partial.as_ref().unwrap().text, "[P] q");
    assert_eq!(results[2].as_ref().unwrap().text, "[P] q fine [A]");
}

/// A generator that retries by its own policy: the runner must not retry its failures again.
struct SelfRetrying(Scripted);

impl Generator for SelfRetrying {
    type Error = <Scripted as Generator>::Error;
    fn capacity(&self) -> usize {
        self.0.capacity()
    }
    fn submit(&mut self, request: Request) {
        self.0.submit(request)
    }
    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error> {
        self.0.wait(out)
    }
    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(RetryPolicy::NONE)
    }
}

#[test]
fn a_generator_with_its_own_retry_policy_is_not_retried_by_the_runner() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let runner = Runner::new(RunOptions {
        retry: RetryPolicy::new(3, Duration::ZERO, Duration::ZERO),
        ..options()
    })
    .unwrap();
    let script = || vec![Output::Fail("gave up".into()), " ok [A]".into()];
    let mut own = SelfRetrying(Scripted::new([script()]));
    let results = runner.run(&mut own, [sample(&w)]).unwrap();
    let e = results[0].as_ref().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Generator { attempts: 1, .. }));
    // The same script through a generator without a policy: the runner retries.
    let mut plain = Scripted::new([script()]);
    let results = runner.run(&mut plain, [sample(&w)]).unwrap();
    assert_eq!(results[0].as_ref().unwrap().text, "[P] q ok [A]");
}

#[test]
fn replies_that_break_the_contract_are_corrected_and_recorded() {
    let w = workflow(|p| {
        p.run("tight").unwrap();
        p.run("q").unwrap();
    });
    let runner = Runner::new(options()).unwrap();
    let mut g = Scripted::new([
        // Ignores its stop set: text after `[A]` (which ended the zone) is dropped.
        vec![
            raw(" a [A] b [A]", 5, End::Limit),
            raw(" c [A]", 2, End::Stop(0)),
        ],
        // Empty replies: end of sequence closes the zone; a claimed stop with no text too.
        vec![raw("", 0, End::Eos), raw("", 0, End::Stop(0))],
        // Longer than max tokens (5 in `tight`): counted as 5, the zone ends at its limit.
        vec![raw(" abcdefgh", 40, End::Eos), " d [A]".into()],
    ]);
    let results = runner.run(&mut g, (0..3).map(|_| sample(&w))).unwrap();
    let t = results[0].as_ref().unwrap();
    assert_eq!(spans(t), "F:[P]|F: t|G: a [A]|F:[P]|F: q|G: c [A]");
    assert_eq!(
        t.corrections,
        [Correction::Discarded {
            visit: 1,
            text: " b [A]".into()
        }]
    );
    let t = results[1].as_ref().unwrap();
    assert_eq!(spans(t), "F:[P]|F: t|C:[A]|F:[P]|F: q|C:[A]");
    assert_eq!(visits(t), "0/forced/0 1/eos/0 2/forced/0 3/eos/0");
    assert_eq!(t.corrections, [Correction::EmptyStop { visit: 3 }]);
    let t = results[2].as_ref().unwrap();
    assert_eq!(spans(t), "F:[P]|F: t|G: abcdefgh|C:[A]|F:[P]|F: q|G: d [A]");
    assert_eq!(visits(t), "0/forced/0 1/limit/5 2/forced/0 3/pattern/6");
    assert_eq!(
        t.corrections,
        [Correction::OverLimit {
            visit: 1,
            claimed: 40,
            allowed: 5
        }]
    );
}

#[test]
fn zero_token_replies_cannot_keep_a_zone_open_forever() {
    let w = workflow(|p| {
        p.run("tight").unwrap();
    });
    // Every reply flips the escape and claims 0 tokens: each still counts 1.
    let mut g = FnGenerator::new(|r: &Request| {
        Ok::<_, std::io::Error>(Reply {
            text: r.stop().last().unwrap().to_string(),
            tokens: 0,
            end: End::Stop(r.stop().len() - 1),
        })
    });
    let t = Runner::new(options())
        .unwrap()
        .run(&mut g, [sample(&w)])
        .unwrap()
        .remove(0)
        .unwrap();
    assert_eq!(
        spans(&t),
        "F:[P]|F: t|G:[E]|G:[/E]|G:[E]|G:[/E]|G:[E]|C:[/E]|C:[A]"
    );
    assert_eq!(visits(&t), "0/forced/0 1/limit/5");
}

/// Fails `wait` after `ok` successful waits.
struct Dying {
    inner: Scripted,
    ok: usize,
}

impl Generator for Dying {
    type Error = std::io::Error;
    fn capacity(&self) -> usize {
        2
    }
    fn submit(&mut self, request: Request) {
        self.inner.submit(request)
    }
    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error> {
        if self.ok == 0 {
            return Err(std::io::Error::other("engine crashed"));
        }
        self.ok -= 1;
        let mut done = Vec::new();
        self.inner.wait(&mut done).map_err(std::io::Error::other)?;
        out.extend(done.into_iter().map(|c| Completion {
            id: c.id,
            stream: c.stream,
            result: c.result.map_err(std::io::Error::other),
        }));
        Ok(())
    }
}

#[test]
fn a_fatal_generator_error_ends_the_run_and_keeps_finished_results() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let mut g = Dying {
        inner: Scripted::new([
            vec![Output::from(" a [A]")],
            vec![Output::from(" [E]"), " never".into()],
            vec![Output::from(" c [A]")],
        ]),
        ok: 1,
    };
    let err = Runner::new(options())
        .unwrap()
        .run(&mut g, (0..3).map(|_| sample(&w)))
        .unwrap_err();
    assert!(matches!(err.fatal, FatalError::Generator(_)));
    // Streams 0 and 1 start (capacity 2); 0 finishes in the first `wait` and 2 starts; the
    // second `wait` fails: 1 and 2 are interrupted.
    assert_eq!(err.results.len(), 3);
    assert_eq!(err.results[0].as_ref().unwrap().text, "[P] q a [A]");
    let e = err.results[1].as_ref().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Interrupted(_)));
    assert_eq!(e.partial.as_ref().unwrap().text, "[P] q [E]");
    assert!(matches!(
        err.results[2].as_ref().unwrap_err().kind,
        ErrorKind::Interrupted(_)
    ));
    assert_eq!(
        err.to_string(),
        "the generator failed: engine crashed (1 of 3 started streams had finished; their \
         results are kept)"
    );
}

#[test]
fn tools_are_checked_by_name_and_must_be_registered() {
    let mut tools = Tools::new(["upper", "fail"]);
    let e = tools
        .add("uper", |s: &str| Ok::<_, std::io::Error>(s.to_owned()))
        .unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("upper"));
    assert!(e.at.starts_with("tests/exec_run.rs:"), "{}", e.at);
    assert!(e.to_string().ends_with(
        "tool `uper` is not declared in the document's `config.tools` (declared: upper, fail); \
         did you mean `upper`?"
    ));
    // A workflow whose output zone has no registered tool fails before any request.
    let w = mixed();
    let mut g = Scripted::new([script(0)]);
    let results = Runner::new(options())
        .unwrap()
        .run(&mut g, [sample(&w)])
        .unwrap();
    let e = results[0].as_ref().unwrap_err();
    assert!(matches!(&e.kind, ErrorKind::ToolNotRegistered { tool, .. } if &**tool == "upper"));
    assert_eq!(e.zone.as_ref().unwrap().sequence.as_ref(), "ask");
    assert_eq!(g.remaining(StreamId(0)), 2, "no request was made");
}

#[test]
fn invalid_options_are_refused_up_front() {
    for (o, msg) in [
        (
            RunOptions {
                max_in_flight: 0,
                ..options()
            },
            "`max_in_flight` must be at least 1",
        ),
        (
            RunOptions {
                sampling: Sampling {
                    top_p: 0.0,
                    ..Sampling::default()
                },
                ..options()
            },
            "`top_p` must be in (0, 1], got 0",
        ),
        (
            RunOptions {
                sampling: Sampling {
                    temperature: f32::NAN,
                    ..Sampling::default()
                },
                ..options()
            },
            "`temperature`",
        ),
        (
            RunOptions {
                max_tokens: Some(0),
                ..options()
            },
            "`max_tokens`",
        ),
    ] {
        let e = Runner::new(o).unwrap_err();
        assert!(e.to_string().contains(msg), "{e}");
    }
}

#[test]
fn a_loop_the_model_never_leaves_fails_at_the_visit_limit() {
    let w = workflow(|p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
    });
    // Outputs run out: every request gets end of sequence, which never takes the jump.
    let mut g = Scripted::new([vec![Output::from(" go [A]")]]);
    let runner = Runner::new(RunOptions {
        max_visits: 50,
        ..options()
    })
    .unwrap();
    let e = runner
        .run(&mut g, [sample(&w)])
        .unwrap()
        .remove(0)
        .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::VisitLimit { visits: 50 }));
    assert_eq!(e.partial.as_ref().unwrap().visits.len(), 50);
    assert!(
        e.to_string().contains("raise `RunOptions::max_visits`"),
        "{e}"
    );
}

#[test]
fn a_loop_of_fully_written_zones_fails_instead_of_spinning() {
    let w = workflow(|p| {
        p.loop_("full", |b| {
            b.run("full")?;
            Ok(())
        })
        .unwrap();
    });
    let e = run_one(&w, vec![]).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::InvalidWorkflow(_)));
    assert!(
        e.to_string().ends_with(
            "the stream visited 5 zones in a row without asking the model: a loop whose zones \
             are all fully written would never end"
        ),
        "{e}"
    );
}

#[test]
fn an_interrupted_run_resumes_skipping_the_streams_already_written() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let script = |i: usize| vec![Output::from(format!(" s{i} [A]"))];
    let runner = Runner::new(options()).unwrap();
    let mut full = Scripted::new((0..6).map(script));
    let all = runner.run(&mut full, (0..6).map(|_| sample(&w))).unwrap();
    // Streams 1 and 4 were written before the interruption: run the others only, with the
    // same ids (and so the same seeds).
    let written = [StreamId(1), StreamId(4)];
    let mut g = Scripted::new((0..6).map(script));
    let rest: Vec<_> = runner
        .execute(&mut g, (0..6).map(|_| sample(&w)))
        .skipping(|s| written.contains(&s))
        .map(Result::unwrap)
        .collect();
    let mut ids: Vec<u32> = rest.iter().map(|t| t.stream.0).collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 2, 3, 5]);
    for t in &rest {
        assert_eq!(t, all[t.stream.0 as usize].as_ref().unwrap());
    }
    assert_eq!(
        g.remaining(StreamId(1)),
        1,
        "a skipped stream makes no request"
    );
}

/// Records the streams released.
struct Releasing {
    inner: Scripted,
    released: Vec<StreamId>,
}

impl Generator for Releasing {
    type Error = <Scripted as Generator>::Error;
    fn submit(&mut self, request: Request) {
        self.inner.submit(request)
    }
    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error> {
        self.inner.wait(out)
    }
    fn release(&mut self, stream: StreamId) {
        self.released.push(stream);
    }
}

#[test]
fn every_stream_is_released_once_whether_it_finished_or_failed() {
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let mut g = Releasing {
        inner: Scripted::new([
            vec![Output::from(" a [A]")],
            vec![Output::Fail("boom".into())],
            vec![Output::from(" c [A]")],
        ]),
        released: Vec::new(),
    };
    let results = Runner::new(options())
        .unwrap()
        .run(&mut g, (0..3).map(|_| sample(&w)))
        .unwrap();
    assert!(results[0].is_ok() && results[1].is_err() && results[2].is_ok());
    g.released.sort();
    assert_eq!(g.released, [StreamId(0), StreamId(1), StreamId(2)]);
}
