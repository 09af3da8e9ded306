//! `forge run` end to end against a real llama.cpp server, in two dialects: the native `llama.cpp`
//! (`/completion`, the server matches the stops) and `openai` (its `/v1/completions`, streamed,
//! forge matches the stops). The model is small and rarely writes the zone patterns itself, so
//! every zone's budget is capped at 24 tokens and the assertions are about structure, not
//! text.
//!
//! Built only with the `server-tests` feature, against the server `FORGE_LLAMA_URL` names
//! (`.ci/run` starts one): `FORGE_LLAMA_URL=http://127.0.0.1:8080 cargo test -p forge-cli
//! --features server-tests --test llama_server`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Run, forge_in};
use serde_json::Value;

const CAP: u64 = 24;

/// The server under test: `FORGE_LLAMA_URL`, which these tests cannot run without.
fn server_url() -> String {
    std::env::var("FORGE_LLAMA_URL").expect(
        "set FORGE_LLAMA_URL to a running llama-server (e.g. http://127.0.0.1:8080): \
         the `server-tests` feature's tests drive a real server",
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bindings the representative document needs, as `forge` options.
fn bindings(dir: &Path) -> Vec<String> {
    let principles: String = (0..20)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}.\n"))
        .collect();
    std::fs::write(dir.join("principles.txt"), principles).unwrap();
    [
        "--set=prompt=How do I keep a sourdough starter alive?",
        "--list=constitution=principles.txt",
        "--set=min=2",
        "--set=max=5",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run(dir: &Path, url: &str, streams: u32, resume: bool) -> Run {
    run_in(dir, url, streams, resume, "llama.cpp")
}

fn run_in(dir: &Path, url: &str, streams: u32, resume: bool, dialect: &str) -> Run {
    let doc = repo().join("examples/representative.toml");
    let mut args = vec![
        "run".to_owned(),
        format!("--dialect={dialect}"),
        doc.display().to_string(),
        format!("--endpoint={url}"),
        format!("--streams={streams}"),
        format!("--max-zone-tokens={CAP}"),
        "--temperature=0.8".to_owned(),
        "--seed=7".to_owned(),
        "--out=out.jsonl".to_owned(),
    ];
    if resume {
        args.push("--resume".to_owned());
    }
    args.extend(bindings(dir));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    forge_in(dir, &args)
}

/// Zone index → tags, from `forge render`'s headers.
fn zone_tags(dir: &Path) -> Vec<Vec<String>> {
    let doc = repo().join("examples/representative.toml");
    let mut args = vec!["render".to_owned(), doc.display().to_string()];
    args.extend(bindings(dir));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let render = forge_in(dir, &args);
    assert_eq!(render.code, 0, "{render:#?}");
    render
        .stdout
        .lines()
        .filter(|l| l.starts_with("--- zone "))
        .map(|l| {
            let tags = l.split(" · tags: ").nth(1).unwrap();
            let tags = tags.split(" · ").next().unwrap().trim_end_matches(" ---");
            if tags == "none" {
                Vec::new()
            } else {
                tags.split(", ").map(str::to_owned).collect()
            }
        })
        .collect()
}

fn lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("out.jsonl"))
        .unwrap()
        .lines()
        .skip(1) // the header
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// The zone patterns of `examples/representative.toml` (`zone_patterns`).
const ZONE_PATTERNS: [&str; 3] = ["[Prompt]", "[Answer]", "[EOS]"];

/// Every stream finished with the run's seed, went from the entry to the last zone (the
/// declared program's loop is bounded by `at_most = 3`, so every stream ends), stayed within
/// every zone's budget, its declared extractions hold one text per visit of a zone carrying
/// their tags (the visit's spans), and no generated text holds its zone's advance pattern
/// anywhere but at its end (where it ended the zone).
fn check_streams(written: &[Value], tags: &[Vec<String>]) {
    for line in written {
        let stream = &line["index"];
        assert_eq!(line["status"], "finished", "stream {stream}: {line}");
        assert_eq!(line["seed"], 7);
        let visits = line["visits"].as_array().unwrap();
        let path: Vec<u64> = visits.iter().map(|v| v["zone"].as_u64().unwrap()).collect();
        assert_eq!(path.first(), Some(&0), "stream {stream}");
        assert_eq!(
            path.last(),
            Some(&(tags.len() as u64 - 1)),
            "stream {stream}"
        );
        // Every zone's generated tokens are within its (capped) budget.
        let mut total = 0;
        for visit in visits {
            let tokens = visit["tokens"].as_u64().unwrap();
            assert!(tokens <= CAP, "stream {stream}: {visit}");
            total += tokens;
        }
        assert!(total > 0, "stream {stream} generated nothing");
        // Spans name their visit and zone; generated text is there.
        let mut kinds = BTreeMap::new();
        for span in line["spans"].as_array().unwrap() {
            let zone = span["zone"].as_u64().unwrap() as usize;
            let visit = span["visit"].as_u64().unwrap() as usize;
            assert!(zone < tags.len(), "stream {stream}, zone {zone}");
            assert_eq!(path[visit], zone as u64, "stream {stream}, span {span}");
            *kinds
                .entry(span["kind"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        assert!(
            kinds.contains_key("forced") && kinds.contains_key("generated"),
            "{kinds:?}"
        );
        check_generated_spans(line);
        // The declared extractions: one text per visit of a zone carrying their tags, that
        // visit's spans in order.
        let extractions = line["extractions"].as_object().unwrap();
        for (name, wanted) in [
            ("training", &["Training"][..]),
            ("final", &["Final", "Correct"]),
        ] {
            let texts = extractions[name].as_array().unwrap();
            let tagged: Vec<usize> = (0..visits.len())
                .filter(|&v| {
                    tags[path[v] as usize]
                        .iter()
                        .any(|t| wanted.contains(&t.as_str()))
                })
                .collect();
            assert_eq!(
                texts.len(),
                tagged.len(),
                "stream {stream}, extraction {name}"
            );
            for (visit, text) in tagged.into_iter().zip(texts) {
                let spans: String = line["spans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| s["visit"].as_u64() == Some(visit as u64))
                    .map(|s| s["text"].as_str().unwrap())
                    .collect();
                assert_eq!(
                    text.as_str(),
                    Some(spans.as_str()),
                    "stream {stream}, {name}"
                );
            }
        }
    }
}

/// No generated text holds its zone's advance pattern before its end: the pattern would have
/// ended the zone there. The advance pattern is the zone's closing span (a zone cut by its
/// budget) or the zone pattern its generated text ends with. Zones whose generated text opens
/// an escape are skipped (patterns inside an escape do not end the zone).
fn check_generated_spans(line: &Value) {
    let stream = &line["index"];
    let spans = line["spans"].as_array().unwrap();
    let mut visits: BTreeMap<u64, (String, Option<String>)> = BTreeMap::new();
    for span in spans {
        let visit = span["visit"].as_u64().unwrap();
        let text = span["text"].as_str().unwrap();
        let entry = visits.entry(visit).or_default();
        match span["kind"].as_str().unwrap() {
            "generated" => entry.0.push_str(text),
            "forced_close" if ZONE_PATTERNS.contains(&text) => entry.1 = Some(text.to_owned()),
            _ => {}
        }
    }
    for (visit, (generated, closed_by)) in visits {
        if generated.is_empty() || generated.contains("[Escape]") {
            continue;
        }
        let advance = closed_by.or_else(|| {
            ZONE_PATTERNS
                .iter()
                .find(|p| generated.ends_with(*p))
                .map(|p| (*p).to_owned())
        });
        let Some(advance) = advance else { continue };
        let first = generated.find(&advance);
        let allowed = generated.len().saturating_sub(advance.len());
        assert!(
            first.is_none_or(|at| at == allowed && generated.ends_with(&advance)),
            "stream {stream}, visit {visit}: {advance} inside the generated text {generated:?}"
        );
    }
}

#[test]
fn the_representative_workflow_runs_against_llama_server() {
    let url = server_url();
    let dir = common::scratch("forge-cli-tests", "llama_server");
    let tags = zone_tags(&dir);
    assert!(tags.len() > 10, "{tags:?}");

    let first = run(&dir, &url, 8, false);
    assert_eq!(first.code, 0, "{first:#?}");
    eprintln!("{}", first.stderr.trim());
    assert!(first.stderr.contains("8 finished, 0 failed"), "{first:#?}");
    let written = lines(&dir);
    assert_eq!(written.len(), 8);
    let streams: BTreeSet<u64> = written
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..8).collect());
    check_streams(&written, &tags);

    // An existing file is not touched without --resume (or --force).
    let refused = run(&dir, &url, 8, false);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("pass --resume"), "{refused:#?}");

    // A cut file (a crash mid-write): --resume keeps the complete lines byte for byte, cuts
    // the torn one and runs the missing streams.
    let whole = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let keep: usize = whole.lines().take(7).map(|l| l.len() + 1).sum::<usize>() + 40;
    std::fs::write(dir.join("out.jsonl"), &whole[..keep]).unwrap();
    let second = run(&dir, &url, 8, true);
    assert_eq!(second.code, 0, "{second:#?}");
    assert!(second.stderr.contains("torn line"), "{second:#?}");
    assert!(
        second
            .stderr
            .contains("2 finished, 0 failed, 6 already in the file"),
        "{second:#?}"
    );
    let after = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let complete: usize = whole.lines().take(7).map(|l| l.len() + 1).sum();
    assert!(after.starts_with(&whole[..complete]));
    let repaired = lines(&dir);
    assert_eq!(repaired.len(), 8);
    let streams: BTreeSet<u64> = repaired
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..8).collect());
}

/// The same workflow through the `openai` dialect against the same server's
/// `/v1/completions`: streamed, stops matched by forge, token counts from the server's usage.
#[test]
fn the_representative_workflow_runs_against_llama_servers_openai_endpoint() {
    let url = server_url();
    let dir = common::scratch("forge-cli-tests", "llama_server_openai");
    let tags = zone_tags(&dir);
    let started = std::time::Instant::now();
    let done = run_in(&dir, &url, 4, false, "openai");
    assert_eq!(done.code, 0, "{done:#?}");
    eprintln!(
        "{} ({:.1} s)",
        done.stderr.trim(),
        started.elapsed().as_secs_f64()
    );
    assert!(done.stderr.contains("4 finished, 0 failed"), "{done:#?}");
    assert!(done.stderr.contains("openai at"), "{done:#?}");
    // The probe told what the server's /v1/completions does with the seed.
    assert!(done.stderr.contains("low 32 bits of the seed"), "{done:#?}");
    let written = lines(&dir);
    assert_eq!(written.len(), 4);
    check_streams(&written, &tags);
}

/// `forge probe` against the real server: llama.cpp, its model, its context per slot.
#[test]
fn forge_probe_describes_llama_server() {
    let url = server_url();
    let dir = common::scratch("forge-cli-tests", "llama_server_probe");
    let probe = forge_in(&dir, &["probe", &url]);
    assert_eq!(probe.code, 0, "{probe:#?}");
    for part in [
        "server    llama.cpp (llama-server)",
        "dialect   llama.cpp (POST /completion)",
        "SmolLM2-135M-Instruct",
        "tokens per slot",
        "\"repeat_penalty\":1.0",
    ] {
        assert!(probe.stdout.contains(part), "{part:?} in {}", probe.stdout);
    }
}

/// One `POST` of `body` to the server's `path` (HTTP/1.1, `Connection: close`), its JSON reply.
fn post_json(url: &str, path: &str, body: &Value) -> Value {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the server");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(300)))
        .unwrap();
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, rest) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{rest}");
    // The server may answer chunked: the JSON object is between the first `{` and last `}`.
    let json = &rest[rest.find('{').unwrap()..=rest.rfind('}').unwrap()];
    serde_json::from_str(json).unwrap()
}

