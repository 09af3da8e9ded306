//! Whole runs through the HTTP generator against loopback servers of each dialect give the
//! same transcripts as the scripted generator playing back the same model outputs, with
//! answers split into small pieces and with faults injected.

mod mock;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use forge_core::exec::{Output, RetryPolicy, RunOptions, Runner, Sampling, Scripted, StreamResult};
use forge_core::program::{Call, Program, SampledWorkflow};
use forge_core::resources::{Binding, Bindings, StaticString};
use forge_core::udpl;
use forge_http::{ApiKey, Config, Dialect, Endpoint, HttpGenerator};
use mock::{Fault, Kind, Mock, Options, generate};

/// Zones end with `[A]`; `ctl` controls a loop (the model leaves it with `[J]`).
const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Q", "Ctl"]
default_max_token_length = 12
sequences = ["q", "ctl"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[q]]
text = "[P] about {topic}:"
tags = [["Q"]]

[q.topic]
name = "topic"
type = "argument"

[[ctl]]
text = "[P] again?"
tags = [["Ctl"]]
"#;

const STREAMS: u32 = 6;

fn workflows() -> Vec<SampledWorkflow> {
    let doc = udpl::parse_str(DOC, "transcripts.toml").unwrap().document;
    let mut program = Program::new(doc, Bindings::new()).unwrap();
    program.run(Call::new("q")).unwrap();
    program
        .loop_(Call::new("ctl"), |body| {
            body.run(Call::new("q"))?;
            Ok(())
        })
        .unwrap();
    program.run(Call::new("q")).unwrap();
    program.extract("q", &["Q"]).unwrap();
    let workflow = program.compile().unwrap();
    (0..STREAMS)
        .map(|i| {
            let mut args = Bindings::new();
            args.insert(
                "topic",
                Binding::instance(StaticString::new(format!("stream-{i}"))),
            );
            workflow.sample_seeded(args, u64::from(i)).unwrap()
        })
        .collect()
}

/// The model: the prompt's hash picks one of a few behaviours, all of which write the
/// document's patterns in awkward places.
fn model() -> mock::Model {
    Arc::new(|prompt: &str| {
        let hash = prompt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let t = |tokens: &[&str], eos: bool| mock::Output {
            tokens: tokens.iter().map(|s| (*s).to_owned()).collect(),
            eos,
        };
        match hash % 7 {
            // The advance pattern inside a token, text after it.
            0 => t(&["The", " answer", " [", "A] tail"], false),
            // An escape opened inside a token, the control pattern escaped, then closed.
            1 => t(&["Hmm [E", "] \"[J]\" [/", "E] ok [A]"], false),
            // The control pattern first.
            2 => t(&["[J]", " more", " [A]"], false),
            // End of sequence.
            3 => t(&["short"], true),
            // Never a pattern: the token limit.
            4 => t(&["x"], false),
            // Multi-byte text split around a pattern.
            5 => t(&["é", "è[", "A", "]ü"], false),
            // An escape that never closes before the end of sequence.
            _ => t(&["[E] open"], true),
        }
    })
}

fn options() -> RunOptions {
    RunOptions {
        max_in_flight: 4,
        sampling: Sampling {
            temperature: 0.5,
            top_p: 1.0,
            seed: 11,
        },
        retry: RetryPolicy::NONE,
        ..RunOptions::default()
    }
}

/// The stream a prompt belongs to (its first zone names it).
fn stream_of(prompt: &str) -> usize {
    let tail = prompt.split("stream-").nth(1).unwrap();
    tail.split(':').next().unwrap().parse().unwrap()
}

/// The scripted outputs for the requests the server saw: per stream, in order, the model's
/// output for each prompt (a retried request counted once), padded to the request's limit
/// when the model would not stop by itself.
fn scripts(server: &Mock, kind: Kind) -> Vec<Vec<Output>> {
    let mut by_stream: BTreeMap<usize, Vec<(String, u32)>> = BTreeMap::new();
    let limit_field = if kind == Kind::LlamaCpp {
        "n_predict"
    } else {
        "max_tokens"
    };
    for seen in server.seen() {
        let prompt = seen.body["prompt"].as_str().unwrap().to_owned();
        let max = seen.body[limit_field].as_u64().unwrap() as u32;
        let requests = by_stream.entry(stream_of(&prompt)).or_default();
        if requests.last().is_none_or(|(p, _)| *p != prompt) {
            requests.push((prompt, max));
        }
    }
    (0..STREAMS as usize)
        .map(|s| {
            by_stream
                .remove(&s)
                .unwrap_or_default()
                .into_iter()
                .map(|(prompt, max)| {
                    let output = model()(&prompt);
                    // What the model writes up to the limit (no stop: the scripted generator
                    // applies the stop set itself).
                    let raw = generate(&output, &[], max);
                    Output::Tokens(raw.pieces)
                })
                .collect()
        })
        .collect()
}

