//! Streams that share a context prefix, on the real SmolLM2-135M-Instruct Q4_1 GGUF
//! (`FORGE_MODEL` if set, else the default model from the user cache, downloaded on first use):
//! sharing changes no greedy token, the prefix is processed once for streams that arrive
//! together, and the prefix cache stays within its budget.

use std::sync::Arc;

use forge_core::exec::{Completion, Generator, Reply, Request, RequestId, StreamId};
use forge_local::{KvCache, LocalGenerator, LocalModel, Options, PrefixStats, Segment};

fn model() -> Arc<LocalModel> {
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(LocalModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

const SOURCE: &str = include_str!("../../examples/representative.toml");

/// The first `chars` characters of the example workflow: a long prompt shared by streams.
fn base(from: usize, chars: usize) -> String {
    SOURCE.chars().skip(from).take(chars).collect()
}

const QUESTIONS: [&str; 6] = [
    "\n[Prompt] What is the capital of France? [Answer]",
    "\n[Prompt] Name three primary colours. [Answer]",
    "\n[Prompt] Summarise the workflow above in one sentence. [Answer]",
    "\n[Prompt] How many sequences does the config list? [Answer]",
    "\n[Prompt] Write a haiku about the sea. [Answer]",
    "\n[Prompt] Which tag marks the final answer? [Answer]",
];

fn options(share: bool, budget: usize) -> Options {
    Options {
        share_prefixes: share,
        prefix_cache_bytes: budget,
        ..Options::default()
    }
}

fn generator(model: &Arc<LocalModel>, options: Options) -> LocalGenerator {
    LocalGenerator::new(Arc::clone(model), options).unwrap()
}

/// Submit every `(stream, context)` at once (greedy, `max` tokens), wait for all, return the
/// replies in that order.
fn run(g: &mut LocalGenerator, contexts: &[(u32, String)], max: u32) -> Vec<Reply> {
    for (n, (stream, context)) in contexts.iter().enumerate() {
        g.submit(Request::new(
            RequestId(n as u64),
            StreamId(*stream),
            Arc::new(context.clone()),
            0,
            Arc::new([]),
            max,
            Default::default(),
        ));
    }
    let mut done: Vec<Completion<forge_local::Error>> = Vec::new();
    while done.len() < contexts.len() {
        g.wait(&mut done).unwrap();
    }
    (0..contexts.len())
        .map(|n| {
            let c = done.iter().find(|c| c.id == RequestId(n as u64)).unwrap();
            c.result.clone().unwrap()
        })
        .collect()
}

/// Each context alone, on a generator that shares nothing.
fn alone(model: &Arc<LocalModel>, contexts: &[(u32, String)], max: u32) -> Vec<Reply> {
    contexts
        .iter()
        .map(|c| {
            run(
                &mut generator(model, options(false, 0)),
                std::slice::from_ref(c),
                max,
            )
            .remove(0)
        })
        .collect()
}

fn tokens(model: &LocalModel, text: &str) -> usize {
    model.tokenizer.encode_context(text).unwrap().len()
}

/// Bytes of keys and values per cached position.
fn bytes_per_token(model: &LocalModel) -> usize {
    let c = model.llama.config();
    c.layers * 2 * c.kv_heads * c.head_dim() * 4
}

#[test]
fn a_forked_cache_gives_the_logits_of_a_full_one() {
    let model = model();
    let llama = &model.llama;
    let ids = model.tokenizer.encode_context(&base(0, 600)).unwrap();
    let (m, n) = (100, ids.len());
    let forward = |cache: &mut KvCache, tokens: &[u32]| {
        llama
            .forward(&mut [Segment { cache, tokens }])
            .unwrap()
            .remove(0)
    };
    let mut full = KvCache::new();
    let expected = forward(&mut full, &ids);
    let mut prefix = KvCache::new();
    forward(&mut prefix, &ids[..m]);
    let frozen = Arc::new(prefix.freeze());
    assert_eq!(frozen.len(), m);
    assert_eq!(frozen.bytes(), m * bytes_per_token(&model));
    let close = |a: &[f32], what: &str| {
        let worst = a
            .iter()
            .zip(&expected)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-3, "{what}: logits differ by {worst}");
    };
    let mut forked = KvCache::fork(Arc::clone(&frozen), m);
    assert_eq!((forked.len(), forked.shared_len()), (m, m));
    close(&forward(&mut forked, &ids[m..]), "forked");
    assert_eq!((forked.len(), forked.shared_len()), (n, m));
    // Rolling back into the shared part, then re-reading: the same logits.
    forked.truncate(m / 2);
    assert_eq!((forked.len(), forked.shared_len()), (m / 2, m / 2));
    close(
        &forward(&mut forked, &ids[m / 2..]),
        "rolled back into the prefix",
    );
    // A frozen forked cache holds all of it; a fork of it needs no more processing.
    let refrozen = Arc::new(forked.freeze());
    assert_eq!(refrozen.len(), n);
    let mut again = KvCache::fork(refrozen, n - 1);
    close(
        &forward(&mut again, &ids[n - 1..]),
        "fork of a refrozen cache",
    );
}

#[test]
fn shared_prefix_streams_give_the_same_greedy_tokens_as_unshared() {
    let model = model();
    let prompt = base(0, 1200);
    // Four streams share the prompt; two of them also share a longer text after it; one
    // stream shares nothing.
    let deeper = format!("{prompt}{}", base(1200, 300));
    let mut contexts: Vec<(u32, String)> = (0..2)
        .map(|i| (i, format!("{prompt}{}", QUESTIONS[i as usize])))
        .collect();
    contexts.extend((2..4).map(|i| (i, format!("{deeper}{}", QUESTIONS[i as usize]))));
    contexts.push((4, QUESTIONS[4].to_owned()));
    const MAX: u32 = 12;
    let mut shared = generator(&model, Options::default());
    let replies = run(&mut shared, &contexts, MAX);
    let unshared = run(&mut generator(&model, options(false, 0)), &contexts, MAX);
    assert_eq!(replies, unshared);
    assert_eq!(replies, alone(&model, &contexts, MAX));
    for r in &replies {
        assert_eq!(r.tokens, MAX);
    }
    // The prompt once for four streams, then the longer text once for two.
    let stats = shared.prefix_stats();
    assert_eq!(stats.jobs, 2, "{stats:?}");
    let (p, d) = (tokens(&model, &prompt), tokens(&model, &deeper));
    assert!(
        stats.forked_tokens >= (4 * (p - 2) + 2 * (d - p - 2)) as u64,
        "{stats:?}, prompt {p} tokens, deeper {d}"
    );
    // A stream arriving later forks from the cached prefix.
    let late = [(9, format!("{deeper}{}", QUESTIONS[5]))];
    let reply = run(&mut shared, &late, MAX);
    let after = shared.prefix_stats();
    assert_eq!(after.jobs, 2);
    assert!(after.forked_tokens >= stats.forked_tokens + (d - 2) as u64);
    assert_eq!(reply, alone(&model, &late, MAX));
    // Without sharing nothing is forked.
    let mut off = generator(&model, options(false, 1 << 30));
    run(&mut off, &contexts, 1);
    assert_eq!(off.prefix_stats(), PrefixStats::default());
}

#[test]
fn sixteen_streams_arriving_together_process_their_prefix_once() {
    let model = model();
    let prompt = base(0, 1000);
    let contexts: Vec<(u32, String)> = (0..16)
        .map(|i| (i, format!("{prompt}\n[Prompt] Question {i}. [Answer]")))
        .collect();
    let mut g = generator(&model, Options::default());
    let replies = run(&mut g, &contexts, 2);
    let stats = g.prefix_stats();
    assert_eq!(stats.jobs, 1, "{stats:?}");
    let p = tokens(&model, &prompt);
    assert!(stats.forked_tokens >= 16 * (p as u64 - 2), "{stats:?}: {p}");
    assert_eq!(stats.cached_prefixes, 1);
    assert!(stats.cached_bytes >= (p - 2) * bytes_per_token(&model));
    // The same replies as without sharing, for a few of them.
    let some: Vec<(u32, String)> = contexts.iter().step_by(5).cloned().collect();
    let expected = run(&mut generator(&model, options(false, 0)), &some, 2);
    let got: Vec<Reply> = replies.iter().step_by(5).cloned().collect();
    assert_eq!(got, expected);
}

#[test]
fn the_budget_bounds_the_cache_and_eviction_keeps_results_identical() {
    let model = model();
    let a = base(0, 900);
    let b = base(1500, 900);
    let group = |prompt: &str, first: u32| -> Vec<(u32, String)> {
        (0..3)
            .map(|i| (first + i, format!("{prompt}{}", QUESTIONS[i as usize])))
            .collect()
    };
    let waves = [group(&a, 0), group(&b, 10), group(&a, 20), group(&b, 30)];
    const MAX: u32 = 6;
    let expected: Vec<Vec<Reply>> = waves
        .iter()
        .map(|w| run(&mut generator(&model, options(false, 0)), w, MAX))
        .collect();
    let one_prefix = (tokens(&model, &a).max(tokens(&model, &b)) + 16) * bytes_per_token(&model);
    // Room for one prefix: each wave evicts the other prompt, and the third and fourth waves
    // find their prompt gone, process it again and get the same tokens.
    for budget in [0, one_prefix, 64 << 20] {
        let mut g = generator(&model, options(true, budget));
        let mut kept = Vec::new();
        for (w, expected) in waves.iter().zip(&expected) {
            assert_eq!(&run(&mut g, w, MAX), expected, "budget {budget}");
            let stats = g.prefix_stats();
            assert!(stats.cached_bytes <= budget, "budget {budget}: {stats:?}");
            kept.push(stats.cached_prefixes);
        }
        let jobs = g.prefix_stats().jobs;
        match budget {
            0 => assert_eq!((kept, jobs), (vec![0; 4], 4)),
            b if b == one_prefix => assert_eq!((kept, jobs), (vec![1; 4], 4)),
            // Both prompts fit: the last two waves fork from the cache, no job runs.
            _ => assert_eq!((kept, jobs), (vec![1, 2, 2, 2], 2)),
        }
    }
}
