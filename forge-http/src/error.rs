//! What goes wrong when talking to a model server.

use std::time::Duration;

/// An error of the HTTP generator.
///
/// Errors of one request (everything but [`Error::Budget`], [`Error::Config`] and
/// [`Error::Probe`]) fail that request's stream only; the runner reports them with the stream and
/// zone. Every message names the endpoint and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The generator was configured wrongly (no endpoint, a malformed URL, a zero limit...).
    #[error("HTTP generator configuration: {0}")]
    Config(String),
    /// The start-up check of an endpoint failed: it is unreachable, or the capability probe could
    /// not tell which server it is, or the endpoints disagree.
    #[error("endpoint {endpoint}: {message}")]
    Probe {
        /// The endpoint's base URL.
        endpoint: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// The server could not be reached or the connection broke, on every attempt.
    #[error(
        "endpoint {endpoint}: connection failed ({attempts} attempt{}): {message}; \
         check that the server is running and reachable",
        plural(.attempts)
    )]
    Connection {
        /// The endpoint's base URL.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        message: String,
    },
    /// No complete answer within the request timeout, on every attempt.
    #[error(
        "endpoint {endpoint}: no answer within {:.1} s ({attempts} attempt{}); \
         the server is overloaded or stuck: lower the in-flight limit or raise the timeout",
        .after.as_secs_f64(),
        plural(.attempts)
    )]
    Timeout {
        /// The endpoint's base URL.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The request timeout.
        after: Duration,
    },
    /// The server answered with an error status: a 4xx other than 429 at once (retrying would not
    /// help), a 429 or 5xx once the retries were spent.
    #[error(
        "endpoint {endpoint}: HTTP {status}{}: {message}{}",
        retried(.attempts),
        rejected(.status)
    )]
    Status {
        /// The endpoint's base URL.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The server's own message (from its JSON error body, or the body's start).
        message: String,
    },
    /// The server answered 2xx with something this dialect does not expect.
    #[error("endpoint {endpoint}: unexpected answer: {message}; check the dialect")]
    Protocol {
        /// The endpoint's base URL.
        endpoint: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// The server accepted the request but failed the generation: an error event inside a
    /// stream, or a `finish_reason` of `error` or `abort`. Retried unless the server's error
    /// code says retrying cannot help.
    #[error(
        "endpoint {endpoint}: the server failed the generation ({attempts} attempt{}): \
         {message}; see the server's log",
        plural(.attempts)
    )]
    Generation {
        /// The endpoint's base URL.
        endpoint: String,
        /// How many attempts were made.
        attempts: u32,
        /// The server's own message.
        message: String,
    },
    /// More requests failed than the run's error budget allows: the whole run stops.
    #[error(
        "{failed} requests failed, more than the run's error budget of {budget}; \
         stopping the run. Last failure: {last}"
    )]
    Budget {
        /// How many requests failed for good.
        failed: u64,
        /// The budget that was exceeded.
        budget: u64,
        /// The last failure.
        last: Box<Error>,
    },
}

fn plural(n: &u32) -> &'static str {
    if *n == 1 { "" } else { "s" }
}

/// What a 4xx other than 429 adds to the server's message.
fn rejected(status: &u16) -> &'static str {
    if (400..500).contains(status) && *status != 429 {
        " (the server rejected the request: check the dialect, the model name and the API key)"
    } else {
        ""
    }
}

/// ` (N attempts)` when the request was retried.
fn retried(attempts: &u32) -> String {
    if *attempts > 1 {
        format!(" ({attempts} attempts)")
    } else {
        String::new()
    }
}
