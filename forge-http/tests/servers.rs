//! The HTTP generator against mocks that behave like the real servers (vLLM, SGLang,
//! llama.cpp; see the citations in `mock/mod.rs`): one test per way a real server differs from
//! what forge-http assumed before. Each test's comment says how the earlier client failed it.

mod mock;

use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::exec::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
use forge_http::{ApiKey, Config, Dialect, Endpoint, Error, HttpGenerator};
use mock::{Fault, Kind, Mock, Options, Output, Streaming};

const STOPS: [&str; 3] = ["[Next]", "[Jump]", "[Escape]"];

/// The model: the prompt's last word picks the output.
fn model() -> mock::Model {
    Arc::new(|prompt: &str| {
        let case = prompt.rsplit(' ').next().unwrap_or_default();
        let t = |tokens: &[&str], eos: bool| Output {
            tokens: tokens.iter().map(|s| (*s).to_owned()).collect(),
            eos,
        };
        match case {
            "inside" => t(&["Hello", " a[Ne", "xt]tail", " more"], false),
            // `[Escape]` completes first, but `[Next]` comes first in the stop list.
            "order" => t(&["[Esc", "ape] [Next]"], false),
            // Two stops in one token: `lo` completes first, `a long stop` starts first.
            "nested" => t(&["x ", "a long stop"], false),
            "eos" => t(&["short", " answer"], true),
            "limit" => t(&["one", " two", " three", " four", " five"], false),
            _ => t(&["?"], true),
        }
    })
}

fn request_with(id: u64, prompt: &str, stop: &[&str], max_tokens: u32) -> Request {
    let stop: Vec<Arc<str>> = stop.iter().map(|s| Arc::from(*s)).collect();
    Request::new(
        RequestId(id),
        StreamId(id as u32),
        Arc::new(prompt.to_owned()),
        0,
        stop.into(),
        max_tokens,
        Sampling {
            temperature: 0.7,
            top_p: 0.9,
            seed: 42,
        },
    )
}

fn request(id: u64, prompt: &str, max_tokens: u32) -> Request {
    request_with(id, prompt, &STOPS, max_tokens)
}

fn config(mock: &Mock) -> Config {
    Config::new([Endpoint::new(&mock.url).unwrap()])
        .request_timeout(Duration::from_secs(10))
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
        .api_key(ApiKey::none())
}

fn start(kind: Kind, options: Options) -> Mock {
    Mock::start_with(kind, model(), options)
}

/// Runs one request; its result.
fn run_one(generator: &mut HttpGenerator, request: Request) -> Result<Reply, Error> {
    generator.submit(request);
    let mut done: Vec<Completion<Error>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.is_empty() {
        assert!(Instant::now() < deadline, "the request did not complete");
        generator.wait(&mut done).expect("no run-level error");
    }
    done.pop().unwrap().result
}

fn reply(kind: Kind, options: Options, dialect: Dialect, request: Request) -> Reply {
    let mock = start(kind, options);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(dialect)).unwrap();
    run_one(&mut generator, request).unwrap()
}

const NATIVE: [(Kind, Dialect); 3] = [
    (Kind::Vllm, Dialect::Vllm),
    (Kind::Sglang, Dialect::Sglang),
    (Kind::LlamaCpp, Dialect::LlamaCpp),
];

