//! The terminal summary of `forge report`: plain text, readable without colour.

use std::fmt::Write as _;

use forge_core::run::{Histogram, RunStats};
use serde_json::Value;

/// What is missing from a file read to its end that holds fewer streams than its header's
/// range: a run that stopped early, or a file cut exactly at a line end (which a reader cannot
/// tell from a finished file but by the count).
pub(crate) fn incomplete(stats: &RunStats) -> Option<String> {
    let range = &stats.header.range;
    let expected = range.end.saturating_sub(range.start);
    (stats.stopped.is_none() && stats.streams < expected).then(|| {
        format!(
            "the file holds {} of the {expected} streams of its range {}..{} (the run stopped early, or the file was cut at a line end); `forge run --resume` with the same arguments completes it",
            stats.streams, range.start, range.end
        )
    })
}

/// The summary of `stats`, read from the file `name`.
pub(crate) fn summary(name: &str, stats: &RunStats) -> String {
    let mut out = String::new();
    let h = &stats.header;
    let _ = writeln!(
        out,
        "run {name}: {} streams ({} finished, {} failed) of range {}..{}, seed {}, format version {}",
        stats.streams,
        stats.finished,
        stats.failed,
        h.range.start,
        h.range.end,
        h.seed,
        h.version()
    );
    if let Some(s) = &stats.stopped {
        let _ = writeln!(
            out,
            "{} at line {}: {}",
            if s.torn { "TORN" } else { "STOPPED" },
            s.line,
            s.message
        );
    } else if let Some(note) = incomplete(stats) {
        let _ = writeln!(out, "INCOMPLETE: {note}");
    }
    if let Some(engine) = h.generator.get("engine") {
        let _ = writeln!(out, "engine: {}", compact(engine));
    }
    if let Some(sampling) = h.generator.get("sampling") {
        let _ = writeln!(out, "sampling: {}", compact(sampling));
    }
    let t = &stats.tokens_per_stream;
    let _ = writeln!(
        out,
        "tokens: {} generated; per stream mean {:.1}, min {}, max {}",
        stats.tokens,
        t.mean(),
        t.min,
        t.max
    );
    histogram(&mut out, "  ", t);

    out.push_str("\nzones (graph order): visits, how they ended, tokens per visit\n");
    let width = stats
        .zones
        .iter()
        .map(|z| z.label.chars().count() + tags(&z.tags).chars().count())
        .max()
        .unwrap_or(0);
    for z in &stats.zones {
        let name = format!("{}{}", z.label, tags(&z.tags));
        let ends: Vec<String> = z.ends.iter().map(|(e, n)| format!("{e} {n}")).collect();
        let _ = write!(
            out,
            "  {name:<width$}  {:>7} visits  {}",
            z.visits,
            if ends.is_empty() {
                "-".to_owned()
            } else {
                ends.join(", ")
            }
        );
        if z.tokens.sum > 0 {
            let _ = write!(
                out,
                "  tokens mean {:.1} max {}",
                z.tokens.mean(),
                z.tokens.max
            );
        }
        if z.mostly_limit() {
            let _ = write!(
                out,
                "  !! {:.0}% at the limit: the model is not writing `{}`",
                z.limit_rate() * 100.0,
                z.advance
            );
        }
        out.push('\n');
    }

    if !stats.loops.is_empty() {
        out.push_str("\nloops: body runs per stream\n");
        for l in &stats.loops {
            let c = &stats.zones[l.control as usize];
            let exits: Vec<String> = c
                .ends
                .iter()
                .filter(|(e, _)| e.contains("jump"))
                .map(|(e, n)| format!("{e} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "  control {}: {} streams, mean {:.2}, min {}, max {}; exits: {}",
                c.label,
                l.iterations.count,
                l.iterations.mean(),
                l.iterations.min,
                l.iterations.max,
                if exits.is_empty() {
                    "none".to_owned()
                } else {
                    exits.join(", ")
                }
            );
            histogram(&mut out, "    ", &l.iterations);
        }
    }
    if !stats.whens.is_empty() {
        out.push_str("\nwhen: branches taken\n");
        for w in &stats.whens {
            let _ = writeln!(
                out,
                "  control {}: then {}, otherwise {}",
                stats.zones[w.control as usize].label, w.then, w.otherwise
            );
        }
    }
    if !stats.failures.is_empty() {
        out.push_str("\nfailures by kind\n");
        for f in &stats.failures {
            let _ = writeln!(
                out,
                "  {}: {} stream{}, e.g. {}",
                f.kind,
                f.count,
                if f.count == 1 { "" } else { "s" },
                f.example
            );
        }
    }
    out
}

/// ` [A, B]`, or nothing without tags.
fn tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", tags.join(", "))
    }
}

/// A JSON value on one line.
fn compact(v: &Value) -> String {
    v.to_string()
}

/// One line per non-empty bucket: `  8-15  123 ######`, bars scaled to 40 characters.
fn histogram(out: &mut String, indent: &str, h: &Histogram) {
    let top = h.buckets.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return;
    }
    for (k, &n) in h.buckets.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let (lo, hi) = Histogram::bounds(k);
        let range = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        let bar = ((n * 40).div_ceil(top)) as usize;
        let _ = writeln!(out, "{indent}{range:>11} {n:>8} {}", "#".repeat(bar));
    }
}
