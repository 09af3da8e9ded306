//! Sampling a range of a dataset on several threads, delivered in index order.

use std::fmt;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error::SampleError;
use super::workflow::{SampledWorkflow, Sampler, Workflow};
use crate::resources::Bindings;

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

/// Sets the flag when dropped during a panic, so the other threads stop waiting for a turn
/// that will never come (the panic is then propagated by the thread scope).
struct AbortOnPanic<'a>(&'a AtomicBool);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Release);
        }
    }
}

/// Waits until batch `b` may be delivered; `false` if the range was aborted meanwhile.
fn wait_turn(turn: &AtomicU64, abort: &AtomicBool, b: u64) -> bool {
    let mut spins = 0u32;
    loop {
        if turn.load(Ordering::Acquire) == b {
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

/// Work of one batch before delivery: how far it got and why it stopped.
type Prepared<E> = (u64, Option<RangeError<E>>);

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

/// In-order delivery of a batch (with the thread's last sample).
pub(crate) type Deliver<'a, T, E> =
    dyn FnMut(Range<u64>, &SampledWorkflow, &mut T) -> Result<(), E> + Send + 'a;

impl Workflow {
    /// Samples indices `range` of the dataset `(self, seed)` on `threads` threads (at least
    /// one), calling `each(i, &sample)` for every index **in index order**. Sample `i` is
    /// [`sample_at`](Self::sample_at)`(args(i), seed, i)`, so the samples do not depend on the
    /// number of threads or their scheduling. Each thread samples into one reusable buffer (a
    /// [`Sampler`](super::Sampler)); `each` runs on the sampling threads, one call at a time,
    /// while the thread that sampled waits for its turn, so keep it short (for heavy per-sample
    /// work such as serialization, [`sample_range_batched`](Self::sample_range_batched) runs it
    /// in parallel).
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
            &|sampler, i, _: &mut ()| sample_step(sampler, &args, seed, i).map(drop),
            &mut |r: Range<u64>, sample: &SampledWorkflow, _: &mut ()| each(r.start, sample),
        )
    }

    /// Samples indices `range` of the dataset `(self, seed)` on `threads` threads in batches of
    /// `batch` consecutive indices (at least one): thread `t` of `n` takes batches `t`, `t + n`,
    /// `t + 2n`, …, owns one buffer `T` (created with `T::default()` and reused), calls
    /// `prepare(i, &sample, &mut buffer)` for every index of its batch **in parallel with the
    /// other threads**, then, when every earlier batch has been delivered, `deliver(batch_range,
    /// &mut buffer)` on its own buffer, still in its core's cache: batches arrive in index order.
    /// The buffer is not cleared between batches; `deliver` usually drains it. An error from
    /// `deliver` is reported at the batch's first index.
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
        T: Default,
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
            &mut |r: Range<u64>, _: &SampledWorkflow, buf: &mut T| deliver(r, buf),
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
        T: Default,
        E: Send,
    {
        if range.is_empty() {
            return Ok(());
        }
        let batch = batch.max(1);
        let batches = (range.end - range.start).div_ceil(batch);
        let threads = (threads.max(1) as u64).min(batches);
        let turn = AtomicU64::new(0);
        let abort = AtomicBool::new(false);
        let shared = Mutex::new((deliver, None::<RangeError<E>>));

        let worker = |first: u64| {
            let _guard = AbortOnPanic(&abort);
            let mut sampler = self.sampler();
            let mut buffer = T::default();
            let mut b = first;
            while b < batches && !abort.load(Ordering::Acquire) {
                let lo = range.start + b * batch;
                let hi = (lo + batch).min(range.end);
                let (done, failed): Prepared<E> = 'prep: {
                    for i in lo..hi {
                        if let Err(e) = step(&mut sampler, i, &mut buffer) {
                            break 'prep (i, Some(e));
                        }
                    }
                    (hi, None)
                };
                if !wait_turn(&turn, &abort, b) {
                    return;
                }
                let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
                let (deliver, error) = &mut *guard;
                if done > lo
                    && let Err(e) = (*deliver)(lo..done, sampler.current(), &mut buffer)
                {
                    // Reported at the batch's first index: what comes before it was delivered.
                    *error = Some(RangeError::Callback {
                        index: lo,
                        error: e,
                    });
                    abort.store(true, Ordering::Release);
                    return;
                }
                if let Some(f) = failed {
                    *error = Some(f);
                    abort.store(true, Ordering::Release);
                    return;
                }
                drop(guard);
                turn.store(b + 1, Ordering::Release);
                b += threads;
            }
        };
        std::thread::scope(|scope| {
            for t in 1..threads {
                let worker = &worker;
                scope.spawn(move || worker(t));
            }
            worker(0);
        });
        match shared.into_inner().unwrap_or_else(|p| p.into_inner()).1 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