/// Finding: vLLM fills left-out sampling fields from the model's generation config, llama.cpp
/// from GGUF metadata and flags; SGLang rejects `top_k: 0`. Before: only temperature and top-p
/// were sent (llama.cpp also `top_k: 0`, `min_p: 0`), so this failed on `repetition_penalty`.
#[test]
fn each_server_gets_the_neutral_sampling_values_it_accepts() {
    type Fields = &'static [(&'static str, f64)];
    let wants: [(Kind, Dialect, Fields); 4] = [
        (
            Kind::Vllm,
            Dialect::Vllm,
            &[("top_k", -1.0), ("min_p", 0.0), ("repetition_penalty", 1.0)],
        ),
        (
            Kind::Sglang,
            Dialect::Sglang,
            &[("top_k", -1.0), ("min_p", 0.0), ("repetition_penalty", 1.0)],
        ),
        (
            Kind::LlamaCpp,
            Dialect::LlamaCpp,
            &[
                ("top_k", 0.0),
                ("min_p", 0.0),
                ("repeat_penalty", 1.0),
                ("typical_p", 1.0),
                ("xtc_probability", 0.0),
                ("dry_multiplier", 0.0),
                ("mirostat", 0.0),
                ("top_n_sigma", -1.0),
            ],
        ),
        (Kind::OpenAi, Dialect::OpenAi, &[("presence_penalty", 0.0)]),
    ];
    for (kind, dialect, fields) in wants {
        let mock = start(kind, Options::default());
        let mut generator = HttpGenerator::connect(config(&mock).dialect(dialect)).unwrap();
        // SGLang's mock answers 400 to `top_k: 0`, as the server does.
        run_one(&mut generator, request(0, "prompt eos", 4)).unwrap();
        let body = &mock.seen()[0].body;
        for (name, value) in fields {
            assert_eq!(body[name].as_f64(), Some(*value), "{kind:?} {name}: {body}");
        }
        if kind == Kind::OpenAi {
            // An unidentified server gets only the OpenAI API's fields.
            assert!(
                body.get("top_k").is_none() && body.get("min_p").is_none(),
                "{body}"
            );
        }
    }
}

/// Finding: SGLang ignores `seed` unless run with `--enable-deterministic-inference`. Before:
/// nothing said so (the probe had no caveats; this test did not compile).
#[test]
fn sglang_without_deterministic_inference_is_reported_as_ignoring_seeds() {
    for deterministic in [false, true] {
        let mock = start(
            Kind::Sglang,
            Options {
                deterministic,
                ..Options::default()
            },
        );
        let generator = HttpGenerator::connect(config(&mock)).unwrap();
        let info = generator.server_info();
        assert_eq!(
            (info.dialect, info.version.as_deref()),
            (Dialect::Sglang, Some("0.5-mock"))
        );
        let warns = info
            .caveats
            .iter()
            .any(|c| c.contains("--enable-deterministic-inference"));
        assert_eq!(warns, !deterministic, "{:?}", info.caveats);
    }
}

/// Finding: SGLang's `no_stop_trim` keeps the rest of the token that completed the stop.
/// Before: `no_stop_trim` was sent and the stop appended again: `"Hello a[Next]tail[Next]"`.
#[test]
fn an_sglang_reply_ends_at_the_stop() {
    let r = reply(
        Kind::Sglang,
        Options::default(),
        Dialect::Sglang,
        request(0, "prompt inside", 16),
    );
    assert_eq!((r.text.as_str(), r.end), ("Hello a[Next]", End::Stop(0)));
}

/// Finding: vLLM and SGLang report the first stop in list order among those one step
/// completed, llama.cpp the earliest start. Before: vLLM's `"[Escape] [Next]"` came back as
/// `Stop(0)`, llama.cpp's `"x a long stop"` as `Stop(0)`.
#[test]
fn the_earliest_completed_stop_wins_whatever_the_servers_rule() {
    for (kind, dialect) in NATIVE {
        let r = reply(
            kind,
            Options::default(),
            dialect,
            request(0, "prompt order", 16),
        );
        assert_eq!(
            (r.text.as_str(), r.end),
            ("[Escape]", End::Stop(2)),
            "{kind:?}"
        );
        let nested = request_with(1, "prompt nested", &["a long stop", "lo"], 16);
        let r = reply(kind, Options::default(), dialect, nested);
        assert_eq!(
            (r.text.as_str(), r.end),
            ("x a lo", End::Stop(1)),
            "{kind:?}"
        );
    }
}

