//! `forge run`: execute the document's program against a model into a run file,
//! through the library's [`forge_core::run`] (this module parses arguments, draws progress
//! and wires Ctrl-C).

mod local_engine;
mod progress;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use forge_core::exec::{Generator, RunOptions, Sampling, Tools, ZoneEnd};
use forge_core::program::Workflow;
use forge_core::resources::Bindings;
use forge_core::run::{Cancel, Run, RunFileError, Summary, count_failed};
use forge_http::{Config, Dialect, Endpoint, HttpGenerator};
use serde_json::{Value, json};

use crate::preview::{Extract, SampleArgs, Unbound, build_default};
use crate::range::{Shard, parse_range, parse_shard};
use crate::tools::ToolArgs;
use crate::{Builtin, Outcome};
use progress::Report;

/// Run the document's program against a model, one stream per dataset sample, into a run
/// file.
///
/// Stream i executes sample i of the dataset (--seed): exactly the sample `forge sample`
/// writes on line i, with request seeds derived from the seed and i. The program is the
/// document's `[program]` table; without one, the default program runs every sequence once,
/// in `config.sequences` order, and declares one extraction per valid tag (named after the
/// tag) unless `--extract` names others.
///
/// The file (format `forge-run`, documented in the library's `forge::run`) starts with a
/// header recording the seed, the range, the workflow's shape and how the run was made
/// (engine, sampling options, token caps, the document's hash and the resources); then one
/// line per stream in index order: index, seed, status (finished or failed, with its
/// located error), visits, spans, extractions. The bytes do not depend on --max-in-flight
/// for a deterministic engine, and the shards of a run (--range/--shard) merge with `forge
/// merge` into the single-process file.
///
/// --resume continues an existing file (its header must match: another document, --set,
/// --list or option is refused, naming it); a torn last line is cut and redone. Streams that
/// failed stay in the file with their error: --retry-failed runs only them again. The first
/// Ctrl-C starts no new stream and lets those in flight finish (at most --drain-timeout
/// seconds), writing them; a second quits at once. A progress bar is drawn on a terminal;
/// otherwise a log line goes to stderr every --log-every seconds.
///
/// --shard env/N takes the shard number from JOB_COMPLETION_INDEX (Kubernetes Indexed Job)
/// or SLURM_ARRAY_TASK_ID (Slurm job array).
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    #[command(flatten)]
    sample: SampleArgs,
    #[command(flatten)]
    tools: ToolArgs,
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
    /// How many streams the run holds (indices 0..N)
    #[arg(long, value_name = "N", default_value_t = 1)]
    streams: u64,
    /// Run only the streams A..B (B excluded) of the run
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    range: Option<Range<u64>>,
    /// Run only the K-th (from 0) of N contiguous slices of 0..--streams; K may be `env`
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<Shard>,
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
    /// When streams start together and their first prompts share a prefix of at least BYTES
    /// bytes, send that prefix once first (one token generated, discarded) so the server's
    /// prefix cache holds it before they fan out; for vLLM and SGLang, whose prefix caches are
    /// shared by all requests (0: never, the default; llama.cpp's server gains nothing)
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    warm_prefix: usize,
    /// Declare the extraction NAME of the zones carrying any of TAGS (repeatable; default: one
    /// per valid tag, named after it)
    #[arg(long = "extract", value_name = "NAME=TAG[,TAG...]", value_parser = crate::preview::parse_extract)]
    extract: Vec<(String, Vec<String>)>,
    /// The run file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Continue an existing --out file (its header must match this run)
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Run again the streams the --out file holds as failed, replacing their lines
    #[arg(long, conflicts_with_all = ["force", "resume"])]
    retry_failed: bool,
    /// Overwrite an existing --out file
    #[arg(long)]
    force: bool,
    /// When the server's context runs out in the middle of a zone, close the zone (recorded as
    /// ended by a full context) and go on, instead of failing the stream
    #[arg(long)]
    continue_on_full_context: bool,
    /// Seconds the streams in flight may take to finish after Ctrl-C
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    drain_timeout: u64,
    /// Without a terminal, log progress to stderr every SECS seconds (0: never)
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    log_every: u64,
}

