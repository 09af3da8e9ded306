//! The built-in resources: static strings, list samplers and LRU buffers.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{NoArgs, Resource, ResourceError, SampleContext, SampleRng, random_below};
use crate::json;

/// Locks `m`, recovering from poisoning.
///
/// A mutex is poisoned only if a thread panicked while holding it. The critical sections in
/// this module never panic, and each leaves the data in a valid state at every point (a pool of
/// indices, a deque of strings), so the data behind a poisoned lock is still consistent and
/// recovering it is sound; refusing would turn one user panic elsewhere into permanent
/// failure of a shared resource.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// NumSamples / ListArgs
// ---------------------------------------------------------------------------------------------

/// How many items to draw: a count, or `"all"`.
///
/// Deserializes from a non-negative integer or the exact string `"all"`; anything else
/// (negative numbers, floats, booleans, other strings) is an error. A count larger than
/// `usize::MAX` saturates (it is clamped to the list length anyway).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumSamples {
    /// Draw this many distinct items (clamped to the number available).
    Count(usize),
    /// Every item, in the resource's natural order.
    All,
}

impl NumSamples {
    /// The number of items actually drawn from `available` items.
    pub fn clamp(self, available: usize) -> usize {
        match self {
            NumSamples::Count(n) => n.min(available),
            NumSamples::All => available,
        }
    }
}

impl From<usize> for NumSamples {
    fn from(n: usize) -> Self {
        NumSamples::Count(n)
    }
}

impl fmt::Display for NumSamples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumSamples::Count(n) => write!(f, "{n}"),
            NumSamples::All => f.write_str("\"all\""),
        }
    }
}

