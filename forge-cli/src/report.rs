//! `forge report`: a run file summed up, in the terminal or as a self-contained HTML page.

mod page;
mod sidecar;
mod text;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use forge_core::dataset::DatasetError;
use forge_core::run::{RunLine, RunReader, RunStats};
use serde_json::{Value, json};

use crate::Outcome;

/// Sum up a run file: streams, tokens, how each zone's visits ended, loops, `when` branches,
/// failures.
///
/// Without `--out`, prints a compact summary. With `--out`, writes a self-contained HTML page
/// (no network): the summary, per zone stacked bars of how visits ended and token histograms,
/// loop and `when` counts, failures, the workflow graph (the page `forge graph --format html`
/// draws, inside this one, each zone shaded by how often it hit the token limit) and a
/// transcript browser.
///
/// The page embeds the figures and the first `--transcripts` streams (plus up to 50 later
/// failed ones), so it stays small whatever the run's size. Every other stream is written next
/// to it, in `FILE.streams/` (`report.html` → `report.streams/00000.js`, …: script files of
/// about 1 MiB each), which the page loads on demand when a stream is picked; its search reads
/// them too, so it covers every stream. Keep that folder next to the page when moving it. No
/// folder is written when the page embeds every stream.
///
/// A torn file (cut while being written) is summed up to the cut, with a warning (exit 0);
/// a file with a bad line is summed up to that line and exits 1; a file holding fewer streams
/// than its header's range is flagged incomplete (exit 0).
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    /// The run file (written by `forge run`)
    #[arg(value_name = "RUN.jsonl")]
    run: PathBuf,
    /// Write the HTML page here instead of printing the summary
    #[arg(long, value_name = "FILE.html")]
    out: Option<PathBuf>,
    /// How many streams' transcripts the page embeds (from the first)
    #[arg(long, value_name = "N", default_value_t = 200)]
    transcripts: usize,
    /// How many bytes of JSON each file of `FILE.streams/` holds (at least one stream)
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, hide = true)]
    chunk_bytes: usize,
}

/// Later failed streams the page embeds beyond the first `--transcripts`.
const EXTRA_FAILED: usize = 50;

/// What one pass over a run file gives: the figures and the embedded transcripts.
pub(crate) struct Pass {
    pub(crate) stats: RunStats,
    pub(crate) transcripts: Vec<Value>,
    /// The index of the first stream of each sidecar file (empty: none written).
    pub(crate) sidecar: Vec<u64>,
}

/// Opens `path` as a run file; an error is printed as `error: ...`.
pub(crate) fn open(path: &Path) -> Result<RunReader<BufReader<File>>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    RunReader::new(BufReader::with_capacity(1 << 16, file)).map_err(|e| located(path, &e))
}

/// `` `path` line N: message ``.
pub(crate) fn located(path: &Path, e: &DatasetError) -> String {
    match e {
        DatasetError::Invalid { line, message } => {
            format!("`{}` line {line}: {message}", path.display())
        }
        DatasetError::Io(e) => format!("cannot read `{}`: {e}", path.display()),
        e => format!("`{}`: {e}", path.display()),
    }
}

/// Reads the whole file once, keeping the first `keep` transcripts (and later failed ones);
/// with a `sidecar`, every other stream goes there.
fn pass(path: &Path, keep: usize, mut sidecar: Option<sidecar::Sidecar>) -> Result<Pass, String> {
    let mut reader = open(path)?;
    let mut stats = RunStats::new(reader.header().clone());
    let mut transcripts = Vec::new();
    let mut extra = 0;
    let cannot_write = |e: std::io::Error, s: &sidecar::Sidecar| {
        format!("cannot write `{}`: {e}", s.dir().display())
    };
    for line in &mut reader {
        match line {
            Ok(line) => {
                stats.add(&line);
                if transcripts.len() < keep {
                    transcripts.push(line_json(&line));
                } else if !line.finished() && extra < EXTRA_FAILED {
                    extra += 1;
                    transcripts.push(line_json(&line));
                } else if let Some(s) = &mut sidecar {
                    s.add(line.index, &line_json(&line))
                        .map_err(|e| cannot_write(e, s))?;
                }
            }
            Err(e) => {
                stats.stop(stats.streams + 2, e);
                break;
            }
        }
    }
    let sidecar = match sidecar {
        Some(s) => {
            let dir = s.dir().to_path_buf();
            s.finish()
                .map_err(|e| format!("cannot write `{}`: {e}", dir.display()))?
        }
        None => Vec::new(),
    };
    Ok(Pass {
        stats,
        transcripts,
        sidecar,
    })
}

