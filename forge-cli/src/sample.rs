//! `forge sample`: write a dataset — samples `0..N` of the default program — as JSON Lines.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use forge_core::dataset::{self, Header, ResumePoint};
use forge_core::program::RangeError;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::preview::{Extract, Lists, SampleArgs, Unbound, build_default};
use crate::{Builtin, Outcome};

/// Write samples 0..N of the document's default program to a JSON Lines dataset file.
///
/// Sample i is a pure function of the seed and i: the file's bytes are the same for any
/// --threads and on every run, and an interrupted run continues with --resume (a line cut by
/// the interruption is detected and written again). The first line is a header with the
/// workflow's shape (with the zones of every extraction), the seed and the resource options;
/// each further line is one sample: {"index":I,"seed":S,"zones":[...]}, plus
/// "extractions":{...} with --extraction-texts. Every resource the document declares
/// must be bound (--set a fixed text, --list a list sampler whose cycles span the samples) or
/// have a `default` text.
/// A progress bar is drawn on a terminal only; a summary line ends the run (stderr).
#[derive(clap::Args)]
#[command(after_help = SAMPLE_EXIT_STATUS)]
pub(crate) struct Args {
    #[command(flatten)]
    sample: SampleArgs,
    /// How many samples the dataset holds (indices 0..N)
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Write only the samples A..B (B excluded): one shard of a dataset (`forge merge` joins
    /// the shards)
    #[arg(long, value_name = "A..B", value_parser = crate::range::parse_range)]
    range: Option<std::ops::Range<u64>>,
    /// Write only the K-th (from 0) of N contiguous slices of 0..--count; K may be `env`
    /// (JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID)
    #[arg(long, value_name = "K/N", value_parser = crate::range::parse_shard)]
    shard: Option<crate::range::Shard>,
    /// Sampling threads (at least 1); the output does not depend on it [default: all cores]
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// The dataset file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Continue FILE where an interrupted run stopped (its header must match this dataset); a
    /// missing FILE is started
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Overwrite FILE if it exists
    #[arg(long)]
    force: bool,
    /// Declare the extraction NAME of the zones carrying any of TAGS (repeatable; default: one
    /// per valid tag, named after it); the header lists the zones of each
    #[arg(long = "extract", value_name = "NAME=TAG[,TAG...]", value_parser = crate::preview::parse_extract)]
    extract: Vec<(String, Vec<String>)>,
    /// Repeat the texts of every extraction on each line (under "extractions"), for consumers
    /// that read lines without the header; the file grows about 1.4× (representative workflow)
    #[arg(long)]
    extraction_texts: bool,
}

const SAMPLE_EXIT_STATUS: &str = "\
Exit status: 0 the dataset holds N samples, 1 errors found (in the document, its
resources or sampling, or FILE belongs to another dataset), 2 usage or I/O error.";

