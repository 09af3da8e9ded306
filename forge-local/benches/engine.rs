//! Throughput of the in-process engine on the real model (`FORGE_MODEL`, else the default model
//! from the user cache, downloaded on first use), in the
//! shape of llama.cpp's `llama-batched-bench -npp 128 -ntg 64 -npl 1,4,16`:
//!
//! - `prefill/N`: N streams each read a 128-token prompt into an empty cache, in one batched
//!   forward pass (tokens/s = N × 128 / time);
//! - `decode/N`: one decode step of N streams whose caches hold 160 tokens (the middle of a
//!   64-token generation after a 128-token prompt): tokens/s = N / time;
//! - `decode_1_thread/16`: the same on one thread, to show what the second core adds.
//!
//! ```sh
//! cargo bench -p forge-local
//! FORGE_KERNELS=Avx2 cargo bench -p forge-local --bench engine   # other kernels than detected
//! FORGE_TEAM_TOKENS=0 cargo bench -p forge-local --bench engine   # every step on rayon's pool
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use forge_local::{Kernels, KvCache, LocalModel, Segment};

const PROMPT: usize = 128;
const CONTEXT: usize = 160;

fn prompt_tokens(model: &LocalModel, stream: usize) -> Vec<u32> {
    let text = include_str!("../../examples/representative.toml");
    let tokens = model.tokenizer.encode(text).expect("tokenize");
    tokens[stream * 7..stream * 7 + CONTEXT].to_vec()
}

fn bench(c: &mut Criterion, model: &LocalModel) {
    let llama = &model.llama;
    let two = rayon::ThreadPoolBuilder::new().build().unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("engine");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for streams in [1usize, 4, 16] {
        let prompts: Vec<Vec<u32>> = (0..streams).map(|s| prompt_tokens(model, s)).collect();
        group.throughput(Throughput::Elements((streams * PROMPT) as u64));
        group.bench_function(format!("prefill/{streams}"), |b| {
            b.iter(|| {
                let mut caches: Vec<KvCache> = prompts.iter().map(|_| KvCache::new()).collect();
                let mut segments: Vec<Segment<'_>> = caches
                    .iter_mut()
                    .zip(&prompts)
                    .map(|(cache, p)| Segment {
                        cache,
                        tokens: &p[..PROMPT],
                    })
                    .collect();
                black_box(two.install(|| llama.forward(&mut segments)).unwrap());
            })
        });
        let mut caches: Vec<KvCache> = prompts.iter().map(|_| KvCache::new()).collect();
        for (cache, p) in caches.iter_mut().zip(&prompts) {
            let segment = Segment {
                cache,
                tokens: &p[..CONTEXT - 1],
            };
            llama.forward(&mut [segment]).unwrap();
        }
        let mut step = |pool: &rayon::ThreadPool| {
            let mut segments: Vec<Segment<'_>> = caches
                .iter_mut()
                .zip(&prompts)
                .map(|(cache, p)| {
                    cache.truncate(CONTEXT - 1);
                    Segment {
                        cache,
                        tokens: &p[CONTEXT - 1..],
                    }
                })
                .collect();
            black_box(pool.install(|| llama.forward(&mut segments)).unwrap());
        };
        group.throughput(Throughput::Elements(streams as u64));
        group.bench_function(format!("decode/{streams}"), |b| b.iter(|| step(&two)));
        if streams == 16 {
            group.bench_function(format!("decode_1_thread/{streams}"), |b| {
                b.iter(|| step(&one))
            });
        }
    }
    group.finish();
}

fn main() {
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    let mut model = LocalModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Ok(name) = std::env::var("FORGE_KERNELS") {
        let kernels = [Kernels::Portable, Kernels::Avx2, Kernels::Avx512Vnni]
            .into_iter()
            .find(|k| format!("{k:?}") == name)
            .unwrap_or_else(|| panic!("FORGE_KERNELS: no kernels named {name}"));
        model
            .llama
            .set_kernels(kernels)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Ok(tokens) = std::env::var("FORGE_TEAM_TOKENS") {
        let tokens = tokens
            .parse()
            .unwrap_or_else(|e| panic!("FORGE_TEAM_TOKENS={tokens}: {e}"));
        model.llama.set_team_tokens(tokens);
        eprintln!("steps of at most {tokens} tokens on a team");
    }
    eprintln!("kernels: {:?}", model.llama.kernels());
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &model);
    c.final_summary();
}
