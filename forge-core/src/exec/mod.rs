//! Executing sampled workflows against a model (see `EXECUTION.md` in the spec).
//!
//! One automaton runs per *stream*; a run executes many streams at once against one
//! [`Generator`], the completion queue every engine implements.

mod generator;

pub use generator::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