/// Finding: all three servers count the end-of-sequence token in their usage (and vLLM
/// reports a generation-config stop token as an integer `stop_reason`). Before: 3 tokens for
/// the two of `"short answer"`.
#[test]
fn the_end_of_sequence_token_is_not_counted() {
    for (kind, dialect) in NATIVE {
        for eos_token_id in [false, true] {
            let options = Options {
                eos_token_id,
                ..Options::default()
            };
            let r = reply(kind, options, dialect, request(0, "prompt eos", 16));
            assert_eq!(
                (r.text.as_str(), r.tokens, r.end),
                ("short answer", 2, End::Eos),
                "{kind:?}"
            );
        }
    }
}

/// Finding: a llama.cpp router (`--models-dir`) answers 400 to a `/completion` without
/// `model`. Before: `model` was never sent to llama.cpp, so every request failed.
#[test]
fn a_llama_cpp_router_gets_the_model() {
    let options = Options {
        router: true,
        ..Options::default()
    };
    let r = reply(
        Kind::LlamaCpp,
        options,
        Dialect::LlamaCpp,
        request(0, "prompt eos", 8),
    );
    assert_eq!(r.end, End::Eos);
}

/// Finding: older llama.cpp servers (and ik_llama.cpp) report `stopped_word`, `stopped_eos`,
/// `stopped_limit` instead of `stop_type`. Before: handled but untested (this passed).
#[test]
fn legacy_llama_cpp_stop_fields_are_read() {
    let options = Options {
        legacy: true,
        ..Options::default()
    };
    for (prompt, max, want) in [
        ("prompt inside", 16, ("Hello a[Next]", 3, End::Stop(0))),
        ("prompt eos", 16, ("short answer", 2, End::Eos)),
        ("prompt limit", 2, ("one two", 2, End::Limit)),
    ] {
        let r = reply(
            Kind::LlamaCpp,
            options,
            Dialect::LlamaCpp,
            request(0, prompt, max),
        );
        assert_eq!((r.text.as_str(), r.tokens, r.end), want, "{prompt}");
    }
}

/// Finding: vLLM sends several tokens per chunk, empty-text chunks, and usage only when
/// `stream_options.include_usage` is set. Before: no `stream_options` was sent and tokens were
/// counted as non-empty events (3 for 5 tokens).
#[test]
fn the_openai_dialect_counts_tokens_from_the_servers_usage() {
    let options = Options {
        streaming: Streaming::Vllm,
        ..Options::default()
    };
    let mock = start(Kind::OpenAi, options);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi)).unwrap();
    let r = run_one(&mut generator, request(0, "prompt limit", 5)).unwrap();
    assert_eq!(
        (r.text.as_str(), r.tokens, r.end),
        (" one two three four five".trim_start(), 5, End::Limit)
    );
    let r = run_one(&mut generator, request(1, "prompt eos", 16)).unwrap();
    assert_eq!(
        (r.text.as_str(), r.tokens, r.end),
        ("short answer", 2, End::Eos)
    );
    // Cut at a stop: the usage of the chunks received.
    let r = run_one(&mut generator, request(2, "prompt inside", 16)).unwrap();
    assert_eq!(
        (r.text.as_str(), r.tokens, r.end),
        ("Hello a[Next]", 4, End::Stop(0))
    );
    let body = &mock.seen()[0].body;
    assert_eq!(body["stream_options"]["include_usage"], true, "{body}");
    assert_eq!(
        body["stream_options"]["continuous_usage_stats"], true,
        "{body}"
    );
}

/// Finding: llama.cpp's `/v1/completions` sends `: ping` comments and usage in its last chunk,
/// the end-of-sequence token counted. Before: 3 tokens for `"short answer"`.
#[test]
fn llama_cpp_streams_with_pings_and_a_final_usage() {
    let options = Options {
        streaming: Streaming::LlamaCpp,
        piece: Some(7),
        ..Options::default()
    };
    let mock = start(Kind::OpenAi, options);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi)).unwrap();
    assert_eq!(generator.server_info().server, Dialect::LlamaCpp);
    let r = run_one(&mut generator, request(0, "prompt eos", 16)).unwrap();
    assert_eq!(
        (r.text.as_str(), r.tokens, r.end),
        ("short answer", 2, End::Eos)
    );
    let r = run_one(&mut generator, request(1, "prompt limit", 3)).unwrap();
    assert_eq!(
        (r.text.as_str(), r.tokens, r.end),
        ("one two three", 3, End::Limit)
    );
    // llama.cpp gets its own neutral values through /v1/completions too.
    assert_eq!(mock.seen()[0].body["repeat_penalty"], 1.0);
}

