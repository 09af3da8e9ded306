//! What a run file says in aggregate: [`RunStats`], computed in one pass over a
//! [`RunReader`] in memory that follows the workflow's size, not the number of streams.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Serialize;
use serde_json::{Value, json};

use super::{RunHeader, RunLine, RunReader};
use crate::dataset::DatasetError;
use crate::exec::{Transcript, ZoneEnd};
use crate::program::{WorkflowMeta, ZoneInfo};

/// How many distinct failure kinds [`RunStats`] keeps apart (the rest count as `other`).
const MAX_FAILURE_KINDS: usize = 32;

/// A histogram of non-negative integers in power-of-two buckets: bucket 0 holds 0, bucket
/// `k ≥ 1` holds `2^(k-1) ..= 2^k - 1`. Constant memory whatever the number of values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Histogram {
    /// How many values were added.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// The smallest (0 when empty).
    pub min: u64,
    /// The largest (0 when empty).
    pub max: u64,
    /// Counts per bucket, up to the last non-empty one.
    pub buckets: Vec<u64>,
}

impl Histogram {
    /// The bucket `value` falls in.
    pub fn bucket(value: u64) -> usize {
        (u64::BITS - value.leading_zeros()) as usize
    }

    /// The values bucket `k` holds, as an inclusive range.
    pub fn bounds(k: usize) -> (u64, u64) {
        match k {
            0 => (0, 0),
            k if k >= 64 => (1 << 63, u64::MAX),
            k => (1 << (k - 1), (1 << k) - 1),
        }
    }

    /// Adds one value.
    pub fn add(&mut self, value: u64) {
        if self.count == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.count += 1;
        self.sum = self.sum.saturating_add(value);
        let k = Self::bucket(value);
        if self.buckets.len() <= k {
            self.buckets.resize(k + 1, 0);
        }
        self.buckets[k] += 1;
    }

    /// The mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

/// One zone of the workflow, over every visit of every stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZoneStats {
    /// The zone's index in the header's zones (graph order).
    pub zone: u32,
    /// Its name: `#12 setup b1 z2`, with `i1` for the second instance of a repeated block.
    pub label: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The pattern that ends it when the model writes it.
    pub advance: String,
    /// Whether it is an input zone (fed by a tool, never generating).
    pub input: bool,
    /// Visits made, in finished and failed streams.
    pub visits: u64,
    /// How the visits ended, by the file's name for the end (`pattern`, `jump`, `limit`,
    /// `eos`, `forced`, `unfinished`, and any name a later forge writes), in that order (names
    /// this forge does not know last, in first-seen order).
    pub ends: Vec<(String, u64)>,
    /// Tokens generated per visit.
    pub tokens: Histogram,
}

impl ZoneStats {
    /// How many visits ended as `end` (the file's name, e.g. `"limit"`).
    pub fn ended(&self, end: &str) -> u64 {
        self.ends
            .iter()
            .find(|(name, _)| name == end)
            .map_or(0, |&(_, n)| n)
    }

    /// The share of visits that ended at the token limit (0 without visits).
    pub fn limit_rate(&self) -> f64 {
        if self.visits == 0 {
            0.0
        } else {
            self.ended("limit") as f64 / self.visits as f64
        }
    }

    /// Whether most visits ended at the token limit: the model is not writing the advance
    /// pattern.
    pub fn mostly_limit(&self) -> bool {
        self.visits > 0 && self.ended("limit") * 2 > self.visits
    }

    /// The warning for a zone most of whose visits ended at the limit, `None` otherwise.
    pub fn warning(&self) -> Option<String> {
        self.mostly_limit().then(|| {
            format!(
                "{} of {} visits of zone {} ended at the token limit: the model is not writing `{}`",
                self.ended("limit"),
                self.visits,
                self.label,
                self.advance
            )
        })
    }
}

/// A loop, found by its control zone (the first zone with a jump edge inside a loop-back).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopStats {
    /// The loop's control zone: the stream leaves the loop by its jump edge.
    pub control: u32,
    /// The zone its body returns to (the first zone of the control sequence).
    pub first: u32,
    /// Body runs per stream that entered the loop: visits of the control zone that did not
    /// end by a jump (summed over every entry, for a loop inside another one).
    pub iterations: Histogram,
}

