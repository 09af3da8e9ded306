//! The engine on a tiny llama made here: seeded random weights, a byte-level BPE tokenizer
//! trained on text of this repository, written to GGUF in memory and loaded like a real model.

use std::io::Cursor;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use forge_core::exec::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
use forge_local::{KvCache, LocalGenerator, LocalModel, Options, Segment};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

const CORPUS: &[&str] = &[
    include_str!("../../README.md"),
    include_str!("../../examples/representative.toml"),
    include_str!("../src/lib.rs"),
];

const DIM: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const FFN: usize = 128;
const LAYERS: usize = 2;

/// Vocabulary (by id) and merges of a BPE trained on the corpus, with `<bos>` and `<eos>`.
fn train_tokenizer() -> (Vec<String>, Vec<String>) {
    let mut tokenizer = tokenizers::Tokenizer::new(BPE::default());
    let pre: PreTokenizerWrapper = Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])
    .into();
    tokenizer.with_pre_tokenizer(Some(pre));
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(600)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .special_tokens(vec![
            AddedToken::from("<bos>", true),
            AddedToken::from("<eos>", true),
        ])
        .build()
        .into();
    let lines: Vec<String> = CORPUS
        .iter()
        .flat_map(|text| text.lines().map(|l| format!("{l}\n")))
        .collect();
    tokenizer
        .train(&mut trainer, lines.iter())
        .expect("BPE training");
    let vocab = tokenizer.get_vocab(false);
    let mut tokens = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        tokens[id as usize] = token;
    }
    let model = serde_json::to_value(tokenizer.get_model()).unwrap();
    let merges = model["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => s.clone(),
            pair => format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            ),
        })
        .collect();
    (tokens, merges)
}

fn random(rng: &mut Pcg64, shape: (usize, usize), scale: f32) -> Tensor {
    let data: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

/// The tiny model as GGUF bytes; `eos` is the end-of-sequence id written in its metadata.
fn tiny_gguf(eos: Option<u32>) -> Vec<u8> {
    let (tokens, merges) = train_tokenizer();
    let vocab = tokens.len();
    let mut rng = Pcg64::seed_from_u64(42);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut matrix = |name: String, rows, cols, dtype, rng: &mut Pcg64| {
        let scale = 1.0 / (cols as f32).sqrt() * 1.7;
        let q = QTensor::quantize(&random(rng, (rows, cols), scale), dtype).unwrap();
        tensors.push((name, q));
    };
    matrix(
        "token_embd.weight".into(),
        vocab,
        DIM,
        GgmlDType::Q8_0,
        &mut rng,
    );
    let hd = DIM / HEADS;
    for i in 0..LAYERS {
        let p = |s: &str| format!("blk.{i}.{s}.weight");
        matrix(p("attn_q"), DIM, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("attn_k"), KV_HEADS * hd, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("attn_v"), KV_HEADS * hd, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("attn_output"), DIM, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("ffn_gate"), FFN, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("ffn_up"), FFN, DIM, GgmlDType::Q4_1, &mut rng);
        matrix(p("ffn_down"), DIM, FFN, GgmlDType::Q8_0, &mut rng);
    }
    let mut vectors: Vec<(String, QTensor)> = Vec::new();
    let mut norm = |name: String, rng: &mut Pcg64| {
        let data: Vec<f32> = (0..DIM).map(|_| 0.8 + 0.4 * rng.random::<f32>()).collect();
        let t = Tensor::from_vec(data, DIM, &Device::Cpu).unwrap();
        vectors.push((name, QTensor::quantize(&t, GgmlDType::F32).unwrap()));
    };
    for i in 0..LAYERS {
        norm(format!("blk.{i}.attn_norm.weight"), &mut rng);
        norm(format!("blk.{i}.ffn_norm.weight"), &mut rng);
    }
    norm("output_norm.weight".into(), &mut rng);
    tensors.extend(vectors);

    let types: Vec<Value> = tokens
        .iter()
        .map(|t| Value::I32(if t == "<bos>" || t == "<eos>" { 3 } else { 1 }))
        .collect();
    let id = |name: &str| tokens.iter().position(|t| t == name).unwrap() as u32;
    let string = |s: &str| Value::String(s.to_owned());
    let mut metadata = vec![
        ("general.architecture", string("llama")),
        ("llama.embedding_length", Value::U32(DIM as u32)),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("llama.feed_forward_length", Value::U32(FFN as u32)),
        ("llama.context_length", Value::U32(512)),
        ("llama.rope.freq_base", Value::F32(10_000.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", string("gpt2")),
        ("tokenizer.ggml.pre", string("smollm")),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.iter().map(|t| string(t)).collect()),
        ),
        (
            "tokenizer.ggml.merges",
            Value::Array(merges.iter().map(|m| string(m)).collect()),
        ),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.bos_token_id", Value::U32(id("<bos>"))),
        ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
    ];
    if let Some(eos) = eos {
        metadata.push(("tokenizer.ggml.eos_token_id", Value::U32(eos)));
    }
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &tensors).unwrap();
    out.into_inner()
}

