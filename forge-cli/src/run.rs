//! `forge run`: execute the document's default program against a model, many streams at once,
//! one JSON line per finished stream.

mod jsonl;
#[cfg(feature = "local")]
mod local;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use forge_core::exec::{
    Generator, RunOptions, Runner, StreamId, StreamResult, Transcript, request_seed,
};
use forge_core::program::{SampledWorkflow, WorkflowMeta};
use forge_http::{Config, Dialect, Endpoint, HttpGenerator};
use serde::Serialize;

use crate::Outcome;
use crate::preview::{Extract, SampleArgs, Unbound, build_default};
use jsonl::Jsonl;

/// Run the document's default program against a model server, one stream per sampled workflow.
///
/// The default program runs every sequence once, in `config.sequences` order, and declares one
/// extraction per valid tag (named after the tag) unless `--extract` names others. Stream `i`
/// samples the workflow with a seed derived from `--seed` and `i`, and its requests carry
/// seeds derived the same way, so a run (and a resumed run) is reproducible as far as the
/// server is.
///
/// Each finished stream is appended to `--out` as one JSON line as soon as it finishes:
/// `stream`, `seed`, `endpoint`, `status` (`finished` or `failed`, with `error`), `path` (zone
/// indices in visit order), `tokens` (generated), `visits` (zone, sequence, block, tags, how it
/// ended, tokens), `spans` (zone, kind, tags, text) and `extractions`. `--resume` continues an
/// existing file, skipping the streams already written (finished or failed); a torn last line
/// from a crash is cut off and its stream runs again. Ctrl-C stops the run with every finished
/// stream written (press it twice to quit at once); a crash loses only the streams in flight.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    #[command(flatten)]
    sample: SampleArgs,
    /// A model server's base URL, with an optional in-flight limit for it: URL or URL,K
    /// (repeatable: replicas; each stream stays on one)
    #[arg(long = "endpoint", value_name = "URL[,K]", value_parser = parse_endpoint)]
    endpoints: Vec<Endpoint>,
    /// Run a llama-architecture GGUF model in process instead of calling a server: a file, or
    /// a name from `forge model list` (downloaded into the cache on first use)
    #[arg(long, value_name = "PATH.gguf|NAME", conflicts_with = "endpoints")]
    model: Option<PathBuf>,
    /// The server's API: auto (probe), vllm, sglang, llama.cpp or openai
    #[arg(long, value_name = "DIALECT", default_value = "auto", value_parser = parse_dialect)]
    dialect: Dialect,
    /// The model name sent to OpenAI-style servers (default: the first the server lists)
    #[arg(long, value_name = "NAME")]
    served_model: Option<String>,
    /// How many streams (sampled workflows) to run
    #[arg(long, value_name = "N", default_value_t = 1)]
    streams: u32,
    /// The most requests in flight at once (and streams alive at once)
    #[arg(long, value_name = "K", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Cap every zone's token budget at N (each zone's own limit applies if smaller)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_zone_tokens: Option<u32>,
    /// Sampling temperature (0: greedy)
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    temperature: f32,
    /// Nucleus sampling threshold in (0, 1]
    #[arg(long, value_name = "P", default_value_t = 1.0)]
    top_p: f32,
    /// Seconds one request may take before it is retried
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Retries of a request after a connection error, timeout, 429 or 5xx
    #[arg(long, value_name = "N", default_value_t = 5)]
    retries: u32,
    /// How many requests may fail for good before the whole run stops
    #[arg(long, value_name = "N", default_value_t = 16)]
    error_budget: u64,
    /// Declare the extraction NAME of the zones carrying any of TAGS (repeatable; default: one
    /// per valid tag, named after it)
    #[arg(long = "extract", value_name = "NAME=TAG[,TAG...]", value_parser = crate::preview::parse_extract)]
    extract: Vec<(String, Vec<String>)>,
    /// The JSON Lines file to write, one line per finished stream
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Continue an existing --out file: skip the streams it holds
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Overwrite an existing --out file
    #[arg(long)]
    force: bool,
}

fn parse_endpoint(value: &str) -> Result<Endpoint, String> {
    Endpoint::parse(value).map_err(|e| e.to_string())
}

