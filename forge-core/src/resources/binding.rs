//! Bindings and lifecycles: a type-erased resource with its [`Lifecycle`], and the
//! [`Filler`] it becomes once bound to a placeholder.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use super::{
    BindError, FillError, ListArgs, ListSampler, NoArgs, PlaceholderSite, Resource, ResourceError,
    SampleContext, StaticString,
};
use crate::json;
use crate::udpl::Placeholder;

/// How long a bound resource object lives (`docs/resources.md` §3).
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
    /// `(instance address, positions per fill)` for an instance with a dataset stream.
    fn stream_plan(&self) -> Option<(usize, usize)>;
    fn fill(&self, resource: &str, cx: &mut SampleContext) -> Result<String, ResourceError>;
    fn fill_into(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError>;
    /// Like `fill_into`, appended to `out` as the contents of a JSON string (`scratch` is
    /// working space).
    fn fill_json(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut Vec<u8>,
        scratch: &mut String,
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
            return Err(BindError::takes_no_arguments(
                site,
                &format!("`{what}`"),
                first,
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
        BindError::arguments(
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
    fn stream_plan(&self) -> Option<(usize, usize)> {
        match &self.source {
            Source::Instance(r) => r
                .stream_draws(&self.args)
                .filter(|&k| k > 0)
                .map(|k| (Arc::as_ptr(r).cast::<()>() as usize, k)),
            Source::Factory { .. } => None,
        }
    }

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

    fn fill_json(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), ResourceError> {
        // A list sampler instance writes its items escaped once per list (the common case of
        // a dataset: most of a line is list items); anything else is escaped per fill.
        if let Source::Instance(r) = &self.source
            && let Some(list) = (r.as_ref() as &dyn Any).downcast_ref::<ListSampler>()
            && let Some(args) = (&self.args as &dyn Any).downcast_ref::<ListArgs>()
            && list.sample_json_into(args, cx, out)
        {
            return Ok(());
        }
        scratch.clear();
        self.fill_into(resource, cx, scratch)?;
        json::push_escaped(out, scratch);
        Ok(())
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
                    let what = format!("`{}`", StaticString::describe());
                    return Err(BindError::takes_no_arguments(site, &what, first));
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

    /// Like [`fill_into`](Self::fill_into), appended to `out` as the contents of a JSON
    /// string (`scratch` is working space).
    pub(crate) fn fill_json(
        &self,
        resource: &str,
        cx: &mut SampleContext,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), ResourceError> {
        match self {
            FillerInner::Static(text) => {
                json::push_escaped(out, text);
                Ok(())
            }
            FillerInner::Erased(f) => f.fill_json(resource, cx, out, scratch),
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
    /// The placeholder's `default` text, used as written (its `arguments` do not apply).
    pub(crate) fn default_text(site: &Site<'_>, text: &Arc<str>) -> Filler {
        Filler {
            inner: FillerInner::Static(Arc::clone(text)),
            site: Arc::new(PlaceholderSite::from_site(site)),
            lifecycle: Lifecycle::Instance,
        }
    }

    /// Produces the placeholder's text for the sample `cx`, honouring the lifecycle: an instance
    /// is sampled directly; a cached factory's object is fetched from (or created in) `cx`
    /// under the resource name; an uncached factory builds a new object for this call.
    pub fn fill(&self, cx: &mut SampleContext) -> Result<String, FillError> {
        match &self.inner {
            FillerInner::Static(text) => Ok(text.to_string()),
            FillerInner::Erased(f) => f.fill(&self.site.resource, cx),
        }
        .map_err(|error| FillError::new(Arc::clone(&self.site), error))
    }

    /// Like [`fill`](Self::fill), appending the text to `out` (no allocation for resources
    /// that override [`Resource::sample_into`]).
    pub fn fill_into(&self, cx: &mut SampleContext, out: &mut String) -> Result<(), FillError> {
        self.inner
            .fill_into(&self.site.resource, cx, out)
            .map_err(|error| FillError::new(Arc::clone(&self.site), error))
    }

    /// Like [`fill_into`](Self::fill_into), appended to `out` as the contents of a JSON
    /// string (`scratch` is working space).
    pub(crate) fn fill_json(
        &self,
        cx: &mut SampleContext,
        out: &mut Vec<u8>,
        scratch: &mut String,
    ) -> Result<(), FillError> {
        self.inner
            .fill_json(&self.site.resource, cx, out, scratch)
            .map_err(|error| FillError::new(Arc::clone(&self.site), error))
    }

    /// `(instance address, positions per fill)` when this fill draws from a dataset stream.
    pub(crate) fn stream_plan(&self) -> Option<(usize, usize)> {
        match &self.inner {
            FillerInner::Static(_) => None,
            FillerInner::Erased(f) => f.stream_plan(),
        }
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
