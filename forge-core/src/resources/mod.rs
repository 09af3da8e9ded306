//! Resources: what fills a placeholder, and for how long a resource object lives.
//!
//! A *resource* is a promise to return a string when called with the `arguments` table of the
//! placeholder it fills (RESOURCES.md). This module provides:
//!
//! - the [`Resource`] trait: typed arguments ([`Resource::Args`]) plus a sampling context
//!   ([`SampleContext`]) that owns the sample's RNG;
//! - the built-ins ([`StaticString`], [`ListSampler`], [`LruBuffer`]) and their argument types
//!   ([`NoArgs`], [`ListArgs`], [`NumSamples`]);
//! - [`Binding`]: a type-erased resource together with its [`Lifecycle`] (an instance shared by the
//!   whole program, a factory cached per sample, or a factory called for every fill);
//! - [`Filler`]: a binding attached to one placeholder ([`Site`]), with its arguments already
//!   converted — so a bad or missing argument is a [`BindError`] at binding time, never a
//!   surprise in the middle of sampling;
//! - the error types [`ResourceError`] (returned by a resource), [`BindError`] and [`FillError`]
//!   (both carry the resource, placeholder, sequence, block, stage and spec location).
//!
//! # Reproducibility
//!
//! All randomness of the built-ins comes from the [`SampleRng`] in the [`SampleContext`], and
//! bounded integers are drawn with a fixed algorithm implemented here (not with `rand`'s
//! distributions), so the same seed and the same resources give byte-identical text, also across
//! `rand` upgrades. A resource bound as an [`Lifecycle::Instance`] keeps state across samples
//! (that is its purpose); when such a stateful instance is shared by samples running on several
//! threads at once, its output depends on the order in which the samples reach it. For
//! byte-identical reruns, sample sequentially or bind stateful samplers as cached factories.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use forge::resources::{Binding, ListSampler, SampleContext, Site};
//! use forge::udpl::{Placeholder, ResourceKind};
//! use forge::Location;
//!
//! // Normally the parser produces the placeholder; here we build one by hand.
//! let mut arguments = toml::Table::new();
//! arguments.insert("num_samples".into(), toml::Value::Integer(2));
//! let placeholder = Placeholder {
//!     key: "principles".into(),
//!     resource: "constitution".into(),
//!     kind: ResourceKind::Standard,
//!     arguments,
//!     has_arguments: true,
//!     spec_location: Location { file: Arc::from("prompts.toml"), line: 31, column: 1 },
//!     location: Location { file: Arc::from("prompts.toml"), line: 27, column: 40 },
//! };
//! let site = Site { sequence: "setup", block: 0, placeholder: &placeholder };
//!
//! let sampler = ListSampler::new(["be kind", "be brief", "be right"])?;
//! let filler = Binding::instance(sampler).bind(&site)?;
//!
//! let mut cx = SampleContext::new(7);
//! let text = filler.fill(&mut cx)?;
//! assert_eq!(text.lines().count(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rand::{RngCore, SeedableRng};
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::diagnostics::{Diagnostic, Location, Severity};
use crate::udpl::{Placeholder, ResourceKind};

mod builtin;

pub use builtin::{ListArgs, ListSampler, LruBuffer, NumSamples, StaticString};

/// The serde crate, so a [`Resource`]'s argument type can derive [`Deserialize`] without a
/// dependency of its own: `#[serde(crate = "forge::resources::serde")]`.
pub use serde;
/// `Deserialize`, the bound of [`Resource::Args`] (trait and derive macro).
pub use serde::Deserialize;
/// `DeserializeOwned`, the exact bound of [`Resource::Args`].
pub use serde::de::DeserializeOwned;

/// The random number generator of one sample.
///
/// PCG-64 MCG: fast, small, and value-stable (its output for a given seed is fixed by the
/// algorithm, not by a library version). Every random choice a resource makes should come from
/// [`SampleContext::rng`].
pub type SampleRng = rand_pcg::Pcg64Mcg;