fn tiny(eos: Option<u32>) -> Arc<LocalModel> {
    let bytes = tiny_gguf(eos);
    Arc::new(LocalModel::from_reader(&mut Cursor::new(bytes)).expect("the tiny model loads"))
}

fn generator(model: &Arc<LocalModel>) -> LocalGenerator {
    LocalGenerator::new(Arc::clone(model), Options::default()).unwrap()
}

fn request(
    id: u64,
    stream: u32,
    context: &str,
    prefix_len: usize,
    stop: &[&str],
    max_tokens: u32,
    sampling: Sampling,
) -> Request {
    Request::new(
        RequestId(id),
        StreamId(stream),
        Arc::new(context.to_owned()),
        prefix_len,
        stop.iter().map(|s| Arc::<str>::from(*s)).collect(),
        max_tokens,
        sampling,
    )
}

/// Submit every request, wait for all, return the replies in request order.
fn run(generator: &mut LocalGenerator, requests: Vec<Request>) -> Vec<Reply> {
    let ids: Vec<RequestId> = requests.iter().map(Request::id).collect();
    for r in requests {
        generator.submit(r);
    }
    let mut done: Vec<Completion<forge_local::Error>> = Vec::new();
    while done.len() < ids.len() {
        let before = done.len();
        generator.wait(&mut done).unwrap();
        assert!(
            done.len() > before,
            "wait returned nothing with requests in flight"
        );
    }
    ids.iter()
        .map(|id| {
            let c = done.iter().find(|c| c.id == *id).unwrap();
            c.result.clone().unwrap()
        })
        .collect()
}

fn greedy() -> Sampling {
    Sampling::default()
}

const PROMPTS: [&str; 4] = [
    "[config]\nzone_patterns = [\"[Prompt]\", \"[Answer]\"]\n",
    "The sampled workflows run 16 streams at once; ",
    "forge turns prompt workflows written in UDPL",
    "Ünïcödé and    spaces 12345\n\n\tdone",
];

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-3, "{what}: logits differ by {worst}");
}

#[test]
fn tokenizer_round_trips_and_splits_digits() {
    let model = tiny(None);
    let t = &model.tokenizer;
    for text in PROMPTS
        .iter()
        .chain(&["", " ", "a  b\t\tc\r\n", "日本語 🦀 ½ x"])
    {
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids), *text);
    }
    // The smollm pre-tokenizer splits digits one by one.
    assert_eq!(t.encode("2026").unwrap().len(), 4);
    let ids = t.encode_context("x").unwrap();
    assert_eq!(Some(ids[0]), t.bos());
}

#[test]
fn prefill_then_decode_equals_token_by_token() {
    let model = tiny(None);
    let llama = &model.llama;
    let tokens = model
        .tokenizer
        .encode_context(&PROMPTS[0].repeat(3))
        .unwrap();
    assert!(tokens.len() > 30);
    let split = 17;
    let mut batched = KvCache::new();
    let mut logits_a = llama
        .forward(&mut [Segment {
            cache: &mut batched,
            tokens: &tokens[..split],
        }])
        .unwrap();
    for t in &tokens[split..] {
        logits_a.extend(
            llama
                .forward(&mut [Segment {
                    cache: &mut batched,
                    tokens: std::slice::from_ref(t),
                }])
                .unwrap(),
        );
    }
    let mut single = KvCache::new();
    let mut logits_b = Vec::new();
    for t in &tokens {
        logits_b.extend(
            llama
                .forward(&mut [Segment {
                    cache: &mut single,
                    tokens: std::slice::from_ref(t),
                }])
                .unwrap(),
        );
    }
    assert_eq!(batched.len(), tokens.len());
    for (i, a) in logits_a.iter().enumerate() {
        assert_close(
            a,
            &logits_b[split - 1 + i],
            &format!("position {}", split - 1 + i),
        );
    }
    // Rolling back and re-running a suffix gives the same logits again.
    batched.truncate(10);
    let again = llama
        .forward(&mut [Segment {
            cache: &mut batched,
            tokens: &tokens[10..split],
        }])
        .unwrap();
    assert_close(&again[0], &logits_a[0], "after a rollback");
}