/// A `when`: the control zone with a jump edge that no loop-back encloses as its control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhenStats {
    /// The control zone.
    pub control: u32,
    /// Visits that went on into the `then` branch (the zone's *next* edge).
    pub then: u64,
    /// Visits that took the `otherwise` branch (the jump edge).
    pub otherwise: u64,
}

/// Failed streams with one kind of error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureGroup {
    /// The kind: `generator`, `tool`, `tool_not_registered`, `invalid_workflow`,
    /// `visit_limit`, `interrupted` or `other`.
    pub kind: String,
    /// How many streams failed so.
    pub count: u64,
    /// The first such stream's index.
    pub index: u64,
    /// Its located message.
    pub example: String,
}

/// Where reading a run file stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// The 1-based line that could not be read (the header is line 1).
    pub line: u64,
    /// Whether the file is torn: its last line is incomplete (cut while being written).
    pub torn: bool,
    /// What is wrong, and what to do.
    pub message: String,
}

/// The aggregate figures of a run file: streams, tokens, per zone how visits ended, loops,
/// `when` branches and failures.
///
/// Built in one pass ([`RunStats::read`], or [`RunStats::new`] and [`RunStats::add`] for
/// a caller that reads the lines itself); memory follows the workflow (one entry per zone),
/// never the number of streams. A file that cannot be read to its end (torn by a kill, or a
/// bad line) still gives the figures of the lines before, and [`RunStats::stopped`] says
/// where and why.
///
/// ```
/// # use forge::run::RunStats;
/// let err = RunStats::read(&b"{\"format\":\"forge-dataset\",\"version\":2}\n"[..]).unwrap_err();
/// assert!(err.to_string().contains("this is a dataset"), "{err}");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RunStats {
    /// The file's header: the workflow, seed, range and how the streams were executed.
    pub header: RunHeader,
    /// Streams read.
    pub streams: u64,
    /// Of which finished.
    pub finished: u64,
    /// Of which failed.
    pub failed: u64,
    /// Tokens generated, over every stream (failed ones' partial transcripts included).
    pub tokens: u64,
    /// Tokens generated per stream.
    pub tokens_per_stream: Histogram,
    /// One entry per zone of the workflow, in graph order.
    pub zones: Vec<ZoneStats>,
    /// The loops, by control zone.
    pub loops: Vec<LoopStats>,
    /// The `when`s, by control zone.
    pub whens: Vec<WhenStats>,
    /// Failed streams grouped by error kind, in first-seen order.
    pub failures: Vec<FailureGroup>,
    /// Where reading stopped before the end of the file, if it did.
    pub stopped: Option<Stopped>,
    /// Per loop, this stream's body runs (reused between streams).
    scratch: Vec<(bool, u64)>,
    /// For each zone, its loop (index into `loops`) or `when` (index into `whens`).
    control: Vec<Control>,
}

#[derive(Clone, Copy, Debug)]
enum Control {
    None,
    Loop(usize),
    When(usize),
}

impl RunStats {
    /// Reads a whole run file. An error only when the header cannot be read (an empty file,
    /// a dataset file, another format): errors in later lines end in [`RunStats::stopped`].
    pub fn read(input: impl BufRead) -> Result<RunStats, DatasetError> {
        let mut reader = RunReader::new(input)?;
        let mut stats = RunStats::new(reader.header().clone());
        for line in &mut reader {
            match line {
                Ok(line) => stats.add(&line),
                Err(e) => {
                    stats.stop(stats.streams + 2, e);
                    break;
                }
            }
        }
        Ok(stats)
    }

