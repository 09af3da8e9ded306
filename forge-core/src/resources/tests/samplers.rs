//! The list sampler and the LRU buffer.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;

use super::*;

// ---------------------------------------------------------------------------------------------
// list sampler
// ---------------------------------------------------------------------------------------------

#[test]
fn list_sampler_empty_list_is_a_construction_error() {
    let err = ListSampler::new(Vec::<String>::new()).unwrap_err();
    assert!(err.message().contains("empty"), "{err}");
}

#[test]
fn list_sampler_draws_distinct_items_and_clamps() {
    let s = ListSampler::new(["a", "b", "c", "d"]).unwrap();
    let mut cx = SampleContext::new(5);
    let two = s.sample(&args(2), &mut cx).unwrap();
    let lines: HashSet<&str> = two.lines().collect();
    assert_eq!(lines.len(), 2, "distinct: {two:?}");
    // Asking for more than the list holds gives every item exactly once.
    for seed in 0..20 {
        let s = ListSampler::new(["a", "b", "c", "d"]).unwrap();
        let mut cx = SampleContext::new(seed);
        let out = s.sample(&args(10), &mut cx).unwrap();
        let mut lines: Vec<&str> = out.split('\n').collect();
        lines.sort_unstable();
        assert_eq!(lines, ["a", "b", "c", "d"]);
    }
}

#[test]
fn list_sampler_zero_gives_empty_string_and_keeps_pool() {
    let s = ListSampler::new(["a", "b"]).unwrap();
    let mut cx = SampleContext::new(1);
    assert_eq!(s.sample(&args(0), &mut cx).unwrap(), "");
    // Nothing was drawn: the next call still starts the cycle.
    let mut both: Vec<String> = s
        .sample(&args(2), &mut cx)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    both.sort();
    assert_eq!(both, ["a", "b"]);
}

#[test]
fn list_sampler_all_is_list_order_and_leaves_pool_alone() {
    let s = ListSampler::new(["a", "b", "c", "d"]).unwrap();
    let mut cx = SampleContext::new(1);
    let first = s.sample(&args(1), &mut cx).unwrap();
    let before = cx.rng().clone();
    let all = s.sample(&ListArgs::new(NumSamples::All), &mut cx).unwrap();
    assert_eq!(all, "a\nb\nc\nd");
    assert_eq!(cx.rng(), &before, "`all` draws nothing from the RNG");
    // The cycle continues without `first`.
    let rest = s.sample(&args(3), &mut cx).unwrap();
    assert!(
        !rest.lines().any(|l| l == first),
        "{first} repeated in {rest:?}"
    );
}

#[test]
fn list_sampler_output_is_in_draw_order() {
    // Drawing the whole list in one call is a random permutation: not always list order.
    let mut orders = HashSet::new();
    for seed in 0..30 {
        let s = ListSampler::new(["a", "b", "c", "d"]).unwrap();
        orders.insert(s.sample(&args(4), &mut SampleContext::new(seed)).unwrap());
    }
    assert!(
        orders.len() > 5,
        "draw order varies with the seed: {orders:?}"
    );
}

/// The concatenation of all draws is a sequence of permutations of the list.
fn assert_cycles(stream: &[String], n: usize) {
    for (c, chunk) in stream.chunks(n).enumerate() {
        let distinct: HashSet<&String> = chunk.iter().collect();
        assert_eq!(
            distinct.len(),
            chunk.len(),
            "cycle {c} repeats an item: {chunk:?}"
        );
    }
}