/// A decode step's segments: token `next[i]` for cache `i`.
fn one_token_each<'a>(caches: &'a mut [KvCache], next: &'a [u32]) -> Vec<Segment<'a>> {
    caches
        .iter_mut()
        .zip(next)
        .map(|(cache, t)| Segment {
            cache,
            tokens: std::slice::from_ref(t),
        })
        .collect()
}

/// Prefill three streams together, then decode them together, with every step on `on_team`
/// (else on the pool); the logits of each step.
fn steps_on(model: &mut LocalModel, on_team: bool) -> Vec<Vec<f32>> {
    model
        .llama
        .set_team_tokens(if on_team { usize::MAX } else { 0 });
    let llama = &model.llama;
    let contexts: Vec<Vec<u32>> = PROMPTS[..3]
        .iter()
        .map(|p| model.tokenizer.encode_context(&p.repeat(2)).unwrap())
        .collect();
    let mut caches: Vec<KvCache> = contexts.iter().map(|_| KvCache::new()).collect();
    let mut segments: Vec<Segment<'_>> = caches
        .iter_mut()
        .zip(&contexts)
        .map(|(cache, tokens)| Segment { cache, tokens })
        .collect();
    let mut logits = llama.forward(&mut segments).unwrap();
    for next in [[5u32, 7, 11], [13, 17, 19]] {
        logits.extend(
            llama
                .forward(&mut one_token_each(&mut caches, &next))
                .unwrap(),
        );
    }
    logits
}

#[test]
fn steps_on_a_team_equal_steps_on_the_pool_bit_for_bit() {
    let mut model = LocalModel::from_reader(&mut Cursor::new(tiny_gguf(None))).unwrap();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let team = pool.install(|| steps_on(&mut model, true));
        let on_pool = pool.install(|| steps_on(&mut model, false));
        assert_eq!(team.len(), 9);
        assert!(
            team == on_pool,
            "{threads} threads: the team's logits differ"
        );
    }
}

#[test]
fn segments_of_a_batch_equal_separate_passes() {
    let model = tiny(None);
    let llama = &model.llama;
    let contexts: Vec<Vec<u32>> = PROMPTS
        .iter()
        .map(|p| model.tokenizer.encode_context(p).unwrap())
        .collect();
    let mut caches: Vec<KvCache> = contexts.iter().map(|_| KvCache::new()).collect();
    // Prefill three streams with different lengths in one pass, the fourth alone, then one
    // decode step for all four in one pass.
    let mut segments: Vec<Segment<'_>> = caches[..3]
        .iter_mut()
        .zip(&contexts)
        .map(|(cache, tokens)| Segment { cache, tokens })
        .collect();
    let mut together = llama.forward(&mut segments).unwrap();
    together.extend(
        llama
            .forward(&mut [Segment {
                cache: &mut caches[3],
                tokens: &contexts[3],
            }])
            .unwrap(),
    );
    let next = [5u32, 7, 11, 13];
    let step = llama
        .forward(&mut one_token_each(&mut caches, &next))
        .unwrap();
    for (i, tokens) in contexts.iter().enumerate() {
        let mut cache = KvCache::new();
        let alone = llama
            .forward(&mut [Segment {
                cache: &mut cache,
                tokens,
            }])
            .unwrap();
        assert_close(&together[i], &alone[0], &format!("prefill of stream {i}"));
        let alone = llama
            .forward(&mut [Segment {
                cache: &mut cache,
                tokens: &next[i..=i],
            }])
            .unwrap();
        assert_close(&step[i], &alone[0], &format!("decode of stream {i}"));
    }
}

