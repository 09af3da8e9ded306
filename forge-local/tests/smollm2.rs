//! The engine on the real SmolLM2-135M-Instruct Q4_1 GGUF: `FORGE_MODEL` if set, else the
//! default model from the user cache, downloaded on first use (`forge_local::models`).

use std::sync::Arc;

use forge_core::exec::{Completion, End, Generator, Request, RequestId, StreamId};
use forge_core::exec::{RunOptions, Runner, Sampling, SpanKind, Transcript, ZoneEnd};
use forge_core::program::{Call, Program, SampledWorkflow, Workflow};
use forge_core::resources::{Bindings, ListSampler};
use forge_core::udpl;
use forge_local::{Kernels, KvCache, LocalGenerator, LocalModel, Options, Segment};

/// The real model: `FORGE_MODEL` if set, else the user cache (downloaded there on first use,
/// the same file the main job `cargo run --example representative` uses). Never skipped: a
/// failure to obtain it fails the test with the message that says what to download.
fn model() -> Arc<LocalModel> {
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(LocalModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Ids written down once from llama.cpp's tokenizer (`POST /tokenize` of its server, which
/// parses special tokens) for the same model file.
const EXPECTED: &[(&str, &[u32])] = &[
    ("Hello, world!", &[19556, 28, 905, 17]),
    (
        "The year 2026 has 365 days.",
        &[
            504, 713, 216, 34, 32, 34, 38, 553, 216, 35, 38, 37, 2009, 30,
        ],
    ),
    (
        "  leading and   multiple   spaces\n\n\ttabs",
        &[216, 2899, 284, 256, 2701, 256, 5600, 1116, 197, 100, 7366],
    ),
    (
        "Ünïcödé: 日本語, emoji 🦀, math ½ ≤ π",
        &[
            142, 246, 94, 25972, 83, 7466, 84, 2756, 42, 17097, 241, 115, 40993, 179, 120, 248, 28,
            649, 33777, 15107, 116, 218, 28, 4119, 216, 16738, 38599, 25143,
        ],
    ),
    (
        "[Prompt] Answer the question. [Answer] [Escape] \"[Jump]\" [EndEscape] [EOS]",
        &[
            75, 24785, 437, 77, 19842, 260, 1962, 30, 933, 21350, 77, 933, 53, 32742, 77, 24562,
            58, 2538, 38045, 933, 13182, 53, 32742, 77, 933, 53, 4531, 77,
        ],
    ),
    (
        "fn main() {\n    println!(\"{}\", 42);\n}\n",
        &[
            7853, 1085, 1000, 1662, 472, 1628, 34115, 17, 43331, 1002, 216, 36, 34, 4258, 198, 109,
            198,
        ],
    ),
    ("<|im_start|>user\nHi<|im_end|>", &[1, 4093, 198, 26843, 2]),
    (
        "don't won't I'll we've they're",
        &[12420, 982, 3763, 982, 339, 3060, 392, 3543, 502, 2316],
    ),
    ("a\r\nb   ", &[81, 201, 198, 82, 333]),
    (
        "3.14159 + 1e-5 = x",
        &[
            35, 30, 33, 36, 33, 37, 41, 1232, 216, 33, 85, 29, 37, 446, 1792,
        ],
    ),
];

#[test]
fn tokenizer_matches_llama_cpp_and_round_trips() {
    let model = model();
    let t = &model.tokenizer;
    assert_eq!((t.bos(), t.eos(), t.adds_bos()), (Some(1), Some(2), false));
    for (text, ids) in EXPECTED {
        assert_eq!(t.encode(text).unwrap(), *ids, "{text:?}");
        assert_eq!(t.decode(ids), *text);
    }
    let varied = [
        "",
        " ",
        "\n\n\n",
        "tabs\tand\t\tmore\t",
        "trailing spaces   ",
        "   leading",
        "0123456789 98765",
        "Ελληνικά, русский, العربية, हिन्दी, 한국어",
        "combining é and precomposed é",
        "emoji 👩‍👩‍👧 flags 🇫🇷",
        "\u{0}\u{7f}\u{80}\u{ffff}",
        include_str!("../../examples/representative.toml"),
    ];
    for text in varied {
        assert_eq!(t.decode(&t.encode(text).unwrap()), text);
    }
}

fn complete(
    generator: &mut LocalGenerator,
    prompt: &str,
    stream: u32,
    max: u32,
) -> forge_core::exec::Reply {
    generator.submit(Request::new(
        RequestId(u64::from(stream)),
        StreamId(stream),
        Arc::new(prompt.to_owned()),
        0,
        Arc::new([]),
        max,
        Default::default(),
    ));
    let mut done: Vec<Completion<forge_local::Error>> = Vec::new();
    generator.wait(&mut done).unwrap();
    done.pop().unwrap().result.unwrap()
}

#[test]
fn greedy_text_agrees_with_llama_cpp() {
    let model = model();
    let mut g = LocalGenerator::new(model, Options::default()).unwrap();
    // llama.cpp's server on the same file, temperature 0, 16 tokens, gave " Paris.\n\nThe
    // United States has a population of approximately 321" and "\n\nA: \"The Sea of the
    // Sea\"\n\nA: \"". Both round the activations to 8 bits for their Q4_1 dot products, but
    // not identically, so later near-ties can go the other way: the first tokens agree (the
    // server test `the_in_process_engine_agrees_with_llama_server_step_by_step` measures it).
    let reply = complete(&mut g, "The capital of France is", 0, 2);
    assert_eq!(reply.end, End::Limit);
    assert_eq!(reply.text, " Paris.");
    // Here llama.cpp's first token is "\n\n" and this engine's "\n" (a near tie).
    let reply = complete(
        &mut g,
        "[Prompt] Write a haiku about the sea. [Answer]",
        1,
        1,
    );
    assert!(reply.text.starts_with('\n'), "{:?}", reply.text);
}

/// The weights stay in the file's quantization: resident weight bytes within 1.5× the file.
/// Every kernel set the CPU has computes the same greedy continuation.
#[test]
fn weights_stay_small_and_every_kernel_set_agrees() {
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    let file = std::fs::metadata(&path).unwrap().len() as f64;
    let mut model = LocalModel::load(&path).unwrap();
    let weights = model.llama.weight_bytes() as f64;
    assert!(
        weights <= 1.5 * file,
        "{weights} bytes of weights for a {file}-byte file"
    );
    // (Q4_1 and Q8_0 blocks keep their bytes: about the file's size.)
    assert!(
        weights >= 0.9 * file,
        "{weights} bytes of weights for a {file}-byte file"
    );
    let detected = model.llama.kernels();
    let tokens = model.tokenizer.encode("The capital of France is").unwrap();
    let mut greedy = Vec::new();
    for kernels in [Kernels::Portable, Kernels::Avx2, Kernels::Avx512Vnni] {
        if !kernels.available() {
            continue;
        }
        model.llama.set_kernels(kernels).unwrap();
        let mut cache = KvCache::new();
        let mut next = tokens.clone();
        let mut out = Vec::new();
        for _ in 0..8 {
            let segment = Segment {
                cache: &mut cache,
                tokens: &next,
            };
            let logits = model.llama.forward(&mut [segment]).unwrap().remove(0);
            let top = (0..logits.len())
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap() as u32;
            out.push(top);
            next = vec![top];
        }
        greedy.push((kernels, out));
    }
    assert!(greedy.iter().any(|(k, _)| *k == detected));
    for (k, out) in &greedy[1..] {
        assert_eq!(out, &greedy[0].1, "{k:?} against {:?}", greedy[0].0);
    }
}

/// `examples/representative.toml`'s default program, as `forge run` builds it: every sequence
/// once, in `config.sequences` order, one extraction per valid tag. (No loop: a greedy small
/// model may never write the control pattern that leaves one.)
fn representative() -> Workflow {
    let source = include_str!("../../examples/representative.toml");
    let doc = udpl::parse_str(source, "representative.toml")
        .expect("the example parses")
        .document;
    let principles: Vec<String> = (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."))
        .collect();
    let mut standard = Bindings::new();
    standard.insert("constitution", ListSampler::new(principles).unwrap());
    let sequences = doc.config.sequences.clone();
    let tags = doc.config.valid_tags.clone();
    let mut program = Program::new(doc, standard).unwrap();
    for sequence in &sequences {
        let call = match sequence.as_str() {
            "loop_control" => Call::new("loop_control").with("min", "2").with("max", "5"),
            other => Call::new(other),
        };
        program.run(call).unwrap();
    }
    for tag in &tags {
        program.extract(tag, &[tag]).unwrap();
    }
    program.compile().unwrap()
}

/// Every structural property of `docs/execution.md` that a finished transcript shows.
fn check_structure(sample: &SampledWorkflow, t: &Transcript, cap: u32) {
    let who = format!("stream {}", t.stream.0);
    let config = sample.config();
    // Spans tile the text, in order, each inside its visit; visits tile it too.
    let mut at = 0;
    for s in &t.spans {
        assert_eq!(s.start, at, "{who}: spans leave a gap");
        let v = &t.visits[s.visit as usize];
        assert!(
            v.start <= s.start && s.end <= v.end_byte,
            "{who}: span outside its visit"
        );
        at = s.end;
    }
    assert_eq!(at, t.text.len(), "{who}: spans do not reach the end");
    let mut at = 0;
    for v in &t.visits {
        assert_eq!(v.start, at, "{who}: visits leave a gap");
        at = v.end_byte;
    }
    assert_eq!(at, t.text.len());
    // The path follows the graph from the entry zone to the end.
    let mut expected = Some(sample.entry());
    for (i, v) in t.visits.iter().enumerate() {
        let zone = sample.zone(v.zone);
        assert_eq!(
            Some(zone.index),
            expected,
            "{who}: visit {i} is off the graph"
        );
        expected = if v.end.jumped() {
            zone.jump.as_ref().expect("a jump needs a jump edge").target
        } else {
            zone.next
        };
        let text = t.visit_text(i);
        let spans: Vec<_> = t.spans().filter(|s| s.visit == i as u32).collect();
        // Entering a zone forces its text; every span carries the zone's tags.
        assert!(
            text.starts_with(zone.text()),
            "{who}: visit {i} lacks its zone text"
        );
        assert_eq!(&*v.tags, &*zone.tags, "{who}: visit {i} tags");
        for s in &spans {
            assert_eq!(s.tags, &*zone.tags);
        }
        let budget = zone.max_gen_tokens.min(u64::from(cap)) as u32;
        assert!(
            v.tokens <= budget,
            "{who}: visit {i} used {} tokens",
            v.tokens
        );
        let last = spans.last().expect("a visit has a span");
        match v.end {
            ZoneEnd::Pattern => {
                assert!(text.ends_with(&*zone.advance), "{who}: visit {i}: {text:?}");
                assert_eq!(last.kind, SpanKind::Generated);
            }
            ZoneEnd::Jump => {
                assert!(
                    text.ends_with(config.control_pattern.as_str()),
                    "{who}: {text:?}"
                );
            }
            ZoneEnd::Limit | ZoneEnd::Eos => {
                assert_eq!(last.kind, SpanKind::ForcedClose);
                assert_eq!(last.text, &*zone.advance);
                if v.end == ZoneEnd::Limit {
                    assert_eq!(v.tokens, budget, "{who}: visit {i} ended early");
                }
            }
            ZoneEnd::ForcedJump => {
                assert_eq!(last.kind, SpanKind::ForcedClose);
                assert_eq!(last.text, config.control_pattern.as_str());
                assert_eq!(v.tokens, 0, "{who}: a forced jump asks the model nothing");
            }
            ZoneEnd::Forced => assert!(zone.input || zone.text().ends_with(&*zone.advance)),
            ZoneEnd::Unfinished => panic!("{who}: a finished stream has an unfinished visit"),
            // The in-process engine's context is the model's; the run does not opt in.
            ZoneEnd::ContextFull => panic!("{who}: visit {i} ended by a full context"),
        }
    }
    assert_eq!(expected, None, "{who}: the stream stopped before the end");
    // Extractions: one text per visit of a tagged zone, in visit order.
    for e in sample.extractions() {
        let texts: Vec<&str> = (0..t.visits.len())
            .filter(|&i| e.zones.iter().any(|z| *z == t.visits[i].zone))
            .map(|i| t.visit_text(i))
            .collect();
        assert_eq!(
            t.extraction(&e.name).unwrap(),
            texts,
            "{who}: extraction {}",
            e.name
        );
    }
    // The engine stopped where the runtime did: nothing to correct.
    assert!(t.corrections.is_empty(), "{who}: {:?}", t.corrections);
}

#[test]
fn representative_workflow_runs_end_to_end_and_reproducibly() {
    let model = model();
    let workflow = representative();
    let samples: Vec<SampledWorkflow> = (0..4)
        .map(|s| {
            let mut args = Bindings::new();
            args.insert("prompt", "How do I keep a sourdough starter alive?");
            workflow.sample_seeded(args, s).unwrap()
        })
        .collect();
    const CAP: u32 = 8;
    let run = || {
        let runner = Runner::new(RunOptions {
            sampling: Sampling {
                temperature: 0.0,
                top_p: 1.0,
                seed: 11,
            },
            max_tokens: Some(CAP),
            ..RunOptions::default()
        })
        .unwrap();
        let mut generator = LocalGenerator::new(Arc::clone(&model), Options::default()).unwrap();
        runner
            .run(&mut generator, samples.clone())
            .expect("no fatal error")
            .into_iter()
            .map(|r| r.expect("every stream finishes"))
            .collect::<Vec<Transcript>>()
    };
    let first = run();
    assert_eq!(first.len(), 4);
    for (sample, t) in samples.iter().zip(&first) {
        check_structure(sample, t, CAP);
        assert!(t.tokens() > 0);
    }
    assert_eq!(run(), first, "the same seed gives the same transcripts");
}