    /// Empty figures for a file with `header`.
    pub fn new(header: RunHeader) -> RunStats {
        let meta = &header.workflow;
        let zones: Vec<ZoneStats> = meta
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| ZoneStats {
                zone: i as u32,
                label: zone_label(i, z),
                tags: z.tags.to_vec(),
                advance: z.advance.to_string(),
                input: z.input,
                visits: 0,
                ends: Vec::new(),
                tokens: Histogram::default(),
            })
            .collect();
        let (loops, whens, control) = controls(meta);
        RunStats {
            streams: 0,
            finished: 0,
            failed: 0,
            tokens: 0,
            tokens_per_stream: Histogram::default(),
            zones,
            scratch: vec![(false, 0); loops.len()],
            loops,
            whens,
            control,
            failures: Vec::new(),
            stopped: None,
            header,
        }
    }

    /// Adds one stream.
    pub fn add(&mut self, line: &RunLine) {
        self.streams += 1;
        let transcript = match &line.outcome {
            Ok(t) => {
                self.finished += 1;
                Some(t)
            }
            Err(f) => {
                self.failed += 1;
                self.add_failure(line.index, &f.message);
                f.partial.as_ref()
            }
        };
        let tokens = transcript.map_or(0, |t| self.add_visits(t));
        self.tokens += tokens;
        self.tokens_per_stream.add(tokens);
    }

    /// Records that line `line` could not be read.
    pub fn stop(&mut self, line: u64, error: DatasetError) {
        let (line, mut message) = match error {
            DatasetError::Invalid { line, message } => (line, message),
            DatasetError::Io(e) => (line, format!("cannot read the file: {e}")),
        };
        if message.contains("unknown variant") {
            // E.g. a way for a visit to end that this forge does not know.
            message.push_str(" (the file may come from a newer forge: upgrade forge to read it)");
        }
        self.stopped = Some(Stopped {
            line,
            torn: message.contains("incomplete"),
            message,
        });
    }

    fn add_visits(&mut self, t: &Transcript) -> u64 {
        for s in &mut self.scratch {
            *s = (false, 0);
        }
        let mut tokens = 0;
        for v in &t.visits {
            let Some(z) = self.zones.get_mut(v.zone.index()) else {
                continue;
            };
            tokens += u64::from(v.tokens);
            z.visits += 1;
            z.tokens.add(u64::from(v.tokens));
            let name = end_name(v.end);
            match z.ends.iter_mut().find(|(n, _)| *n == name) {
                Some((_, n)) => *n += 1,
                None => {
                    let at = z
                        .ends
                        .partition_point(|(n, _)| end_rank(n) <= end_rank(&name));
                    z.ends.insert(at, (name, 1));
                }
            }
            match self.control[v.zone.index()] {
                Control::None => {}
                Control::Loop(l) => {
                    let s = &mut self.scratch[l];
                    s.0 = true;
                    if !matches!(v.end, ZoneEnd::Jump | ZoneEnd::Unfinished) {
                        s.1 += 1;
                    }
                }
                Control::When(w) => match v.end {
                    ZoneEnd::Jump => self.whens[w].otherwise += 1,
                    ZoneEnd::Unfinished => {}
                    _ => self.whens[w].then += 1,
                },
            }
        }
        for (l, &(entered, runs)) in self.scratch.iter().enumerate() {
            if entered {
                self.loops[l].iterations.add(runs);
            }
        }
        tokens
    }

    fn add_failure(&mut self, index: u64, message: &str) {
        let mut kind = failure_kind(message);
        if !self.failures.iter().any(|g| g.kind == kind) && self.failures.len() >= MAX_FAILURE_KINDS
        {
            kind = "other";
        }
        match self.failures.iter_mut().find(|g| g.kind == kind) {
            Some(g) => g.count += 1,
            None => self.failures.push(FailureGroup {
                kind: kind.to_owned(),
                count: 1,
                index,
                example: message.to_owned(),
            }),
        }
    }

    /// The zones most of whose visits ended at the token limit, with their warnings.
    pub fn warnings(&self) -> Vec<String> {
        self.zones.iter().filter_map(ZoneStats::warning).collect()
    }

    /// The figures as one JSON object (what `forge report` embeds in its page): `header`
    /// (`seed`, `range`, `version`, `generator`, `extractions`), the counts, `tokens_per_stream`,
    /// `zones` (with `limit_rate` and `warning`), `loops`, `whens`, `failures`, `stopped`.
    pub fn to_json(&self) -> Value {
        let h = &self.header;
        let zones: Vec<Value> = self
            .zones
            .iter()
            .map(|z| {
                let mut v = serde_json::to_value(z).expect("zone figures serialize");
                v["ends"] =
                    Value::Object(z.ends.iter().map(|(k, n)| (k.clone(), json!(n))).collect());
                v["limit_rate"] = json!(z.limit_rate());
                v["warning"] = json!(z.warning());
                v
            })
            .collect();
        let extractions: BTreeMap<&str, &[String]> = h
            .workflow
            .extractions
            .iter()
            .map(|e| (e.name.as_str(), &e.tags[..]))
            .collect();
        json!({
            "header": {
                "seed": h.seed,
                "range": [h.range.start, h.range.end],
                "version": h.version(),
                "generator": h.generator,
                "extractions": extractions,
            },
            "streams": self.streams,
            "finished": self.finished,
            "failed": self.failed,
            "tokens": self.tokens,
            "tokens_per_stream": self.tokens_per_stream,
            "zones": zones,
            "loops": self.loops,
            "whens": self.whens,
            "failures": self.failures,
            "stopped": self.stopped,
        })
    }
}