fn parse_endpoint(value: &str) -> Result<Endpoint, String> {
    Endpoint::parse(value).map_err(|e| e.to_string())
}

fn parse_dialect(value: &str) -> Result<Dialect, String> {
    Dialect::parse(value)
        .ok_or_else(|| "expected auto, vllm, sglang, llama.cpp or openai".to_owned())
}

/// Everything a run needs besides its engine.
pub(crate) struct Prepared {
    workflow: Workflow,
    arguments: Bindings,
    range: Range<u64>,
    resources: Value,
    tools: Tools,
}

pub(crate) fn run(args: Args, builtin: Option<&Builtin>) -> Outcome {
    let range = match crate::range::resolve(
        Some(args.streams),
        args.range.clone(),
        args.shard,
        "--streams",
    ) {
        Ok(r) => r,
        Err(e) => return crate::usage_error("run", e),
    };
    if range.is_empty() && !args.retry_failed {
        eprintln!(
            "forge run: no streams to run (the range {}..{} is empty)",
            range.start, range.end
        );
        return Outcome::Clean;
    }
    if args.endpoints.is_empty() && args.model.is_none() {
        return crate::usage_error(
            "run",
            "give the model server with --endpoint URL (e.g. http://127.0.0.1:8080), \
             or a GGUF model file to run in process with --model PATH.gguf \
             (--model smollm2-135m: the default model, downloaded into the cache once)",
        );
    }
    #[cfg(not(feature = "local"))]
    if let Some(model) = &args.model {
        return local_engine::missing(model);
    }
    if let Err(outcome) = check_out(&args) {
        return outcome;
    }
    let prepared = match prepare(&args, range, builtin) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    #[cfg(feature = "local")]
    if let Some(model) = &args.model {
        return local_engine::run(&args, model, prepared);
    }
    let config = Config::new(args.endpoints.iter().cloned())
        .dialect(args.dialect)
        .max_in_flight(args.max_in_flight as usize)
        .request_timeout(Duration::from_secs(args.timeout.max(1)))
        .max_retries(args.retries)
        .error_budget(args.error_budget)
        .warm_shared_prefix(args.warm_prefix);
    let config = match &args.served_model {
        Some(m) => config.model(m.clone()),
        None => config,
    };
    let mut generator = match HttpGenerator::connect(config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::Failed;
        }
    };
    for note in &generator.server_info().caveats {
        eprintln!("note: {note}");
    }
    // The first stream of the range stands for the others (they differ only in sampled text).
    let first = prepared.workflow.sample_at(
        prepared.arguments.clone(),
        args.sample.seed,
        prepared.range.start,
    );
    let fit = crate::probe::context_warning(
        first.iter(),
        options(&args).max_tokens,
        generator.server_info().slot_context,
    );
    if let Some(warning) = fit {
        eprintln!("warning: {warning}");
    }
    let urls: Vec<&str> = args.endpoints.iter().map(|e| e.url.as_str()).collect();
    let engine = json!({
        "kind": "http",
        "dialect": generator.dialect().to_string(),
        "endpoints": urls,
        "served_model": args.served_model,
    });
    let backend = format!("{} at {}", generator.dialect(), urls.join(", "));
    execute(&args, &mut generator, prepared, engine, &backend)
}

/// The output's directory must exist, and an existing file needs --resume, --retry-failed
/// or --force: checked before anything is loaded.
fn check_out(args: &Args) -> Result<(), Outcome> {
    let out = &args.out;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        eprintln!(
            "error: cannot write `{}`: the directory `{}` does not exist",
            out.display(),
            dir.display()
        );
        return Err(Outcome::Failed);
    }
    let exists = out.exists();
    if args.retry_failed && !exists {
        eprintln!("error: --retry-failed: `{}` does not exist", out.display());
        return Err(Outcome::Failed);
    }
    if exists && !args.resume && !args.force && !args.retry_failed {
        eprintln!(
            "error: `{}` exists; pass --resume to continue it or --force to overwrite it",
            out.display()
        );
        return Err(Outcome::Failed);
    }
    Ok(())
}