/// The in-process engine's next-token choice agrees with llama.cpp's on the same GGUF file:
/// for 10 prompts, llama-server continues greedily for 20 tokens; then, fed the same prompt
/// and the same 20 tokens one at a time (teacher forcing), forge-local's greedy choice at
/// each step is compared with the token llama.cpp chose there. Both quantize the activations
/// to 8 bits for their 4- and 8-bit dot products, so they agree on nearly every step; near
/// ties may go either way.
#[test]
fn the_in_process_engine_agrees_with_llama_server_step_by_step() {
    use forge_local::{KvCache, LocalModel, Segment};
    let url = server_url();
    let path = forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"));
    let model = LocalModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    const PROMPTS: [&str; 10] = [
        "The capital of France is",
        "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
        "Once upon a time, in a small village,",
        "<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n",
        "def fibonacci(n):\n",
        "The three primary colours are",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nName a planet.<|im_end|>\n<|im_start|>assistant\n",
        "Water boils at",
        "A list of fruits: apple, banana,",
        "[Prompt] Summarise the plot of Hamlet. [Answer]",
    ];
    const STEPS: usize = 20;
    let argmax = |logits: &[f32]| {
        let mut best = 0;
        for (i, &v) in logits.iter().enumerate() {
            if v > logits[best] {
                best = i;
            }
        }
        best as u32
    };
    let (mut agree, mut total) = (0, 0);
    for prompt in PROMPTS {
        let ids = model.tokenizer.encode_context(prompt).unwrap();
        let reply = post_json(
            &url,
            "/completion",
            &serde_json::json!({
                "prompt": ids,
                "n_predict": STEPS,
                "temperature": 0.0,
                "return_tokens": true,
                "cache_prompt": false,
            }),
        );
        let theirs: Vec<u32> = reply["tokens"]
            .as_array()
            .unwrap_or_else(|| panic!("no tokens in {reply}"))
            .iter()
            .map(|t| t.as_u64().unwrap() as u32)
            .collect();
        let mut cache = KvCache::new();
        let mut next = ids.clone();
        let mut ours = Vec::new();
        for &token in &theirs {
            let logits = model
                .llama
                .forward(&mut [Segment {
                    cache: &mut cache,
                    tokens: &next,
                }])
                .unwrap()
                .remove(0);
            ours.push(argmax(&logits));
            next = vec![token];
        }
        let same = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
        println!(
            "{prompt:?}: {same}/{} steps agree (llama.cpp: {:?})",
            theirs.len(),
            model.tokenizer.decode(&theirs)
        );
        agree += same;
        total += theirs.len();
    }
    println!(
        "forge-local and llama.cpp agree on {agree} of {total} greedy steps ({:.1} %)",
        100.0 * agree as f64 / total as f64
    );
    assert!(
        total >= 100,
        "llama-server stopped early too often: {total} steps"
    );
    assert!(
        agree * 100 >= total * 95,
        "agreement {agree}/{total} is below 95 %"
    );
}