/// The file's name for how a visit ended (`limit`, `jump`, …).
fn end_name(end: ZoneEnd) -> String {
    end.as_str().to_owned()
}

/// Where an end name sorts: the model's ends first, then the runtime's.
fn end_rank(name: &str) -> usize {
    const ORDER: [&str; 7] = [
        "pattern",
        "jump",
        "forced_jump",
        "limit",
        "eos",
        "forced",
        "unfinished",
    ];
    ORDER.iter().position(|&n| n == name).unwrap_or(ORDER.len())
}

/// The kind of a failed stream's error, read from its located message.
fn failure_kind(message: &str) -> &'static str {
    if message.contains(": the generation request failed") {
        "generator"
    } else if message.contains(", which is not registered on the run") {
        "tool_not_registered"
    } else if message.contains(": tool `") {
        "tool"
    } else if message.contains(": the workflow cannot run") {
        "invalid_workflow"
    } else if message.contains("zones without ending") {
        "visit_limit"
    } else if message.contains(": the run stopped before the stream finished") {
        "interrupted"
    } else {
        "other"
    }
}

/// `#12 setup b1 z2`, with `i1` for a second instance: the graph page's short label.
pub(crate) fn zone_label(index: usize, z: &ZoneInfo) -> String {
    let mut s = format!("#{index} {} b{}", z.sequence, z.block);
    if z.instance > 0 {
        s.push_str(&format!(" i{}", z.instance));
    }
    s.push_str(&format!(" z{}", z.zone));
    s
}

/// The loops and `when`s of a workflow, and each zone's role. A loop-back is a *next* edge
/// from zone `b` to a zone `a ≤ b`; its loop's control zone is the first zone from `a` on
/// that has a jump edge. Every other zone with a jump edge controls a `when`.
fn controls(meta: &WorkflowMeta) -> (Vec<LoopStats>, Vec<WhenStats>, Vec<Control>) {
    let mut control = vec![Control::None; meta.zones.len()];
    let mut loops = Vec::new();
    for (b, z) in meta.zones.iter().enumerate() {
        let Some(a) = z.next.map(usize::from).filter(|&a| a <= b) else {
            continue;
        };
        let Some(c) = (a..=b).find(|&c| meta.zones[c].jump.is_some()) else {
            continue;
        };
        if matches!(control[c], Control::None) {
            control[c] = Control::Loop(loops.len());
            loops.push(LoopStats {
                control: c as u32,
                first: a as u32,
                iterations: Histogram::default(),
            });
        }
    }
    let mut whens = Vec::new();
    for (c, z) in meta.zones.iter().enumerate() {
        if z.jump.is_some() && matches!(control[c], Control::None) {
            control[c] = Control::When(whens.len());
            whens.push(WhenStats {
                control: c as u32,
                then: 0,
                otherwise: 0,
            });
        }
    }
    loops.sort_by_key(|l| l.control);
    for (k, l) in loops.iter().enumerate() {
        control[l.control as usize] = Control::Loop(k);
    }
    (loops, whens, control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_powers_of_two() {
        let mut h = Histogram::default();
        for v in [0, 1, 2, 3, 4, 7, 8, 1000] {
            h.add(v);
        }
        assert_eq!(h.buckets, [1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!((h.count, h.sum, h.min, h.max), (8, 1025, 0, 1000));
        assert_eq!(Histogram::bounds(4), (8, 15));
        assert_eq!(Histogram::bucket(15), 4);
        assert_eq!(Histogram::bucket(u64::MAX), 64);
        assert_eq!(Histogram::bounds(64), (1 << 63, u64::MAX));
    }

    #[test]
    fn failure_kinds_are_read_from_messages() {
        assert_eq!(
            failure_kind("stream 1, zone 0 (…): the generation request failed (1 attempt): x"),
            "generator"
        );
        assert_eq!(
            failure_kind("stream 1, zone 2 (…): tool `up` failed: boom"),
            "tool"
        );
        assert_eq!(
            failure_kind("stream 3: the stream visited 9 zones without ending (did …)"),
            "visit_limit"
        );
        assert_eq!(failure_kind("something new"), "other");
    }
}
