//! The HTTP generator against loopback servers imitating each dialect: the replies equal what
//! the generator contract asks for, whatever the server's stop handling, chunking and faults.

mod mock;

use std::sync::Arc;
use std::time::{Duration, Instant};

use forge_core::exec::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
use forge_http::{ApiKey, Config, Dialect, Endpoint, Error, HttpGenerator};
use mock::{Fault, Kind, Mock, Options, Output, generate};

const KINDS: [(Kind, Dialect); 4] = [
    (Kind::Vllm, Dialect::Vllm),
    (Kind::Sglang, Dialect::Sglang),
    (Kind::LlamaCpp, Dialect::LlamaCpp),
    (Kind::OpenAi, Dialect::OpenAi),
];

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
            // The stop inside one token, with text after it in that token.
            "inside" => t(&["Hello", " a[Ne", "xt]tail", " more"], false),
            // A stop split across three tokens.
            "split" => t(&["x", " [Ju", "m", "p] after"], false),
            // A later-listed stop completes first.
            "order" => t(&["[Esc", "ape] [Next]"], false),
            "eos" => t(&["short", " answer"], true),
            "limit" => t(&["one", " two", " three", " four", " five"], false),
            // Multi-byte text around a stop.
            "utf8" => t(&["é", "è[", "Next", "]ü"], false),
            _ => t(&["?"], true),
        }
    })
}

fn request(id: u64, stream: u32, prompt: &str, max_tokens: u32) -> Request {
    let stop: Vec<Arc<str>> = STOPS.iter().map(|s| Arc::from(*s)).collect();
    Request::new(
        RequestId(id),
        StreamId(stream),
        Arc::new(prompt.to_owned()),
        0,
        stop.into(),
        max_tokens,
        Sampling {
            temperature: 0.7,
            top_p: 0.9,
            seed: 42 + id,
        },
    )
}

/// What a conforming generator answers: the mock model's output cut at the earliest completed
/// stop (kept), the limit or the end of sequence.
fn expected(prompt: &str, max_tokens: u32) -> Reply {
    let stop: Vec<String> = STOPS.iter().map(|s| (*s).to_owned()).collect();
    let g = generate(&model()(prompt), &stop, max_tokens);
    Reply {
        text: g.text,
        tokens: g.tokens,
        end: match g.stop {
            Some(i) => End::Stop(i),
            None if g.eos => End::Eos,
            None => End::Limit,
        },
    }
}

fn config(mock: &Mock) -> Config {
    Config::new([Endpoint::new(&mock.url).unwrap()])
        .request_timeout(Duration::from_secs(10))
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
        .api_key(ApiKey::none())
}

/// Submits every request, waits for all; results by request id.
fn run_all(generator: &mut HttpGenerator, requests: Vec<Request>) -> Vec<Result<Reply, Error>> {
    let n = requests.len();
    for r in requests {
        generator.submit(r);
    }
    let mut done: Vec<Completion<Error>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while done.len() < n {
        assert!(
            Instant::now() < deadline,
            "requests did not complete in time"
        );
        generator.wait(&mut done).expect("no run-level error");
    }
    done.sort_by_key(|c| c.id);
    done.into_iter().map(|c| c.result).collect()
}

const CASES: [(&str, u32); 7] = [
    ("prompt inside", 16),
    ("prompt split", 16),
    ("prompt order", 16),
    ("prompt eos", 16),
    ("prompt limit", 3),
    ("prompt utf8", 16),
    ("prompt inside", 1),
];

fn check_every_case(mock: &Mock, dialect: Dialect) {
    let mut generator = HttpGenerator::connect(config(mock).dialect(dialect)).unwrap();
    let requests = CASES
        .iter()
        .enumerate()
        .map(|(i, (p, max))| request(i as u64, i as u32, p, *max))
        .collect();
    let replies = run_all(&mut generator, requests);
    for ((prompt, max), reply) in CASES.iter().zip(replies) {
        assert_eq!(
            reply.unwrap(),
            expected(prompt, *max),
            "{dialect}: `{prompt}` with {max} tokens"
        );
    }
}

#[test]
fn every_dialect_gives_the_contract_reply() {
    for (kind, dialect) in KINDS {
        let mock = Mock::start(kind, model());
        check_every_case(&mock, dialect);
    }
}

