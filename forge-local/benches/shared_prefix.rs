//! Time to the first generated token of streams whose contexts share a 1,000-token prefix, on
//! the real model (`FORGE_MODEL`, else the default model from the user cache):
//!
//! - `first_token/1`: one stream, a context of the prefix and a short question;
//! - `first_token/16`: sixteen such streams (the same prefix, different questions) submitted
//!   together, until all sixteen have their first token: the engine processes the prefix
//!   once and forks it;
//! - `first_token_unshared/16`: the same with `Options::share_prefixes` off (every stream
//!   processes its own prefix, as before prefix sharing).
//!
//! Each iteration starts from a new generator (an empty prefix cache). The target is
//! `first_token/16` ≤ 1.3 × `first_token/1`.
//!
//! ```sh
//! cargo bench -p forge-local --bench shared_prefix
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use forge_core::exec::{Completion, Generator, Request, RequestId, StreamId};
use forge_local::{LocalGenerator, LocalModel, Options};

const PREFIX: usize = 1000;

/// A text whose first `PREFIX` tokens are the first `PREFIX` tokens of the example workflow
/// (repeated as needed), then a question that differs per stream.
fn contexts(model: &LocalModel, streams: usize) -> Vec<String> {
    let source = include_str!("../../examples/representative.toml").repeat(3);
    let ids = model.tokenizer.encode(&source).expect("tokenize");
    let prefix = model.tokenizer.decode(&ids[..PREFIX]);
    (0..streams)
        .map(|i| format!("{prefix}\n[Prompt] Answer question number {i}. [Answer]"))
        .collect()
}

/// Submit one request per context (one token each, greedy) to a new generator and wait until
/// every one has its token.
fn first_tokens(model: &Arc<LocalModel>, options: &Options, contexts: &[String]) -> Duration {
    let mut g = LocalGenerator::new(Arc::clone(model), options.clone()).unwrap();
    let start = Instant::now();
    for (i, c) in contexts.iter().enumerate() {
        g.submit(Request::new(
            RequestId(i as u64),
            StreamId(i as u32),
            Arc::new(c.clone()),
            0,
            Arc::new([]),
            1,
            Default::default(),
        ));
    }
    let mut done: Vec<Completion<forge_local::Error>> = Vec::new();
    while done.len() < contexts.len() {
        g.wait(&mut done).unwrap();
    }
    let elapsed = start.elapsed();
    assert!(done.iter().all(|c| c.result.is_ok()));
    elapsed
}

fn main() {
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    let model = LocalModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let model = Arc::new(model);
    let sixteen = contexts(&model, 16);
    let a = model.tokenizer.encode_context(&sixteen[0]).unwrap();
    let b = model.tokenizer.encode_context(&sixteen[1]).unwrap();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    eprintln!(
        "contexts of {} tokens, the first {common} shared by all streams",
        a.len()
    );
    let shared = Options::default();
    let unshared = Options {
        share_prefixes: false,
        ..Options::default()
    };
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("shared_prefix");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    let cases = [
        ("first_token/1", &shared, &sixteen[..1]),
        ("first_token/16", &shared, &sixteen[..]),
        ("first_token_unshared/16", &unshared, &sixteen[..]),
    ];
    for (name, options, contexts) in cases {
        group.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                (0..iters)
                    .map(|_| first_tokens(&model, options, contexts))
                    .sum()
            })
        });
    }
    group.finish();
    c.final_summary();
}
