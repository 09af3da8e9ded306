//! Datasets: samples per second writing the representative dataset to a JSON Lines file on 1
//! and 2 threads, next to sampling alone on the same threads, and the per-sample `to_json` path
//! that writing replaces.
//!
//! ```sh
//! cargo bench --bench dataset
//! ```
//!
//! Each iteration handles `N` samples (criterion reports time per iteration and, with the
//! throughput set, samples per second). The file lives in the system temporary folder, is
//! created anew by every iteration (the previous one removed outside the timing) and is
//! removed at the end. `encode_only` is `write_range` into `std::io::sink()`, without a file, to separate
//! encoding from writing; `sample_then_encode` encodes each `SampledWorkflow` after sampling it
//! (`encode_sample`), the path `write_range` replaces by filling the escaped line directly.
//! `write_file` writes as `forge sample` does (`write_range_to_file`, space reserved ahead of
//! the writes), `write_file_unreserved` with `write_range` to the file;
//! `write_file_texts` writes lines that repeat the extraction texts; `write_bytes_only` writes
//! the dataset's bytes, encoded beforehand, as `write_file` writes them: what the file system
//! alone costs.

mod common;

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use common::{Constitution, args, check_representative, principles, representative_workflow};
use criterion::{BatchSize, Criterion, Throughput};
use forge::dataset::{self, Header};
use forge::program::Workflow;

/// Samples per iteration.
const N: u64 = 16384;
const SEED: u64 = 7;

fn path() -> PathBuf {
    std::env::temp_dir().join(format!("forge-bench-dataset-{}.jsonl", std::process::id()))
}

/// Sampling alone: samples `0..N` on `threads` threads, each sample's bytes touched, nothing
/// written (batches of 32 indices per turn, like the writer).
fn sample_only(w: &Workflow, threads: usize) {
    w.sample_range_batched(
        SEED,
        0..N,
        threads,
        32,
        |_| args(),
        |_, s, total: &mut usize| {
            *total += black_box(s.text().len());
            Ok::<(), ()>(())
        },
        |_, total| {
            black_box(*total);
            Ok(())
        },
    )
    .unwrap();
}

/// The lines encoded, each batch handed to `std::io::sink()` instead of a file.
fn encode_only(w: &Workflow, header: &Header, threads: usize) {
    let mut out = std::io::sink();
    dataset::write_range(w, header, 0..N, threads, |_| args(), &mut out, |_| {}).unwrap();
}

/// Sampling each `SampledWorkflow`, then encoding its line into a per-thread buffer.
fn sample_then_encode(w: &Workflow, header: &Header, threads: usize) {
    w.sample_range_batched(
        SEED,
        0..N,
        threads,
        32,
        |_| args(),
        |i, s, buf: &mut Vec<u8>| {
            dataset::encode_sample(header, i, s, buf);
            Ok::<(), ()>(())
        },
        |_, buf| {
            black_box(buf.len());
            buf.clear();
            Ok(())
        },
    )
    .unwrap();
}

/// The dataset file as `forge sample` writes it: header and `N` lines on `threads` threads,
/// with space reserved ahead of the writes (`write_range_to_file`).
fn write_file(w: &Workflow, header: &Header, threads: usize) {
    let mut file = File::create(path()).unwrap();
    file.write_all(header.to_line().as_bytes()).unwrap();
    dataset::write_range_to_file(w, header, 0..N, threads, |_| args(), &file, |_| {}).unwrap();
}

/// The same with `write_range` to the file: nothing reserved.
fn write_file_unreserved(w: &Workflow, header: &Header, threads: usize) {
    let mut file = File::create(path()).unwrap();
    file.write_all(header.to_line().as_bytes()).unwrap();
    dataset::write_range(w, header, 0..N, threads, |_| args(), &mut file, |_| {}).unwrap();
}

/// The floor: the dataset's bytes (already encoded) written to a new file in 256 KiB writes,
/// no sampling.
fn write_bytes_only(bytes: &[u8]) {
    let mut file = File::create(path()).unwrap();
    for chunk in bytes.chunks(256 * 1024) {
        file.write_all(chunk).unwrap();
    }
}

/// Removes the previous iteration's file, untimed: truncating it would add the cost of freeing
/// its pages, which writing a new dataset does not pay.
fn fresh_file() {
    let _ = std::fs::remove_file(path());
}

/// What a caller did before: one `sample_seeded` and one pretty `to_json` per sample, written
/// one after the other.
fn to_json_per_sample(w: &Workflow) {
    let mut file = std::io::BufWriter::new(File::create(path()).unwrap());
    for i in 0..N {
        let s = w.sample_seeded(args(), SEED.wrapping_add(i)).unwrap();
        file.write_all(s.to_json().as_bytes()).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.flush().unwrap();
}

fn dataset_bench(c: &mut Criterion) {
    let w = representative_workflow(Constitution::Instance.binding(principles()));
    check_representative(&w);
    let header = Header::new(&w, SEED);
    let texts = Header::new(&w, SEED).with_extraction_texts(true);
    // The file is the same whatever the thread count, and its lines are those `encode_sample`
    // makes of each sample (checked before measuring).
    for (h, name) in [(&header, "zone texts"), (&texts, "with extraction texts")] {
        write_file(&w, h, 1);
        let one = std::fs::read(path()).unwrap();
        write_file(&w, h, 2);
        assert!(
            std::fs::read(path()).unwrap() == one,
            "1 and 2 threads wrote other bytes"
        );
        let mut lines = h.to_line().into_bytes();
        for i in 0..N {
            let s = w.sample_at(args(), SEED, i).unwrap();
            dataset::encode_sample(h, i, &s, &mut lines);
        }
        assert!(lines == one, "write_range and encode_sample differ");
        eprintln!(
            "dataset ({name}): {N} samples, {} bytes ({} bytes per line)",
            one.len(),
            one.len() as u64 / N
        );
    }

    write_file(&w, &header, 1);
    let bytes = std::fs::read(path()).unwrap();

    let mut g = c.benchmark_group("dataset");
    g.throughput(Throughput::Elements(N));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for threads in [1, 2] {
        g.bench_function(format!("sample_only/{threads}t"), |b| {
            b.iter(|| sample_only(&w, threads))
        });
        g.bench_function(format!("encode_only/{threads}t"), |b| {
            b.iter(|| encode_only(&w, &header, threads))
        });
        g.bench_function(format!("sample_then_encode/{threads}t"), |b| {
            b.iter(|| sample_then_encode(&w, &header, threads))
        });
        g.bench_function(format!("write_file/{threads}t"), |b| {
            b.iter_batched(
                fresh_file,
                |()| write_file(&w, &header, threads),
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("write_file_unreserved/{threads}t"), |b| {
            b.iter_batched(
                fresh_file,
                |()| write_file_unreserved(&w, &header, threads),
                BatchSize::PerIteration,
            )
        });
    }
    g.bench_function("write_bytes_only/1t", |b| {
        b.iter_batched(
            fresh_file,
            |()| write_bytes_only(&bytes),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("write_file_texts/1t", |b| {
        b.iter_batched(
            fresh_file,
            |()| write_file(&w, &texts, 1),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("to_json_per_sample/1t", |b| {
        b.iter_batched(
            fresh_file,
            |()| to_json_per_sample(&w),
            BatchSize::PerIteration,
        )
    });
    g.finish();
    let _ = std::fs::remove_file(path());
}

criterion::criterion_group!(benches, dataset_bench);
criterion::criterion_main!(benches);
