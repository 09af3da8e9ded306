#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub use forge_core::diagnostics::{self, Diagnostic, Format, Location, Severity};
pub use forge_core::{program, resources, udpl};