#[test]
fn budgets_are_exact_and_batched_equals_unbatched() {
    let model = tiny(None);
    let sampled = |seed| Sampling {
        temperature: 0.9,
        top_p: 0.95,
        seed,
    };
    let requests = || {
        PROMPTS
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let sampling = if i % 2 == 0 {
                    greedy()
                } else {
                    sampled(i as u64)
                };
                request(i as u64, i as u32, p, 0, &[], 3 + 5 * i as u32, sampling)
            })
            .collect::<Vec<_>>()
    };
    let batched = run(&mut generator(&model), requests());
    for (i, reply) in batched.iter().enumerate() {
        assert_eq!(reply.end, End::Limit, "stream {i}");
        assert_eq!(reply.tokens, 3 + 5 * i as u32, "stream {i}");
    }
    for (i, r) in requests().into_iter().enumerate() {
        let alone = run(&mut generator(&model), vec![r]);
        assert_eq!(alone[0], batched[i], "stream {i} alone");
    }
    // A different seed changes a sampled stream, the same seed does not.
    let again = run(&mut generator(&model), requests());
    assert_eq!(again, batched);
    let other = run(
        &mut generator(&model),
        vec![request(9, 1, PROMPTS[1], 0, &[], 8, sampled(99))],
    );
    assert_ne!(other[0].text, batched[1].text);
}

#[test]
fn a_continued_stream_equals_a_fresh_run_of_its_context() {
    let model = tiny(None);
    let mut g = generator(&model);
    let first = run(&mut g, vec![request(0, 0, PROMPTS[2], 0, &[], 6, greedy())]);
    // The runtime keeps only part of the reply (a pattern ended the zone inside the last
    // token), then appends forced text.
    let text = &first[0].text;
    let cut = (0..text.len())
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap();
    let kept = &text[..cut];
    let context = format!("{}{kept} [Answer] and then", PROMPTS[2]);
    let second = run(
        &mut g,
        vec![request(1, 0, &context, PROMPTS[2].len(), &[], 6, greedy())],
    );
    let fresh = run(
        &mut generator(&model),
        vec![request(0, 3, &context, 0, &[], 6, greedy())],
    );
    assert_eq!(second, fresh);
    // The whole reply kept, then more text.
    let context = format!("{context}{}, again", second[0].text);
    let third = run(
        &mut g,
        vec![request(2, 0, &context, context.len() - 7, &[], 5, greedy())],
    );
    let fresh = run(
        &mut generator(&model),
        vec![request(0, 3, &context, 0, &[], 5, greedy())],
    );
    assert_eq!(third, fresh);
}

