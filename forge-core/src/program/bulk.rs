//! Sampling a range of a dataset on several threads, delivered in index order.

use std::fmt;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use std::sync::Arc;

use super::error::SampleError;
use super::graph::{Instance, Slot};
use super::workflow::{SampledWorkflow, Sampler, Workflow};
use crate::resources::{Bindings, StreamLayout};

/// The dataset stream of every instance bound at setup or invocation that draws from one, with
/// its fills in the order sampling makes them (block instances in order, placeholders in order
/// of first appearance).
pub(super) fn stream_layouts(instances: &[Instance]) -> Option<Arc<[StreamLayout]>> {
    let mut layouts: Vec<StreamLayout> = Vec::new();
    for inst in instances {
        for slot in inst.slots.iter() {
            let Slot::Bound(f) = slot else { continue };
            let Some((owner, draws)) = f.stream_plan() else {
                continue;
            };
            let i = match layouts.iter().position(|l| l.owner() == owner) {
                Some(i) => i,
                None => {
                    layouts.push(StreamLayout::new(owner));
                    layouts.len() - 1
                }
            };
            layouts[i].push(draws as u64);
        }
    }
    (!layouts.is_empty()).then(|| layouts.into())
}

/// Sampling a range of a dataset stopped: a sample failed, or a callback returned an error.
/// Every sample before `index` has been delivered, in order; nothing after it.
#[derive(Debug)]
#[non_exhaustive]
pub enum RangeError<E> {
    /// Sample `index` failed (a resource or an argument binding).
    Sample {
        /// The sample's index in the dataset.
        index: u64,
        /// Why.
        error: SampleError,
    },
    /// A callback returned `error` for sample `index`.
    Callback {
        /// The sample's index in the dataset.
        index: u64,
        /// The callback's error.
        error: E,
    },
}

impl<E> RangeError<E> {
    /// The index of the sample that stopped the range.
    pub fn index(&self) -> u64 {
        match self {
            RangeError::Sample { index, .. } | RangeError::Callback { index, .. } => *index,
        }
    }
}

impl<E: fmt::Display> fmt::Display for RangeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Sample { index, error } => write!(f, "sample {index}: {error}"),
            RangeError::Callback { index, error } => write!(f, "sample {index}: {error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RangeError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RangeError::Sample { error, .. } => Some(error),
            RangeError::Callback { error, .. } => Some(error),
        }
    }
}

/// Sets the flag when dropped during a panic, so the other threads stop waiting for batches
/// that will never be delivered (the panic is then propagated by the thread scope).
struct AbortOnPanic<'a>(&'a AtomicBool);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Waits until `ok()`; `false` if the range was aborted meanwhile.
fn wait_until(abort: &AtomicBool, ok: impl Fn() -> bool) -> bool {
    let mut spins = 0u32;
    loop {
        if ok() {
            return true;
        }
        if abort.load(Ordering::Acquire) {
            return false;
        }
        if spins < 64 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// A prepared batch waiting for its turn.
struct Ready<T, E> {
    batch: u64,
    /// The thread that prepared it, which gets the buffer back (it stays in that core's cache).
    owner: usize,
    /// First index of the batch.
    lo: u64,
    /// End of the indices prepared (`lo..done`).
    done: u64,
    /// Why preparing stopped at `done`, if it did.
    failed: Option<RangeError<E>>,
    buffer: T,
}

/// The batches prepared out of turn, and who delivers.
struct Queue<T, E> {
    /// The next batch to deliver.
    next: u64,
    ready: Vec<Ready<T, E>>,
    /// Delivered buffers, to reuse, per thread that prepared them. A buffer is made only when
    /// all are empty, so at most `window + threads + 1` exist.
    free: Vec<Vec<T>>,
    /// A thread is delivering: the others hand their batches over and go on sampling.
    delivering: bool,
    /// What stopped the range, in index order.
    error: Option<RangeError<E>>,
}

/// A delivered buffer for thread `me`: its own (still in its core's cache), else any.
fn take_free<T, E>(q: &mut Queue<T, E>, me: usize) -> Option<T> {
    match q.free[me].pop() {
        Some(t) => Some(t),
        None => q.free.iter_mut().find_map(Vec::pop),
    }
}

/// Sample `i` of the dataset `seed` with `args(i)`, into `sampler`.
fn sample_step<'s, B: Into<Bindings>, E>(
    sampler: &'s mut Sampler,
    args: &(dyn Fn(u64) -> B + Sync),
    seed: u64,
    i: u64,
) -> Result<&'s SampledWorkflow, RangeError<E>> {
    sampler
        .sample_at_with(&args(i).into(), seed, i)
        .map_err(|error| RangeError::Sample { index: i, error })
}

/// Sampling index `i` and its per-sample work, on the sampling thread.
pub(crate) type Step<'a, T, E> =
    dyn Fn(&mut Sampler, u64, &mut T) -> Result<(), RangeError<E>> + Sync + 'a;