/// Builds the document's program (declared or default) and what the header records about the document and its
/// resources. On failure, the error has been printed.
fn prepare(args: &Args, range: Range<u64>, builtin: Option<&Builtin>) -> Result<Prepared, Outcome> {
    let extract = Extract::DeclaredOrPerTag(&args.extract);
    let (workflow, arguments, lists) =
        build_default("run", &args.sample, builtin, Unbound::Error, extract)?;
    let mut resources = crate::sample::resources(&args.sample, &lists);
    let hash = match (builtin, &args.sample.path) {
        (Some(b), _) => b.document_hash(),
        (None, path) => document_hash(path.as_deref().unwrap_or(Path::new(""))),
    };
    if let Value::Object(map) = &mut resources {
        map.insert("document".into(), json!(hash));
    }
    // Bad sampling options are usage errors, found before connecting.
    if let Err(e) = forge_core::exec::Runner::new(options(args)) {
        return Err(crate::usage_error("run", e));
    }
    let rust_tools = builtin.and_then(|b| b.tools.as_ref());
    let tools = crate::tools::build(&args.tools, &workflow, rust_tools)?;
    Ok(Prepared {
        workflow,
        arguments,
        range,
        resources,
        tools,
    })
}

fn options(args: &Args) -> RunOptions {
    RunOptions {
        max_in_flight: args.max_in_flight as usize,
        // The seed is the dataset's (`Run` sets it).
        sampling: Sampling {
            temperature: args.temperature,
            top_p: args.top_p,
            ..Sampling::default()
        },
        max_tokens: args.max_zone_tokens,
        // No `retry`: both engines retry by their own policy (`--retries` sets the HTTP
        // client's) and the runner does not retry again.
        continue_on_full_context: args.continue_on_full_context,
        max_tool_calls: args.tools.max_tool_calls(),
        ..RunOptions::default()
    }
}

/// FNV-1a 64 of the document's bytes: the file, or the folder's `*.toml` files in name order
/// (each name and contents).
fn document_hash(path: &Path) -> String {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            feed(f.file_name().unwrap_or_default().as_encoded_bytes());
            feed(&std::fs::read(&f).unwrap_or_default());
        }
    } else {
        feed(&std::fs::read(path).unwrap_or_default());
    }
    format!("{hash:016x}")
}