impl<'de> Deserialize<'de> for NumSamples {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumSamples;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer >= 0 or the string \"all\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<NumSamples, E> {
                Ok(NumSamples::Count(usize::try_from(n).unwrap_or(usize::MAX)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<NumSamples, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`num_samples` must be an integer >= 0 or \"all\", got {n}"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NumSamples, E> {
                if s == "all" {
                    Ok(NumSamples::All)
                } else {
                    Err(E::custom(format!(
                        "`num_samples` must be an integer >= 0 or \"all\", got the string {s:?}"
                    )))
                }
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<NumSamples, E> {
                Err(E::custom(format!(
                    "`num_samples` must be an integer >= 0 or \"all\", got the float {x}"
                )))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<NumSamples, E> {
                Err(E::custom(format!(
                    "`num_samples` must be an integer >= 0 or \"all\", got the boolean {b}"
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Arguments of [`ListSampler`] and [`LruBuffer`]: `arguments = { num_samples = 3 }` or
/// `arguments = { num_samples = "all" }`. `num_samples` is required; other keys are errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// How many items to draw.
    pub num_samples: NumSamples,
}

impl ListArgs {
    /// `ListArgs { num_samples }`.
    pub fn new(num_samples: impl Into<NumSamples>) -> Self {
        ListArgs {
            num_samples: num_samples.into(),
        }
    }
}

const LIST_ARGS_EXAMPLE: &str = "{ num_samples = 3 }";

// ---------------------------------------------------------------------------------------------
// StaticString
// ---------------------------------------------------------------------------------------------

/// A resource that always returns the same string. Takes no arguments ([`NoArgs`]): binding it to
/// a placeholder whose spec passes `arguments` is an error (`arguments = {}` is fine).
///
/// Cloning is cheap (the text is shared).
///
/// ```
/// use forge::resources::{NoArgs, Resource, SampleContext, StaticString};
///
/// let mut cx = SampleContext::new(1);
/// assert_eq!(StaticString::new("hi").sample(&NoArgs, &mut cx)?, "hi");
/// assert_eq!(StaticString::display(&2.5).sample(&NoArgs, &mut cx)?, "2.5");
/// # Ok::<(), forge::resources::ResourceError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StaticString {
    text: Arc<str>,
}

impl StaticString {
    /// A static string with this text.
    pub fn new(text: impl Into<String>) -> Self {
        StaticString {
            text: Arc::from(text.into()),
        }
    }

    /// A static string holding `value`'s `Display` text.
    pub fn display(value: &(impl fmt::Display + ?Sized)) -> Self {
        Self::new(value.to_string())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl From<String> for StaticString {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for StaticString {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl Resource for StaticString {
    type Args = NoArgs;

    fn sample(&self, _args: &NoArgs, _cx: &mut SampleContext) -> Result<String, ResourceError> {
        Ok(self.text.to_string())
    }

    fn sample_into(
        &self,
        _args: &NoArgs,
        _cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        out.push_str(&self.text);
        Ok(())
    }

    fn describe() -> &'static str {
        "static string"
    }
}

// ---------------------------------------------------------------------------------------------
// ListSampler
// ---------------------------------------------------------------------------------------------

/// Draws items from a fixed, non-empty list, without replacement **across calls**: every item
/// once per cycle before any repeats.
///
/// A call with `num_samples = k` (clamped to the list length) returns `k` distinct items joined
/// by `"\n"` in draw order; `num_samples = 0` returns `""`; `num_samples = "all"` returns every
/// item in list order and draws nothing. The concatenation of all draws is a sequence of
/// permutations of the list (cycles); a call that crosses from one cycle into the next takes the
/// rest of the old cycle and then new-cycle items that it has not just taken, so a call's items
/// stay distinct.
///
/// Where the cycles live depends on how the sampler is bound:
///
/// - **as an instance at program setup or sequence invocation** (the default, e.g.
///   `.constitution(ListSampler::new(..)?)`): the cycles span the samples of a *dataset*. The
///   number of items one sample draws, `K`, is fixed when the workflow is compiled, so sample
///   `i` of the dataset with seed `s` takes positions `i·K … i·K+K−1` of a sequence of
///   pseudo-random permutations keyed by `s` (see [`SampleContext::draw_from_stream`]). A
///   sample is therefore a function of `(s, i)` only, whatever was sampled before, on any
///   thread: `workflow.sample_seeded(args, s)` is sample 0 and gives the same text every time,
///   and the samples `0..m` of a dataset (`Workflow::sample_at`, `Workflow::sample_range`)
///   together draw every item once per cycle. Nothing is written that other samples read, so
///   threads never wait on each other;
/// - **[`per_sample`](Self::per_sample)**, **as a factory**, **as an argument resource**, or
///   called directly with a [`SampleContext`]: the pool of the current cycle lives in the
///   sample, drawn with the sample's RNG, so every sample starts a new cycle.
///
/// (Until datasets were index-addressed, an instance kept one pool behind a lock, shared by
/// every sample in the order they reached it; that made `sample_seeded` depend on earlier
/// samples and on thread scheduling.)
///
/// ```
/// use forge::resources::{ListArgs, ListSampler, Resource, SampleContext};
///
/// let s = ListSampler::new(["a", "b", "c"])?;
/// let mut cx = SampleContext::new(42);
/// let first = s.sample(&ListArgs::new(2), &mut cx)?;
/// let second = s.sample(&ListArgs::new(1), &mut cx)?;
/// let mut seen: Vec<&str> = first.lines().chain(second.lines()).collect();
/// seen.sort();
/// assert_eq!(seen, ["a", "b", "c"]); // one full cycle within the sample
///
/// assert!(ListSampler::new(Vec::<String>::new()).is_err());
/// # Ok::<(), forge::resources::ResourceError>(())
/// ```
#[derive(Clone)]
pub struct ListSampler {
    items: Arc<[String]>,
    /// Never draw from a dataset stream (see [`ListSampler::per_sample`]).
    per_sample: bool,
    /// The items escaped for JSON, made on the first dataset line written (shared by clones).
    escaped: Arc<OnceLock<Box<[Box<str>]>>>,
}

impl fmt::Debug for ListSampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListSampler")
            .field("items", &self.items)
            .field("per_sample", &self.per_sample)
            .finish()
    }
}

impl ListSampler {
    /// A sampler over `items`. An empty list is an error.
    pub fn new<I>(items: I) -> Result<Self, ResourceError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let items: Arc<[String]> = items.into_iter().map(Into::into).collect();
        if items.is_empty() {
            return Err(ResourceError::new(
                "a list sampler needs at least one item, but the list is empty",
            ));
        }
        Ok(ListSampler {
            items,
            per_sample: false,
            escaped: Arc::default(),
        })
    }

    /// A sampler over the same (shared) items: the same as `clone` (a sampler holds no pool
    /// of its own), kept for factories: `Binding::cached_factory(move || template.fresh())`.
    ///
    /// ```
    /// use forge::resources::{Binding, ListSampler, Lifecycle};
    /// let template = ListSampler::new(["a", "b", "c"])?;
    /// let per_sample = Binding::cached_factory(move || template.fresh());
    /// assert_eq!(per_sample.lifecycle(), Lifecycle::CachedFactory);
    /// # Ok::<(), forge::resources::ResourceError>(())
    /// ```
    pub fn fresh(&self) -> ListSampler {
        self.clone()
    }

    /// This sampler with its cycle kept in each sample rather than across the samples of a
    /// dataset: every sample starts a new cycle (what a
    /// [cached factory](super::Binding::cached_factory) gives), drawn with the sample's RNG.
    /// The pool is per sample and per sampler object: two placeholders bound to the same
    /// object share it within a sample.
    ///
    /// ```
    /// use forge::resources::{ListArgs, ListSampler, Resource, SampleContext};
    /// let s = ListSampler::new(["a", "b", "c"])?.per_sample();
    /// let mut cx = SampleContext::new(1);
    /// let args = ListArgs::new(3);
    /// let first = s.sample(&args, &mut cx)?;
    /// assert_eq!(s.sample(&args, &mut cx)?.lines().count(), 3); // next cycle, same sample
    /// let mut other = SampleContext::new(1);
    /// assert_eq!(s.sample(&args, &mut other)?, first); // a new sample starts over
    /// # Ok::<(), forge::resources::ResourceError>(())
    /// ```
    pub fn per_sample(mut self) -> Self {
        self.per_sample = true;
        self
    }

    /// Whether this sampler keeps its cycle per sample ([`per_sample`](Self::per_sample)).
    pub fn is_per_sample(&self) -> bool {
        self.per_sample
    }

    /// What [`sample_into`](Resource::sample_into) appends, appended to `out` as the contents
    /// of a JSON string, with each item escaped once per list rather than per draw; `false`
    /// (nothing drawn, nothing written) for a draw from a per-sample pool, which only
    /// `sample_into` makes.
    pub(crate) fn sample_json_into(
        &self,
        args: &ListArgs,
        cx: &mut SampleContext,
        out: &mut Vec<u8>,
    ) -> bool {
        let n = self.items.len();
        let escaped = || {
            self.escaped
                .get_or_init(|| self.items.iter().map(|i| json::escaped(i)).collect())
        };
        match args.num_samples {
            NumSamples::All => {
                for (i, item) in escaped().iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b"\\n");
                    }
                    out.extend_from_slice(item.as_bytes());
                }
                true
            }
            NumSamples::Count(0) => true,
            NumSamples::Count(_) if self.per_sample => false,
            NumSamples::Count(k) => {
                let items = escaped();
                let mut first = true;
                cx.draw_from_stream(self, n, k.min(n), |i| {
                    if !first {
                        out.extend_from_slice(b"\\n");
                    }
                    first = false;
                    out.extend_from_slice(items[i].as_bytes());
                })
            }
        }
    }

    /// The items, in list order.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Number of items in the list (at least 1).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Always `false`: a list sampler cannot be empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Draws `k` items for one call from `pool` (the current cycle's undrawn items) and appends
    /// them to `out`, joined by `"\n"`.
    fn draw_from_pool(
        &self,
        pool: &mut Vec<usize>,
        k: usize,
        rng: &mut SampleRng,
        out: &mut String,
    ) {
        let n = self.items.len();
        let mut push = |first: bool, i: usize| {
            if !first {
                out.push('\n');
            }
            out.push_str(&self.items[i]);
        };
        if pool.len() >= k {
            for d in 0..k {
                let j = random_below(rng, pool.len());
                push(d == 0, pool.swap_remove(j));
            }
            return;
        }
        // Take every leftover of the current cycle, then start a new cycle.
        let mut picked = Vec::with_capacity(k);
        while !pool.is_empty() {
            let j = random_below(rng, pool.len());
            picked.push(pool.swap_remove(j));
        }
        // The new cycle, reusing the pool's allocation: every item but the ones just taken (in
        // list order) ...
        let taken = picked.len();
        if taken <= 32 {
            pool.extend((0..n).filter(|i| !picked.contains(i)));
        } else {
            let mut is_taken = vec![false; n];
            for &i in &picked {
                is_taken[i] = true;
            }
            pool.extend((0..n).filter(|&i| !is_taken[i]));
        }
        // ... from which the rest is drawn ...
        while picked.len() < k && !pool.is_empty() {
            let j = random_below(rng, pool.len());
            picked.push(pool.swap_remove(j));
        }
        // ... and to which the items taken first belong: they are not yet drawn in it.
        pool.extend_from_slice(&picked[..taken]);
        for (d, i) in picked.into_iter().enumerate() {
            push(d == 0, i);
        }
    }
}

impl Resource for ListSampler {
    type Args = ListArgs;

    fn sample(&self, args: &ListArgs, cx: &mut SampleContext) -> Result<String, ResourceError> {
        let mut out = String::new();
        self.sample_into(args, cx, &mut out)?;
        Ok(out)
    }

    fn sample_into(
        &self,
        args: &ListArgs,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        let n = self.items.len();
        let k = match args.num_samples {
            NumSamples::All => {
                for (i, item) in self.items.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(item);
                }
                return Ok(());
            }
            NumSamples::Count(k) => k.min(n),
        };
        if k == 0 {
            return Ok(());
        }
        if !self.per_sample {
            let mut first = true;
            let drawn = cx.draw_from_stream(self, n, k, |i| {
                if !first {
                    out.push('\n');
                }
                first = false;
                out.push_str(&self.items[i]);
            });
            if drawn {
                return Ok(());
            }
        }
        let (pool, rng) = cx.sample_state(self, || (0..n).collect::<Vec<usize>>());
        self.draw_from_pool(pool, k, rng, out);
        Ok(())
    }

    fn stream_draws(&self, args: &ListArgs) -> Option<usize> {
        match args.num_samples {
            NumSamples::Count(k) if !self.per_sample && k > 0 => Some(k.min(self.items.len())),
            _ => None,
        }
    }

    fn describe() -> &'static str {
        "list sampler"
    }

    fn arguments_example() -> Option<&'static str> {
        Some(LIST_ARGS_EXAMPLE)
    }
}

// ---------------------------------------------------------------------------------------------
// LruBuffer
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct LruInner {
    capacity: usize,
    /// Newest first.
    items: Mutex<VecDeque<String>>,
}

/// A bounded buffer of recent strings to sample from: the canonical feedback loop.
///
/// [`push`](LruBuffer::push) adds an item as the newest and evicts the oldest items beyond the
/// capacity; a pushed item is sampleable immediately. Recency is insertion order: sampling does
/// not refresh an item, and pushing a string equal to one already held adds a second entry (no
/// deduplication), so the buffer always holds exactly the last `capacity` pushes.
///
/// Sampling (arguments [`ListArgs`]) draws `num_samples` distinct entries uniformly from the
/// items currently held (clamped to how many are held), joined by `"\n"` in draw order;
/// `"all"` gives every held item, newest first; an empty buffer gives `""`. Unlike
/// [`ListSampler`], there is no pool across calls: the contents change as items are pushed.
///
/// `LruBuffer` is a **handle**: `Clone` is cheap and every clone shares the same buffer, so
/// keep one clone to push into while samples read through the binding on other threads. Every
/// operation takes one short lock, so pushes and samples are linearizable: a sample sees the
/// buffer as it was between two pushes.
///
/// ```
/// use forge::resources::{ListArgs, LruBuffer, NumSamples, Resource, SampleContext};
///
/// let buf = LruBuffer::new(2)?;
/// let mut cx = SampleContext::new(3);
/// assert_eq!(buf.sample(&ListArgs::new(1), &mut cx)?, "");
/// buf.push("a");
/// buf.push("b");
/// buf.push("c"); // evicts "a"
/// assert_eq!(buf.items(), ["c", "b"]);
/// assert_eq!(buf.sample(&ListArgs::new(NumSamples::All), &mut cx)?, "c\nb");
///
/// assert!(LruBuffer::new(0).is_err());
/// # Ok::<(), forge::resources::ResourceError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LruBuffer {
    inner: Arc<LruInner>,
}