/// Draws a uniform integer in `0..n` from `rng` (0 when `n == 0`).
///
/// Lemire's multiply-and-reject method on 64-bit draws, implemented here so that the value
/// sequence depends only on the RNG, never on the version of `rand`.
pub(crate) fn random_below(rng: &mut SampleRng, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let n64 = n as u64;
    let mut product = u128::from(rng.next_u64()) * u128::from(n64);
    // Draws whose low half falls below 2^64 mod n are rejected to remove bias. That bound is
    // below n, so the division computing it is only needed when the low half is below n.
    if (product as u64) < n64 {
        let threshold = n64.wrapping_neg() % n64;
        while (product as u64) < threshold {
            product = u128::from(rng.next_u64()) * u128::from(n64);
        }
    }
    (product >> 64) as usize
}

// ---------------------------------------------------------------------------------------------
// Sample context
// ---------------------------------------------------------------------------------------------

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
    fn with_cached<R: Resource, T>(
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

// ---------------------------------------------------------------------------------------------
// The trait
// ---------------------------------------------------------------------------------------------

/// Something that fills a placeholder with a string.
///
/// A resource declares the type of arguments it accepts ([`Resource::Args`]); forge converts the
/// placeholder's TOML `arguments` table into that type (with serde) **when the resource is
/// bound**, so argument mistakes surface at program setup / sequence invocation / sampling
/// setup as a [`BindError`] with the spec's location, before anything is sampled. Use
/// [`NoArgs`] for resources that take no arguments.
///
/// [`Resource::sample`] takes `&self`: the same object may be sampled from many threads at once,
/// so a resource with state keeps it behind interior mutability (a `Mutex`, atomics). All
/// randomness should come from [`SampleContext::rng`] so output is reproducible.
///
/// # Example
///
/// Implementing it needs no dependency besides forge: [`Deserialize`] and the whole [`serde`]
/// crate are re-exported here, and `#[serde(crate = "forge::resources::serde")]` points the
/// derive at that re-export.
///
/// ```
/// use forge::resources::{Deserialize, Resource, ResourceError, SampleContext};
///
/// /// Repeats a word `times` times.
/// struct Repeat(String);
///
/// #[derive(Deserialize)]
/// #[serde(crate = "forge::resources::serde", deny_unknown_fields)]
/// struct RepeatArgs { times: usize }
///
/// impl Resource for Repeat {
///     type Args = RepeatArgs;
///     fn sample(&self, args: &RepeatArgs, _cx: &mut SampleContext) -> Result<String, ResourceError> {
///         if args.times > 100 {
///             return Err(ResourceError::new("at most 100 repetitions"));
///         }
///         Ok(vec![self.0.as_str(); args.times].join(" "))
///     }
///     fn describe() -> &'static str { "repeat" }
///     fn arguments_example() -> Option<&'static str> { Some("{ times = 2 }") }
/// }
///
/// let mut cx = SampleContext::new(0);
/// let r = Repeat("la".into());
/// assert_eq!(r.sample(&RepeatArgs { times: 3 }, &mut cx)?, "la la la");
/// assert!(r.sample(&RepeatArgs { times: 101 }, &mut cx).is_err());
/// # Ok::<(), ResourceError>(())
/// ```
pub trait Resource: Send + Sync + 'static {
    /// The arguments this resource accepts, deserialized from the placeholder's `arguments`
    /// table at binding time. An absent `arguments` key is converted from an empty table.
    type Args: DeserializeOwned + Send + Sync + 'static;

    /// Produces the placeholder's text. An `Err` fails the current sample only.
    fn sample(&self, args: &Self::Args, cx: &mut SampleContext) -> Result<String, ResourceError>;

    /// Appends the placeholder's text to `out`: the sampling hot path, which writes every zone
    /// of a sample into one buffer. The default calls [`sample`](Resource::sample); override it
    /// to skip that allocation. An override must append exactly what `sample` would return,
    /// with the same draws from the RNG, and on error may leave `out` with a partial text (the
    /// sample is discarded).
    fn sample_into(
        &self,
        args: &Self::Args,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        out.push_str(&self.sample(args, cx)?);
        Ok(())
    }

    /// A short human name of the resource type for messages (e.g. `"list sampler"`).
    /// Defaults to the Rust type name.
    fn describe() -> &'static str
    where
        Self: Sized,
    {
        std::any::type_name::<Self>()
    }

    /// An example `arguments` value (TOML inline table, e.g. `"{ num_samples = 3 }"`), used in
    /// the help line of argument errors. Defaults to none.
    fn arguments_example() -> Option<&'static str>
    where
        Self: Sized,
    {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// NoArgs
// ---------------------------------------------------------------------------------------------

/// The argument type of resources that take no arguments.
///
/// Converting a non-empty `arguments` table into `NoArgs` fails, naming the first key. An empty
/// table (`arguments = {}`) or no `arguments` key at all is accepted: both mean "no arguments".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoArgs;

impl<'de> Deserialize<'de> for NoArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NoArgsVisitor;
        impl<'de> Visitor<'de> for NoArgsVisitor {
            type Value = NoArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("no arguments (an empty table)")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NoArgs, E> {
                Ok(NoArgs)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoArgs, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(NoArgs),
                    Some(key) => Err(de::Error::custom(format!(
                        "this resource takes no arguments, but the placeholder passes `{key}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_map(NoArgsVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The error a resource returns from [`Resource::sample`] (or a factory, or a constructor such
/// as [`ListSampler::new`]): a message and an optional underlying cause. `Debug` prints the
/// message, like `Display`.
#[derive(Clone)]
pub struct ResourceError {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ResourceError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        ResourceError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error that caused it (reported by
    /// [`std::error::Error::source`]).
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ResourceError {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for ResourceError {
    fn from(message: String) -> Self {
        ResourceError::new(message)
    }
}

impl From<&str> for ResourceError {
    fn from(message: &str) -> Self {
        ResourceError::new(message)
    }
}

/// Where a resource is used: everything an error needs to point at the placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlaceholderSite {
    /// The resource name (`name` in the spec table).
    pub resource: String,
    /// The placeholder key (`{key}` in the text).
    pub placeholder: String,
    /// The sequence holding the block.
    pub sequence: String,
    /// The block's 0-based index in its sequence.
    pub block: usize,
    /// The resource's binding kind, which determines the stage.
    pub kind: ResourceKind,
    /// Where the placeholder's spec table is declared.
    pub location: Location,
    /// Where the placeholder first appears in the block text.
    pub text_location: Location,
}

impl PlaceholderSite {
    /// Builds the owned description of a [`Site`].
    pub fn from_site(site: &Site<'_>) -> Self {
        PlaceholderSite {
            resource: site.placeholder.resource.clone(),
            placeholder: site.placeholder.key.clone(),
            sequence: site.sequence.to_owned(),
            block: site.block,
            kind: site.placeholder.kind,
            location: site.placeholder.spec_location.clone(),
            text_location: site.placeholder.location.clone(),
        }
    }

    /// The stage at which the resource is bound: `program setup`, `sequence invocation` or
    /// `sampling`.
    pub fn stage(&self) -> &'static str {
        self.kind.stage()
    }

    /// "resource `r` to placeholder `{p}` (sequence `s`, block b)".
    fn describe(&self) -> String {
        format!(
            "resource `{}` to placeholder `{{{}}}` (sequence `{}`, block {})",
            self.resource, self.placeholder, self.sequence, self.block
        )
    }
}

/// Binding a resource to a placeholder failed: its arguments do not convert to the resource's
/// argument type (or the resource is missing from a [`Bindings`] map).
///
/// Displays as
///
/// ```text
/// cannot bind resource `constitution` to placeholder `{principles}` (sequence `setup`, block 2) at program setup: `list sampler` arguments: missing field `num_samples`
///  --> prompts.toml:31:1
///  = help: add `arguments = { num_samples = 3 }` to the spec
/// ```
///
/// `Debug` prints the same message.
#[derive(Clone)]
pub struct BindError {
    site: Box<PlaceholderSite>,
    message: String,
    help: Option<String>,
}

impl BindError {
    /// No resource of the placeholder's name is bound.
    pub(crate) fn unbound(site: &Site<'_>) -> Self {
        BindError::new(
            site,
            format!("no resource named `{}` is bound", site.placeholder.resource),
            Some(format!(
                "provide a resource named `{}` at {}",
                site.placeholder.resource,
                site.placeholder.kind.stage()
            )),
        )
    }

    /// A binding error at `site` with a message and an optional help line.
    pub fn new(site: &Site<'_>, message: impl Into<String>, help: Option<String>) -> Self {
        BindError {
            site: Box::new(PlaceholderSite::from_site(site)),
            message: message.into(),
            help,
        }
    }

    /// Where the binding failed.
    pub fn site(&self) -> &PlaceholderSite {
        &self.site
    }

    /// What is wrong (without the site).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How to fix it, where known.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The spec's location (file:line:col).
    pub fn location(&self) -> &Location {
        &self.site.location
    }

    /// The error as a located [`Diagnostic`] (without a source line or span: the resource layer
    /// does not hold the source text), so it renders like the parser's diagnostics.
    pub fn to_diagnostic(&self) -> Diagnostic {
        site_diagnostic(&self.site, self.headline(), self.help.clone())
    }

    fn headline(&self) -> String {
        format!(
            "cannot bind {} at {}: {}",
            self.site.describe(),
            self.site.stage(),
            self.message
        )
    }
}

/// An error at a placeholder's spec, as a [`Diagnostic`] without source line or span.
fn site_diagnostic(site: &PlaceholderSite, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        message,
        file: site.location.file.clone(),
        line: site.location.line,
        column: site.location.column,
        span: 0..0,
        source_line: String::new(),
        source_column: 1,
        label: None,
        help,
        notes: Vec::new(),
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n --> {}", self.headline(), self.site.location)?;
        if let Some(help) = &self.help {
            write!(f, "\n = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BindError {}

debug_as_display!(ResourceError, BindError, FillError);

/// Filling a placeholder failed: the resource (or its factory) returned an error. It fails the
/// current sample only; the program and other samples are unaffected.
///
/// Displays as
///
/// ```text
/// resource `feedback` failed to fill placeholder `{feedback}` (sequence `solving`, block 0; bound at program setup): <the resource's message>
///  --> prompts.toml:12:1
/// ```
///
/// `Debug` prints the same message.
#[derive(Clone)]
pub struct FillError {
    site: Arc<PlaceholderSite>,
    error: ResourceError,
}

impl FillError {
    pub(crate) fn new(site: Arc<PlaceholderSite>, error: ResourceError) -> Self {
        FillError { site, error }
    }

    /// Where the fill failed.
    pub fn site(&self) -> &PlaceholderSite {
        &self.site
    }

    /// The resource's own error.
    pub fn resource_error(&self) -> &ResourceError {
        &self.error
    }

    /// The spec's location (file:line:col).
    pub fn location(&self) -> &Location {
        &self.site.location
    }

    /// The error as a located [`Diagnostic`] (without source line or span).
    pub fn to_diagnostic(&self) -> Diagnostic {
        site_diagnostic(&self.site, self.headline(), None)
    }

    fn headline(&self) -> String {
        let s = &self.site;
        format!(
            "resource `{}` failed to fill placeholder `{{{}}}` (sequence `{}`, block {}; bound at {}): {}",
            s.resource,
            s.placeholder,
            s.sequence,
            s.block,
            s.stage(),
            self.error
        )
    }
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n --> {}", self.headline(), self.site.location)
    }
}

impl std::error::Error for FillError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

// ---------------------------------------------------------------------------------------------
// Binding and lifecycles
// ---------------------------------------------------------------------------------------------

/// How long a bound resource object lives (RESOURCES.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// One object for the whole program, shared by every sample and every placeholder.
    Instance,
    /// One object per sample, created on first use and shared by every placeholder of that
    /// sample that names the same resource.
    CachedFactory,
    /// A new object for every placeholder fill.
    UncachedFactory,
}

impl Lifecycle {
    /// `"instance"`, `"cached factory"` or `"uncached factory"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Instance => "instance",
            Lifecycle::CachedFactory => "cached factory",
            Lifecycle::UncachedFactory => "uncached factory",
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A placeholder a resource is being bound to.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// The sequence holding the block.
    pub sequence: &'a str,
    /// The block's 0-based index in its sequence.
    pub block: usize,
    /// The placeholder (its resource name, kind, arguments and locations).
    pub placeholder: &'a Placeholder,
}

type Factory<R> = dyn Fn() -> Result<R, ResourceError> + Send + Sync;

/// Binding-side of the type erasure: knows `R`, converts arguments, builds fillers.
trait ErasedBinding: Send + Sync {
    fn lifecycle(&self) -> Lifecycle;
    fn describe(&self) -> &'static str;
    fn bind(&self, site: &Site<'_>) -> Result<Arc<dyn ErasedFiller>, BindError>;
}

/// Filler-side of the type erasure: holds converted arguments and produces strings.
pub(crate) trait ErasedFiller: Send + Sync {
    fn fill(&self, resource: &str, cx: &mut SampleContext) -> Result<String, ResourceError>;
    fn fill_into(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError>;
}

enum Source<R: Resource> {
    Instance(Arc<R>),
    Factory { make: Arc<Factory<R>>, cached: bool },
}

impl<R: Resource> Clone for Source<R> {
    fn clone(&self) -> Self {
        match self {
            Source::Instance(r) => Source::Instance(Arc::clone(r)),
            Source::Factory { make, cached } => Source::Factory {
                make: Arc::clone(make),
                cached: *cached,
            },
        }
    }
}

struct TypedBinding<R: Resource> {
    source: Source<R>,
}

struct TypedFiller<R: Resource> {
    source: Source<R>,
    args: R::Args,
}

/// Converts a placeholder's `arguments` into `R::Args`, or explains why not.
fn convert_args<R: Resource>(site: &Site<'_>) -> Result<R::Args, BindError> {
    let p = site.placeholder;
    let what = R::describe();
    if TypeId::of::<R::Args>() == TypeId::of::<NoArgs>() {
        if let Some(first) = p.arguments.keys().next() {
            return Err(BindError::new(
                site,
                format!("`{what}` takes no arguments, but the placeholder passes `{first}`"),
                Some("remove `arguments` from the spec".to_owned()),
            ));
        }
        // No arguments to convert (this runs for every argument resource of every sample).
        let no_args: Box<dyn Any> = Box::new(NoArgs);
        if let Ok(args) = no_args.downcast::<R::Args>() {
            return Ok(*args);
        }
    }
    p.arguments.clone().try_into::<R::Args>().map_err(|e| {
        let help = R::arguments_example().map(|example| {
            if p.arguments.is_empty() {
                format!("add `arguments = {example}` to the spec")
            } else {
                format!("`{what}` expects arguments like `arguments = {example}`")
            }
        });
        BindError::new(
            site,
            format!("`{what}` arguments: {}", e.message().trim_end()),
            help,
        )
    })
}

impl<R: Resource> ErasedBinding for TypedBinding<R> {
    fn lifecycle(&self) -> Lifecycle {
        match &self.source {
            Source::Instance(_) => Lifecycle::Instance,
            Source::Factory { cached: true, .. } => Lifecycle::CachedFactory,
            Source::Factory { cached: false, .. } => Lifecycle::UncachedFactory,
        }
    }

    fn describe(&self) -> &'static str {
        R::describe()
    }

    fn bind(&self, site: &Site<'_>) -> Result<Arc<dyn ErasedFiller>, BindError> {
        let args = convert_args::<R>(site)?;
        Ok(Arc::new(TypedFiller::<R> {
            source: self.source.clone(),
            args,
        }))
    }
}

impl<R: Resource> ErasedFiller for TypedFiller<R> {
    fn fill(&self, resource: &str, cx: &mut SampleContext) -> Result<String, ResourceError> {
        match &self.source {
            Source::Instance(r) => r.sample(&self.args, cx),
            Source::Factory {
                make,
                cached: false,
            } => make()?.sample(&self.args, cx),
            Source::Factory { make, cached: true } => {
                cx.with_cached(resource, make.as_ref(), |r, cx| r.sample(&self.args, cx))
            }
        }
    }

    fn fill_into(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        match &self.source {
            Source::Instance(r) => r.sample_into(&self.args, cx, out),
            Source::Factory {
                make,
                cached: false,
            } => make()?.sample_into(&self.args, cx, out),
            Source::Factory { make, cached: true } => {
                cx.with_cached(resource, make.as_ref(), |r, cx| {
                    r.sample_into(&self.args, cx, out)
                })
            }
        }
    }
}

/// A resource ready to be bound to placeholders: a type-erased resource (or factory) plus its
/// [`Lifecycle`].
///
/// Cheap to clone (an `Arc`), `Send + Sync`. Plain values convert with `.into()`: `String`,
/// `&str`, integers, floats, `bool` and `char` become [`StaticString`]s; any [`Resource`] (or
/// `Arc` of one) becomes an instance binding.
///
/// Per-sample caching (for [`Binding::cached_factory`]) is keyed by the **resource name** of
/// the placeholder being filled, never by the factory's identity: two placeholders naming the
/// same resource share one object per sample even if bound through different `Binding`
/// values, and different names never share. If one sample meets the same name with two
/// different resource types, the second fill fails with a [`FillError`].
///
/// ```
/// use std::sync::Arc;
/// use forge::resources::{Binding, Lifecycle, LruBuffer};
///
/// let feedback = LruBuffer::new(16)?;
/// let b: Binding = feedback.clone().into(); // shares state with `feedback`
/// assert_eq!(b.lifecycle(), Lifecycle::Instance);
/// feedback.push("good answer"); // visible to every sample using `b`
///
/// let greeting: Binding = "hello".into();
/// let limit: Binding = 3.into();
/// assert_eq!(limit.describe(), "static string");
/// # let _ = greeting;
/// # Ok::<(), forge::resources::ResourceError>(())
/// ```
#[derive(Clone)]
pub struct Binding {
    inner: BindingInner,
}

/// Plain values (the most common custom and argument values) skip the type erasure: binding
/// and filling them allocates nothing.
#[derive(Clone)]
enum BindingInner {
    Static(Arc<str>),
    Erased(Arc<dyn ErasedBinding>),
}

impl Binding {
    fn from_source<R: Resource>(source: Source<R>) -> Self {
        Binding {
            inner: BindingInner::Erased(Arc::new(TypedBinding { source })),
        }
    }

    /// A static string (what plain values convert into): the same as
    /// `Binding::instance(StaticString::new(text))`, without its type erasure.
    pub fn static_text(text: impl Into<Arc<str>>) -> Self {
        Binding {
            inner: BindingInner::Static(text.into()),
        }
    }

    /// One program-wide instance, shared by every sample and placeholder.
    pub fn instance<R: Resource>(resource: R) -> Self {
        Self::from_source(Source::Instance(Arc::new(resource)))
    }

    /// One program-wide instance the caller keeps a handle to (e.g. to push into an LRU buffer
    /// while samples run).
    pub fn shared<R: Resource>(resource: Arc<R>) -> Self {
        Self::from_source(Source::Instance(resource))
    }

    /// A factory called on first use within each sample; the object is then shared by every
    /// placeholder of that sample naming the same resource, and dropped with the sample.
    pub fn cached_factory<R: Resource>(factory: impl Fn() -> R + Send + Sync + 'static) -> Self {
        Self::try_cached_factory(move || Ok(factory()))
    }

    /// Like [`Binding::cached_factory`] for a fallible factory; its error fails the sample.
    pub fn try_cached_factory<R: Resource>(
        factory: impl Fn() -> Result<R, ResourceError> + Send + Sync + 'static,
    ) -> Self {
        Self::from_source(Source::Factory {
            make: Arc::new(factory),
            cached: true,
        })
    }

    /// A factory called for every placeholder fill: each fill sees a fresh object.
    pub fn uncached_factory<R: Resource>(factory: impl Fn() -> R + Send + Sync + 'static) -> Self {
        Self::try_uncached_factory(move || Ok(factory()))
    }

    /// Like [`Binding::uncached_factory`] for a fallible factory; its error fails the sample.
    pub fn try_uncached_factory<R: Resource>(
        factory: impl Fn() -> Result<R, ResourceError> + Send + Sync + 'static,
    ) -> Self {
        Self::from_source(Source::Factory {
            make: Arc::new(factory),
            cached: false,
        })
    }

    /// The binding's lifecycle.
    pub fn lifecycle(&self) -> Lifecycle {
        match &self.inner {
            BindingInner::Static(_) => Lifecycle::Instance,
            BindingInner::Erased(b) => b.lifecycle(),
        }
    }

    /// The bound resource type's [`Resource::describe`] name.
    pub fn describe(&self) -> &'static str {
        match &self.inner {
            BindingInner::Static(_) => StaticString::describe(),
            BindingInner::Erased(b) => b.describe(),
        }
    }

    /// Binds to one placeholder: converts its `arguments` into the resource's argument type now,
    /// so a bad or missing argument fails here with the placeholder's location. Factories are
    /// not called at binding time.
    pub fn bind(&self, site: &Site<'_>) -> Result<Filler, BindError> {
        self.bind_described(site, || Arc::new(PlaceholderSite::from_site(site)))
    }

    /// [`bind`](Self::bind) with the site's owned description supplied by the caller, so
    /// binding the same site again (every sample binds the argument resources) allocates no
    /// copy of its names.
    pub(crate) fn bind_described(
        &self,
        site: &Site<'_>,
        described: impl FnOnce() -> Arc<PlaceholderSite>,
    ) -> Result<Filler, BindError> {
        let inner = self.bind_inner(site)?;
        Ok(Filler {
            inner,
            site: described(),
            lifecycle: self.lifecycle(),
        })
    }

    /// Binding without the owned site description, which sampling supplies only when a fill
    /// fails (so binding an argument resource touches no shared reference count).
    pub(crate) fn bind_inner(&self, site: &Site<'_>) -> Result<FillerInner, BindError> {
        Ok(match &self.inner {
            BindingInner::Static(text) => {
                if let Some(first) = site.placeholder.arguments.keys().next() {
                    return Err(BindError::new(
                        site,
                        format!(
                            "`{}` takes no arguments, but the placeholder passes `{first}`",
                            StaticString::describe()
                        ),
                        Some("remove `arguments` from the spec".to_owned()),
                    ));
                }
                FillerInner::Static(Arc::clone(text))
            }
            BindingInner::Erased(b) => FillerInner::Erased(b.bind(site)?),
        })
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("resource", &self.describe())
            .field("lifecycle", &self.lifecycle())
            .finish()
    }
}

impl<R: Resource> From<R> for Binding {
    fn from(resource: R) -> Self {
        Binding::instance(resource)
    }
}

impl<R: Resource> From<Arc<R>> for Binding {
    fn from(resource: Arc<R>) -> Self {
        Binding::shared(resource)
    }
}

impl From<String> for Binding {
    fn from(text: String) -> Self {
        Binding::static_text(text)
    }
}

impl From<&str> for Binding {
    fn from(text: &str) -> Self {
        Binding::static_text(text)
    }
}

macro_rules! display_bindings {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Binding {
            /// Binds the value's `Display` text as a [`StaticString`].
            fn from(value: $t) -> Self {
                Binding::static_text(value.to_string())
            }
        }
    )*};
}

display_bindings!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
);

/// A binding attached to a placeholder, without the site description ([`Filler`] adds it).
#[derive(Clone)]
pub(crate) enum FillerInner {
    Static(Arc<str>),
    Erased(Arc<dyn ErasedFiller>),
}

impl FillerInner {
    /// Append the text for the placeholder whose resource is `resource`.
    pub(crate) fn fill_into(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        match self {
            FillerInner::Static(text) => {
                out.push_str(text);
                Ok(())
            }
            FillerInner::Erased(f) => f.fill_into(resource, cx, out),
        }
    }
}

/// A resource bound to one placeholder, arguments converted: call [`Filler::fill`] once per
/// placeholder per block instance.
///
/// Cheap to clone (`Arc`s), `Send + Sync`.
#[derive(Clone)]
pub struct Filler {
    inner: FillerInner,
    site: Arc<PlaceholderSite>,
    lifecycle: Lifecycle,
}

impl Filler {
    /// Produces the placeholder's text for the sample `cx`, honouring the lifecycle: an instance
    /// is sampled directly; a cached factory's object is fetched from (or created in) `cx`
    /// under the resource name; an uncached factory builds a new object for this call.
    pub fn fill(&self, cx: &mut SampleContext) -> Result<String, FillError> {
        match &self.inner {
            FillerInner::Static(text) => Ok(text.to_string()),
            FillerInner::Erased(f) => f.fill(&self.site.resource, cx),
        }
        .map_err(|error| FillError {
            site: Arc::clone(&self.site),
            error,
        })
    }

    /// Like [`fill`](Self::fill), appending the text to `out` (no allocation for resources
    /// that override [`Resource::sample_into`]).
    pub fn fill_into(&self, cx: &mut SampleContext, out: &mut String) -> Result<(), FillError> {
        self.inner
            .fill_into(&self.site.resource, cx, out)
            .map_err(|error| FillError {
                site: Arc::clone(&self.site),
                error,
            })
    }

    /// The placeholder this filler is bound to.
    pub fn site(&self) -> &PlaceholderSite {
        &self.site
    }

    /// The binding's lifecycle.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }
}

impl fmt::Debug for Filler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filler")
            .field("site", &self.site)
            .field("lifecycle", &self.lifecycle)
            .finish()
    }
}

/// Bindings keyed by resource name: what a program holds for one binding stage.
///
/// ```
/// use forge::resources::Bindings;
///
/// let mut resources = Bindings::new();
/// resources.insert("min", 3).insert("max", 6);
/// assert!(resources.get("min").is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    /// In insertion order. Programs bind a handful of names per stage, for which a scan beats
    /// hashing; `index` takes over for large sets.
    entries: Vec<(Cow<'static, str>, Binding)>,
    index: Option<HashMap<Cow<'static, str>, usize>>,
}

/// Above this many names, lookups go through a hash index.
const BINDINGS_SCAN_LIMIT: usize = 16;

impl Bindings {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` names.
    pub fn with_capacity(n: usize) -> Self {
        Bindings {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.entries.iter().position(|(n, _)| n == name),
        }
    }

    fn insert_cow(&mut self, name: Cow<'static, str>, binding: Binding) -> &mut Self {
        if let Some(i) = self.position(&name) {
            self.entries[i].1 = binding;
            return self;
        }
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), self.entries.len());
        }
        self.entries.push((name, binding));
        if self.index.is_none() && self.entries.len() > BINDINGS_SCAN_LIMIT {
            self.index = Some(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i))
                    .collect(),
            );
        }
        self
    }

    /// Binds `name` (replacing any previous binding of that name).
    pub fn insert(&mut self, name: impl Into<String>, binding: impl Into<Binding>) -> &mut Self {
        self.insert_cow(Cow::Owned(name.into()), binding.into())
    }

    /// [`insert`](Self::insert) for a name known at compile time: no copy of the name. Used by
    /// the code the macros generate.
    pub fn insert_static(&mut self, name: &'static str, binding: impl Into<Binding>) -> &mut Self {
        self.insert_cow(Cow::Borrowed(name), binding.into())
    }

    /// The binding of `name`.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.position(name).map(|i| &self.entries[i].1)
    }

    /// Whether `name` is bound.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Bound names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_ref())
    }

    /// Number of bound names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Binds the placeholder's resource (looked up by its `resource` name) to it; a missing
    /// name is a [`BindError`].
    pub fn bind(&self, site: &Site<'_>) -> Result<Filler, BindError> {
        match self.get(&site.placeholder.resource) {
            Some(binding) => binding.bind(site),
            None => Err(BindError::unbound(site)),
        }
    }
}

#[cfg(test)]
mod tests;
