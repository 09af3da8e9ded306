//! Core of [forge](https://docs.rs/forge): the UDPL parser and linter, located diagnostics,
//! resources, programs and sampling.
//!
//! Use the `forge` crate; this crate's items are re-exported there. The `runtime` feature
//! (default) adds resources, programs, sampling and serialization; without it only the parser
//! and diagnostics are built, which is what forge's proc macros need at compile time.
//! `forge_core::__private` is for the macros and the code they generate, and exempt from
//! semver. Every public item has one path.

#![deny(missing_docs)]

/// `impl Debug` printing the `Display` message, for the error types a user returns with `?`:
/// `fn main() -> Result<(), Box<dyn Error>>` reports an error with its `Debug` form
/// (`Error: {err:?}`), and so does `unwrap()`, so both show the located, human message rather
/// than a struct dump. The variants and accessors give structured access.
macro_rules! debug_as_display {
    ($($t:ty),* $(,)?) => {$(
        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }
    )*};
}

#[cfg(feature = "runtime")]
pub mod dataset;
pub mod diagnostics;
#[cfg(feature = "runtime")]
pub mod exec;
#[cfg(feature = "runtime")]
mod json;
#[cfg(feature = "runtime")]
pub mod program;
#[cfg(feature = "runtime")]
pub mod resources;
#[cfg(feature = "runtime")]
pub mod run;
#[cfg(feature = "runtime")]
pub mod typed;
pub mod udpl;

#[doc(hidden)]
pub mod __private;
