//! forge: typed, compile-time checked prompt workflows written in UDPL.
#![deny(missing_docs)]

pub use forge_core::diagnostics::{self, Diagnostic, Format, Location, Severity};
pub use forge_core::udpl;
