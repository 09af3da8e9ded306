//! The local engine's errors.

use std::path::Path;

use forge_core::exec::StreamId;

/// What went wrong in the local engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The model file cannot be read or does not describe a supported model.
    #[error("model: {0}")]
    Model(String),
    /// A request cannot be served (fails its stream only).
    #[error("{stream}: {message}")]
    Request {
        /// The stream of the request.
        stream: StreamId,
        /// What is wrong and what to do.
        message: String,
    },
    /// A failure inside the engine.
    #[error("local engine: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn format(message: impl Into<String>) -> Error {
        Error::Model(message.into())
    }

    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::Internal(message.into())
    }

    pub(crate) fn context(tokens: usize, limit: usize) -> Error {
        Error::Internal(format!(
            "{tokens} tokens do not fit the model's context of {limit} tokens"
        ))
    }

    pub(crate) fn in_file(self, path: &Path) -> Error {
        match self {
            Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
            other => other,
        }
    }

    pub(crate) fn for_stream(self, stream: StreamId) -> Error {
        match self {
            Error::Request { .. } => self,
            Error::Model(message) | Error::Internal(message) => Error::Request { stream, message },
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Error {
        Error::Internal(plain(&e))
    }
}

/// A candle error's message without the backtrace candle appends to it when `RUST_BACKTRACE`
/// is set: forge's errors say what is wrong with the input, and a backtrace of candle's
/// internals (26 frames for a file that is not GGUF) hides that.
pub(crate) fn plain(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => plain(inner),
        candle_core::Error::Context { inner, context } => format!("{context}: {}", plain(inner)),
        candle_core::Error::WithPath { inner, path } => {
            format!("{}: {}", path.display(), plain(inner))
        }
        other => other.to_string(),
    }
}
