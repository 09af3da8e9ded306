//! Unit tests of the resources module.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde::Deserialize;

use super::*;
use crate::diagnostics::Location;
use crate::udpl::{Placeholder, ResourceKind};

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn loc(line: u32, column: u32) -> Location {
    Location {
        file: Arc::from("prompts.toml"),
        line,
        column,
    }
}

/// A placeholder `{key}` naming `resource`, with `arguments` given as TOML table body
/// (`None` = no `arguments` key).
fn ph(key: &str, resource: &str, kind: ResourceKind, arguments: Option<&str>) -> Placeholder {
    let table: toml::Table = arguments
        .map(|a| a.parse().expect("test arguments are valid TOML"))
        .unwrap_or_default();
    Placeholder {
        key: key.into(),
        resource: resource.into(),
        kind,
        arguments: table,
        has_arguments: arguments.is_some(),
        spec_location: loc(31, 1),
        arguments_location: if arguments.is_some() {
            loc(33, 13)
        } else {
            loc(31, 1)
        },
        location: loc(27, 40),
        default: None,
    }
}

fn site<'a>(p: &'a Placeholder) -> Site<'a> {
    Site {
        sequence: "setup",
        block: 2,
        placeholder: p,
    }
}

fn bind(b: impl Into<Binding>, p: &Placeholder) -> Result<Filler, BindError> {
    b.into().bind(&site(p))
}

fn list_ph(args: &str) -> Placeholder {
    ph(
        "principles",
        "constitution",
        ResourceKind::Standard,
        Some(args),
    )
}

