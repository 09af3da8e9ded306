//! Criterion benchmarks on the shared workloads (`examples/representative.toml` and
//! `benches/data/`, see BENCHMARKS.md):
//!
//! - `representative/*`: parse (run-time API), build + compile, `sample`, `sample_seeded`,
//!   JSON and binary serialization of one sample, and the hand-written baseline;
//! - `parse_sequences/N`: parse the generated N-sequence files (N = 10 … 10,000);
//! - `sample_zones/N`: sample a program that runs one block N times (3N zones).
//!
//! ```sh
//! cargo bench --bench forge                     # everything (about 4 minutes)
//! cargo bench --bench forge -- representative/  # one group
//! ```
//!
//! Before measuring, it checks the workloads: the generator reproduces
//! `parse_100_sequences.toml` byte for byte, the representative workflow has 69 zones and 2
//! jump edges, and the baseline's text equals forge's for the same seeds.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Constitution, baseline};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};

fn representative(c: &mut Criterion) {
    common::check_generator();
    let items = common::principles();
    for constitution in [
        Constitution::Instance,
        Constitution::CachedFactory,
        Constitution::PerSample,
    ] {
        let wf = common::representative_workflow(constitution.binding(items.clone()));
        common::check_representative(&wf);
        if constitution != Constitution::Instance {
            common::check_baseline(&wf, &items);
        }
    }

    let mut g = c.benchmark_group("representative");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("parse", |b| {
        b.iter(|| {
            forge::udpl::parse_str(black_box(common::REPRESENTATIVE), "representative.toml")
                .expect("parse")
        })
    });

    for constitution in [
        Constitution::Instance,
        Constitution::CachedFactory,
        Constitution::PerSample,
    ] {
        let label = constitution.label();
        let binding = constitution.binding(items.clone());
        g.bench_function(BenchmarkId::new("build_compile", label), |b| {
            b.iter(|| common::representative_workflow(black_box(binding.clone())))
        });
        let wf = common::representative_workflow(binding);
        g.bench_function(BenchmarkId::new("sample", label), |b| {
            b.iter(|| wf.sample(common::args()).expect("sample"))
        });
        let mut seed = 0u64;
        g.bench_function(BenchmarkId::new("sample_seeded", label), |b| {
            b.iter(|| {
                seed = seed.wrapping_add(1);
                wf.sample_seeded(common::args(), black_box(seed))
                    .expect("sample")
            })
        });
    }

    let mut seed = 0u64;
    g.bench_function(BenchmarkId::new("baseline", "seeded"), |b| {
        b.iter(|| {
            seed = seed.wrapping_add(1);
            baseline::sample(black_box(seed), black_box(common::PROMPT), &items)
        })
    });
    g.bench_function(BenchmarkId::new("baseline", "unseeded"), |b| {
        b.iter(|| baseline::sample(rand::random(), black_box(common::PROMPT), &items))
    });

    let wf = common::representative_workflow(Constitution::Instance.binding(items.clone()));
    let sample = wf.sample_seeded(common::args(), 42).expect("sample");
    g.bench_function("to_json", |b| b.iter(|| black_box(&sample).to_json()));
    g.bench_function("to_bytes", |b| b.iter(|| black_box(&sample).to_bytes()));
    g.bench_function("from_bytes", |b| {
        let bytes = sample.to_bytes();
        b.iter(|| forge::program::SampledWorkflow::from_bytes(black_box(&bytes)).expect("decode"))
    });
    g.finish();
}

fn parse_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_sequences");
    g.warm_up_time(Duration::from_secs(1));
    for n in [10usize, 100, 1_000, 10_000] {
        let src = if n == 100 {
            common::PARSE_100.to_owned()
        } else {
            common::sequences_file(n)
        };
        let parsed = forge::udpl::parse_str(&src, "generated.toml").expect("parse");
        assert_eq!(parsed.document.sequences.len(), n);
        g.throughput(Throughput::Elements(n as u64));
        if n >= 1_000 {
            g.sample_size(10).measurement_time(Duration::from_secs(4));
        } else {
            g.sample_size(50).measurement_time(Duration::from_secs(3));
        }
        g.bench_with_input(BenchmarkId::from_parameter(n), &src, |b, src| {
            b.iter(|| forge::udpl::parse_str(black_box(src), "generated.toml").expect("parse"))
        });
    }
    g.finish();
}

fn sample_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("sample_zones");
    g.warm_up_time(Duration::from_secs(1));
    let items = common::principles();
    for n in [10usize, 100, 1_000, 100_000, 1_000_000] {
        let wf = common::single_block_workflow(n, Constitution::Instance.binding(items.clone()));
        let zones = 3 * n;
        assert_eq!(wf.zone_count(), zones);
        g.throughput(Throughput::Elements(zones as u64));
        if n >= 100_000 {
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .measurement_time(Duration::from_secs(if n >= 1_000_000 { 8 } else { 4 }));
        } else {
            g.sampling_mode(SamplingMode::Auto)
                .sample_size(50)
                .measurement_time(Duration::from_secs(3));
        }
        // As in `representative/sample`, each sample is dropped inside the timed loop.
        g.bench_function(BenchmarkId::new("sample", zones), |b| {
            b.iter(|| wf.sample(common::single::Args {}).expect("sample"))
        });
        // The mass-generation loop: one `Sampler` overwriting its buffers, so a large sample
        // does not fetch fresh memory from the OS every time.
        let mut sampler = wf.sampler();
        g.bench_function(BenchmarkId::new("sampler", zones), |b| {
            b.iter(|| {
                sampler
                    .sample(common::single::Args {})
                    .expect("sample")
                    .len()
            })
        });
    }
    g.finish();
}

criterion::criterion_group!(benches, representative, parse_scaling, sample_scaling);
criterion::criterion_main!(benches);
