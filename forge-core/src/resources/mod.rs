//! Resources: what fills a placeholder, and for how long a resource object lives.
//!
//! A *resource* is a promise to return a string when called with the `arguments` table of the
//! placeholder it fills (`docs/resources.md` in the repository). This module provides:
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
//! `rand` upgrades.
//!
//! A sample is a pure function of the workflow, its arguments, the dataset seed and its index in
//! the dataset ([`SampleContext::at`]); `sample_seeded(args, seed)` is sample 0. No built-in
//! keeps mutable state shared between samples: a [`ListSampler`] bound as an instance draws
//! from a *dataset stream* ([`StreamLayout`]) whose positions are addressed by the sample's
//! index, so it keeps "every item once per cycle" across the samples of a dataset while the
//! output does not depend on threads, their order, or what was sampled before. The one input
//! by nature is an [`LruBuffer`]'s current contents. Users' own resources keep their
//! lifecycles: an instance with interior state shared across samples is reproducible only if
//! that state is (use [`SampleContext::sample_index`] or
//! [`SampleContext::draw_from_stream`] to address it by index).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use forge::resources::{Binding, ListSampler, SampleContext, Site};
//! use forge::udpl::{Placeholder, ResourceKind};
//! use forge::diagnostics::Location;
//!
//! // Normally the parser produces the placeholder; here we build one by hand.
//! let mut arguments = forge::udpl::Arguments::new();
//! arguments.insert("num_samples".into(), forge::udpl::ArgumentValue::Integer(2));
//! let placeholder = Placeholder {
//!     key: "principles".into(),
//!     resource: "constitution".into(),
//!     kind: ResourceKind::Standard,
//!     arguments,
//!     has_arguments: true,
//!     spec_location: Location { file: Arc::from("prompts.toml"), line: 31, column: 1 },
//!     arguments_location: Location { file: Arc::from("prompts.toml"), line: 33, column: 13 },
//!     location: Location { file: Arc::from("prompts.toml"), line: 27, column: 40 },
//!     default: None,
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

mod binding;
mod bindings;
mod builtin;
mod context;
mod error;
mod resource;
mod stream;

pub(crate) use binding::FillerInner;
pub use binding::{Binding, Filler, Lifecycle, Site};
pub use bindings::Bindings;
pub use builtin::{ListArgs, ListSampler, LruBuffer, NumSamples, StaticString};
pub use context::SampleContext;
pub use error::{BindError, FillError, PlaceholderSite, ResourceError};
pub use resource::{NoArgs, Resource};
pub use stream::StreamLayout;

/// The serde crate, so a [`Resource`]'s argument type can derive [`Deserialize`] without a
/// dependency of its own: `#[serde(crate = "forge::resources::serde")]`.
pub use serde;
/// `Deserialize`, the bound of [`Resource::Args`] (trait and derive macro).
pub use serde::Deserialize;
/// `DeserializeOwned`, the exact bound of [`Resource::Args`].
pub use serde::de::DeserializeOwned;

use rand::RngCore;

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

#[cfg(test)]
mod tests;