/// A stream in the shape of its run-file line (so the page reads embedded streams and lines
/// of an opened run file alike).
pub(crate) fn line_json(line: &RunLine) -> Value {
    let (t, error) = match &line.outcome {
        Ok(t) => (Some(t), Value::Null),
        Err(f) => (
            f.partial.as_ref(),
            json!({ "message": f.message, "zone": f.zone }),
        ),
    };
    let mut v = json!({
        "index": line.index,
        "status": if line.finished() { "finished" } else { "failed" },
        "visits": t.map_or(Vec::new(), |t| t.visits.iter().map(|v| json!({
            "zone": v.zone, "end": v.end, "tokens": v.tokens,
        })).collect()),
        "spans": t.map_or(Vec::new(), |t| t.spans().map(|s| json!({
            "visit": s.visit, "zone": s.zone, "kind": s.kind, "text": s.text,
        })).collect()),
        "extractions": t.map_or(serde_json::Map::new(), |t| t.extractions.iter().map(|e| {
            (e.name.clone(), json!(e.texts))
        }).collect()),
    });
    if !error.is_null() {
        v["error"] = error;
    }
    v
}

pub(crate) fn run(args: Args) -> Outcome {
    let keep = if args.out.is_some() {
        args.transcripts
    } else {
        0
    };
    if let Some(out) = &args.out
        && out.extension().is_some_and(|e| e == "streams")
    {
        return crate::usage_error(
            "report",
            format!(
                "`--out {}`: a page named `*.streams` would be its own sidecar folder; name it `*.html`",
                out.display()
            ),
        );
    }
    let sidecar = args
        .out
        .as_ref()
        .map(|out| sidecar::Sidecar::new(sidecar::folder(out), args.chunk_bytes));
    let pass = match pass(&args.run, keep, sidecar) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failed;
        }
    };
    let name = args
        .run
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let outcome = match &args.out {
        None => crate::preview::emit(&text::summary(&name, &pass.stats)),
        Some(out) => {
            let folder = sidecar::folder(out);
            let folder = folder
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let html = page::page(&name, &pass, &folder);
            match std::fs::write(out, html) {
                Ok(()) => {
                    let rest = pass.stats.streams - pass.transcripts.len() as u64;
                    if pass.sidecar.is_empty() {
                        eprintln!(
                            "wrote `{}`: {} streams, {} transcripts embedded",
                            out.display(),
                            pass.stats.streams,
                            pass.transcripts.len()
                        );
                    } else {
                        eprintln!(
                            "wrote `{}`: {} streams, {} transcripts embedded, {rest} more in `{}` ({} files, loaded on demand)",
                            out.display(),
                            pass.stats.streams,
                            pass.transcripts.len(),
                            sidecar::folder(out).display(),
                            pass.sidecar.len()
                        );
                    }
                    Outcome::Clean
                }
                Err(e) => {
                    eprintln!("error: cannot write `{}`: {e}", out.display());
                    return Outcome::Failed;
                }
            }
        }
    };
    for w in pass.stats.warnings() {
        eprintln!("warning: {w}");
    }
    if let Some(note) = text::incomplete(&pass.stats) {
        eprintln!("warning: `{}`: {note}", args.run.display());
    }
    match &pass.stats.stopped {
        Some(s) if s.torn => {
            eprintln!(
                "warning: `{}` is torn at line {}: {} (the figures cover the {} streams before it)",
                args.run.display(),
                s.line,
                s.message,
                pass.stats.streams
            );
            outcome
        }
        Some(s) => {
            eprintln!(
                "error: `{}` line {}: {} (the figures cover the {} streams before it)",
                args.run.display(),
                s.line,
                s.message,
                pass.stats.streams
            );
            Outcome::Invalid
        }
        None => outcome,
    }
}
