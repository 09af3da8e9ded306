//! Tool calls off the runner's thread: a small pool of worker threads, at most
//! [`RunOptions::max_tool_calls`](super::RunOptions::max_tool_calls) of them, started as calls
//! need them. A slow tool (a command that takes a minute) then holds up its own stream only.
//!
//! Results come back in completion order over a channel; the runner hands each to its
//! stream's automaton, so a stream's transcript does not depend on the order in which other
//! streams' calls finish.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::tools::ToolFn;
use crate::program::SharedStr;

/// What a tool call gave: its result text, or its error (a panic becomes an error).
pub(super) type ToolOutcome = Result<String, Box<dyn StdError + Send + Sync>>;

/// A finished call: the stream, the tool's name and the outcome.
pub(super) type Finished = (u32, SharedStr, ToolOutcome);

/// One call to make.
struct Job {
    stream: u32,
    name: SharedStr,
    tool: Arc<ToolFn>,
    input: String,
}

/// The calls of one run: at most `max` at once, the others queued in call order.
pub(super) struct ToolCalls {
    max: usize,
    jobs: Sender<Job>,
    queue: Arc<Mutex<Receiver<Job>>>,
    done_tx: Sender<Finished>,
    done: Receiver<Finished>,
    /// Results of calls made on the runner's thread (when no worker could be started).
    inline: VecDeque<Finished>,
    workers: usize,
    pending: usize,
}

impl ToolCalls {
    /// No worker yet: the first is started by the first call.
    pub(super) fn new(max: usize) -> ToolCalls {
        let (jobs, queue) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        ToolCalls {
            max: max.max(1),
            jobs,
            queue: Arc::new(Mutex::new(queue)),
            done_tx,
            done,
            inline: VecDeque::new(),
            workers: 0,
            pending: 0,
        }
    }

    /// Calls made and not yet taken back.
    pub(super) fn pending(&self) -> usize {
        self.pending
    }

    /// Call `tool` with `input` for `stream`; its result comes back through
    /// [`try_take`](ToolCalls::try_take) or [`take`](ToolCalls::take).
    pub(super) fn call(&mut self, stream: u32, name: SharedStr, tool: Arc<ToolFn>, input: String) {
        self.pending += 1;
        let job = Job {
            stream,
            name,
            tool,
            input,
        };
        // When no worker can be started, the workers there are take the call when one is
        // free; with none, it is made here (the run goes on, serially).
        if self.pending > self.workers
            && self.workers < self.max
            && self.spawn().is_err()
            && self.workers == 0
        {
            let outcome = call(&job);
            self.inline.push_back((job.stream, job.name, outcome));
            return;
        }
        // The workers (and the queue's receiver) live as long as `self`: the send succeeds.
        let _ = self.jobs.send(job);
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let queue = Arc::clone(&self.queue);
        let done = self.done_tx.clone();
        std::thread::Builder::new()
            .name(format!("forge-tool-{}", self.workers))
            .spawn(move || work(&queue, &done))?;
        self.workers += 1;
        Ok(())
    }

    /// A finished call, if one is there.
    pub(super) fn try_take(&mut self) -> Option<Finished> {
        let finished = self
            .inline
            .pop_front()
            .or_else(|| self.done.try_recv().ok());
        if finished.is_some() {
            self.pending -= 1;
        }
        finished
    }

    /// Wait for a finished call, until `deadline` at most. `None` at the deadline, or when no
    /// call is pending.
    pub(super) fn take(&mut self, deadline: Option<Instant>) -> Option<Finished> {
        if self.pending == 0 {
            return None;
        }
        if let Some(finished) = self.try_take() {
            return Some(finished);
        }
        let finished = match deadline {
            None => self.done.recv().ok(),
            Some(at) => self
                .done
                .recv_timeout(at.saturating_duration_since(Instant::now()))
                .ok(),
        };
        if finished.is_some() {
            self.pending -= 1;
        }
        finished
    }
}

/// A worker: calls tools until the run drops its [`ToolCalls`] (or stops taking results).
fn work(queue: &Mutex<Receiver<Job>>, done: &Sender<Finished>) {
    loop {
        let job = {
            let queue = queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let outcome = call(&job);
        if done.send((job.stream, job.name, outcome)).is_err() {
            return;
        }
    }
}

/// One call; a panicking tool fails its stream with the panic's message instead of taking
/// the run down.
fn call(job: &Job) -> ToolOutcome {
    match catch_unwind(AssertUnwindSafe(|| (job.tool)(&job.input))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            Err(format!("the tool panicked: {message}").into())
        }
    }
}
