//! The run builder and the loop that executes streams into lines in index order.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::ops::Range;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::control::{Cancel, Progress, Summary};
use super::{RunFileError, RunHeader, line};
use crate::exec::{Generator, RunOptions, Runner, StreamId, StreamResult, Tools};
use crate::program::Workflow;
use crate::resources::Bindings;

/// Lines in index order, handed to the run loop's sink whenever the run is about to wait for
/// the generator (and at the end): the lines that became ready together, in one buffer.
pub(super) struct Batch {
    bytes: Vec<u8>,
    /// Each line's stream index and where it ends in `bytes`.
    ends: Vec<(u64, usize)>,
}

impl Batch {
    /// The lines' bytes, one after the other.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Each line: its stream index and bytes.
    pub(super) fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(i, end)| {
            let line = &self.bytes[start..end];
            start = end;
            (i, line)
        })
    }

    fn push(&mut self, index: u64) {
        self.ends.push((index, self.bytes.len()));
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// A run of a compiled workflow: stream `i` executes sample `i` of the dataset
/// `(workflow, seed)` for each `i` in `range`, and its line goes to a run file. Configure it
/// with the builder methods, then write it with [`write`](Run::write) (any `Write`) or to a
/// path with [`create`](Run::create), [`resume`](Run::resume) and
/// [`retry_failed`](Run::retry_failed). See the [module docs](super) for the format and an
/// example.
pub struct Run<'w> {
    pub(super) workflow: &'w Workflow,
    pub(super) seed: u64,
    pub(super) range: Range<u64>,
    args: Box<dyn Fn(u64) -> Bindings + 'w>,
    options: RunOptions,
    tools: Tools,
    record: Map<String, Value>,
    window: Option<usize>,
    drain_timeout: Duration,
    pub(super) cancel: Cancel,
    progress: Box<dyn Progress + 'w>,
}