fn parse_dialect(value: &str) -> Result<Dialect, String> {
    Dialect::parse(value)
        .ok_or_else(|| "expected auto, vllm, sglang, llama.cpp or openai".to_owned())
}

/// The seed stream `stream`'s workflow is sampled with.
fn sample_seed(run_seed: u64, stream: u32) -> u64 {
    // Request seeds use `request_seed(run_seed, stream, n)`; this stream of seeds is kept
    // apart from them by complementing the run seed.
    request_seed(!run_seed, StreamId(stream), 0)
}

pub(crate) fn run(args: Args) -> Outcome {
    if args.endpoints.is_empty() {
        if let Some(model) = &args.model {
            #[cfg(feature = "local")]
            return local::run(&args, model);
            #[cfg(not(feature = "local"))]
            return crate::usage_error(
                "run",
                format!(
                    "--model {}: this forge was built without the in-process engine; rebuild \
                     forge-cli with its `local` feature (on by default), or serve the model \
                     with llama-server and pass --endpoint URL",
                    model.display()
                ),
            );
        }
        return crate::usage_error(
            "run",
            "give the model server with --endpoint URL (e.g. http://127.0.0.1:8080), \
             or a GGUF model file to run in process with --model PATH.gguf \
             (--model smollm2-135m: the default model, downloaded into the cache once)",
        );
    }
    let config = Config::new(args.endpoints.iter().cloned())
        .dialect(args.dialect)
        .max_in_flight(args.max_in_flight as usize)
        .request_timeout(Duration::from_secs(args.timeout.max(1)))
        .max_retries(args.retries)
        .error_budget(args.error_budget);
    let config = match &args.served_model {
        Some(m) => config.model(m.clone()),
        None => config,
    };
    let plan = match prepare(&args) {
        Ok(plan) => plan,
        Err(outcome) => return outcome,
    };
    let mut generator = match HttpGenerator::connect(config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let table = generator.endpoint_table();
    let backend = format!("{} at {}", generator.dialect(), join_urls(&args.endpoints));
    execute(&mut generator, plan, &backend, &move |s| {
        table.get(s).map(str::to_owned)
    })
}

fn join_urls(endpoints: &[Endpoint]) -> String {
    endpoints
        .iter()
        .map(|e| e.url.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything a run needs besides its generator.
pub(crate) struct Plan {
    /// Every stream's workflow, `None` for the streams already written.
    workflows: Vec<Option<SampledWorkflow>>,
    written: usize,
    total: u32,
    out: Jsonl,
    out_path: PathBuf,
    options: RunOptions,
}

/// Builds the default program, opens the output (resuming it), samples the streams not yet
/// written. On failure, the error has been printed.
fn prepare(args: &Args) -> Result<Plan, Outcome> {
    let extract = Extract::DeclaredOrPerTag(&args.extract);
    let (workflow, arguments, _) = build_default("run", &args.sample, Unbound::Error, extract)?;
    let exists = std::fs::metadata(&args.out).is_ok_and(|m| m.len() > 0);
    if exists && !args.resume && !args.force {
        eprintln!(
            "error: `{}` exists; pass --resume to continue it or --force to overwrite it",
            args.out.display()
        );
        return Err(Outcome::Failed);
    }
    if exists
        && args.force
        && let Err(e) = std::fs::remove_file(&args.out)
    {
        eprintln!("error: cannot overwrite `{}`: {e}", args.out.display());
        return Err(Outcome::Failed);
    }
    let (out, written) = match Jsonl::open(&args.out) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(Outcome::Failed);
        }
    };
    let run_seed = args.sample.seed;
    for (&stream, &seed) in &written.seeds {
        if stream < args.streams && seed != sample_seed(run_seed, stream) {
            eprintln!(
                "error: `{}` holds stream {stream} of a run with another --seed (or document); \
                 give a new --out file to start a new run",
                args.out.display()
            );
            return Err(Outcome::Failed);
        }
    }
    if written.torn {
        eprintln!(
            "note: `{}` ended with a torn line (an interrupted write); it was cut off and its \
             stream runs again",
            args.out.display()
        );
    }
    let mut workflows = Vec::with_capacity(args.streams as usize);
    for stream in 0..args.streams {
        if written.seeds.contains_key(&stream) {
            workflows.push(None);
            continue;
        }
        match workflow.sample_seeded(arguments.clone(), sample_seed(run_seed, stream)) {
            Ok(w) => workflows.push(Some(w)),
            Err(e) => {
                eprintln!("error: stream {stream}: {e}");
                return Err(Outcome::Invalid);
            }
        }
    }
    let options = RunOptions {
        max_in_flight: args.max_in_flight as usize,
        seed: run_seed,
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_zone_tokens,
        // The generator retries transient faults itself, with backoff; a request it gives up
        // on fails its stream.
        retries: 0,
        ..RunOptions::default()
    };
    // Bad sampling options are usage errors, found before connecting.
    if let Err(e) = Runner::new(options.clone()) {
        return Err(crate::usage_error("run", e));
    }
    let already = (0..args.streams)
        .filter(|s| written.seeds.contains_key(s))
        .count();
    Ok(Plan {
        workflows,
        written: already,
        total: args.streams,
        out,
        out_path: args.out.clone(),
        options,
    })
}

/// Runs the plan's streams on any generator; `endpoint` names where a stream ran.
pub(crate) fn execute<G: Generator>(
    generator: &mut G,
    plan: Plan,
    backend: &str,
    endpoint: &dyn Fn(StreamId) -> Option<String>,
) -> Outcome {
    let Plan {
        workflows,
        written,
        total,
        mut out,
        out_path,
        options,
    } = plan;
    let runner = match Runner::new(options.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        // A second Ctrl-C quits at once: every finished stream is already on disk.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: stopping after the next finished stream (Ctrl-C again to quit now)"
            );
        });
    }
    let to_run = workflows.iter().flatten().count();
    let metas: Vec<Option<Arc<WorkflowMeta>>> = workflows
        .iter()
        .map(|w| w.as_ref().map(|w| Arc::clone(w.shared_meta())))
        .collect();
    let done: Vec<bool> = workflows.iter().map(Option::is_none).collect();
    // The runner numbers streams by position and skips the written ones, so a resumed run
    // sends the requests (and seeds) an uninterrupted run would have sent.
    let Some(filler) = workflows.iter().flatten().next().cloned() else {
        eprintln!(
            "`{}` already holds all {total} streams; nothing to run",
            out_path.display()
        );
        return Outcome::Clean;
    };
    let inputs = workflows
        .into_iter()
        .map(move |w| w.unwrap_or_else(|| filler.clone()));
    let progress = Progress::new(to_run as u64);
    let start = Instant::now();
    let (mut finished, mut failed, mut tokens) = (0u64, 0u64, 0u64);
    let mut outcome = Outcome::Clean;
    let mut execution = runner
        .execute(generator, inputs)
        .skipping(move |s| done.get(s.0 as usize).copied().unwrap_or(false));
    for result in execution.by_ref() {
        let stream = stream_index(&result);
        let Some(meta) = &metas[stream as usize] else {
            continue;
        };
        let seed = sample_seed(options.seed, stream);
        let location = endpoint(StreamId(stream));
        let line = match &result {
            Ok(t) => {
                finished += 1;
                tokens += t.tokens();
                line_json(stream, seed, location.as_deref(), meta, t, None)
            }
            Err(e) => {
                failed += 1;
                progress.println(&format!("stream {stream} failed: {e}"));
                match &e.partial {
                    Some(t) => line_json(stream, seed, location.as_deref(), meta, t, Some(e)),
                    None => failed_json(stream, seed, location.as_deref(), e),
                }
            }
        };
        if let Err(e) = out.append(&line) {
            progress.finish();
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
        progress.update(finished, failed, tokens, start.elapsed());
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
    }
    let fatal = execution.fatal().cloned();
    drop(execution);
    progress.finish();
    let elapsed = start.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        tokens as f64 / elapsed
    } else {
        0.0
    };
    let mut summary = format!("forge run: {finished} finished, {failed} failed",);
    if written > 0 {
        summary.push_str(&format!(", {written} already in the file"));
    }
    let left = (total as usize).saturating_sub(written + (finished + failed) as usize);
    if left > 0 {
        summary.push_str(&format!(", {left} not run"));
    }
    summary.push_str(&format!(
        " · {tokens} tokens in {elapsed:.1} s ({rate:.0} tokens/s) · {backend} · {}",
        out_path.display()
    ));
    eprintln!("{summary}");
    if let Some(fatal) = fatal {
        eprintln!("error: the run stopped: {fatal}");
        outcome = Outcome::Invalid;
    } else if failed > 0 {
        outcome = Outcome::Invalid;
    }
    if interrupted.load(Ordering::SeqCst) {
        eprintln!("interrupted: run the same command again to resume");
        std::process::exit(130);
    }
    outcome
}