#[test]
fn answers_split_into_small_pieces_give_the_same_replies() {
    // Events, lines, UTF-8 characters and patterns arrive split over 3-byte pieces.
    for (kind, dialect) in KINDS {
        let options = Options {
            piece: Some(3),
            ..Options::default()
        };
        let mock = Mock::start_with(kind, model(), options);
        check_every_case(&mock, dialect);
    }
}

#[test]
fn the_probe_detects_each_server() {
    for (kind, dialect) in KINDS {
        for advertise in [true, false] {
            let mock = Mock::start_with(
                kind,
                model(),
                Options {
                    advertise,
                    ..Options::default()
                },
            );
            let generator = HttpGenerator::connect(config(&mock)).unwrap();
            // Without `owned_by`, each server is found by its own route (`/props`,
            // `/server_info`, vLLM's `/version`).
            assert_eq!(
                generator.dialect(),
                dialect,
                "{kind:?}, advertised: {advertise}"
            );
            assert_eq!(generator.model(), "mock-model");
        }
    }
}

#[test]
fn the_request_carries_each_dialects_fields() {
    for (kind, dialect) in KINDS {
        let mock = Mock::start(kind, model());
        let mut generator = HttpGenerator::connect(
            config(&mock)
                .dialect(dialect)
                .api_key(ApiKey::new("sk-test-secret")),
        )
        .unwrap();
        run_all(&mut generator, vec![request(0, 0, "prompt eos", 9)]);
        let seen = mock.seen();
        let body = &seen[0].body;
        assert_eq!(
            seen[0].authorization.as_deref(),
            Some("Bearer sk-test-secret")
        );
        assert_eq!(body["prompt"], "prompt eos");
        let limit = if kind == Kind::LlamaCpp {
            "n_predict"
        } else {
            "max_tokens"
        };
        assert_eq!(body[limit], 9, "{kind:?}");
        assert_eq!(body["seed"], 42);
        let (field, stop_sent) = match kind {
            Kind::Vllm => (Some("include_stop_str_in_output"), true),
            // Not `no_stop_trim`: SGLang then keeps the rest of the token after the stop.
            Kind::Sglang => (None, true),
            Kind::LlamaCpp => (Some("cache_prompt"), true),
            Kind::OpenAi => (None, false),
        };
        if let Some(field) = field {
            assert_eq!(body[field], true, "{kind:?} sends {field}");
        }
        assert_eq!(body.get("stop").is_some(), stop_sent, "{kind:?}");
        assert!(body.get("no_stop_trim").is_none(), "{kind:?}");
        assert_eq!(body.get("stream").is_some(), kind == Kind::OpenAi);
        // The key never shows in debug output.
        let debug = format!("{generator:?}");
        assert!(!debug.contains("sk-test-secret"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    for (kind, dialect) in KINDS {
        let mock = Mock::start(kind, model());
        mock.inject([Fault::Status(429, "slow down", Some("1"))]);
        let mut generator = HttpGenerator::connect(config(&mock).dialect(dialect)).unwrap();
        let start = Instant::now();
        let replies = run_all(&mut generator, vec![request(0, 0, "prompt split", 16)]);
        let elapsed = start.elapsed();
        assert_eq!(replies[0].as_ref().unwrap(), &expected("prompt split", 16));
        // The backoff is 1 ms; the server asked for 1 s.
        assert!(
            elapsed >= Duration::from_millis(950),
            "{kind:?}: {elapsed:?}"
        );
        assert!(elapsed < Duration::from_secs(5), "{kind:?}: {elapsed:?}");
        assert_eq!(mock.seen().len(), 2);
        assert_eq!(generator.stats()[0].retries, 1);
    }
}

#[test]
fn server_errors_are_retried_then_reported_with_the_servers_message() {
    let mock = Mock::start(Kind::Vllm, model());
    mock.inject([
        Fault::Status(500, "engine hiccup", None),
        Fault::Status(503, "engine hiccup", None),
    ]);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::Vllm)).unwrap();
    let replies = run_all(&mut generator, vec![request(0, 0, "prompt inside", 16)]);
    assert_eq!(replies[0].as_ref().unwrap(), &expected("prompt inside", 16));
    assert_eq!(mock.seen().len(), 3);

    mock.inject([
        Fault::Status(500, "engine on fire", None),
        Fault::Status(500, "engine on fire", None),
    ]);
    let mut generator =
        HttpGenerator::connect(config(&mock).dialect(Dialect::Vllm).max_retries(1)).unwrap();
    let replies = run_all(&mut generator, vec![request(0, 0, "prompt inside", 16)]);
    let error = replies.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(&error, Error::Status { status: 500, attempts: 2, message, .. } if message == "engine on fire"),
        "{error:?}"
    );
    assert!(error.to_string().contains(&mock.url), "{error}");
}