impl<'w> Run<'w> {
    /// A run of the samples `range` of the dataset `(workflow, seed)`, with no arguments
    /// bound, default [`RunOptions`] (the options' sampling `seed` is ignored: requests are seeded
    /// from the dataset seed and the index), no tools, a reorder window of four times
    /// `max_in_flight`, and a drain timeout of 60 s.
    pub fn new(workflow: &'w Workflow, seed: u64, range: Range<u64>) -> Run<'w> {
        Run {
            workflow,
            seed,
            range,
            args: Box::new(|_| Bindings::new()),
            options: RunOptions::default(),
            tools: Tools::default(),
            record: Map::new(),
            window: None,
            drain_timeout: Duration::from_secs(60),
            cancel: Cancel::new(),
            progress: Box::new(()),
        }
    }

    /// The arguments of sample `i` (a typed `Args` struct or [`Bindings`]); called once per
    /// stream, as it starts. They are not recorded in the header: give the same function on
    /// resume.
    pub fn args<B: Into<Bindings>>(mut self, args: impl Fn(u64) -> B + 'w) -> Self {
        self.args = Box::new(move |i| args(i).into());
        self
    }

    /// Concurrency, sampling and retry options.
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// The tools output zones send their text to (their names are recorded in the header).
    pub fn tools(mut self, tools: Tools) -> Self {
        self.tools = tools;
        self
    }

    /// Records `value` under `key` in the header's `generator` object: how the run is made
    /// (engine, endpoint or model file, resources). Resume compares it. Never record secrets.
    /// The keys `sampling` and `tools` are the run's own.
    pub fn record(mut self, key: impl Into<String>, value: Value) -> Self {
        self.record.insert(key.into(), value);
        self
    }

    /// The most streams started and not yet written (in flight, or finished and waiting for
    /// an earlier index): no stream starts while the window is full. Memory follows it.
    pub fn window(mut self, streams: usize) -> Self {
        self.window = Some(streams.max(1));
        self
    }

    /// How long the streams in flight may take to finish after [`Cancel::stop`].
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The token that stops this run.
    pub fn cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Where progress goes.
    pub fn progress(mut self, progress: impl Progress + 'w) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// The header of this run's file.
    pub fn header(&self) -> RunHeader {
        let mut generator = self.record.clone();
        let o = &self.options;
        generator.insert(
            "sampling".into(),
            json!({
                "temperature": o.sampling.temperature,
                "top_p": o.sampling.top_p,
                "max_tokens": o.max_tokens,
                "max_visits": o.max_visits,
            }),
        );
        generator.insert("tools".into(), json!(self.tools.names()));
        RunHeader::new(
            self.workflow,
            self.seed,
            self.range.clone(),
            Value::Object(generator),
        )
    }

    /// Writes the whole run to `out`: the header line, then every stream's line in index
    /// order. Returns what the run did. Lines are written as their turn comes: those that
    /// become ready together (one wait on the generator completing several streams) go out in
    /// one `write_all`, followed by a `flush`. They are encoded and written on a second
    /// thread (scoped to this call, hence `W: Send`), so the calling thread only executes the
    /// streams: writing adds little to a run's time (BENCHMARKS.md, "Runs").
    pub fn write<G: Generator, W: Write + Send + ?Sized>(
        &mut self,
        generator: &mut G,
        out: &mut W,
    ) -> Result<Summary, RunFileError> {
        let header = self.header();
        out.write_all(header.to_line().as_bytes())
            .map_err(RunFileError::write)?;
        self.write_from(generator, self.range.start, out)
    }

    /// Writes the lines of the streams `from..range.end` to `out` (no header): what a resumed
    /// run appends.
    pub fn write_from<G: Generator, W: Write + Send + ?Sized>(
        &mut self,
        generator: &mut G,
        from: u64,
        out: &mut W,
    ) -> Result<Summary, RunFileError> {
        let from = from.clamp(self.range.start, self.range.end);
        let indices = from..self.range.end;
        let total = indices.end - indices.start;
        self.execute(generator, indices, total, &mut |batch| {
            out.write_all(batch.bytes()).and_then(|()| out.flush())
        })
    }

    /// Executes the streams `indices` (increasing) and hands their lines to `sink` in that
    /// order, a [`Batch`] whenever the run is about to wait for the generator (and at the
    /// end), so that no finished line waits in a buffer while the model works. The lines are
    /// encoded, and `sink` called, on a writer thread.
    pub(super) fn execute<G: Generator>(
        &mut self,
        generator: &mut G,
        indices: impl Iterator<Item = u64>,
        total: u64,
        sink: &mut (dyn FnMut(&Batch) -> std::io::Result<()> + Send),
    ) -> Result<Summary, RunFileError> {
        if self.range.end > u64::from(u32::MAX) + 1 {
            return Err(RunFileError::Range(format!(
                "the range {}..{} goes past stream {}, the last a run can number",
                self.range.start,
                self.range.end,
                u32::MAX
            )));
        }
        let mut options = self.options.clone();
        options.sampling.seed = self.seed;
        let window = self
            .window
            .unwrap_or_else(|| options.max_in_flight.saturating_mul(4).clamp(16, 1 << 16));
        let runner = Runner::new(options)
            .map_err(RunFileError::Options)?
            .with_tools(self.tools.clone());
        let started = Instant::now();
        let mut summary = Summary::new(total, self.workflow.zone_count());
        let pending: RefCell<VecDeque<u64>> = RefCell::new(VecDeque::new());
        let sample_error = RefCell::new(None);
        let (workflow, seed, args, cancel) = (self.workflow, self.seed, &self.args, &self.cancel);
        let progress = &mut self.progress;
        let drain_timeout = self.drain_timeout;
        let input = indices.map_while(|i| {
            if cancel.is_stopping() {
                return None;
            }
            match workflow.sample_at(args(i), seed, i) {
                Ok(sample) => {
                    pending.borrow_mut().push_back(i);
                    Some((StreamId(i as u32), sample))
                }
                Err(error) => {
                    *sample_error.borrow_mut() = Some((i, error));
                    None
                }
            }
        });
        let mut execution = runner
            .execute(generator, input)
            .holding(|| pending.borrow().len() >= window);
        // Lines are encoded and written on a thread of their own, so that the runner's thread
        // only executes: finished streams go to it in index order, a batch whenever the run is
        // about to wait for the generator. At most two batches wait for it (memory stays a
        // few windows' worth); if it is behind, the run waits for it.
        let written = std::thread::scope(|scope| {
            let (to_writer, batches) = mpsc::sync_channel::<Vec<(u64, StreamResult)>>(2);
            let writer = scope.spawn(move || -> std::io::Result<()> {
                let mut batch = Batch {
                    bytes: Vec::new(),
                    ends: Vec::new(),
                };
                for results in batches {
                    for (index, result) in &results {
                        line::encode(*index, seed, result, &mut batch.bytes);
                        batch.push(*index);
                    }
                    // The transcripts are freed here too, off the runner's thread.
                    drop(results);
                    sink(&batch)?;
                    batch.clear();
                }
                Ok(())
            });
            // Finished streams waiting for an earlier index, and those whose turn has come.
            let mut done: BTreeMap<u64, StreamResult> = BTreeMap::new();
            let mut ready: Vec<(u64, StreamResult)> = Vec::new();
            let mut writer_failed = false;
            while let Some(result) = execution.next() {
                let index = match &result {
                    Ok(t) => u64::from(t.stream.0),
                    Err(e) => u64::from(e.stream.0),
                };
                summary.count(&result);
                if let Err(e) = &result {
                    progress.failed(index, e);
                }
                done.insert(index, result);
                loop {
                    let front = pending.borrow().front().copied();
                    let Some((i, result)) = front.and_then(|i| Some((i, done.remove(&i)?))) else {
                        break;
                    };
                    pending.borrow_mut().pop_front();
                    if result.is_ok() {
                        summary.finished += 1;
                    } else {
                        summary.failed += 1;
                    }
                    ready.push((i, result));
                }
                let drawn = execution.started();
                summary.in_flight = pending.borrow().len() as u64;
                summary.not_started = total.saturating_sub(u64::from(drawn));
                summary.elapsed = started.elapsed();
                progress.update(&summary);
                if execution.ready() == 0 && !ready.is_empty() {
                    // A send fails only when the writer stopped on an error (returned below).
                    writer_failed = to_writer.send(std::mem::take(&mut ready)).is_err();
                }
                if writer_failed || cancel.must_return(drain_timeout) {
                    break;
                }
            }
            if !writer_failed && !ready.is_empty() {
                let _ = to_writer.send(ready);
            }
            summary.fatal = execution.fatal().cloned();
            drop(execution);
            drop(to_writer);
            writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        written.map_err(RunFileError::write)?;
        summary.stopped = cancel.is_stopping();
        summary.in_flight = pending.borrow().len() as u64;
        summary.elapsed = started.elapsed();
        if let Some((index, error)) = sample_error.into_inner() {
            return Err(RunFileError::Sample { index, error });
        }
        Ok(summary)
    }
}
