//! Properties of execution: re-chunking the same model outputs into tokens any way, and
//! completing requests in any order, give the same results.

#[path = "exec/common.rs"]
mod common;

use common::*;
use forge::exec::{Output, RunOptions, Runner, Scripted, StreamResult};
use proptest::prelude::*;

/// Fragments the outputs are made of: patterns, their pieces, and plain text.
const PIECES: &[&str] = &[
    "a", " ", "é", "[A]", "[J]", "[E]", "[/E]", "[", "]", "A", "E", "/", "J", "[/", "P]",
];

fn output() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat())
}

/// Per stream: outputs, each with cut points (fractions of its length) for re-chunking.
fn scripts() -> impl Strategy<Value = Vec<Vec<(String, Vec<f64>)>>> {
    prop::collection::vec(
        prop::collection::vec((output(), prop::collection::vec(0.0..1.0f64, 0..6)), 0..10),
        1..6,
    )
}

/// Split `s` at the given fractions (moved to char boundaries); chunks are never empty.
fn chunks(s: &str, cuts: &[f64]) -> Vec<String> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|f| {
            let mut i = (f * s.len() as f64) as usize;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        })
        .filter(|&i| i > 0 && i < s.len())
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for i in at.into_iter().chain([s.len()]) {
        if i > prev {
            out.push(s[prev..i].to_owned());
            prev = i;
        }
    }
    out
}

fn run(scripts: Vec<Vec<Output>>, shuffle: Option<u64>, max_in_flight: usize) -> Vec<StreamResult> {
    // `loop(ctl, q)`, `when(ctl, capture(ask, upper) + feed(show), q)`, `q`: every rule that
    // depends on the text, with large budgets so that no token limit depends on the chunking.
    let w = workflow_with_budget(100_000, |p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
        p.when(
            "ctl",
            |t| {
                t.capture("ask", "upper")?;
                t.feed("show")?;
                Ok(())
            },
            |o| {
                o.run("q")?;
                Ok(())
            },
        )
        .unwrap();
        p.run("q").unwrap();
    });
    let n = scripts.len();
    let mut g = Scripted::new(scripts);
    if let Some(seed) = shuffle {
        g = g.shuffled(seed);
    }
    let runner = Runner::new(RunOptions {
        max_in_flight,
        max_tokens: None,
        max_visits: 60,
        ..options()
    })
    .unwrap()
    .with_tools(tools());
    runner.run(&mut g, (0..n).map(|_| sample(&w))).unwrap()
}

/// A result with token counts left out (they depend on the chunking), errors as text.
fn comparable(r: &StreamResult) -> String {
    match r {
        Ok(t) => {
            let mut t = t.clone();
            t.visits.iter_mut().for_each(|v| v.tokens = 0);
            format!("{t:?}")
        }
        Err(e) => format!("{e} / {:?}", e.partial.as_ref().map(|p| &p.text)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rechunking_and_completion_order_do_not_change_results(
        scripts in scripts(),
        seed in any::<u64>(),
        max_in_flight in 1usize..8,
    ) {
        let chars: Vec<Vec<Output>> = scripts
            .iter()
            .map(|s| s.iter().map(|(o, _)| Output::from(o.as_str())).collect())
            .collect();
        let tokens: Vec<Vec<Output>> = scripts
            .iter()
            .map(|s| s.iter().map(|(o, cuts)| Output::Tokens(chunks(o, cuts))).collect())
            .collect();
        let base = run(chars.clone(), None, 8);
        let rechunked = run(tokens, None, 8);
        let reordered = run(chars, Some(seed), max_in_flight);
        prop_assert_eq!(base.len(), scripts.len());
        for ((a, b), c) in base.iter().zip(&rechunked).zip(&reordered) {
            prop_assert_eq!(comparable(a), comparable(b));
            // Same chunking, any order and concurrency: identical, token counts included.
            prop_assert_eq!(format!("{a:?}"), format!("{c:?}"));
        }
    }
}