fn run_http(
    kind: Kind,
    dialect: Dialect,
    options: Options,
    faults: Vec<Fault>,
) -> (Vec<StreamResult>, Vec<Vec<Output>>) {
    let server = Mock::start_with(kind, model(), options);
    server.inject(faults);
    let config = Config::new([Endpoint::new(&server.url).unwrap()])
        .dialect(dialect)
        .api_key(ApiKey::none())
        .warm_shared_prefix(0)
        .request_timeout(Duration::from_secs(10))
        .backoff(Duration::from_millis(1), Duration::from_millis(10));
    let mut generator = HttpGenerator::connect(config).unwrap();
    let results = Runner::new(options_for_run())
        .unwrap()
        .run(&mut generator, workflows())
        .unwrap();
    (results, scripts(&server, kind))
}

fn options_for_run() -> RunOptions {
    options()
}

fn assert_same_as_scripted(kind: Kind, dialect: Dialect, options: Options, faults: Vec<Fault>) {
    let (http, scripts) = run_http(kind, dialect, options, faults);
    let mut scripted = Scripted::new(scripts);
    let expected = Runner::new(options_for_run())
        .unwrap()
        .run(&mut scripted, workflows())
        .unwrap();
    assert_eq!(http.len(), expected.len());
    let mut generated = 0;
    for (h, e) in http.iter().zip(&expected) {
        let (h, e) = (h.as_ref().unwrap(), e.as_ref().unwrap());
        assert_eq!(h, e, "{kind:?}: stream {}", h.stream.0);
        assert!(h.corrections.is_empty(), "{kind:?}: {:?}", h.corrections);
        generated += h.tokens();
    }
    assert!(generated > 0);
}

const KINDS: [(Kind, Dialect); 4] = [
    (Kind::Vllm, Dialect::Vllm),
    (Kind::Sglang, Dialect::Sglang),
    (Kind::LlamaCpp, Dialect::LlamaCpp),
    (Kind::OpenAi, Dialect::OpenAi),
];

#[test]
fn every_dialect_gives_the_scripted_transcripts() {
    for (kind, dialect) in KINDS {
        assert_same_as_scripted(kind, dialect, Options::default(), Vec::new());
    }
}

#[test]
fn split_answers_and_faults_give_the_scripted_transcripts() {
    for (kind, dialect) in KINDS {
        let options = Options {
            piece: Some(5),
            ..Options::default()
        };
        let faults = vec![
            Fault::Status(429, "busy", Some("0")),
            Fault::Reset,
            Fault::Status(500, "oops", None),
            Fault::Status(503, "oops", None),
        ];
        assert_same_as_scripted(kind, dialect, options, faults);
    }
}

/// A full server context in the middle of a zone fails the stream with a located error that
/// names the slot context and the tokens needed; with `continue_on_full_context` the zone is
/// closed as `ZoneEnd::ContextFull` and the stream goes on (here into a request the server
/// refuses, since its context is full). Before: the zone was closed as a token limit.
#[test]
fn a_full_context_fails_the_stream_unless_the_run_goes_on() {
    use forge_core::exec::{ErrorKind, ZoneEnd};
    let rambling: mock::Model = Arc::new(|_: &str| mock::Output {
        tokens: vec!["x".to_owned()],
        eos: false,
    });
    for go_on in [false, true] {
        let mock_options = Options {
            context: Some(24),
            ..Options::default()
        };
        let server = Mock::start_with(Kind::LlamaCpp, rambling.clone(), mock_options);
        let config = Config::new([Endpoint::new(&server.url).unwrap()])
            .dialect(Dialect::LlamaCpp)
            .api_key(ApiKey::none())
            .warm_shared_prefix(0);
        let mut generator = HttpGenerator::connect(config).unwrap();
        let run = RunOptions {
            continue_on_full_context: go_on,
            ..options()
        };
        let results = Runner::new(run)
            .unwrap()
            .run(&mut generator, workflows())
            .unwrap();
        for result in results {
            let error = result.unwrap_err();
            let partial = error.partial.as_ref().expect("a partial transcript");
            // The first generated zone: cut by the context before its 12-token budget.
            let first = partial.visits.iter().find(|v| v.tokens > 0).unwrap();
            assert!(first.tokens < 12, "{first:?}");
            let text = error.to_string();
            if go_on {
                assert_eq!(first.end, ZoneEnd::ContextFull);
                assert!(
                    text.contains("exceeds the available context size"),
                    "{text}"
                );
            } else {
                assert!(
                    matches!(
                        error.kind,
                        ErrorKind::ContextFull {
                            context: Some(24),
                            ..
                        }
                    ),
                    "{error:?}"
                );
                assert!(error.zone.is_some());
                for part in [
                    "context ran out",
                    "the slot holds 24 tokens",
                    "needed 31",
                    "sequence `q`",
                ] {
                    assert!(text.contains(part), "{part:?} in {text}");
                }
            }
        }
    }
}
