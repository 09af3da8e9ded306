//! Executing sampled workflows against a model. The rules are specified in
//! `docs/execution.md` in the repository (`forge::spec::execution` in the `forge` crate's
//! documentation).
//!
//! One [`Automaton`] runs per *stream*; a run executes many streams at once against one
//! [`Generator`], the completion queue every engine implements.
//!
//! - [`Runner`] executes a batch of sampled workflows (any mix) with bounded concurrency,
//!   calling [`Tools`]; [`Runner::run`] returns every stream's [`Transcript`] (or located
//!   [`StreamError`]) in stream order, [`Runner::execute`] yields them as streams finish.
//! - [`Scripted`] plays back prepared model outputs (tests, dry runs); [`FnGenerator`] wraps a
//!   blocking function; real engines implement [`Generator`].
//! - [`Automaton`] is the sans-IO core, for driving a stream by hand.
//!
//! # Rules beyond the letter of the spec
//!
//! - **Scanning.** Forced, fed and generated text is scanned with the stop set of the current
//!   escape depth by a [`StopScanner`], which states the rule that decides which occurrence
//!   comes first (the same rule every engine uses, with the [`StopSet`] its [`Request`]
//!   carries); a stop set lists its patterns in the order advance, control, escape-open. A
//!   zone always starts scanning afresh, right after the pattern that ended the previous one.
//! - **Discarding.** Text after the pattern that ends a zone is dropped, whether it came from
//!   a reply (recorded as [`Correction::Discarded`]), from the zone's forced text (an unescaped
//!   control pattern in a zone with a jump edge) or from a fed tool result.
//! - **Token counts.** A reply counts the tokens it claims, at least one if it holds any text
//!   (so a generator that claims zero tokens cannot keep a zone open forever), and at most the
//!   request's `max_tokens` (a reply claiming more is recorded as [`Correction::OverLimit`]
//!   and its zone ends at the limit unless a pattern in its text ended it first).
//! - **Continuing.** A reply that ends at a stop pattern without ending the zone (an escape
//!   opened or closed) is followed by another request in the same zone, unless the zone's
//!   budget is spent: then the zone ends at its limit. A reply that claims a stop but holds no
//!   text is taken as end of sequence ([`Correction::EmptyStop`]).
//! - **Input zones** whose fed text leaves an escape open get the escape close before the
//!   advance pattern, as at a token limit. A zone whose budget is 0 is closed without a request.
//! - **Cycles without the model.** A stream that visits more zones than its workflow has in a
//!   row without a generation request (a loop whose zones are all fully written) would never
//!   end: it fails with [`ErrorKind::InvalidWorkflow`].
//! - **Spans** are never empty: an empty forced text, fed text or reply adds no span.
//! - **Streams that never end.** A stream fails with [`ErrorKind::VisitLimit`] after
//!   [`RunOptions::max_visits`] zone visits (a loop the model never leaves); bound the loop
//!   instead ([`LoopBounds`](crate::program::LoopBounds)): past `at_most` the runtime ends
//!   the control zone with the control pattern itself ([`ZoneEnd::ForcedJump`]), and during
//!   the first `at_least` visits the control pattern is plain text there.
//! - **Tool calls** run off the runner's thread, at most [`RunOptions::max_tool_calls`] at
//!   once (further calls wait, in call order), so a slow tool holds up its own stream only. A
//!   result is handed to its stream at the generator's next completion, or at once when no
//!   request is in flight; a tool that fails or panics fails its stream only. A stream's
//!   transcript does not depend on the order in which calls finish.
//! - **Retries.** One rule, [`RetryPolicy`], applied by the layer that sees the fault: an
//!   engine with its own [`Generator::retry_policy`] reports only the failures it
//!   gave up on; for other generators the runner submits a failed request again by
//!   [`RunOptions::retry`], with the same seed; then its stream fails.

mod automaton;
mod blocking;
mod command;
mod error;
mod generator;
mod plan;
mod retry;
mod runner;
mod scripted;
mod stop;
mod tool_calls;
mod tools;
mod transcript;

pub use automaton::{Automaton, Step};
pub use blocking::FnGenerator;
pub use command::{CommandLineError, CommandTool, CommandToolError, FailureKind, split_words};
pub use error::{ErrorKind, FatalError, RunError, SharedError, StreamError, StreamResult, ZoneRef};
pub use generator::{Completion, End, Generator, Reply, Request, RequestId, Sampling, StreamId};
pub use plan::Plan;
pub use retry::RetryPolicy;
pub use runner::{Execution, InvalidOptions, RunOptions, Runner, StreamInput, request_seed};
pub use scripted::{Output, Scripted, ScriptedError};
pub use stop::{StopMatch, StopScanner, StopSet};
pub use tools::{Tools, UndeclaredTool};
pub use transcript::{Correction, Extracted, Span, SpanKind, SpanRef, Transcript, Visit, ZoneEnd};