/// Finding: vLLM and SGLang report an error inside a stream as `data: {"error": …}`. Before:
/// a protocol error ("finish_reason None"), never retried, the server's message lost.
#[test]
fn an_error_inside_a_stream_is_retried_with_the_servers_message() {
    for streaming in [Streaming::Vllm, Streaming::Plain] {
        let options = Options {
            streaming,
            ..Options::default()
        };
        let mock = start(Kind::OpenAi, options);
        mock.inject([Fault::Failed(500, "engine step crashed")]);
        let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi)).unwrap();
        let r = run_one(&mut generator, request(0, "prompt eos", 16)).unwrap();
        assert_eq!(r.text, "short answer", "{streaming:?}");
        assert_eq!(mock.seen().len(), 2, "{streaming:?}: retried once");

        // Out of retries: the server's message, as a generation failure.
        mock.inject([Fault::Failed(500, "engine step crashed")]);
        let mut generator =
            HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi).max_retries(0)).unwrap();
        let error = run_one(&mut generator, request(1, "prompt eos", 16)).unwrap_err();
        assert!(
            matches!(error, Error::Generation { attempts: 1, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("engine step crashed"), "{error}");

        // A client error code: retrying cannot help.
        mock.inject([Fault::Failed(400, "prompt too long")]);
        let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi)).unwrap();
        let before = mock.seen().len();
        let error = run_one(&mut generator, request(2, "prompt eos", 16)).unwrap_err();
        assert!(error.to_string().contains("prompt too long"), "{error}");
        assert_eq!(mock.seen().len(), before + 1, "{streaming:?}: not retried");
    }
}

/// Finding: vLLM answers `finish_reason: "error"` (documented as retryable). Before: a
/// protocol error, never retried.
#[test]
fn a_finish_reason_error_is_retried() {
    let mock = start(Kind::Vllm, Options::default());
    mock.inject([Fault::Failed(500, "unused")]);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::Vllm)).unwrap();
    let r = run_one(&mut generator, request(0, "prompt eos", 16)).unwrap();
    assert_eq!((r.text.as_str(), r.end), ("short answer", End::Eos));
    assert_eq!(mock.seen().len(), 2);
}

/// Finding: llama.cpp answers 503 "Loading model" everywhere while it loads. Before: the
/// probe could not tell the server ("Auto" failed at once).
#[test]
fn a_loading_server_is_waited_for() {
    let options = Options {
        loading: Some(Duration::from_millis(1500)),
        ..Options::default()
    };
    let mock = start(Kind::LlamaCpp, options);
    let started = Instant::now();
    let mut generator = HttpGenerator::connect(config(&mock)).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(generator.dialect(), Dialect::LlamaCpp);
    let r = run_one(&mut generator, request(0, "prompt eos", 8)).unwrap();
    assert_eq!(r.end, End::Eos);
}

/// The wait is bounded, and its failure names what it waited for. Before: no such wait (this
/// test did not compile).
#[test]
fn a_server_that_keeps_loading_fails_naming_what_was_awaited() {
    let options = Options {
        loading: Some(Duration::from_secs(60)),
        ..Options::default()
    };
    let mock = start(Kind::LlamaCpp, options);
    let started = Instant::now();
    let error = HttpGenerator::connect(config(&mock).ready_timeout(Duration::from_millis(600)))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = error.to_string();
    for part in [
        mock.url.as_str(),
        "GET /health",
        "503",
        "Loading model",
        "ready timeout",
    ] {
        assert!(text.contains(part), "{part:?} in {text}");
    }
}