/// Runs the prepared streams on `generator` into --out; `engine` is recorded in the header.
pub(crate) fn execute<G: Generator>(
    args: &Args,
    generator: &mut G,
    prepared: Prepared,
    engine: Value,
    backend: &str,
) -> Outcome {
    let Prepared {
        workflow,
        arguments,
        range,
        resources,
        tools,
    } = prepared;
    let out = &args.out;
    let cancel = Cancel::new();
    let drain = Duration::from_secs(args.drain_timeout);
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if !cancel.stop() {
                // A second Ctrl-C quits at once: every written line is complete.
                eprintln!("\ninterrupted again: quitting now");
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: starting no new stream; the streams in flight finish within {} s \
                 (Ctrl-C again to quit now)",
                drain.as_secs()
            );
            // The run checks the drain timeout between results; a request that never returns
            // cannot hold the process past it.
            std::thread::spawn(move || {
                std::thread::sleep(drain + Duration::from_secs(5));
                eprintln!("the drain timeout passed: quitting");
                std::process::exit(130);
            });
        });
    }
    if args.force
        && out.exists()
        && let Err(e) = std::fs::remove_file(out)
    {
        eprintln!("error: cannot overwrite `{}`: {e}", out.display());
        return Outcome::Failed;
    }
    let total = if args.retry_failed {
        0
    } else {
        range.end - range.start
    };
    let mut report = Report::new(total, Duration::from_secs(args.log_every));
    let mut run = Run::new(&workflow, args.sample.seed, range)
        .args(move |_| arguments.clone())
        .options(options(args))
        .tools(tools)
        .record("engine", engine)
        .record("resources", resources)
        .drain_timeout(drain)
        .cancel(cancel.clone())
        .progress(&report);
    let result = if args.retry_failed {
        run.retry_failed(out, generator)
    } else if args.resume {
        run.resume(out, generator)
    } else {
        run.create(out, generator)
    };
    drop(run);
    report.finish();
    let summary = match result {
        Ok(s) => s,
        Err(e) => return report_error(&e),
    };
    print_summary(&summary, &workflow, backend, out);
    if summary.total == 0 && !summary.stopped {
        let failed = std::fs::File::open(out)
            .map(std::io::BufReader::new)
            .and_then(count_failed)
            .unwrap_or(0);
        if failed > 0 {
            eprintln!(
                "note: `{}` holds {failed} failed stream{}; run again with --retry-failed to \
                 run them again",
                out.display(),
                if failed == 1 { "" } else { "s" }
            );
            return Outcome::Invalid;
        }
    }
    if summary.stopped {
        eprintln!("interrupted: run the same command with --resume to continue");
        std::process::exit(130);
    }
    if let Some(fatal) = &summary.fatal {
        eprintln!("error: the run stopped: {fatal}");
        eprintln!("note: --resume continues it; --retry-failed runs the failed streams again");
        return Outcome::Invalid;
    }
    if summary.failed > 0 {
        return Outcome::Invalid;
    }
    Outcome::Clean
}

fn report_error(e: &RunFileError) -> Outcome {
    eprintln!("error: {e}");
    match e {
        RunFileError::File { .. } => {
            eprintln!("note: nothing was changed; give another --out file to start a new run");
            Outcome::Invalid
        }
        RunFileError::Sample { .. } => Outcome::Invalid,
        _ => Outcome::Failed,
    }
}

fn print_summary(s: &Summary, workflow: &Workflow, backend: &str, out: &Path) {
    if s.torn {
        eprintln!(
            "note: `{}` ended with a torn line (an interrupted write); it was cut off and its \
             stream ran again",
            out.display()
        );
    }
    let mut line = format!("forge run: {} finished, {} failed", s.finished, s.failed);
    if s.already > 0 {
        line.push_str(&format!(", {} already in the file", s.already));
    }
    if s.in_flight > 0 {
        line.push_str(&format!(", {} in flight when stopped", s.in_flight));
    }
    if s.not_started > 0 {
        line.push_str(&format!(", {} not started", s.not_started));
    }
    line.push_str(&format!(
        " · {} tokens in {:.1} s ({:.0} tokens/s) · {backend} · {}",
        s.tokens,
        s.elapsed.as_secs_f64(),
        s.tokens_per_second(),
        out.display()
    ));
    eprintln!("{line}");
    // How zone visits ended; a model that never writes the zone patterns shows here.
    let ends = [
        (ZoneEnd::Pattern, "pattern"),
        (ZoneEnd::Jump, "jump"),
        (ZoneEnd::Limit, "token limit"),
        (ZoneEnd::Eos, "end of sequence"),
        (ZoneEnd::Forced, "forced"),
    ];
    let totals: Vec<String> = ends
        .iter()
        .map(|&(e, name)| (s.ended_anywhere(e), name))
        .filter(|&(n, _)| n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    if !totals.is_empty() {
        eprintln!("zone visits ended by: {}", totals.join(", "));
    }
    for (zone, counts) in s.zone_ends.iter().enumerate() {
        let all: u64 = counts.iter().map(|&(_, n)| n).sum();
        let limit = s.ended(zone, ZoneEnd::Limit);
        if all > 0 && limit * 2 > all {
            let z = &workflow.meta().zones[zone];
            eprintln!(
                "warning: zone {zone} (sequence `{}`, block {}, zone {}) hit its token limit in \
                 {limit} of {all} visits: the model rarely writes its end pattern",
                z.sequence, z.block, z.zone
            );
        }
    }
}
