//! Binding and fill errors, the bindings map, users' own resources.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use serde::Deserialize;

use super::lifecycles::Counter;
use super::*;

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