/// Finding: any 200 from `/get_server_info` counted as SGLang. Before: a catch-all proxy in
/// front of an OpenAI-compatible server was read as SGLang.
#[test]
fn a_catch_all_server_is_not_taken_for_sglang() {
    let options = Options {
        advertise: false,
        catch_all: true,
        ..Options::default()
    };
    let mock = start(Kind::OpenAi, options);
    let generator = HttpGenerator::connect(config(&mock)).unwrap();
    assert_eq!(generator.dialect(), Dialect::OpenAi);
}

/// Finding: a vLLM behind a proxy that rewrites `owned_by` was an unknown OpenAI server (no
/// neutral sampling values, so the model's generation config applied). Before: `OpenAi`.
#[test]
fn a_vllm_behind_a_proxy_is_found_by_its_version() {
    let options = Options {
        advertise: false,
        ..Options::default()
    };
    let mock = start(Kind::Vllm, options);
    let generator = HttpGenerator::connect(config(&mock)).unwrap();
    assert_eq!(generator.dialect(), Dialect::Vllm);
    assert_eq!(
        generator.server_info().version.as_deref(),
        Some("0.11-mock")
    );
    // A catch-all page at `/version` is not vLLM (`a_catch_all_server_is_not_taken_for_sglang`).
}

/// Finding: llama.cpp replaces an empty `stop` list by its `-r` antiprompts. Before: through
/// `/v1/completions` (no `stop` sent) a zone ended at the antiprompt read as the end of
/// sequence (`"short "`), and natively a zone with no pattern ended at a word forge never sent.
#[test]
fn llama_cpp_antiprompts_never_end_a_zone() {
    let options = Options {
        streaming: Streaming::LlamaCpp,
        antiprompts: &["answer"],
        ..Options::default()
    };
    let mock = start(Kind::OpenAi, options);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::OpenAi)).unwrap();
    let r = run_one(&mut generator, request(0, "prompt eos", 16)).unwrap();
    assert_eq!((r.text.as_str(), r.end), ("short answer", End::Eos));
    let stop = &mock.seen()[0].body["stop"];
    assert!(
        stop.as_array().is_some_and(|s| s.len() == 1),
        "one stop that cannot match: {stop}"
    );

    let options = Options {
        antiprompts: &["answer"],
        ..Options::default()
    };
    let r = reply(
        Kind::LlamaCpp,
        options,
        Dialect::LlamaCpp,
        request_with(1, "prompt eos", &[], 16),
    );
    assert_eq!((r.text.as_str(), r.end), ("short answer", End::Eos));
}

/// Finding: a full llama.cpp slot stops with `limit` after fewer tokens than asked, and vLLM
/// clamps `max_tokens` to the context. Before: `End::Limit`, as if the budget were spent.
#[test]
fn a_full_context_is_not_a_token_limit() {
    for (kind, dialect) in [
        (Kind::LlamaCpp, Dialect::LlamaCpp),
        (Kind::Vllm, Dialect::Vllm),
    ] {
        let options = Options {
            context: Some(16),
            ..Options::default()
        };
        // 12 prompt tokens (the mock counts bytes) leave 4 of the 10 asked.
        let r = reply(kind, options, dialect, request(0, "prompt limit", 10));
        assert_eq!(r.tokens, 4, "{kind:?}");
        assert_eq!(
            r.end,
            End::ContextFull {
                context: Some(16),
                needed: Some(22)
            },
            "{kind:?}"
        );
    }
}

/// The probe reads the slot context and tells which server defaults forge overrides.
#[test]
fn the_probe_reads_the_slot_context_and_the_overridden_defaults() {
    let options = Options {
        context: Some(2048),
        ..Options::default()
    };
    let mock = start(Kind::LlamaCpp, options);
    let info = forge_http::probe(&config(&mock)).unwrap();
    assert_eq!(
        (info.dialect, info.slot_context, info.slots),
        (Dialect::LlamaCpp, Some(2048), Some(4))
    );
    let caveats = info.caveats.join("\n");
    assert!(caveats.contains("repeat_penalty 1.1 → 1"), "{caveats}");
    assert!(caveats.contains("top_k 40 → 0"), "{caveats}");
    assert_eq!(info.neutral_sampling()["repeat_penalty"], 1.0);
}
