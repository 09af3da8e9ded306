//! Core of [forge](https://docs.rs/forge): the UDPL parser and linter, located diagnostics and
//! resources.
//!
//! Use the `forge` crate; this crate's items are re-exported there. Items under
//! `forge_core::__private` (when present) are for generated code and exempt from semver.

#![deny(missing_docs)]

pub mod diagnostics;
pub mod program;
pub mod resources;
pub mod udpl;

pub use diagnostics::{Diagnostic, Format, Location, Severity};