/// In-order delivery of a batch.
pub(crate) type Deliver<'a, T, E> = dyn FnMut(Range<u64>, &mut T) -> Result<(), E> + Send + 'a;

impl Workflow {
    /// Samples indices `range` of the dataset `(self, seed)` on `threads` threads (at least
    /// one), calling `each(i, &sample)` for every index **in index order**. Sample `i` is
    /// [`sample_at`](Self::sample_at)`(args(i), seed, i)`, so the samples do not depend on the
    /// number of threads or their scheduling. Each thread samples into reusable buffers (a
    /// [`Sampler`](super::Sampler)); `each` runs on one sampling thread at a time, in index
    /// order, while the others go on sampling, so keep it short (for heavy per-sample work such
    /// as serialization, [`sample_range_batched`](Self::sample_range_batched) runs it in
    /// parallel).
    ///
    /// Stops at the first failing sample or callback error (in index order): every sample
    /// before it has been delivered, none after. A panic in a callback stops the other threads
    /// and is propagated.
    ///
    /// ```
    /// # use forge::program::Program;
    /// use forge::resources::{Bindings, ListSampler};
    /// # let doc = forge::udpl::parse_str(r#"
    /// # [config]
    /// # zone_patterns = ["[P]", "[A]"]
    /// # required_patterns = ["[P]"]
    /// # valid_tags = []
    /// # default_max_token_length = 10
    /// # sequences = ["s"]
    /// # control_pattern = "[J]"
    /// # escape_patterns = ["[E]", "[/E]"]
    /// # [[s]]
    /// # text = "[P] {pick} about {topic} [A]"
    /// # tags = [[]]
    /// # [s.pick]
    /// # name = "letters"
    /// # arguments = { num_samples = 1 }
    /// # [s.topic]
    /// # name = "topic"
    /// # type = "argument"
    /// # "#, "s.toml")?.document;
    /// # let mut standard = Bindings::new();
    /// # standard.insert("letters", ListSampler::new(["a", "b", "c"])?);
    /// # let mut program = Program::new(doc, standard)?;
    /// # program.run("s")?;
    /// let workflow = program.compile()?;
    /// let topic = |i: u64| {
    ///     let mut args = Bindings::new();
    ///     args.insert("topic", format!("topic {i}"));
    ///     args
    /// };
    /// let mut texts = Vec::new();
    /// workflow.sample_range(7, 0..6, 2, topic, |i, sample| {
    ///     texts.push((i, sample.text().to_owned()));
    ///     Ok::<(), std::convert::Infallible>(())
    /// })?;
    /// assert_eq!(texts.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    /// assert_eq!(texts[4].1, workflow.sample_at(topic(4), 7, 4)?.text());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sample_range<B, E>(
        &self,
        seed: u64,
        range: Range<u64>,
        threads: usize,
        args: impl Fn(u64) -> B + Sync,
        mut each: impl FnMut(u64, &SampledWorkflow) -> Result<(), E> + Send,
    ) -> Result<(), RangeError<E>>
    where
        B: Into<Bindings>,
        E: Send,
    {
        self.run_range(
            range,
            threads,
            1,
            &|sampler, i, slot: &mut Option<SampledWorkflow>| {
                sample_step(sampler, &args, seed, i)?;
                // The sample travels to whichever thread delivers it; buffers are swapped, not
                // copied, once every thread's slot holds one.
                match slot {
                    Some(s) => sampler.swap_current(s),
                    None => *slot = Some(sampler.current().clone()),
                }
                Ok(())
            },
            &mut |r: Range<u64>, slot: &mut Option<SampledWorkflow>| match slot {
                Some(sample) => each(r.start, sample),
                None => Ok(()),
            },
        )
    }

    /// Samples indices `range` of the dataset `(self, seed)` on `threads` threads in batches of
    /// `batch` consecutive indices (at least one). A thread takes the next batch and a buffer
    /// `T` (created with `T::default()` when none is free, reused after delivery: at most
    /// `3 × threads + 1` are made), calls `prepare(i, &sample, &mut buffer)` for every index of its batch **in
    /// parallel with the other threads**, and hands the buffer over; `deliver(batch_range, &mut
    /// buffer)` is then called for each batch **in index order**, one call at a time, by
    /// whichever thread finds the batch's turn has come, while the others go on sampling. No
    /// thread waits for a turn unless it is `2 × threads` batches ahead of delivery (which
    /// bounds the buffers held). A buffer is not cleared between batches; `deliver` usually
    /// drains it. An error from `deliver` is reported at the batch's first index.
    ///
    /// This is how a dataset file is written: `prepare` encodes a sample's line into a byte
    /// buffer, `deliver` writes the batch's bytes. Errors and panics stop the range as in
    /// [`sample_range`](Self::sample_range); when `prepare` fails at `i`, `deliver` still
    /// receives the batch's indices before `i`.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_range_batched<B, T, E>(
        &self,
        seed: u64,
        range: Range<u64>,
        threads: usize,
        batch: u64,
        args: impl Fn(u64) -> B + Sync,
        prepare: impl Fn(u64, &SampledWorkflow, &mut T) -> Result<(), E> + Sync,
        mut deliver: impl FnMut(Range<u64>, &mut T) -> Result<(), E> + Send,
    ) -> Result<(), RangeError<E>>
    where
        B: Into<Bindings>,
        T: Default + Send,
        E: Send,
    {
        self.run_range(
            range,
            threads,
            batch,
            &|sampler, i, buf: &mut T| {
                let sample = sample_step(sampler, &args, seed, i)?;
                prepare(i, sample, buf).map_err(|error| RangeError::Callback { index: i, error })
            },
            &mut |r: Range<u64>, buf: &mut T| deliver(r, buf),
        )
    }

    /// The engine of the range methods: `step(sampler, i, buffer)` for every index of a batch
    /// on the batch's thread, then `deliver` in batch order.
    pub(crate) fn run_range<T, E>(
        &self,
        range: Range<u64>,
        threads: usize,
        batch: u64,
        step: &Step<'_, T, E>,
        deliver: &mut Deliver<'_, T, E>,
    ) -> Result<(), RangeError<E>>
    where
        T: Default + Send,
        E: Send,
    {
        if range.is_empty() {
            return Ok(());
        }
        let batch = batch.max(1);
        let batches = (range.end - range.start).div_ceil(batch);
        let threads = (threads.max(1) as u64).min(batches);
        // Batches may be prepared this far ahead of the one being delivered: a slow batch
        // holds back at most this many buffers.
        let window = 2 * threads;
        let claim = AtomicU64::new(0);
        let delivered = AtomicU64::new(0);
        let abort = AtomicBool::new(false);
        let queue = Mutex::new(Queue::<T, E> {
            next: 0,
            ready: Vec::new(),
            free: (0..threads).map(|_| Vec::new()).collect(),
            delivering: false,
            error: None,
        });
        let deliver = Mutex::new(deliver);
        let lock = || queue.lock().unwrap_or_else(|p| p.into_inner());

        let worker = |me: usize| {
            let _guard = AbortOnPanic(&abort);
            let mut sampler = self.sampler();
            let mut spare: Option<T> = None;
            loop {
                if abort.load(Ordering::Acquire) {
                    return;
                }
                let b = claim.fetch_add(1, Ordering::Relaxed);
                if b >= batches
                    || !wait_until(&abort, || b < delivered.load(Ordering::Acquire) + window)
                {
                    return;
                }
                let buffer = match spare.take() {
                    Some(t) => t,
                    None => take_free(&mut lock(), me).unwrap_or_default(),
                };
                let lo = range.start + b * batch;
                let hi = (lo + batch).min(range.end);
                let mut ready = Ready {
                    batch: b,
                    owner: me,
                    lo,
                    done: hi,
                    failed: None,
                    buffer,
                };
                for i in lo..hi {
                    if let Err(e) = step(&mut sampler, i, &mut ready.buffer) {
                        ready.done = i;
                        ready.failed = Some(e);
                        break;
                    }
                }
                // Hand the batch over; deliver it and whatever follows it when no other
                // thread is delivering. The check and the release of `delivering` happen
                // under one lock, so no batch is left behind.
                let mut q = lock();
                q.ready.push(ready);
                spare = take_free(&mut q, me);
                if q.delivering {
                    continue;
                }
                q.delivering = true;
                while !abort.load(Ordering::Acquire) {
                    let next = q.next;
                    let Some(at) = q.ready.iter().position(|r| r.batch == next) else {
                        break;
                    };
                    let mut r = q.ready.swap_remove(at);
                    drop(q);
                    let outcome = if r.done > r.lo {
                        let mut deliver = deliver.lock().unwrap_or_else(|p| p.into_inner());
                        (*deliver)(r.lo..r.done, &mut r.buffer)
                    } else {
                        Ok(())
                    };
                    q = lock();
                    let stop = match outcome {
                        // Reported at the batch's first index: what comes before it was
                        // delivered.
                        Err(error) => Some(RangeError::Callback { index: r.lo, error }),
                        Ok(()) => r.failed.take(),
                    };
                    if let Some(e) = stop {
                        q.error = Some(e);
                        abort.store(true, Ordering::Release);
                        break;
                    }
                    if r.owner == me && spare.is_none() {
                        spare = Some(r.buffer);
                    } else {
                        q.free[r.owner].push(r.buffer);
                    }
                    q.next += 1;
                    delivered.store(q.next, Ordering::Release);
                }
                q.delivering = false;
            }
        };
        std::thread::scope(|scope| {
            for t in 1..threads as usize {
                let worker = &worker;
                scope.spawn(move || worker(t));
            }
            worker(0);
        });
        match queue.into_inner().unwrap_or_else(|p| p.into_inner()).error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
