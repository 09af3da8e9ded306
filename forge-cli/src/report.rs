//! `forge report`: a run file summed up, in the terminal or as a self-contained HTML page.

mod page;
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
/// loop and `when` counts, failures, the workflow's zones coloured by how often they hit the
/// token limit, and a transcript browser. The page embeds the figures and the first
/// `--transcripts` streams (plus up to 50 later failed ones); to browse every stream, open the
/// run file itself from the page (it is read in the browser, never uploaded). Next to it,
/// `FILE.graph.html` is the workflow as `forge graph` draws it, zones shaded by limit-hit rate.
///
/// A torn file (cut while being written) is summed up to the cut, with a warning (exit 0);
/// a file with a bad line is summed up to that line and exits 1.
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
}

/// Later failed streams the page embeds beyond the first `--transcripts`.
const EXTRA_FAILED: usize = 50;

/// What one pass over a run file gives: the figures and the embedded transcripts.
pub(crate) struct Pass {
    pub(crate) stats: RunStats,
    pub(crate) transcripts: Vec<Value>,
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

/// Reads the whole file once, keeping the first `keep` transcripts (and later failed ones).
fn pass(path: &Path, keep: usize) -> Result<Pass, String> {
    let mut reader = open(path)?;
    let mut stats = RunStats::new(reader.header().clone());
    let mut transcripts = Vec::new();
    let mut extra = 0;
    for line in &mut reader {
        match line {
            Ok(line) => {
                stats.add(&line);
                if transcripts.len() < keep {
                    transcripts.push(line_json(&line));
                } else if !line.finished() && extra < EXTRA_FAILED {
                    extra += 1;
                    transcripts.push(line_json(&line));
                }
            }
            Err(e) => {
                stats.stop(stats.streams + 2, e);
                break;
            }
        }
    }
    Ok(Pass { stats, transcripts })
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
    let pass = match pass(&args.run, keep) {
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
            // The companion page drawn by `forge graph`: `report.html` → `report.graph.html`.
            let graph_path = out.with_extension("graph.html");
            let graph =
                page::graph_page(&pass).and_then(|html| match std::fs::write(&graph_path, html) {
                    Ok(()) => graph_path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned()),
                    Err(e) => {
                        eprintln!("warning: cannot write `{}`: {e}", graph_path.display());
                        None
                    }
                });
            let html = page::page(&name, &pass, graph.as_deref());
            match std::fs::write(out, html) {
                Ok(()) => {
                    eprintln!(
                        "wrote `{}`: {} streams, {} transcripts embedded",
                        out.display(),
                        pass.stats.streams,
                        pass.transcripts.len()
                    );
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
