//! The [`Resource`] trait, and [`NoArgs`] for resources that take no arguments.

use std::fmt;

use super::error::takes_no_arguments;
use super::{ResourceError, SampleContext};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

/// Something that fills a placeholder with a string.
///
/// A resource declares the type of arguments it accepts ([`Resource::Args`]); forge converts the
/// placeholder's TOML `arguments` table into that type (with serde) **when the resource is
/// bound**, so argument mistakes surface at program setup / sequence invocation / sampling
/// setup as a [`BindError`](super::BindError) with the spec's location, before anything is sampled. Use
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

    /// How many positions of its dataset stream one fill with `args` takes, for a resource
    /// whose draws span the samples of a dataset (the default, `None`: it has no stream).
    ///
    /// Only instances bound at program setup or sequence invocation get a stream: when a
    /// workflow is compiled, the counts of its fills give the positions `K` one sample takes,
    /// and [`SampleContext::draw_from_stream`] then draws sample `i`'s positions `i·K …` as a
    /// function of the dataset seed and `i` alone. [`ListSampler`](super::ListSampler) returns
    /// `Some(k)` for `num_samples = k` (clamped to the list, `None` for 0 and `"all"`).
    fn stream_draws(&self, args: &Self::Args) -> Option<usize> {
        let _ = args;
        None
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
                    Some(key) => Err(de::Error::custom(takes_no_arguments("this resource", &key))),
                }
            }
        }
        deserializer.deserialize_map(NoArgsVisitor)
    }
}