#[test]
fn client_errors_fail_at_once_with_the_servers_message() {
    let mock = Mock::start(Kind::Sglang, model());
    mock.inject([Fault::Status(
        400,
        "prompt is longer than the context (9000 > 8192)",
        None,
    )]);
    let mut generator = HttpGenerator::connect(config(&mock).dialect(Dialect::Sglang)).unwrap();
    let replies = run_all(&mut generator, vec![request(0, 0, "prompt eos", 16)]);
    let error = replies.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Status {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("HTTP 400: prompt is longer than the context (9000 > 8192)"),
        "{text}"
    );
    assert_eq!(mock.seen().len(), 1, "a 4xx is not retried");
}

#[test]
fn a_connection_reset_mid_answer_is_retried() {
    for (kind, dialect) in KINDS {
        let options = Options {
            piece: Some(40),
            ..Options::default()
        };
        let mock = Mock::start_with(kind, model(), options);
        mock.inject([Fault::Reset]);
        let mut generator = HttpGenerator::connect(config(&mock).dialect(dialect)).unwrap();
        let replies = run_all(&mut generator, vec![request(0, 0, "prompt limit", 4)]);
        assert_eq!(
            replies[0].as_ref().unwrap(),
            &expected("prompt limit", 4),
            "{kind:?}"
        );
        assert_eq!(mock.seen().len(), 2, "{kind:?}");
    }
}

