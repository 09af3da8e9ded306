//! Errors of a run: a stream's failure (located) and a fatal run error.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use super::generator::StreamId;
use super::transcript::Transcript;
use crate::program::{SharedStr, ZoneId, ZoneInfo};

/// A shared, type-erased error (downcast it to the generator's or the tool's error type).
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Where in a workflow something happened: a zone's index and its [`ZoneInfo`] (the one zone
/// description, which also names its place in the document). Derefs to the [`ZoneInfo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneRef {
    /// The zone's index in the workflow.
    pub index: ZoneId,
    /// The zone's description (shared: an error stays small).
    pub info: Arc<ZoneInfo>,
}

impl ZoneRef {
    pub(crate) fn new(index: ZoneId, info: &ZoneInfo) -> ZoneRef {
        ZoneRef {
            index,
            info: Arc::new(info.clone()),
        }
    }
}

impl std::ops::Deref for ZoneRef {
    type Target = ZoneInfo;
    fn deref(&self) -> &ZoneInfo {
        &self.info
    }
}

impl fmt::Display for ZoneRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zone {} ({})", self.index, self.info.place())
    }
}

/// Why a stream failed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A generation request failed (after the run's retries).
    Generator {
        /// Attempts made, including the first.
        attempts: u32,
        /// The generator's error.
        source: SharedError,
    },
    /// The tool of an output zone returned an error.
    Tool {
        /// The tool's name.
        tool: SharedStr,
        /// The tool's error.
        source: SharedError,
    },
    /// An output zone names a tool that was not registered on the run.
    ToolNotRegistered {
        /// The tool's name.
        tool: SharedStr,
        /// The registered tools.
        registered: Vec<String>,
    },
    /// The sampled workflow cannot be executed (e.g. an empty pattern in a workflow read back
    /// from a hand-edited file).
    InvalidWorkflow(String),
    /// The stream visited [`RunOptions::max_visits`](super::RunOptions::max_visits) zones
    /// without ending (a loop the model never left).
    VisitLimit {
        /// The visits made.
        visits: usize,
    },
    /// The run stopped (the generator failed fatally) before this stream finished.
    Interrupted(SharedError),
    /// The server's context ran out in the middle of a zone
    /// ([`End::ContextFull`](super::End::ContextFull)), and the run was not set to go on
    /// ([`RunOptions::continue_on_full_context`](super::RunOptions::continue_on_full_context)).
    ContextFull {
        /// The tokens the zone had generated when the context ran out.
        generated: u32,
        /// The context size of the server's slot, when the server tells.
        context: Option<u32>,
        /// The tokens the last request needed (prompt plus token limit), when the server tells.
        needed: Option<u32>,
    },
}

/// A stream's failure: which stream, where, why, and the transcript up to that point.
///
/// Other streams of the run are unaffected.
#[derive(Clone, Debug)]
pub struct StreamError {
    /// The stream that failed.
    pub stream: StreamId,
    /// The zone it was in, if it had entered one.
    pub zone: Option<ZoneRef>,
    /// Why it failed.
    pub kind: ErrorKind,
    /// What the stream had produced when it failed (no extractions).
    pub partial: Option<Box<Transcript>>,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stream)?;
        if let Some(z) = &self.zone {
            write!(f, ", {z}")?;
        }
        match &self.kind {
            ErrorKind::Generator { attempts, source } => write!(
                f,
                ": the generation request failed ({attempts} attempt{}): {source}",
                if *attempts == 1 { "" } else { "s" }
            ),
            ErrorKind::Tool { tool, source } => write!(f, ": tool `{tool}` failed: {source}"),
            ErrorKind::ToolNotRegistered { tool, registered } => write!(
                f,
                ": the zone sends its text to tool `{tool}`, which is not registered on the run \
                 (registered: {}); help: register it with `Tools::add`",
                if registered.is_empty() {
                    "none".to_owned()
                } else {
                    registered.join(", ")
                }
            ),
            ErrorKind::InvalidWorkflow(why) => write!(f, ": the workflow cannot run: {why}"),
            ErrorKind::VisitLimit { visits } => write!(
                f,
                ": the stream visited {visits} zones without ending (did the model never take \
                 the loop's exit?); help: raise `RunOptions::max_visits` if such long streams \
                 are expected"
            ),
            ErrorKind::Interrupted(source) => {
                write!(f, ": the run stopped before the stream finished: {source}")
            }
            ErrorKind::ContextFull {
                generated,
                context,
                needed,
            } => {
                write!(
                    f,
                    ": the server's context ran out after {generated} generated tokens of the \
                     zone, before its token budget"
                )?;
                match (context, needed) {
                    (Some(c), Some(n)) => write!(
                        f,
                        " (the slot holds {c} tokens, the request needed {n}: its prompt \
                             plus the zone's remaining budget)"
                    )?,
                    (Some(c), None) => write!(f, " (the slot holds {c} tokens)")?,
                    (None, Some(n)) => write!(
                        f,
                        " (the request needed {n} tokens: its prompt plus the zone's remaining \
                         budget)"
                    )?,
                    (None, None) => {}
                }
                write!(
                    f,
                    "; help: give each server slot more context (llama-server: `-c` is shared \
                     by the `-np` slots), lower the zone budgets, or set \
                     `RunOptions::continue_on_full_context` (`forge run --continue-on-full-context`) \
                     to close the zone and go on"
                )
            }
        }
    }
}

impl StdError for StreamError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            ErrorKind::Generator { source, .. }
            | ErrorKind::Tool { source, .. }
            | ErrorKind::Interrupted(source) => Some(&**source),
            _ => None,
        }
    }
}

/// What one stream of a run gives: its transcript, or its located error.
pub type StreamResult = Result<Transcript, StreamError>;

/// Why a whole run stopped early.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FatalError {
    /// The generator's [`wait`](super::Generator::wait) failed.
    #[error("the generator failed: {0}")]
    Generator(#[source] SharedError),
    /// The generator broke the contract (e.g. completed a request it was never given, or
    /// returned from `wait` with nothing while requests were in flight).
    #[error("the generator broke its contract: {0}")]
    Protocol(String),
}

/// A run that stopped early: the fatal error and every started stream's result, in stream
/// order (streams that were running carry [`ErrorKind::Interrupted`] and their partial
/// transcript).
#[derive(Debug, thiserror::Error)]
#[error(
    "{fatal} ({} of {} started streams had finished; their results are kept)",
    .results.iter().filter(|r| r.is_ok()).count(),
    .results.len()
)]
pub struct RunError {
    /// Why the run stopped.
    #[source]
    pub fatal: FatalError,
    /// The results of the streams started before it stopped, in stream order.
    pub results: Vec<StreamResult>,
}
