//! The state of one sample: its RNG, per-sample instances and per-sample resource state.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use super::stream::{self, StreamLayout};
use super::{Resource, ResourceError, SampleRng, random_below};
use rand::SeedableRng;

/// The state of one sample (one sampled workflow): its RNG and its per-sample resource instances.
///
/// A context is created for each sample and owned by the thread producing it; it is `Send` (a
/// sample may move between threads) but deliberately not shared. Instances created by
/// [cached factories](super::Lifecycle::CachedFactory) live in the context, keyed by resource name,
/// and are dropped with it, so concurrent samples never see each other's per-sample instances.
pub struct SampleContext {
    rng: SampleRng,
    /// The dataset seed and this sample's index in the dataset.
    seed: u64,
    index: u64,
    /// The workflow's dataset streams, and this sample's cursor in each.
    streams: Option<Arc<[StreamLayout]>>,
    cursors: Vec<stream::Cursor>,
    /// Per-sample instances by resource name; a sample holds few, so a scan is cheapest.
    cache: Vec<(String, Arc<dyn Any + Send + Sync>)>,
    /// Per-sample state of resources, by owner key and type.
    states: Vec<(usize, TypeId, Box<dyn Any + Send>)>,
}

impl SampleContext {
    /// The context of sample 0 of the dataset with `seed`: its RNG is seeded from `seed` (via
    /// `SeedableRng::seed_from_u64`).
    pub fn new(seed: u64) -> Self {
        Self::at(seed, 0)
    }

    /// The context of sample `index` of the dataset with `seed`. Its RNG is seeded from
    /// `seed ^ fmix64(index)` (`fmix64` is MurmurHash3's finalizer, a bijection with
    /// `fmix64(0) == 0`), so sample 0 is [`SampleContext::new`]`(seed)` and every sample of a
    /// dataset has its own generator, computed from `(seed, index)` alone.
    pub fn at(seed: u64, index: u64) -> Self {
        let mut cx = Self::from_rng(Self::rng_for(seed, index));
        cx.seed = seed;
        cx.index = index;
        cx
    }

    fn rng_for(seed: u64, index: u64) -> SampleRng {
        SampleRng::seed_from_u64(seed ^ stream::fmix64(index))
    }

    /// A context using the given RNG, e.g. one derived from a parent generator (dataset seed 0,
    /// index 0, no dataset streams).
    pub fn from_rng(rng: SampleRng) -> Self {
        SampleContext {
            rng,
            seed: 0,
            index: 0,
            streams: None,
            cursors: Vec::new(),
            cache: Vec::new(),
            states: Vec::new(),
        }
    }

