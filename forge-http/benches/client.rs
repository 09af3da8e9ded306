//! The client's CPU cost per request, against a loopback server that answers at once.
//!
//! The figure is the CPU time of the client's own threads (the calling thread and the
//! generator's I/O thread, read from `/proc/thread-self/…/schedstat`), not wall time: the mock
//! server shares the machine and is not counted. Criterion's "elements/s" is then requests per
//! CPU-second, i.e. per core. Linux only.

#[path = "../tests/mock/mod.rs"]
mod mock;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forge_core::exec::{Completion, Generator, Request, RequestId, Sampling, StreamId};
use forge_http::{ApiKey, Config, Dialect, Endpoint, HttpGenerator};
use mock::{Kind, Mock, Output};

/// CPU nanoseconds used so far by this thread and the generator's `forge-http` threads.
fn client_cpu_ns() -> u64 {
    let own = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut total = first_field(&own);
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "forge-http" {
                let stat =
                    std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
                total += first_field(&stat);
            }
        }
    }
    total
}

fn first_field(schedstat: &str) -> u64 {
    schedstat
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

const BATCH: u64 = 256;

fn requests(generator: &mut HttpGenerator, next: &mut u64) {
    let stop: Arc<[Arc<str>]> = vec![
        Arc::from("[Next]"),
        Arc::from("[Jump]"),
        Arc::from("[Escape]"),
    ]
    .into();
    // A realistic context: a zone-structured transcript of about 1 KB.
    let context = Arc::new("[Prompt] You operate under a constitution. ".repeat(24));
    for i in 0..BATCH {
        generator.submit(Request::new(
            RequestId(*next),
            StreamId(i as u32),
            Arc::clone(&context),
            0,
            Arc::clone(&stop),
            16,
            Sampling::default(),
        ));
        *next += 1;
    }
    let mut out: Vec<Completion<forge_http::Error>> = Vec::with_capacity(BATCH as usize);
    while (out.len() as u64) < BATCH {
        generator.wait(&mut out).expect("the mock answers");
    }
    assert!(out.iter().all(|c| c.result.is_ok()));
    for i in 0..BATCH {
        generator.release(StreamId(i as u32));
    }
}

fn bench(c: &mut Criterion) {
    let model: mock::Model = Arc::new(|_: &str| Output {
        tokens: vec!["An".into(), " answer".into(), " [Next]".into()],
        eos: false,
    });
    let mut group = c.benchmark_group("client_cpu_per_request");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for (name, kind, dialect) in [
        ("llama.cpp", Kind::LlamaCpp, Dialect::LlamaCpp),
        ("vllm", Kind::Vllm, Dialect::Vllm),
        ("openai_streamed", Kind::OpenAi, Dialect::OpenAi),
    ] {
        let options = mock::Options {
            record: false,
            ..mock::Options::default()
        };
        let server = Mock::start_with(kind, Arc::clone(&model), options);
        let config = Config::new([Endpoint::new(&server.url).unwrap()])
            .dialect(dialect)
            .api_key(ApiKey::none())
            .warm_shared_prefix(0);
        let mut generator = HttpGenerator::connect(config).unwrap();
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = client_cpu_ns();
                for _ in 0..iters {
                    requests(&mut generator, &mut next);
                }
                Duration::from_nanos(client_cpu_ns() - start)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