impl LruBuffer {
    /// An empty buffer holding at most `capacity` items. A capacity of 0 is an error.
    pub fn new(capacity: usize) -> Result<Self, ResourceError> {
        if capacity == 0 {
            return Err(ResourceError::new(
                "an LRU buffer needs a capacity of at least 1, got 0",
            ));
        }
        Ok(LruBuffer {
            inner: Arc::new(LruInner {
                capacity,
                items: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            }),
        })
    }

    /// Adds `item` as the newest entry, evicting the oldest entries beyond the capacity.
    pub fn push(&self, item: impl Into<String>) {
        let item = item.into();
        let mut items = lock(&self.inner.items);
        items.push_front(item);
        items.truncate(self.inner.capacity);
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        lock(&self.inner.items).len()
    }

    /// Whether the buffer holds no item.
    pub fn is_empty(&self) -> bool {
        lock(&self.inner.items).is_empty()
    }

    /// The maximum number of items held.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// A snapshot of the items, newest first.
    pub fn items(&self) -> Vec<String> {
        lock(&self.inner.items).iter().cloned().collect()
    }

    /// Removes every item.
    pub fn clear(&self) {
        lock(&self.inner.items).clear();
    }
}

impl Resource for LruBuffer {
    type Args = ListArgs;

    fn sample(&self, args: &ListArgs, cx: &mut SampleContext) -> Result<String, ResourceError> {
        let items = lock(&self.inner.items);
        let m = items.len();
        let picked: Vec<&str> = match args.num_samples {
            NumSamples::All => items.iter().map(String::as_str).collect(),
            NumSamples::Count(k) => {
                let k = k.min(m);
                // Partial Fisher–Yates over the indices of the current contents.
                let mut idx: Vec<usize> = (0..m).collect();
                for i in 0..k {
                    let j = i + random_below(cx.rng(), m - i);
                    idx.swap(i, j);
                }
                idx[..k].iter().map(|&i| items[i].as_str()).collect()
            }
        };
        Ok(picked.join("\n"))
    }

    fn describe() -> &'static str {
        "LRU buffer"
    }

    fn arguments_example() -> Option<&'static str> {
        Some(LIST_ARGS_EXAMPLE)
    }
}