    /// Makes this context the one of sample `index` of the dataset with `seed`, for a workflow
    /// with `streams`, dropping every per-sample instance and state (keeping allocations).
    pub(crate) fn restart(&mut self, seed: u64, index: u64, streams: Option<&Arc<[StreamLayout]>>) {
        self.rng = Self::rng_for(seed, index);
        self.seed = seed;
        self.index = index;
        self.cache.clear();
        self.states.clear();
        let same = match (&self.streams, streams) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.streams = streams.cloned();
            self.cursors.clear();
        }
        let wanted = self.streams.as_ref().map_or(0, |s| s.len());
        self.cursors.resize_with(wanted, Default::default);
        for c in &mut self.cursors {
            c.reset();
        }
    }

    /// The seed of the dataset this sample belongs to (the seed given to
    /// [`sample_seeded`](crate::program::Workflow::sample_seeded)).
    pub fn dataset_seed(&self) -> u64 {
        self.seed
    }

    /// This sample's index in its dataset (0 for
    /// [`sample_seeded`](crate::program::Workflow::sample_seeded)).
    pub fn sample_index(&self) -> u64 {
        self.index
    }

    /// Draws `k` distinct indices in `0..n` for `owner` (the resource: pass `self`) from its
    /// dataset stream, calling `emit` with each in draw order, and returns `true`; or returns
    /// `false` without drawing when `owner` has no stream in this sample. A resource has a
    /// stream when it is bound as an instance at program setup or sequence invocation and its
    /// [`Resource::stream_draws`] returned `Some(k)` for the fill (see [`StreamLayout`]): its
    /// fills of sample `i` then take positions `i·K …` of a sequence of pseudo-random
    /// permutations of `0..n` keyed by the dataset seed, so every index appears once per `n`
    /// draws across the samples of a dataset, and sample `i`'s draws depend on `(seed, i)`
    /// only. `k` must be the count `stream_draws` returned and `n` the same on every fill;
    /// a fill beyond the sample's `K` positions returns `false`.
    pub fn draw_from_stream<O: ?Sized>(
        &mut self,
        owner: &O,
        n: usize,
        k: usize,
        emit: impl FnMut(usize),
    ) -> bool {
        let Some(streams) = &self.streams else {
            return false;
        };
        let key = (owner as *const O).cast::<()>() as usize;
        let Some(s) = streams.iter().position(|l| l.owner() == key) else {
            return false;
        };
        let layout = &streams[s];
        let cursor = &mut self.cursors[s];
        let (k, n) = (k as u64, n as u64);
        if n == 0 || cursor.taken + k > layout.per_sample() {
            return false;
        }
        let draw = stream::Draw {
            key: cursor.key(self.seed, s as u32),
            n,
            layout,
            position: u128::from(self.index) * u128::from(layout.per_sample())
                + u128::from(cursor.taken),
            k,
        };
        cursor.taken += k;
        draw.run(cursor, emit);
        true
    }

    /// State private to this sample, belonging to `owner` (usually the resource itself: pass
    /// `self`), created by `init` on first use in the sample and dropped with it; returned with
    /// the sample's RNG. A resource that keeps its mutable state here needs no lock and touches
    /// nothing shared with other threads' samples.
    ///
    /// ```
    /// use forge::resources::SampleContext;
    /// struct Counter;
    /// let owner = Counter;
    /// let mut cx = SampleContext::new(0);
    /// *cx.sample_state(&owner, || 0u32).0 += 1;
    /// let (count, _rng) = cx.sample_state(&owner, || 0u32);
    /// assert_eq!(*count, 1);
    /// ```
    pub fn sample_state<O: ?Sized, T: Any + Send>(
        &mut self,
        owner: &O,
        init: impl FnOnce() -> T,
    ) -> (&mut T, &mut SampleRng) {
        // The owner's address identifies it for the life of the sample (it outlives the
        // sample's fills); it is never dereferenced.
        let key = (owner as *const O).cast::<()>() as usize;
        let ty = TypeId::of::<T>();
        let i = match self
            .states
            .iter()
            .position(|(k, t, _)| *k == key && *t == ty)
        {
            Some(i) => i,
            None => {
                self.states.push((key, ty, Box::new(init())));
                self.states.len() - 1
            }
        };
        let state = self.states[i]
            .2
            .downcast_mut::<T>()
            .expect("entries are keyed by their type");
        (state, &mut self.rng)
    }

    /// The sample's random number generator.
    pub fn rng(&mut self) -> &mut SampleRng {
        &mut self.rng
    }

    /// Draws a uniform index in `0..n` (0 when `n == 0`) with the value-stable algorithm the
    /// built-in resources use. Handy for users' own resources that want the same guarantees.
    pub fn random_index(&mut self, n: usize) -> usize {
        random_below(&mut self.rng, n)
    }

    /// Whether a cached-factory instance for resource `name` has been created in this sample.
    pub fn has_cached(&self, name: &str) -> bool {
        self.cache.iter().any(|(n, _)| n == name)
    }

    /// Calls `f` with the per-sample instance of `name`, creating it with `make` on first use.
    /// The instance is moved out of the cache for the call (no reference counting per fill),
    /// so `f` may use the context; a resource that fills its own name again from inside `f`
    /// would get a second instance.
    pub(super) fn with_cached<R: Resource, T>(
        &mut self,
        name: &str,
        make: &(dyn Fn() -> Result<R, ResourceError> + Send + Sync),
        f: impl FnOnce(&R, &mut SampleContext) -> Result<T, ResourceError>,
    ) -> Result<T, ResourceError> {
        let entry = match self.cache.iter().position(|(n, _)| n == name) {
            Some(i) => self.cache.swap_remove(i),
            None => (
                name.to_owned(),
                Arc::new(make()?) as Arc<dyn Any + Send + Sync>,
            ),
        };
        let result = match entry.1.downcast_ref::<R>() {
            Some(r) => f(r, self),
            None => Err(ResourceError::new(format!(
                "this sample already holds a per-sample instance of resource `{name}` of a \
                 different type; a resource name must be bound to one type (wanted `{}`)",
                R::describe()
            ))),
        };
        self.cache.push(entry);
        result
    }
}

impl fmt::Debug for SampleContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cached: Vec<&str> = self.cache.iter().map(|(n, _)| n.as_str()).collect();
        cached.sort_unstable();
        f.debug_struct("SampleContext")
            .field("rng", &self.rng)
            .field("cached", &cached)
            .finish()
    }
}