fn stream_index(result: &StreamResult) -> u32 {
    match result {
        Ok(t) => t.stream.0,
        Err(e) => e.stream.0,
    }
}

#[derive(Serialize)]
struct VisitJson<'a> {
    zone: u32,
    sequence: &'a str,
    block: u32,
    instance: u32,
    tags: &'a [String],
    end: forge_core::exec::ZoneEnd,
    tokens: u32,
    requests: u32,
}

#[derive(Serialize)]
struct SpanJson<'a> {
    zone: u32,
    visit: u32,
    kind: forge_core::exec::SpanKind,
    tags: &'a [String],
    text: &'a str,
}

#[derive(Serialize)]
struct LineJson<'a> {
    stream: u32,
    seed: u64,
    endpoint: Option<&'a str>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    path: Vec<u32>,
    tokens: u64,
    visits: Vec<VisitJson<'a>>,
    spans: Vec<SpanJson<'a>>,
    extractions: serde_json::Map<String, serde_json::Value>,
}

fn line_json(
    stream: u32,
    seed: u64,
    endpoint: Option<&str>,
    meta: &WorkflowMeta,
    t: &Transcript,
    error: Option<&forge_core::exec::StreamError>,
) -> String {
    let visits = t
        .visits
        .iter()
        .map(|v| {
            let z = &meta.zones[v.zone as usize];
            VisitJson {
                zone: v.zone,
                sequence: &z.sequence,
                block: z.block,
                instance: z.instance,
                tags: &v.tags,
                end: v.end,
                tokens: v.tokens,
                requests: v.requests,
            }
        })
        .collect();
    let spans = t
        .spans()
        .map(|s| SpanJson {
            zone: s.zone,
            visit: s.visit,
            kind: s.kind,
            tags: s.tags,
            text: s.text,
        })
        .collect();
    let extractions = t
        .extractions
        .iter()
        .map(|e| (e.name.clone(), serde_json::Value::from(e.texts.clone())))
        .collect();
    let line = LineJson {
        stream,
        seed,
        endpoint,
        status: if error.is_some() {
            "failed"
        } else {
            "finished"
        },
        error: error.map(|e| e.to_string()),
        path: t.path(),
        tokens: t.tokens(),
        visits,
        spans,
        extractions,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

fn failed_json(
    stream: u32,
    seed: u64,
    endpoint: Option<&str>,
    e: &forge_core::exec::StreamError,
) -> String {
    serde_json::json!({
        "stream": stream,
        "seed": seed,
        "endpoint": endpoint,
        "status": "failed",
        "error": e.to_string(),
        "path": [],
        "tokens": 0,
        "visits": [],
        "spans": [],
        "extractions": {},
    })
    .to_string()
}

/// A progress bar on a terminal (streams done/failed, tokens/s, ETA); nothing otherwise.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(len: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        let style = indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} streams · {msg} · {elapsed_precise} · ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message("0 failed");
        Progress(Some(bar))
    }

    fn update(&self, finished: u64, failed: u64, tokens: u64, elapsed: Duration) {
        if let Some(bar) = &self.0 {
            let rate = tokens as f64 / elapsed.as_secs_f64().max(1e-3);
            bar.set_position(finished + failed);
            bar.set_message(format!("{failed} failed · {rate:.0} tokens/s"));
        }
    }

    fn println(&self, line: &str) {
        match &self.0 {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
