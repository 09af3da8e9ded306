//! Multi-threaded sampling throughput of the representative workflow: samples per second with
//! 1 thread and with every core (`std::thread::scope`, each thread sampling a fixed count in a
//! loop with its own seeds; one shared `Workflow`).
//!
//! ```sh
//! cargo bench --bench throughput            # 1 thread vs all cores
//! cargo bench --bench throughput -- 1 2 4   # chosen thread counts
//! # one thread, one variant, a fixed count, nothing printed: for a profiler
//! cargo bench --bench throughput -- --profile instance|cached_factory|per_sample|baseline 1000000
//! ```
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a few samples per variant only.
//!
//! Rounds alternate between the thread counts (so background load hits them alike); the median
//! round is reported. Variants: forge with the `constitution` sampler bound as one shared
//! instance (its pool behind a mutex, as in `examples/representative.rs`) and as a cached
//! factory (no shared mutable state), and the hand-written baseline.

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::{Constitution, baseline};
use forge::program::Workflow;

const ROUNDS: usize = 7;
/// Target duration of one round.
const ROUND: Duration = Duration::from_millis(700);

#[derive(Clone, Copy)]
enum Variant {
    /// `Workflow::sample_seeded`: a new sample per call.
    Forge(Constitution),
    /// A `Sampler` per thread: each sample overwrites the thread's buffers.
    ForgeSampler(Constitution),
    Baseline,
}

impl Variant {
    fn label(self) -> String {
        match self {
            Variant::Forge(c) => format!("forge, constitution = {}", c.label()),
            Variant::ForgeSampler(c) => {
                format!("forge, a Sampler per thread, constitution = {}", c.label())
            }
            Variant::Baseline => "hand-written baseline".to_owned(),
        }
    }
}

/// One sample of `variant`; `seed` is unique per thread and iteration.
#[inline]
fn one(variant: Variant, wf: &Workflow, items: &[String], seed: u64) {
    match variant {
        Variant::Forge(_) | Variant::ForgeSampler(_) => {
            black_box(wf.sample_seeded(common::args(), seed).expect("sample"));
        }
        Variant::Baseline => {
            black_box(baseline::sample(seed, common::PROMPT, items));
        }
    }
}

/// Wall time for `threads` threads to draw `per_thread` samples each: from the first thread's
/// start to the last thread's end, as each thread sees them (the main thread only waits).
fn round(
    variant: Variant,
    wf: &Workflow,
    items: &[String],
    threads: usize,
    per_thread: u64,
) -> Duration {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let base = (t as u64) << 40;
                    let mut sampler = wf.sampler();
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..per_thread {
                        if let Variant::ForgeSampler(_) = variant {
                            let s = sampler.sample_seeded(common::args(), base + i);
                            black_box(s.expect("sample"));
                        } else {
                            one(variant, wf, items, base + i);
                        }
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("sampling thread"))
            .collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("a thread");
    let end = spans.iter().map(|s| s.1).max().expect("a thread");
    end - start
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `--profile VARIANT COUNT`: draw COUNT samples on this thread and exit.
fn profile(args: &[String]) {
    let variant = match args.first().map(String::as_str) {
        Some("instance") => Variant::Forge(Constitution::Instance),
        Some("cached_factory") => Variant::Forge(Constitution::CachedFactory),
        Some("per_sample") => Variant::Forge(Constitution::PerSample),
        Some("baseline") => Variant::Baseline,
        other => {
            panic!("--profile instance|cached_factory|per_sample|baseline COUNT, got {other:?}")
        }
    };
    let count: u64 = args
        .get(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_000_000);
    let constitution = match variant {
        Variant::Forge(c) | Variant::ForgeSampler(c) => c,
        Variant::Baseline => Constitution::CachedFactory,
    };
    let items = common::principles();
    let wf = common::representative_workflow(constitution.binding(items.clone()));
    for i in 0..count {
        one(variant, &wf, &items, i);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        profile(&args[i + 1..]);
        return;
    }
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`), a quick smoke test.
    let smoke = !args.iter().any(|a| a == "--bench");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts: Vec<usize> = args[1..]
        .iter()
        .filter_map(|a| a.parse().ok())
        .filter(|&n| n > 0)
        .collect();
    if counts.is_empty() {
        counts = if cores > 1 { vec![1, cores] } else { vec![1] };
    }
    if smoke {
        println!("throughput: smoke test (figures: `cargo bench --bench throughput`)");
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "throughput: representative workflow (69 zones), {cores} cores, thread counts {counts:?}, \
         load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );

    let items = common::principles();
    for variant in [
        Variant::Forge(Constitution::Instance),
        Variant::Forge(Constitution::CachedFactory),
        Variant::Forge(Constitution::PerSample),
        Variant::ForgeSampler(Constitution::PerSample),
        Variant::Baseline,
    ] {
        let constitution = match variant {
            Variant::Forge(c) | Variant::ForgeSampler(c) => c,
            Variant::Baseline => Constitution::CachedFactory,
        };
        let wf = common::representative_workflow(constitution.binding(items.clone()));
        common::check_representative(&wf);

        // Calibrate: samples one thread draws in about one round.
        let warm = Instant::now();
        let mut n = 0u64;
        while warm.elapsed() < Duration::from_millis(if smoke { 1 } else { 300 }) {
            one(variant, &wf, &items, n);
            n += 1;
        }
        let per_thread = if smoke {
            10
        } else {
            (n as f64 * ROUND.as_secs_f64() / warm.elapsed().as_secs_f64()) as u64
        };
        let rounds = if smoke { 1 } else { ROUNDS };

        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
        for _ in 0..rounds {
            for (k, &threads) in counts.iter().enumerate() {
                let wall = round(variant, &wf, &items, threads, per_thread);
                rates[k].push((threads as u64 * per_thread) as f64 / wall.as_secs_f64());
            }
        }
        println!("{}:", variant.label());
        let single = median(rates[0].clone());
        for (k, &threads) in counts.iter().enumerate() {
            let m = median(rates[k].clone());
            let lo = rates[k].iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates[k].iter().copied().fold(0.0, f64::max);
            println!(
                "  {threads} thread(s): {:>10.0} samples/s (median of {rounds}; min {lo:.0}, max {hi:.0}), \
                 {:.2} µs/sample/thread, scaling {:.2}×",
                m,
                threads as f64 * 1e6 / m,
                m / single
            );
        }
    }
}
