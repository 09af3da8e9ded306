//! Reproducibility and the lifecycles of bound resources.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use serde::Deserialize;

use super::*;

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
pub(super) struct Counter {
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
