//! forge's throughput against a real llama.cpp server, with bounded concurrency and one request
//! at a time, on the workload of `llama-batched-bench -npp 128 -ntg 64 -npl 8`: 8 distinct
//! prompts of about 128 tokens, 64 generated tokens each (end of sequence ignored).
//!
//! Needs a running server: `FORGE_LLAMA_URL=http://127.0.0.1:PORT cargo bench -p forge-http
//! --bench engine` (start `llama-server -m MODEL -np 8 -c 8192 -t 2`). Without the variable the
//! benchmark is skipped with a note. Criterion's "elements/s" is generated tokens per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use forge_core::exec::{Completion, End, Generator, Request, RequestId, Sampling, StreamId};
use forge_http::{ApiKey, Config, Dialect, Endpoint, HttpGenerator};

const PARALLEL: u32 = 8;
const GENERATED: u32 = 64;

/// One batch: `PARALLEL` requests with distinct prompts (so no prefix cache helps), submitted
/// up to the generator's capacity at a time.
fn batch(generator: &mut HttpGenerator, round: u64) {
    let stop: Arc<[Arc<str>]> = Vec::<Arc<str>>::new().into();
    let sentence = "the quick brown fox jumps over the lazy dog. ";
    let mut pending: Vec<Request> = (0..PARALLEL)
        .map(|i| {
            Request::new(
                RequestId(round * u64::from(PARALLEL) + u64::from(i)),
                StreamId(i),
                Arc::new(format!(
                    "Round {round}, request {i}: {}",
                    sentence.repeat(12)
                )),
                0,
                Arc::clone(&stop),
                GENERATED,
                Sampling {
                    temperature: 0.8,
                    top_p: 0.95,
                    seed: u64::from(i),
                },
            )
        })
        .rev()
        .collect();
    let mut in_flight = 0;
    let mut done: Vec<Completion<forge_http::Error>> = Vec::new();
    while done.len() < PARALLEL as usize {
        while in_flight < generator.capacity()
            && let Some(r) = pending.pop()
        {
            generator.submit(r);
            in_flight += 1;
        }
        let before = done.len();
        generator.wait(&mut done).expect("the server answers");
        in_flight -= done.len() - before;
    }
    for c in &done {
        let reply = c.result.as_ref().expect("the server answers");
        assert_eq!((reply.tokens, reply.end), (GENERATED, End::Limit));
    }
}

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("FORGE_LLAMA_URL") else {
        eprintln!("engine benchmark skipped: set FORGE_LLAMA_URL to a running llama-server");
        return;
    };
    let mut group = c.benchmark_group("llama_server_8x128+64");
    group.throughput(Throughput::Elements(u64::from(PARALLEL * GENERATED)));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    let mut round = 0u64;
    for (name, in_flight) in [("concurrent_8", PARALLEL as usize), ("one_at_a_time", 1)] {
        let config = Config::new([Endpoint::new(&url).unwrap()])
            .dialect(Dialect::LlamaCpp)
            .api_key(ApiKey::none())
            .max_in_flight(in_flight)
            .ignore_eos(true)
            .warm_shared_prefix(0);
        let mut generator = HttpGenerator::connect(config).unwrap();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    round += 1;
                    batch(&mut generator, round);
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