#[test]
fn list_sampler_refill_gives_every_item_once_per_cycle() {
    let items: Vec<String> = (0..7).map(|i| format!("item{i}")).collect();
    for seed in 0..10u64 {
        let s = ListSampler::new(items.clone()).unwrap();
        let mut cx = SampleContext::new(seed);
        let mut stream = Vec::new();
        // Call sizes that straddle cycle boundaries in many ways.
        for k in [3, 3, 3, 5, 1, 7, 2, 6, 4, 4, 0, 9, 3] {
            let out = s.sample(&args(k), &mut cx).unwrap();
            let call: Vec<String> = if out.is_empty() {
                vec![]
            } else {
                out.split('\n').map(str::to_owned).collect()
            };
            assert_eq!(call.len(), k.min(7));
            let distinct: HashSet<&String> = call.iter().collect();
            assert_eq!(
                distinct.len(),
                call.len(),
                "items within a call are distinct"
            );
            stream.extend(call);
        }
        assert_cycles(&stream, 7);
    }
}

#[test]
fn list_sampler_refill_keeps_leftovers() {
    for seed in 0..20u64 {
        let s = ListSampler::new(["a", "b", "c"]).unwrap();
        let mut cx = SampleContext::new(seed);
        let first: Vec<String> = s
            .sample(&args(2), &mut cx)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let leftover = ["a", "b", "c"]
            .into_iter()
            .find(|x| !first.iter().any(|f| f == x))
            .unwrap();
        // The next call first takes the leftover (the original discarded it), then one item of
        // the new cycle that is not the leftover.
        let second = s.sample(&args(2), &mut cx).unwrap();
        let second: Vec<&str> = second.lines().collect();
        assert_eq!(second[0], leftover);
        assert_ne!(second[1], leftover);
        let third = s.sample(&args(2), &mut cx).unwrap();
        let mut cycle2: Vec<&str> = vec![second[1]];
        cycle2.extend(third.lines());
        cycle2.sort_unstable();
        assert_eq!(cycle2, ["a", "b", "c"]);
    }
}