pub(crate) fn run(args: Args, builtin: Option<&Builtin>) -> Outcome {
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |t| t as usize,
    );
    let range =
        match crate::range::resolve(args.count, args.range.clone(), args.shard, "--count <N>") {
            Ok(r) => r,
            Err(e) => return crate::usage_error("sample", e),
        };
    let out = &args.out;
    if !args.resume && !args.force && out.exists() {
        eprintln!(
            "error: `{}` exists; pass --resume to continue it or --force to overwrite it",
            out.display()
        );
        return Outcome::Failed;
    }
    let extract = Extract::DeclaredOrPerTag(&args.extract);
    let (workflow, arguments, lists) =
        match build_default("sample", &args.sample, builtin, Unbound::Error, extract) {
            Ok(built) => built,
            Err(outcome) => return outcome,
        };
    let generator =
        json!({ "command": "forge sample", "resources": resources(&args.sample, &lists) });
    let header = Header::new(&workflow, args.sample.seed)
        .with_extraction_texts(args.extraction_texts)
        .with_generator(generator);

    let point = if args.resume && out.exists() {
        match resume(out, &header, range.start) {
            Ok(p) => p,
            Err(outcome) => return outcome,
        }
    } else {
        ResumePoint::START
    };
    let file = match dataset::open_to_continue(out, &header.to_line(), point) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", out.display());
            return Outcome::Failed;
        }
    };
    let start = (range.start + point.samples).min(range.end);
    if start >= range.end {
        if range.start == 0 {
            eprintln!(
                "`{}` already holds {} samples (--count {}); nothing to write",
                out.display(),
                range.end,
                range.end
            );
        } else {
            eprintln!(
                "`{}` already holds samples {}..{}; nothing to write",
                out.display(),
                range.start,
                range.end
            );
        }
        return Outcome::Clean;
    }

    let bar = progress_bar(range.end, start);
    let began = Instant::now();
    let written = dataset::write_range_to_file(
        &workflow,
        &header,
        start..range.end,
        threads,
        |_| arguments.clone(),
        &file,
        |done| bar.set_position(start + done),
    );
    bar.finish_and_clear();
    let elapsed = began.elapsed();
    match written {
        Ok(()) => {
            summary(
                out,
                range.end,
                start,
                point.samples > 0,
                point.torn,
                elapsed,
                threads,
            );
            Outcome::Clean
        }
        Err(RangeError::Sample { index, error }) => {
            eprintln!("error: sample {index}: {error}");
            eprintln!(
                "note: samples {}..{index} are in `{}`; fix the resources and pass --resume to continue",
                range.start,
                out.display()
            );
            Outcome::Invalid
        }
        Err(RangeError::Callback { error, .. }) => {
            eprintln!("error: cannot write `{}`: {error}", out.display());
            Outcome::Failed
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Failed
        }
    }
}

/// What the header records about the resources: `--set` values, and for `--list` the number
/// of items and a hash of them (FNV-1a 64 over the items, each followed by `\n`), so a resumed
/// run with other resources is refused. `forge run` records the same object.
pub(crate) fn resources(opts: &SampleArgs, lists: &Lists) -> Value {
    let mut resources = serde_json::Map::new();
    for (name, value) in &opts.set {
        resources.insert(name.clone(), json!({ "set": value }));
    }
    for (name, items) in lists {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for item in items {
            for b in item.bytes().chain([b'\n']) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        resources.insert(
            name.clone(),
            json!({ "list": { "items": items.len(), "fnv1a64": format!("{hash:016x}") } }),
        );
    }
    Value::Object(resources)
}

/// Where the existing file stops; prints the error and returns the outcome when it cannot be
/// continued.
fn resume(out: &Path, header: &Header, first: u64) -> Result<ResumePoint, Outcome> {
    let file = File::open(out).map_err(|e| {
        eprintln!("error: cannot read `{}`: {e}", out.display());
        Outcome::Failed
    })?;
    dataset::resume_point_from(BufReader::new(file), header, first).map_err(|e| match e {
        dataset::DatasetError::Io(e) => {
            eprintln!("error: cannot read `{}`: {e}", out.display());
            Outcome::Failed
        }
        e => {
            eprintln!("error: cannot resume `{}`: {e}", out.display());
            Outcome::Invalid
        }
    })
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar(count: u64, start: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(count);
    if let Ok(style) =
        ProgressStyle::with_template("{wide_bar} {pos}/{len} samples · {rate} · ETA {eta}")
    {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} samples/s", state.per_sec());
            },
        ));
    }
    bar.set_position(start);
    bar.reset_eta();
    bar
}

fn summary(
    out: &Path,
    count: u64,
    start: u64,
    resumed: bool,
    torn: bool,
    elapsed: Duration,
    threads: usize,
) {
    let new = count - start;
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { new as f64 / secs } else { 0.0 };
    let resumed = match (resumed, torn) {
        (false, false) => String::new(),
        (false, true) => " (an incomplete first line was written again)".to_owned(),
        (true, false) => format!(" (resumed at sample {start})"),
        (true, true) => {
            format!(" (resumed at sample {start}; its incomplete line was written again)")
        }
    };
    eprintln!(
        "wrote samples {start}..{count} to `{}`{resumed}: {new} samples in {secs:.2} s ({rate:.0} samples/s, {threads} thread{})",
        out.display(),
        if threads == 1 { "" } else { "s" }
    );
}