#[test]
fn stops_match_across_tokens_and_eos_is_reported() {
    let model = tiny(None);
    let long = run(
        &mut generator(&model),
        vec![request(0, 0, PROMPTS[0], 0, &[], 12, greedy())],
    );
    let text = &long[0].text;
    assert!(text.len() >= 8, "{text:?}");
    // A stop made of text straddling token boundaries, from the middle of the reply. A random
    // model may emit bytes that are not UTF-8 (shown as U+FFFD, which no byte stop can match),
    // so the stop is the first 4-byte window from a third of the way on that is real text.
    let window = |start: usize| {
        let start = (start..).find(|&i| text.is_char_boundary(i))?;
        let end = (start + 4..=text.len()).find(|&i| text.is_char_boundary(i))?;
        Some(&text[start..end]).filter(|w| !w.contains('\u{FFFD}'))
    };
    let stop = (text.len() / 3..text.len())
        .chain(0..text.len() / 3)
        .find_map(window)
        .expect("the reply holds 4 bytes of valid text");
    let first = text.find(stop).unwrap();
    let reply = run(
        &mut generator(&model),
        vec![request(0, 0, PROMPTS[0], 0, &["never", stop], 12, greedy())],
    );
    assert_eq!(reply[0].end, End::Stop(1));
    assert_eq!(reply[0].text, text[..first + stop.len()]);
    assert!(reply[0].tokens <= long[0].tokens && reply[0].tokens >= 1);
    // A stop that starts in the context and ends in the reply: the prompt's last 3 bytes and
    // the reply's first character(s), on the first prompt whose greedy reply starts with text.
    let (prompt, text, head) = PROMPTS
        .iter()
        .find_map(|&prompt| {
            let long = run(
                &mut generator(&model),
                vec![request(0, 0, prompt, 0, &[], 12, greedy())],
            );
            let text = long[0].text.clone();
            let head = (2..=text.len()).find(|&i| text.is_char_boundary(i))?;
            (!text[..head].contains('\u{FFFD}')).then_some((prompt, text, head))
        })
        .expect("some prompt's reply starts with valid text");
    let tail = (0..prompt.len() - 2)
        .rev()
        .find(|&i| prompt.is_char_boundary(i))
        .unwrap();
    let stop = format!("{}{}", &prompt[tail..], &text[..head]);
    let reply = run(
        &mut generator(&model),
        vec![request(0, 0, prompt, 0, &[&stop], 12, greedy())],
    );
    assert_eq!(reply[0].end, End::Stop(0));
    assert_eq!(reply[0].text, text[..head]);

    // With a later greedy token as EOS, a reply ends right before it: on the first prompt
    // whose greedy continuation (up to 12 tokens) brings a token it has not produced before
    // (the random model may repeat one token on some prompts).
    const STEPS: usize = 12;
    let llama = &model.llama;
    let greedy_tokens = |prompt: &str| -> Vec<u32> {
        let context = model.tokenizer.encode_context(prompt).unwrap();
        let mut cache = KvCache::new();
        let mut logits = llama
            .forward(&mut [Segment {
                cache: &mut cache,
                tokens: &context,
            }])
            .unwrap();
        let mut ids = Vec::new();
        for _ in 0..STEPS {
            let l = &logits[0];
            let best = (0..l.len()).fold(0, |b, i| if l[i] > l[b] { i } else { b }) as u32;
            ids.push(best);
            logits = llama
                .forward(&mut [Segment {
                    cache: &mut cache,
                    tokens: &[best],
                }])
                .unwrap();
        }
        ids
    };
    let (prompt, greedy_ids, k) = PROMPTS
        .iter()
        .find_map(|&prompt| {
            let ids = greedy_tokens(prompt);
            let k = (1..STEPS).find(|&k| !ids[..k].contains(&ids[k]))?;
            Some((prompt, ids, k))
        })
        .expect("some prompt's greedy reply brings a new token");
    let steps = run(
        &mut generator(&model),
        vec![request(0, 0, prompt, 0, &[], STEPS as u32, greedy())],
    );
    assert_eq!(model.tokenizer.decode(&greedy_ids), steps[0].text);
    let with_eos = tiny(Some(greedy_ids[k]));
    let reply = run(
        &mut generator(&with_eos),
        vec![request(0, 0, prompt, 0, &[], STEPS as u32, greedy())],
    );
    assert_eq!(reply[0].end, End::Eos);
    assert_eq!(reply[0].tokens, k as u32);
    assert_eq!(reply[0].text, model.tokenizer.decode(&greedy_ids[..k]));
}

#[test]
fn bad_requests_fail_their_stream_only() {
    let model = tiny(None);
    let mut g = generator(&model);
    let bad = Sampling {
        temperature: -1.0,
        top_p: 1.0,
        seed: 0,
    };
    g.submit(request(0, 0, PROMPTS[0], 0, &[], 4, bad));
    g.submit(request(1, 1, PROMPTS[1], 0, &[], 600, greedy()));
    g.submit(request(2, 2, PROMPTS[2], 0, &[], 2, greedy()));
    let mut done = Vec::new();
    while done.len() < 3 {
        g.wait(&mut done).unwrap();
    }
    done.sort_by_key(|c| c.id);
    let message = done[0].result.as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("stream 0: `temperature` must be a finite number ≥ 0"),
        "{message}"
    );
    let message = done[1].result.as_ref().unwrap_err().to_string();
    assert!(
        message.contains("context length of 512 tokens"),
        "{message}"
    );
    assert_eq!(done[2].result.as_ref().unwrap().tokens, 2);
}

#[test]
fn malformed_models_are_refused_with_the_key() {
    let bytes = tiny_gguf(None);
    let cut = &bytes[..bytes.len() / 2];
    let error = LocalModel::from_reader(&mut Cursor::new(cut))
        .err()
        .unwrap();
    assert!(error.to_string().contains("tensor"), "{error}");
    let error = LocalModel::from_reader(&mut Cursor::new(b"not a model".to_vec()))
        .err()
        .unwrap();
    assert!(error.to_string().contains("GGUF"), "{error}");
}
