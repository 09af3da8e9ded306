//! Executing sampled workflows against a model (see `EXECUTION.md` in the spec).
//!
//! One automaton runs per *stream*; a run executes many streams at once against one
//! [`Generator`], the completion queue every engine implements.

mod automaton;
mod blocking;
mod error;
mod generator;
mod matcher;
mod plan;
mod runner;
mod scripted;
mod tools;
mod transcript;

pub use automaton::{Automaton, Step};
pub use blocking::FnGenerator;
pub use error::{ErrorKind, FatalError, RunError, SharedError, StreamError, StreamResult, ZoneRef};
pub use generator::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
pub use plan::Plan;
pub use runner::{Execution, InvalidOptions, RunOptions, Runner, request_seed};
pub use scripted::{Output, Scripted, ScriptedError};
pub use tools::{Tools, UndeclaredTool};
pub use transcript::{Correction, Extracted, Span, SpanKind, SpanRef, Transcript, Visit, ZoneEnd};
