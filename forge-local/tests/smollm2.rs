//! The engine on the real SmolLM2-135M-Instruct Q4_1 GGUF (path in `FORGE_MODEL`; CI sets it
//! with `eval "$(bash .ci/engines.sh model)"`). Skipped, with a message, when it is unset.

use std::sync::Arc;

use forge_local::{
    Completion, End, Generator, LocalGenerator, LocalModel, Options, Request, RequestId, StreamId,
};

fn model() -> Option<Arc<LocalModel>> {
    let Some(path) = std::env::var_os("FORGE_MODEL") else {
        eprintln!(
            "skipped: FORGE_MODEL is not set; run `eval \"$(bash .ci/engines.sh model)\"` first"
        );
        return None;
    };
    Some(Arc::new(
        LocalModel::load(&path).expect("FORGE_MODEL loads"),
    ))
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
    let Some(model) = model() else { return };
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
) -> forge_local::Reply {
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
fn greedy_text_matches_llama_cpp() {
    let Some(model) = model() else { return };
    let mut g = LocalGenerator::new(model, Options::default()).unwrap();
    // llama.cpp's server, same file, temperature 0, 16 tokens: " Paris.\n\nThe United States
    // has a population of approximately 321". Its 15th token ("2") is a near tie that goes
    // the other way here ("1"): llama.cpp keeps its cache in f16, this engine in f32.
    let reply = complete(&mut g, "The capital of France is", 0, 14);
    assert_eq!(reply.end, End::Limit);
    assert_eq!(
        reply.text,
        " Paris.\n\nThe United States has a population of approximately 3"
    );
    let reply = complete(
        &mut g,
        "[Prompt] Write a haiku about the sea. [Answer]",
        1,
        16,
    );
    assert_eq!(reply.text, "\n\nA: \"The Sea of the Sea\"\n\nA: \"");
}