fn args(n: usize) -> ListArgs {
    ListArgs::new(n)
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

// ---------------------------------------------------------------------------------------------
// marker traits
// ---------------------------------------------------------------------------------------------

#[test]
fn shared_types_are_send_and_sync() {
    assert_send_sync::<Binding>();
    assert_send_sync::<Filler>();
    assert_send_sync::<Bindings>();
    assert_send_sync::<ListSampler>();
    assert_send_sync::<LruBuffer>();
    assert_send_sync::<StaticString>();
    assert_send_sync::<ResourceError>();
    assert_send_sync::<BindError>();
    assert_send_sync::<FillError>();
    assert_send::<SampleContext>();
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<ResourceError>();
    assert_error::<BindError>();
    assert_error::<FillError>();
}

// ---------------------------------------------------------------------------------------------
// RNG helper
// ---------------------------------------------------------------------------------------------

#[test]
fn random_below_stays_in_range_and_covers_it() {
    let mut cx = SampleContext::new(9);
    assert_eq!(cx.random_index(0), 0);
    assert_eq!(cx.random_index(1), 0);
    for n in 2..12usize {
        let mut seen = vec![false; n];
        for _ in 0..400 {
            let i = cx.random_index(n);
            assert!(i < n);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value of 0..{n} drawn");
    }
    // Huge bounds do not panic or overflow.
    assert!(cx.random_index(usize::MAX) < usize::MAX);
}

#[test]
fn same_seed_same_rng_stream() {
    let mut a = SampleContext::new(1234);
    let mut b = SampleContext::new(1234);
    let xs: Vec<usize> = (0..50).map(|_| a.random_index(1000)).collect();
    let ys: Vec<usize> = (0..50).map(|_| b.random_index(1000)).collect();
    assert_eq!(xs, ys);
    let mut c = SampleContext::new(1235);
    let zs: Vec<usize> = (0..50).map(|_| c.random_index(1000)).collect();
    assert_ne!(xs, zs);
}

// ---------------------------------------------------------------------------------------------
// static strings and plain values
// ---------------------------------------------------------------------------------------------

#[test]
fn static_string_returns_its_text_without_arguments() {
    let mut cx = SampleContext::new(0);
    for p in [
        ph("s", "s", ResourceKind::Standard, None),
        ph("s", "s", ResourceKind::Standard, Some("")), // `arguments = {}` is no arguments
    ] {
        let f = bind(StaticString::new("hello {world}"), &p).unwrap();
        assert_eq!(f.fill(&mut cx).unwrap(), "hello {world}");
        assert_eq!(f.fill(&mut cx).unwrap(), "hello {world}");
    }
}

#[test]
fn static_string_with_arguments_fails_at_bind() {
    let p = ph(
        "greeting",
        "hello",
        ResourceKind::Standard,
        Some("num_samples = 3"),
    );
    let err = bind("hi", &p).unwrap_err();
    assert_eq!(
        err.message(),
        "`static string` takes no arguments, but the placeholder passes `num_samples`"
    );
    assert_eq!(err.help(), Some("remove `arguments` from the spec"));
    // At the `arguments` value, not the spec table's header.
    assert_eq!(err.location(), &loc(33, 13));
    let shown = err.to_string();
    assert!(shown.contains("resource `hello`"), "{shown}");
    assert!(shown.contains("placeholder `{greeting}`"), "{shown}");
    assert!(shown.contains("prompts.toml:33:13"), "{shown}");
}

#[test]
fn plain_values_bind_as_static_strings() {
    let mut cx = SampleContext::new(0);
    let p = ph("v", "v", ResourceKind::Custom, None);
    let cases: Vec<(Binding, &str)> = vec![
        ("text".into(), "text"),
        (String::from("owned").into(), "owned"),
        (42u8.into(), "42"),
        ((-7i64).into(), "-7"),
        (3usize.into(), "3"),
        (2.5f64.into(), "2.5"),
        (0.5f32.into(), "0.5"),
        (true.into(), "true"),
        ('x'.into(), "x"),
        (u128::MAX.into(), "340282366920938463463374607431768211455"),
        (StaticString::display(&"shown").into(), "shown"),
    ];
    for (binding, expected) in cases {
        assert_eq!(binding.lifecycle(), Lifecycle::Instance);
        assert_eq!(binding.describe(), "static string");
        assert_eq!(
            binding.bind(&site(&p)).unwrap().fill(&mut cx).unwrap(),
            expected
        );
    }
}

#[test]
fn no_args_accepts_empty_and_rejects_keys() {
    let empty = toml::Table::new();
    assert_eq!(empty.try_into::<NoArgs>().unwrap(), NoArgs);
    let mut t = toml::Table::new();
    t.insert("x".into(), toml::Value::Integer(1));
    let err = t.try_into::<NoArgs>().unwrap_err();
    assert!(
        err.message().contains("takes no arguments"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("`x`"), "{}", err.message());
}

// ---------------------------------------------------------------------------------------------
// num_samples
// ---------------------------------------------------------------------------------------------

fn parse_list_args(body: &str) -> Result<ListArgs, String> {
    let t: toml::Table = body.parse().unwrap();
    t.try_into::<ListArgs>().map_err(|e| e.message().to_owned())
}

#[test]
fn num_samples_accepts_counts_and_all_only() {
    assert_eq!(parse_list_args("num_samples = 0").unwrap(), args(0));
    assert_eq!(parse_list_args("num_samples = 3").unwrap(), args(3));
    assert_eq!(
        parse_list_args("num_samples = \"all\"").unwrap(),
        ListArgs::new(NumSamples::All)
    );
    let neg = parse_list_args("num_samples = -1").unwrap_err();
    assert!(neg.contains("got -1"), "{neg}");
    let word = parse_list_args("num_samples = \"ALL\"").unwrap_err();
    assert!(word.contains("\"ALL\""), "{word}");
    let float = parse_list_args("num_samples = 1.5").unwrap_err();
    assert!(float.contains("float 1.5"), "{float}");
    let boolean = parse_list_args("num_samples = true").unwrap_err();
    assert!(boolean.contains("boolean"), "{boolean}");
    let missing = parse_list_args("").unwrap_err();
    assert!(missing.contains("missing field `num_samples`"), "{missing}");
    let unknown = parse_list_args("num_samples = 1\nnum_sample = 2").unwrap_err();
    assert!(unknown.contains("unknown field `num_sample`"), "{unknown}");
    assert_eq!(NumSamples::Count(10).clamp(4), 4);
    assert_eq!(NumSamples::Count(2).clamp(4), 2);
    assert_eq!(NumSamples::All.clamp(4), 4);
}

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

// ---------------------------------------------------------------------------------------------
// reproducibility
// ---------------------------------------------------------------------------------------------

fn run_workflow(seed: u64) -> String {
    let list = Binding::instance(ListSampler::new((0..9).map(|i| format!("p{i}"))).unwrap());
    let lru = LruBuffer::new(6).unwrap();
    for i in 0..10 {
        lru.push(format!("fb{i}"));
    }
    let lru: Binding = lru.into();
    let fresh = Binding::cached_factory(|| ListSampler::new(["u", "v", "w", "x"]).unwrap());
    let p1 = list_ph("num_samples = 4");
    let p2 = ph(
        "fb",
        "feedback",
        ResourceKind::Standard,
        Some("num_samples = 3"),
    );
    let p3 = ph(
        "w",
        "words",
        ResourceKind::Standard,
        Some("num_samples = 3"),
    );
    let fillers = [
        list.bind(&site(&p1)).unwrap(),
        lru.bind(&site(&p2)).unwrap(),
        fresh.bind(&site(&p3)).unwrap(),
    ];
    let mut out = String::new();
    for sample in 0..5 {
        let mut cx = SampleContext::new(seed.wrapping_add(sample));
        for f in &fillers {
            out.push_str(&f.fill(&mut cx).unwrap());
            out.push('|');
        }
    }
    out
}

#[test]
fn same_seed_and_resources_give_identical_output() {
    assert_eq!(run_workflow(17), run_workflow(17));
    assert_ne!(run_workflow(17), run_workflow(18));
}

// ---------------------------------------------------------------------------------------------
// lifecycles (the LlamaIndex seed's examples in forge terms)
// ---------------------------------------------------------------------------------------------

/// A chat memory: each fill appends its message and returns everything so far.
#[derive(Default)]
struct Memory {
    messages: Mutex<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryArgs {
    message: String,
}

impl Resource for Memory {
    type Args = MemoryArgs;
    fn sample(&self, args: &MemoryArgs, _cx: &mut SampleContext) -> Result<String, ResourceError> {
        let mut m = self.messages.lock().unwrap();
        m.push(args.message.clone());
        Ok(m.join("\n"))
    }
    fn describe() -> &'static str {
        "memory"
    }
}

fn memory_ph(key: &str, message: &str) -> Placeholder {
    ph(
        key,
        "memory",
        ResourceKind::Standard,
        Some(&format!("message = {message:?}")),
    )
}

#[test]
fn cached_factory_memory_is_shared_within_a_sample_and_separate_across_samples() {
    let made = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&made);
    let memory = Binding::cached_factory(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Memory::default()
    });
    assert_eq!(memory.lifecycle(), Lifecycle::CachedFactory);
    let steps = [
        memory_ph("first", "First step: Happy birthday!"),
        memory_ph("second", "Second step: Python is awesome!"),
        memory_ph("third", "Third step: Hello World!"),
    ];
    let fillers: Vec<Filler> = steps
        .iter()
        .map(|p| memory.bind(&site(p)).unwrap())
        .collect();
    assert_eq!(
        made.load(Ordering::SeqCst),
        0,
        "factories are not called at bind time"
    );

    let mut sample1 = SampleContext::new(1);
    assert!(!sample1.has_cached("memory"));
    let outs: Vec<String> = fillers
        .iter()
        .map(|f| f.fill(&mut sample1).unwrap())
        .collect();
    assert!(sample1.has_cached("memory"));
    assert_eq!(
        outs[2],
        "First step: Happy birthday!\nSecond step: Python is awesome!\nThird step: Hello World!"
    );
    assert_eq!(made.load(Ordering::SeqCst), 1, "one instance per sample");

    let mut sample2 = SampleContext::new(1);
    assert_eq!(
        fillers[0].fill(&mut sample2).unwrap(),
        "First step: Happy birthday!",
        "a new sample starts with an empty memory"
    );
    assert_eq!(
        fillers[1].fill(&mut sample2).unwrap(),
        "First step: Happy birthday!\nSecond step: Python is awesome!"
    );
    assert_eq!(made.load(Ordering::SeqCst), 2);
}

#[test]
fn cached_factory_instances_are_private_to_concurrent_samples() {
    let memory = Binding::cached_factory(Memory::default);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let p = memory_ph("m", &format!("thread {t}"));
            let f = memory.bind(&site(&p)).unwrap();
            thread::spawn(move || {
                for sample in 0..20u64 {
                    let mut cx = SampleContext::new(sample);
                    for fill in 1..=5 {
                        let out = f.fill(&mut cx).unwrap();
                        let lines: Vec<&str> = out.lines().collect();
                        assert_eq!(lines.len(), fill, "only this sample's fills");
                        let mine = format!("thread {t}");
                        assert!(lines.iter().all(|l| *l == mine), "{out:?}");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// Counts its own uses.
#[derive(Default)]
struct Counter {
    count: AtomicUsize,
}

impl Resource for Counter {
    type Args = NoArgs;
    fn sample(&self, _: &NoArgs, _: &mut SampleContext) -> Result<String, ResourceError> {
        Ok((self.count.fetch_add(1, Ordering::SeqCst) + 1).to_string())
    }
}

fn counter_fills(binding: &Binding, samples: u64, fills_per_sample: usize) -> Vec<String> {
    let a = ph("first", "counter", ResourceKind::Standard, None);
    let b = ph("second", "counter", ResourceKind::Standard, None);
    let fa = binding.bind(&site(&a)).unwrap();
    let fb = binding.bind(&site(&b)).unwrap();
    let mut out = Vec::new();
    for s in 0..samples {
        let mut cx = SampleContext::new(s);
        for _ in 0..fills_per_sample {
            out.push(fa.fill(&mut cx).unwrap());
            out.push(fb.fill(&mut cx).unwrap());
        }
    }
    out
}

#[test]
fn uncached_factory_counter_reads_one_at_each_use() {
    let b = Binding::uncached_factory(Counter::default);
    assert_eq!(b.lifecycle(), Lifecycle::UncachedFactory);
    assert_eq!(counter_fills(&b, 2, 2), ["1"; 8]);
}

#[test]
fn lifecycles_differ_as_documented() {
    // Instance: one counter for the whole program.
    let inst = Binding::instance(Counter::default());
    assert_eq!(counter_fills(&inst, 2, 1), ["1", "2", "3", "4"]);
    // Cached factory: one counter per sample, shared by both placeholders.
    let cached = Binding::cached_factory(Counter::default);
    assert_eq!(counter_fills(&cached, 2, 1), ["1", "2", "1", "2"]);
    // Shared Arc: the caller's handle sees the program's uses.
    let handle = Arc::new(Counter::default());
    let shared: Binding = Arc::clone(&handle).into();
    counter_fills(&shared, 1, 3);
    assert_eq!(handle.count.load(Ordering::SeqCst), 6);
}

#[test]
fn cache_is_keyed_by_resource_name_not_factory() {
    // Two different closures bound under the same name share one object per sample ...
    let b1 = Binding::cached_factory(Counter::default);
    let b2 = Binding::cached_factory(|| Counter {
        count: AtomicUsize::new(100),
    });
    let p1 = ph("a", "counter", ResourceKind::Standard, None);
    let p2 = ph("b", "counter", ResourceKind::Standard, None);
    let (f1, f2) = (b1.bind(&site(&p1)).unwrap(), b2.bind(&site(&p2)).unwrap());
    let mut cx = SampleContext::new(0);
    assert_eq!(f1.fill(&mut cx).unwrap(), "1");
    assert_eq!(f2.fill(&mut cx).unwrap(), "2");
    // ... and the same closure under two names gives two objects.
    let b = Binding::cached_factory(Counter::default);
    let q1 = ph("a", "left", ResourceKind::Standard, None);
    let q2 = ph("b", "right", ResourceKind::Standard, None);
    let (g1, g2) = (b.bind(&site(&q1)).unwrap(), b.bind(&site(&q2)).unwrap());
    let mut cx = SampleContext::new(0);
    assert_eq!(g1.fill(&mut cx).unwrap(), "1");
    assert_eq!(g2.fill(&mut cx).unwrap(), "1");
    assert_eq!(g1.fill(&mut cx).unwrap(), "2");
}

#[test]
fn same_name_with_two_types_in_one_sample_is_a_fill_error() {
    let counter = Binding::cached_factory(Counter::default);
    let memory = Binding::cached_factory(Memory::default);
    let p1 = ph("a", "thing", ResourceKind::Standard, None);
    let p2 = ph(
        "b",
        "thing",
        ResourceKind::Standard,
        Some("message = \"m\""),
    );
    let f1 = counter.bind(&site(&p1)).unwrap();
    let f2 = memory.bind(&site(&p2)).unwrap();
    let mut cx = SampleContext::new(0);
    assert_eq!(f1.fill(&mut cx).unwrap(), "1");
    let err = f2.fill(&mut cx).unwrap_err();
    assert!(
        err.resource_error().message().contains("different type"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

/// A list-argument resource that counts how often it is sampled.
struct Probe(Arc<AtomicUsize>);

impl Resource for Probe {
    type Args = ListArgs;
    fn sample(&self, _: &ListArgs, _: &mut SampleContext) -> Result<String, ResourceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(String::new())
    }
    fn describe() -> &'static str {
        "probe"
    }
}

#[test]
fn missing_num_samples_fails_at_bind_with_location_and_help() {
    let p = ph("principles", "constitution", ResourceKind::Standard, None);
    let err = bind(ListSampler::new(["a"]).unwrap(), &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot bind resource `constitution` to placeholder `{principles}` (sequence `setup`, \
         block 2) at program setup: `list sampler` arguments: missing field `num_samples`\n  \
         --> prompts.toml:31:1\n   |\n   = help: add `arguments = { num_samples = 3 }` to the spec"
    );
    let site = err.site();
    assert_eq!(
        (
            site.resource.as_str(),
            site.placeholder.as_str(),
            site.sequence.as_str()
        ),
        ("constitution", "principles", "setup")
    );
    assert_eq!((site.block, site.stage()), (2, "program setup"));
    assert_eq!(site.text_location, loc(27, 40));

    // The diagnostic rendering points at the spec too.
    let d = err.to_diagnostic();
    assert_eq!((d.line, d.column), (31, 1));
    assert!(
        d.render_short()
            .starts_with("prompts.toml:31:1: error: cannot bind")
    );
}

#[test]
fn bad_arguments_fail_before_anything_is_sampled() {
    let used = Arc::new(AtomicUsize::new(0));
    let probe = Binding::shared(Arc::new(Probe(Arc::clone(&used))));
    let factory_calls = Arc::new(AtomicUsize::new(0));
    let fc = Arc::clone(&factory_calls);
    let factory = Binding::cached_factory(move || {
        fc.fetch_add(1, Ordering::SeqCst);
        ListSampler::new(["a"]).unwrap()
    });
    let cases = [
        ("num_samples = -1", "got -1"),
        ("num_samples = \"some\"", "got the string \"some\""),
        ("num_samples = 2\nextra = 1", "unknown field `extra`"),
        ("count = 2", "unknown field `count`"),
    ];
    for (kind, stage) in [
        (ResourceKind::Standard, "program setup"),
        (ResourceKind::Custom, "sequence invocation"),
        (ResourceKind::Argument, "sampling"),
    ] {
        for (body, expected) in cases {
            let p = ph("x", "res", kind, Some(body));
            for b in [&probe, &factory] {
                let err = b.bind(&site(&p)).unwrap_err();
                assert!(err.message().contains(expected), "{err}");
                assert!(err.to_string().contains(&format!("at {stage}:")), "{err}");
                // At the `arguments` value.
                assert!(err.to_string().contains("prompts.toml:33:13"), "{err}");
            }
        }
    }
    let err = factory
        .bind(&site(&ph(
            "x",
            "res",
            ResourceKind::Standard,
            Some("count = 2"),
        )))
        .unwrap_err();
    assert_eq!(
        err.help(),
        Some("`list sampler` expects arguments like `arguments = { num_samples = 3 }`")
    );
    assert_eq!(used.load(Ordering::SeqCst), 0);
    assert_eq!(factory_calls.load(Ordering::SeqCst), 0);
}

/// Fails on its second use.
#[derive(Default)]
struct FailsOnSecond {
    calls: AtomicUsize,
}

impl Resource for FailsOnSecond {
    type Args = NoArgs;
    fn sample(&self, _: &NoArgs, cx: &mut SampleContext) -> Result<String, ResourceError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 1 {
            let io = std::io::Error::other("backend unavailable");
            return Err(ResourceError::with_source("lookup failed", io));
        }
        Ok(format!("ok{}", cx.random_index(10)))
    }
}

#[test]
fn a_resource_error_fails_that_sample_only() {
    let flaky = Binding::instance(FailsOnSecond::default());
    let fixed: Binding = "steady".into();
    let p = ph("fb", "feedback", ResourceKind::Standard, None);
    let q = ph("s", "steady", ResourceKind::Standard, None);
    let (f, g) = (
        flaky.bind(&site(&p)).unwrap(),
        fixed.bind(&site(&q)).unwrap(),
    );
    let sample = |seed| -> Result<String, FillError> {
        let mut cx = SampleContext::new(seed);
        Ok(format!("{} {}", g.fill(&mut cx)?, f.fill(&mut cx)?))
    };
    assert!(sample(1).unwrap().starts_with("steady ok"));
    let err = sample(2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource `feedback` failed to fill placeholder `{fb}` (sequence `setup`, block 2; \
         bound at program setup): lookup failed\n  --> prompts.toml:31:1"
    );
    // The resource's message is in the headline; the chain goes on with its cause, so no
    // message is printed twice by a reporter walking `source()`.
    assert_eq!(err.resource_error().message(), "lookup failed");
    let io = std::error::Error::source(&err).expect("the resource's cause");
    assert_eq!(io.to_string(), "backend unavailable");
    assert!(io.source().is_none());
    assert!(
        sample(3).unwrap().starts_with("steady ok"),
        "later samples work"
    );
}

#[test]
fn a_failing_factory_fails_the_sample() {
    let b = Binding::try_uncached_factory(|| ListSampler::new(Vec::<String>::new()));
    let f = b.bind(&site(&list_ph("num_samples = 1"))).unwrap();
    let err = f.fill(&mut SampleContext::new(0)).unwrap_err();
    assert!(err.resource_error().message().contains("empty"), "{err}");
    let c = Binding::try_cached_factory(|| LruBuffer::new(0));
    let f = c.bind(&site(&list_ph("num_samples = 1"))).unwrap();
    let mut cx = SampleContext::new(0);
    assert!(f.fill(&mut cx).is_err());
    assert!(
        !cx.has_cached("constitution"),
        "a failed factory caches nothing"
    );
}

#[test]
fn bindings_map_binds_by_name_and_reports_missing_names() {
    let mut map = Bindings::new();
    map.insert("min", 3).insert("max", "six");
    assert_eq!((map.len(), map.is_empty()), (2, false));
    assert!(map.contains("min") && !map.contains("mid"));
    let mut names: Vec<&str> = map.names().collect();
    names.sort_unstable();
    assert_eq!(names, ["max", "min"]);
    let p = ph("lo", "min", ResourceKind::Custom, None);
    let mut cx = SampleContext::new(0);
    assert_eq!(map.bind(&site(&p)).unwrap().fill(&mut cx).unwrap(), "3");
    let missing = ph("mid", "mid", ResourceKind::Custom, None);
    let err = map.bind(&site(&missing)).unwrap_err();
    assert_eq!(err.message(), "no resource named `mid` is bound");
    assert!(err.to_string().contains("at sequence invocation"), "{err}");
}

/// A user's own resource with its own argument type, using the sample's RNG.
struct Dice;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiceArgs {
    sides: u32,
    #[serde(default = "one")]
    rolls: u32,
}

fn one() -> u32 {
    1
}

impl Resource for Dice {
    type Args = DiceArgs;
    fn sample(&self, args: &DiceArgs, cx: &mut SampleContext) -> Result<String, ResourceError> {
        if args.sides == 0 {
            return Err(ResourceError::new("a die needs at least one side"));
        }
        let rolls: Vec<String> = (0..args.rolls)
            .map(|_| (cx.random_index(args.sides as usize) + 1).to_string())
            .collect();
        Ok(rolls.join(","))
    }
    fn describe() -> &'static str {
        "dice"
    }
    fn arguments_example() -> Option<&'static str> {
        Some("{ sides = 6 }")
    }
}

#[test]
fn users_own_resources_get_typed_arguments() {
    let p = ph(
        "roll",
        "dice",
        ResourceKind::Argument,
        Some("sides = 6\nrolls = 4"),
    );
    let f = bind(Dice, &p).unwrap();
    let out = f.fill(&mut SampleContext::new(2)).unwrap();
    let rolls: Vec<u32> = out.split(',').map(|r| r.parse().unwrap()).collect();
    assert_eq!(rolls.len(), 4);
    assert!(rolls.iter().all(|r| (1..=6).contains(r)));
    assert_eq!(out, f.fill(&mut SampleContext::new(2)).unwrap(), "seeded");

    let defaulted = bind(
        Dice,
        &ph("r", "dice", ResourceKind::Argument, Some("sides = 2")),
    );
    assert_eq!(
        defaulted
            .unwrap()
            .fill(&mut SampleContext::new(0))
            .unwrap()
            .len(),
        1
    );

    let err = bind(Dice, &ph("r", "dice", ResourceKind::Argument, None)).unwrap_err();
    assert!(err.message().contains("missing field `sides`"), "{err}");
    assert_eq!(
        err.help(),
        Some("add `arguments = { sides = 6 }` to the spec")
    );
    assert!(err.to_string().contains("at sampling:"), "{err}");

    let wrong_type = bind(
        Dice,
        &ph("r", "dice", ResourceKind::Argument, Some("sides = \"six\"")),
    );
    assert!(wrong_type.unwrap_err().message().contains("invalid type"));

    let zero = bind(
        Dice,
        &ph("r", "dice", ResourceKind::Argument, Some("sides = 0")),
    )
    .unwrap();
    assert!(zero.fill(&mut SampleContext::new(0)).is_err());
}

#[test]
fn debug_output_names_the_binding() {
    let b = Binding::cached_factory(Counter::default);
    let shown = format!("{b:?}");
    assert!(shown.contains("CachedFactory"), "{shown}");
    let f = b
        .bind(&site(&ph("c", "counter", ResourceKind::Standard, None)))
        .unwrap();
    assert!(format!("{f:?}").contains("counter"));
    let mut cx = SampleContext::new(0);
    f.fill(&mut cx).unwrap();
    assert!(format!("{cx:?}").contains("counter"));
    assert_eq!(Lifecycle::UncachedFactory.to_string(), "uncached factory");
}

#[test]
fn per_sample_list_sampler_matches_a_cached_factory_of_fresh_samplers() {
    let items: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    let template = ListSampler::new(items.clone()).unwrap();
    let per_sample = ListSampler::new(items).unwrap().per_sample();
    let args = ListArgs::new(3);
    for seed in 0..20 {
        // Four calls of 3 from 7 items: crosses a cycle boundary within the sample.
        let mut a = SampleContext::new(seed);
        let mut b = SampleContext::new(seed);
        let fresh = template.fresh();
        for _ in 0..4 {
            assert_eq!(
                per_sample.sample(&args, &mut a).unwrap(),
                fresh.sample(&args, &mut b).unwrap(),
                "seed {seed}"
            );
        }
    }
}

#[test]
fn per_sample_list_sampler_starts_a_cycle_in_every_sample_on_any_thread() {
    let s = Arc::new(ListSampler::new(["a", "b", "c", "d"]).unwrap().per_sample());
    let args = ListArgs::new(4);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                for seed in 0..200u64 {
                    let mut cx = SampleContext::new(t * 1000 + seed);
                    // Each sample's first call is a full permutation: a fresh cycle.
                    let mut got: Vec<String> = s
                        .sample(&args, &mut cx)
                        .unwrap()
                        .lines()
                        .map(str::to_owned)
                        .collect();
                    got.sort();
                    assert_eq!(got, ["a", "b", "c", "d"]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