#[test]
fn a_slow_server_times_out() {
    let mock = Mock::start(Kind::LlamaCpp, model());
    mock.inject([
        Fault::Slow(Duration::from_secs(5)),
        Fault::Slow(Duration::from_secs(5)),
    ]);
    let mut generator = HttpGenerator::connect(
        config(&mock)
            .dialect(Dialect::LlamaCpp)
            .request_timeout(Duration::from_millis(200))
            .max_retries(1),
    )
    .unwrap();
    let start = Instant::now();
    let replies = run_all(&mut generator, vec![request(0, 0, "prompt eos", 16)]);
    assert!(start.elapsed() < Duration::from_secs(3));
    let error = replies.into_iter().next().unwrap().unwrap_err();
    assert!(
        matches!(error, Error::Timeout { attempts: 2, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("no answer within 0.2 s"),
        "{error}"
    );
}

#[test]
fn the_error_budget_stops_the_run() {
    let mock = Mock::start(Kind::Vllm, model());
    mock.inject((0..3).map(|_| Fault::Status(422, "bad field", None)));
    let mut generator =
        HttpGenerator::connect(config(&mock).dialect(Dialect::Vllm).error_budget(2)).unwrap();
    for i in 0..3 {
        generator.submit(request(i, i as u32, &format!("prompt eos {i}"), 4));
    }
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let error = loop {
        assert!(Instant::now() < deadline);
        if let Err(e) = generator.wait(&mut out) {
            break e;
        }
    };
    assert!(
        matches!(
            &error,
            Error::Budget {
                failed: 3,
                budget: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("bad field"), "{error}");
}

#[test]
fn an_unreachable_endpoint_fails_at_connect() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let error = HttpGenerator::connect(
        Config::new([Endpoint::new(&url).unwrap()]).connect_timeout(Duration::from_secs(2)),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Probe { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains(&url) && text.contains("cannot reach"),
        "{text}"
    );
}

/// Runs `streams` streams of `turns` requests each, every stream's next request submitted as
/// soon as its reply arrives. Returns the completions in arrival order.
fn drive(generator: &mut HttpGenerator, streams: u32, turns: u32) -> Vec<Completion<Error>> {
    let mut next_id = 0u64;
    let mut turn = vec![0u32; streams as usize];
    let mut prompts: Vec<String> = (0..streams)
        .map(|s| {
            format!("a long shared system prompt that every stream starts with, stream {s} eos")
        })
        .collect();
    let mut submit = |g: &mut HttpGenerator, s: u32, prompts: &[String], prefix: usize| {
        let stop: Vec<Arc<str>> = STOPS.iter().map(|s| Arc::from(*s)).collect();
        g.submit(Request::new(
            RequestId(next_id),
            StreamId(s),
            Arc::new(prompts[s as usize].clone()),
            prefix,
            stop.into(),
            8,
            Sampling::default(),
        ));
        next_id += 1;
    };
    let capacity = generator.capacity() as u32;
    let mut started = 0;
    while started < streams.min(capacity) {
        submit(generator, started, &prompts, 0);
        started += 1;
    }
    let mut all = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while all.len() < (streams * turns) as usize {
        assert!(
            Instant::now() < deadline,
            "the streams did not finish in time"
        );
        generator.wait(&mut out).unwrap();
        for c in out.drain(..) {
            let s = c.stream.0;
            let reply = c.result.as_ref().expect("no fault injected");
            turn[s as usize] += 1;
            let prefix = prompts[s as usize].len();
            if turn[s as usize] < turns {
                prompts[s as usize].push_str(&reply.text);
                prompts[s as usize].push_str(" eos");
                submit(generator, s, &prompts, prefix);
            } else {
                generator.release(StreamId(s));
                if started < streams {
                    submit(generator, started, &prompts, 0);
                    started += 1;
                }
            }
            all.push(c);
        }
    }
    all
}

#[test]
fn streams_stay_on_their_endpoint_within_its_limit() {
    let a = Mock::start(Kind::LlamaCpp, model());
    let b = Mock::start(Kind::LlamaCpp, model());
    let config = Config::new([
        Endpoint::parse(&format!("{},2", a.url)).unwrap(),
        Endpoint::parse(&format!("{},4", b.url)).unwrap(),
    ])
    .api_key(ApiKey::none())
    .warm_shared_prefix(0);
    let mut generator = HttpGenerator::connect(config).unwrap();
    assert_eq!(generator.capacity(), 6);
    let completions = drive(&mut generator, 12, 3);
    for c in &completions {
        assert!(c.result.is_ok());
    }
    // Every request of a stream went to the endpoint the stream is pinned to.
    for (mock, other) in [(&a, &b), (&b, &a)] {
        for seen in mock.seen() {
            let prompt = seen.body["prompt"].as_str().unwrap();
            let stream: u32 = prompt
                .split(", stream ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                generator.endpoint_of(StreamId(stream)),
                Some(mock.url.as_str())
            );
            assert!(other.seen().iter().all(|o| {
                o.body["prompt"]
                    .as_str()
                    .is_none_or(|p| !p.contains(&format!(", stream {stream} ")))
            }));
        }
    }
    assert!(a.peak_concurrency() <= 2, "{}", a.peak_concurrency());
    assert!(b.peak_concurrency() <= 4, "{}", b.peak_concurrency());
    // Streams are spread by limit: b takes about twice as many as a.
    assert!(
        b.seen().len() > a.seen().len(),
        "{} vs {}",
        b.seen().len(),
        a.seen().len()
    );
    let stats = generator.stats();
    assert_eq!(stats.iter().map(|s| s.completed).sum::<u64>(), 36);
}

#[test]
fn the_shared_first_prompt_is_sent_once_before_fanning_out() {
    let mock = Mock::start(Kind::Vllm, model());
    let mut generator =
        HttpGenerator::connect(config(&mock).dialect(Dialect::Vllm).warm_shared_prefix(32))
            .unwrap();
    drive(&mut generator, 4, 2);
    let seen = mock.seen();
    assert_eq!(seen.len(), 1 + 8);
    let warm = &seen[0];
    assert_eq!(
        warm.body["prompt"],
        "a long shared system prompt that every stream starts with, stream "
    );
    assert_eq!(warm.body["max_tokens"], 1);
    let warmed = warm.answered.unwrap();
    assert!(seen[1..].iter().all(|s| s.at >= warmed));
}