#[test]
fn list_sampler_keeps_no_state_between_contexts() {
    // The cycle lives in the sample (outside a workflow's dataset stream): a clone, a new
    // context or another thread starts over and gives the same draws for the same seed.
    let s = Arc::new(ListSampler::new(["a", "b", "c", "d", "e", "f"]).unwrap());
    let draws = |s: &ListSampler, seed: u64| {
        let mut cx = SampleContext::new(seed);
        (0..5)
            .map(|_| s.sample(&args(3), &mut cx).unwrap())
            .collect::<Vec<_>>()
    };
    let expected: Vec<Vec<String>> = (0..4).map(|t| draws(&s, t)).collect();
    assert_eq!(draws(&s.clone(), 2), expected[2]);
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let s = Arc::clone(&s);
            thread::spawn(move || (0..50).map(|_| draws(&s, t)).collect::<Vec<_>>())
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        for got in h.join().unwrap() {
            assert_eq!(got, expected[t]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LRU buffer
// ---------------------------------------------------------------------------------------------

#[test]
fn lru_zero_capacity_is_a_construction_error() {
    assert!(LruBuffer::new(0).is_err());
    assert_eq!(LruBuffer::new(1).unwrap().capacity(), 1);
}

#[test]
fn lru_push_is_newest_first_and_evicts_oldest() {
    let b = LruBuffer::new(3).unwrap();
    assert!(b.is_empty());
    for s in ["1", "2", "3", "4", "5"] {
        b.push(s);
    }
    assert_eq!(b.len(), 3);
    assert_eq!(b.items(), ["5", "4", "3"]);
    b.push("4"); // duplicates are separate entries
    assert_eq!(b.items(), ["4", "5", "4"]);
    b.clear();
    assert!(b.is_empty());
}

#[test]
fn lru_sampling_sees_pushes_immediately_and_empty_is_blank() {
    let b = LruBuffer::new(4).unwrap();
    let handle = b.clone();
    let f = bind(b, &list_ph("num_samples = 2")).unwrap();
    let mut cx = SampleContext::new(0);
    assert_eq!(
        f.fill(&mut cx).unwrap(),
        "",
        "empty buffer gives an empty string"
    );
    handle.push("fresh");
    assert_eq!(
        f.fill(&mut cx).unwrap(),
        "fresh",
        "clamped to the one item held"
    );
    handle.push("newer");
    let out = f.fill(&mut cx).unwrap();
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["fresh", "newer"]);
}

#[test]
fn lru_draws_distinct_items_and_all_is_newest_first() {
    let b = LruBuffer::new(5).unwrap();
    for i in 0..8 {
        b.push(format!("x{i}"));
    }
    let mut cx = SampleContext::new(11);
    for _ in 0..20 {
        let out = b.sample(&args(3), &mut cx).unwrap();
        let lines: HashSet<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines
                .iter()
                .all(|l| ["x3", "x4", "x5", "x6", "x7"].contains(l))
        );
    }
    let clamped = b.sample(&args(50), &mut cx).unwrap();
    assert_eq!(clamped.lines().collect::<HashSet<_>>().len(), 5);
    assert_eq!(b.sample(&args(0), &mut cx).unwrap(), "");
    assert_eq!(
        b.sample(&ListArgs::new(NumSamples::All), &mut cx).unwrap(),
        "x7\nx6\nx5\nx4\nx3"
    );
}

#[test]
fn lru_concurrent_pushes_and_samples() {
    const CAP: usize = 16;
    const PUSHERS: usize = 3;
    const PER_PUSHER: usize = 400;
    let buf = LruBuffer::new(CAP).unwrap();
    // Every item is registered before it is pushed, so anything a sampler sees must be here.
    let pushed = Arc::new(Mutex::new(HashSet::<String>::new()));
    let filler = bind(buf.clone(), &list_ph("num_samples = 5")).unwrap();
    let all_filler = bind(buf.clone(), &list_ph("num_samples = \"all\"")).unwrap();

    let mut handles = Vec::new();
    for t in 0..PUSHERS {
        let buf = buf.clone();
        let pushed = Arc::clone(&pushed);
        handles.push(thread::spawn(move || {
            for j in 0..PER_PUSHER {
                let item = format!("t{t}-{j:04}");
                pushed.lock().unwrap().insert(item.clone());
                buf.push(item);
            }
        }));
    }
    for s in 0..3u64 {
        let filler = if s == 0 {
            all_filler.clone()
        } else {
            filler.clone()
        };
        let pushed = Arc::clone(&pushed);
        handles.push(thread::spawn(move || {
            let mut cx = SampleContext::new(s);
            for _ in 0..300 {
                let out = filler.fill(&mut cx).unwrap();
                let lines: Vec<&str> = out.lines().collect();
                assert!(lines.len() <= CAP);
                let distinct: HashSet<&&str> = lines.iter().collect();
                assert_eq!(distinct.len(), lines.len(), "distinct within a sample");
                let known = pushed.lock().unwrap();
                for l in &lines {
                    assert!(known.contains(*l), "sampled {l:?}, which was never pushed");
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }

    let items = buf.items();
    assert_eq!(items.len(), CAP, "full after more pushes than capacity");
    // Per pusher, the items held are exactly its newest ones, newest first: nothing within
    // capacity was lost and nothing older survived a newer one.
    for t in 0..PUSHERS {
        let mine: Vec<usize> = items
            .iter()
            .filter_map(|s| s.strip_prefix(&format!("t{t}-")))
            .map(|j| j.parse().unwrap())
            .collect();
        let expected: Vec<usize> = (PER_PUSHER - mine.len()..PER_PUSHER).rev().collect();
        assert_eq!(mine, expected, "pusher {t}");
    }
    // And the final state is the newest CAP pushes: after a quiescent point, CAP more pushes
    // replace everything.
    for i in 0..CAP {
        buf.push(format!("final{i}"));
    }
    let expected: Vec<String> = (0..CAP).rev().map(|i| format!("final{i}")).collect();
    assert_eq!(buf.items(), expected);
}
