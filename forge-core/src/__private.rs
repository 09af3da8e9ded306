//! Support for the macros (at compile time: [`Skeleton`]) and for the code they generate (at
//! run time). Not a public API.

#[cfg(feature = "runtime")]
use std::sync::Arc;

pub use crate::udpl::skeleton::Skeleton;
#[cfg(feature = "runtime")]
use crate::udpl::{self, Document, Origin};

/// The call a generated sequence handle converts into: the sequence's index in the document
/// and its name, so the program finds the sequence without searching by name.
#[cfg(feature = "runtime")]
pub fn call(index: u32, sequence: &str) -> crate::program::Call {
    crate::program::Call::indexed(index, sequence)
}

/// Parse the sources a macro validated at compile time. They parsed then, with the same
/// parser, so they parse now; a failure means the files changed without a rebuild.
#[cfg(feature = "runtime")]
pub fn load_document(sources: &[(&str, &str)], origin: Option<(u32, u32)>) -> Arc<Document> {
    let parsed = match origin {
        Some((line, column)) => {
            udpl::parse_embedded(sources[0].1, sources[0].0, Origin { line, column })
        }
        None => udpl::parse_sources(sources),
    };
    match parsed {
        Ok(p) => Arc::new(p.document),
        Err(e) => panic!(
            "the UDPL document checked at compile time no longer parses; rebuild the crate:\n{e}"
        ),
    }
}
