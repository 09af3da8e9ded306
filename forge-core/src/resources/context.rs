//! The state of one sample: its RNG, per-sample instances and per-sample resource state.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use super::{Resource, ResourceError, SampleRng, random_below};
use rand::SeedableRng;

/// The state of one sample (one sampled workflow): its RNG and its per-sample resource instances.
///
/// A context is created for each sample and owned by the thread producing it; it is `Send` (a
/// sample may move between threads) but deliberately not shared. Instances created by
/// [cached factories](Lifecycle::CachedFactory) live in the context, keyed by resource name,
/// and are dropped with it, so concurrent samples never see each other's per-sample instances.
pub struct SampleContext {
    rng: SampleRng,
    /// Per-sample instances by resource name; a sample holds few, so a scan is cheapest.
    cache: Vec<(String, Arc<dyn Any + Send + Sync>)>,
    /// Per-sample state of resources, by owner key and type.
    states: Vec<(usize, TypeId, Box<dyn Any + Send>)>,
}

impl SampleContext {
    /// A context whose RNG is seeded from `seed` (via `SeedableRng::seed_from_u64`).
    pub fn new(seed: u64) -> Self {
        Self::from_rng(SampleRng::seed_from_u64(seed))
    }

    /// A context using the given RNG, e.g. one derived from a parent generator.
    pub fn from_rng(rng: SampleRng) -> Self {
        SampleContext {
            rng,
            cache: Vec::new(),
            states: Vec::new(),
        }
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
