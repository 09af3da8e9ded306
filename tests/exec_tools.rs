//! Tool calls run off the runner's thread, concurrently and bounded
//! (`RunOptions::max_tool_calls`): a slow tool holds up its own stream only, the bound is
//! respected, a failing or panicking tool fails its stream only, and results do not depend on
//! the order in which calls finish.

#[path = "exec/common.rs"]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use forge::exec::{ErrorKind, Output, RunOptions, Runner, Scripted, StreamResult, Tools};
use forge::program::Workflow;

/// `capture(ask, upper)` then `feed(show)`: one tool call per stream.
fn asking() -> Workflow {
    workflow(|p| {
        p.capture("ask", "upper").unwrap();
        p.feed("show").unwrap();
    })
}

/// Stream `i` asks the tool about `ask{i}`.
fn scripts(n: usize) -> Vec<Vec<Output>> {
    (0..n)
        .map(|i| vec![Output::from(format!(" ask{i} [A]"))])
        .collect()
}

/// Calls in progress, as the tool itself sees them.
#[derive(Default)]
struct Gauge {
    state: Mutex<(usize, usize)>,
    changed: Condvar,
}

impl Gauge {
    /// Enter a call; wait until `overlap` calls have been in progress at once (or 10 s), so
    /// that calls made one after another cannot pass for concurrent ones.
    fn enter(&self, overlap: usize) {
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        state.1 = state.1.max(state.0);
        self.changed.notify_all();
        let deadline = Instant::now() + Duration::from_secs(10);
        while state.1 < overlap && Instant::now() < deadline {
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    fn leave(&self) {
        self.state.lock().unwrap().0 -= 1;
    }

    /// The most calls seen in progress at once.
    fn max(&self) -> usize {
        self.state.lock().unwrap().1
    }
}

/// An `upper` tool that records its concurrency in `gauge` and sleeps a little.
fn gauged(gauge: &Arc<Gauge>, overlap: usize) -> Tools {
    let gauge = Arc::clone(gauge);
    let mut tools = Tools::new(["upper", "fail"]);
    tools
        .add("upper", move |s: &str| {
            gauge.enter(overlap);
            std::thread::sleep(Duration::from_millis(20));
            gauge.leave();
            Ok::<_, std::io::Error>(s.to_uppercase())
        })
        .unwrap();
    tools
}

fn run(tools: Tools, max_tool_calls: usize, n: usize) -> Vec<StreamResult> {
    let w = asking();
    let mut g = Scripted::new(scripts(n));
    Runner::new(RunOptions {
        max_tool_calls,
        ..options()
    })
    .unwrap()
    .with_tools(tools)
    .run(&mut g, (0..n).map(|_| sample(&w)))
    .unwrap()
}

fn texts(results: &[StreamResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| r.as_ref().expect("the stream finishes").text.clone())
        .collect()
}

#[test]
fn tool_calls_of_many_streams_overlap_up_to_the_bound() {
    let gauge = Arc::new(Gauge::default());
    let results = run(gauged(&gauge, 3), 3, 8);
    // Three calls were in progress at once, never more.
    assert_eq!(gauge.max(), 3);
    let expected: Vec<String> = (0..8)
        .map(|i| format!("[P] ask ask{i} [A][P] got: ASK{i} [A]"))
        .collect();
    assert_eq!(texts(&results), expected);
}

#[test]
fn a_bound_of_one_calls_tools_one_at_a_time_with_the_same_results() {
    let one = Arc::new(Gauge::default());
    // Nothing waits for an overlap that cannot happen: `enter` gives up after 10 s only if
    // asked for more than the bound, so ask for 1.
    let serial = run(gauged(&one, 1), 1, 6);
    assert_eq!(one.max(), 1);
    let many = Arc::new(Gauge::default());
    let concurrent = run(gauged(&many, 6), 16, 6);
    assert_eq!(many.max(), 6, "all six calls ran at once");
    assert_eq!(texts(&serial), texts(&concurrent));
}

#[test]
fn a_slow_tool_holds_up_its_own_stream_only() {
    let released = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&released);
    let mut tools = Tools::new(["upper", "fail"]);
    tools
        .add("upper", move |s: &str| {
            if s.contains("ask0") {
                // Stream 0's call lasts until the test has seen every other stream finish.
                let deadline = Instant::now() + Duration::from_secs(10);
                while !flag.load(Ordering::SeqCst) {
                    if Instant::now() > deadline {
                        return Err(std::io::Error::other("never released"));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            Ok(s.to_uppercase())
        })
        .unwrap();
    let w = asking();
    let mut g = Scripted::new(scripts(5));
    let runner = Runner::new(options()).unwrap().with_tools(tools);
    let mut execution = runner.execute(&mut g, (0..5).map(|_| sample(&w)));
    let mut order = Vec::new();
    for result in execution.by_ref() {
        let t = result.expect("every stream finishes");
        order.push(t.stream.0);
        if order.len() == 4 {
            released.store(true, Ordering::SeqCst);
        }
    }
    assert_eq!(order.len(), 5);
    assert_eq!(order[4], 0, "stream 0 finished last: {order:?}");
}

#[test]
fn a_failing_or_panicking_tool_fails_its_stream_only() {
    let mut tools = Tools::new(["upper", "fail"]);
    tools
        .add("upper", |s: &str| {
            if s.contains("ask1") {
                return Err(std::io::Error::other("no answer for ask1"));
            }
            if s.contains("ask2") {
                panic!("tool bug on ask2");
            }
            std::thread::sleep(Duration::from_millis(10));
            Ok(s.to_uppercase())
        })
        .unwrap();
    let results = run(tools, 4, 4);
    assert_eq!(
        results[0].as_ref().unwrap().text,
        "[P] ask ask0 [A][P] got: ASK0 [A]"
    );
    assert_eq!(
        results[3].as_ref().unwrap().text,
        "[P] ask ask3 [A][P] got: ASK3 [A]"
    );
    for (i, message) in [
        (1, "tool `upper` failed: no answer for ask1"),
        (
            2,
            "tool `upper` failed: the tool panicked: tool bug on ask2",
        ),
    ] {
        let e = results[i].as_ref().unwrap_err();
        assert!(
            matches!(&e.kind, ErrorKind::Tool { tool, .. } if &**tool == "upper"),
            "{e}"
        );
        assert!(e.to_string().contains(message), "{e}");
        assert_eq!(e.zone.as_ref().unwrap().sequence.as_ref(), "ask");
        // What the stream did before the call is kept.
        assert_eq!(
            e.partial.as_ref().unwrap().text,
            format!("[P] ask ask{i} [A]")
        );
    }
}

#[test]
fn a_bound_of_zero_tool_calls_is_refused() {
    let e = Runner::new(RunOptions {
        max_tool_calls: 0,
        ..options()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid run options: `max_tool_calls` must be at least 1"
    );
}
