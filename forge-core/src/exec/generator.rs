//! The generator contract: how the runtime asks an engine to continue text.
//!
//! A [`Generator`] is a *completion queue*. The runner [`submit`](Generator::submit)s
//! [`Request`]s (at most one per stream at a time, many streams at once) and
//! [`wait`](Generator::wait)s for [`Completion`]s, which may arrive in any order. This fits a
//! batching in-process engine (`wait` runs forward steps until some request finishes) and an
//! HTTP client with hundreds of requests in flight (`submit` starts a request, `wait` takes
//! finished ones off a channel) equally well.
//!
//! # What a generator must do
//!
//! Given a request (stream id, context, stop set, max tokens, sampling options) a generator
//! continues the context and returns a [`Reply`]: the generated text up to and including the
//! first stop pattern that appears in it (found by the request's [`StopSet`] with a
//! [`StopScanner`](super::StopScanner), which states the rule), or up to
//! the token limit, or up to the model's end of sequence; which of the three happened; and how
//! many tokens it generated. The runtime re-scans every reply itself, so text past a stop is
//! discarded and a stop the generator missed is still found: a generator that over-generates is
//! corrected, never trusted.
//!
//! # Per-stream state
//!
//! Every request names its [`StreamId`]. A stream's transcript only grows: the context of a
//! stream's request always starts with the context of that stream's previous request
//! ([`Request::prefix_len`] bytes of it), so an engine that keeps a per-stream KV cache only
//! needs to process [`Request::new_text`]. The new text starts with the part of the previous
//! reply that the runtime kept, which is the whole reply unless the reply ran past the pattern
//! that ended its zone (then the tail was discarded and the engine must roll back or
//! re-process). When a stream ends, the runner calls [`Generator::release`].

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::retry::RetryPolicy;
use super::stop::StopSet;

/// A stream of a run: the index of its sampled workflow in the batch given to the runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {}", self.0)
    }
}

/// One generation request, unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// How the model samples tokens: the run's options, with a seed per request.
///
/// The one sampling-options type: a run holds one ([`RunOptions::sampling`](super::RunOptions::sampling),
/// whose `seed` is the run seed), the runner copies it into every [`Request`] with the
/// request's own seed, and engines read it from there; [`Sampling::validate`] is the one check, with one
/// set of messages. The default is greedy decoding: a run is reproducible and does not depend
/// on an engine's random numbers unless it asks for sampling (the command line asks for
/// temperature 1.0 explicitly).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Softmax temperature; `0.0` means greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling threshold in `(0, 1]`; `1.0` disables it.
    pub top_p: f32,
    /// In a [`Request`], the seed for this request, derived from the run seed, the stream and
    /// the request's position in its stream ([`request_seed`](super::request_seed)), so that a
    /// run is reproducible as far as the engine is. In [`RunOptions`](super::RunOptions), the
    /// run seed.
    pub seed: u64,
}

impl Default for Sampling {
    /// Greedy decoding with seed 0.
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

impl Sampling {
    /// Whether the options make sense: `temperature` finite and ≥ 0, `top_p` in `(0, 1]`.
    /// The message names the option, its value and what to use.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(format!(
                "`temperature` must be a finite number ≥ 0 (0: greedy), got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("`top_p` must be in (0, 1], got {}", self.top_p));
        }
        Ok(())
    }
}

/// A request to continue a stream's transcript.
///
/// Cheap to clone: the context and the stop set (with its search state) are shared. A generator should drop the request
/// (or its clones) once it has completed it, so that the stream can append to its transcript
/// without copying it.
#[derive(Clone, Debug)]
pub struct Request {
    id: RequestId,
    stream: StreamId,
    context: Arc<String>,
    prefix_len: usize,
    stop: Arc<StopSet>,
    max_tokens: u32,
    sampling: Sampling,
}

impl Request {
    /// A request. `prefix_len` is the length of the context of the stream's previous request
    /// (0 for its first request); it is clamped to the context's length and moved back to a
    /// character boundary.
    ///
    /// This builds the stop patterns' search state; [`Request::with_stop_set`] takes one
    /// built already (the automaton's requests carry their plan's).
    pub fn new(
        id: RequestId,
        stream: StreamId,
        context: Arc<String>,
        prefix_len: usize,
        stop: Arc<[Arc<str>]>,
        max_tokens: u32,
        sampling: Sampling,
    ) -> Request {
        let stop = Arc::new(StopSet::new(stop));
        Request::with_stop_set(id, stream, context, prefix_len, stop, max_tokens, sampling)
    }

    /// A request whose stop patterns come with their search state, built once and shared.
    /// Otherwise as [`Request::new`].
    pub fn with_stop_set(
        id: RequestId,
        stream: StreamId,
        context: Arc<String>,
        prefix_len: usize,
        stop: Arc<StopSet>,
        max_tokens: u32,
        sampling: Sampling,
    ) -> Request {
        let mut prefix_len = prefix_len.min(context.len());
        while !context.is_char_boundary(prefix_len) {
            prefix_len -= 1;
        }
        Request {
            id,
            stream,
            context,
            prefix_len,
            stop,
            max_tokens,
            sampling,
        }
    }

    /// The request's id; its [`Completion`] carries it back.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The stream the request continues.
    pub fn stream(&self) -> StreamId {
        self.stream
    }

    /// The whole transcript so far: the model's context.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The shared context, for a generator that needs to keep it past the request.
    pub fn shared_context(&self) -> &Arc<String> {
        &self.context
    }

    /// Length in bytes of the context of this stream's previous request (0 for the first).
    /// `context()[..prefix_len()]` is exactly what the stream's previous request sent.
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// The context added since this stream's previous request.
    pub fn new_text(&self) -> &str {
        &self.context[self.prefix_len..]
    }

    /// The patterns that end the request. A generator stops right after the first of them
    /// that appears in the generated text and reports it with [`End::Stop`]; "first" is
    /// decided by [`stop_set`](Request::stop_set).
    pub fn stop(&self) -> &[Arc<str>] {
        self.stop.patterns()
    }

    /// The shared list of stop patterns, for a generator that needs to keep it past the
    /// request.
    pub fn shared_stop(&self) -> &Arc<[Arc<str>]> {
        self.stop.shared_patterns()
    }

    /// The stop patterns with their search state: scan the generated text with a
    /// [`StopScanner`](super::StopScanner) over this set to find where the reply ends.
    pub fn stop_set(&self) -> &Arc<StopSet> {
        &self.stop
    }

    /// The most tokens the reply may hold (at least 1).
    pub fn max_tokens(&self) -> u32 {
        self.max_tokens
    }

    /// Temperature, top-p and this request's seed.
    pub fn sampling(&self) -> &Sampling {
        &self.sampling
    }
}

/// Why a reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum End {
    /// The generated text ends with the stop pattern at this index of [`Request::stop`].
    Stop(usize),
    /// The reply holds [`Request::max_tokens`] tokens.
    Limit,
    /// The model produced its end-of-sequence token (not part of the text).
    Eos,
    /// The server's context ran out (or the server cut the token limit to fit its context)
    /// before [`Request::max_tokens`] tokens: not a token limit, since the zone's budget was
    /// not spent.
    ContextFull {
        /// The context size of the server's slot, in tokens, when the server tells.
        context: Option<u32>,
        /// The tokens the request needed (its prompt plus [`Request::max_tokens`]), when the
        /// server tells the prompt's size.
        needed: Option<u32>,
    },
}

/// A generator's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The generated text, up to and including the stop pattern if one ended it.
    pub text: String,
    /// The number of tokens generated (the end-of-sequence token not counted).
    pub tokens: u32,
    /// Why the reply ended.
    pub end: End,
}

/// A finished request: its id, its stream and the generator's reply or error.
#[derive(Debug)]
pub struct Completion<E> {
    /// The id of the request.
    pub id: RequestId,
    /// The stream of the request.
    pub stream: StreamId,
    /// The reply, or why this request failed (which fails its stream only).
    pub result: Result<Reply, E>,
}

/// An engine that continues text: a completion queue.
///
/// The runner never has more than one request of a stream in flight, and never more than
/// [`capacity`](Generator::capacity) requests in all.
pub trait Generator: Send {
    /// What goes wrong in this generator.
    type Error: std::error::Error + Send + Sync + 'static;

    /// How many requests the generator wants in flight at once (at least 1). The runner
    /// submits up to the smaller of this and its own limit.
    fn capacity(&self) -> usize {
        1
    }

    /// Hand over a request. Must not wait for the generation: errors of this request are
    /// reported by its [`Completion`].
    fn submit(&mut self, request: Request);

    /// Block until at least one submitted request has completed and append the completed ones
    /// to `out`; return at once if nothing is in flight. An `Err` is fatal to the whole run
    /// (e.g. the engine is gone or an error budget is spent); a failure of one request is an
    /// `Err` in its [`Completion`] instead.
    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error>;

    /// The stream has ended (finished or failed): drop any state kept for it.
    fn release(&mut self, stream: StreamId) {
        let _ = stream;
    }

    /// The [`RetryPolicy`] the generator applies itself, if it does: it sees its faults (a
    /// timeout, a 429, a malformed model file) and knows which are worth another attempt, so
    /// it reports only the failures it gave up on and the runner does not retry them again
    /// (an engine whose failures are never transient returns [`RetryPolicy::NONE`]). Default
    /// `None`: the runner retries failed requests by [`RunOptions::retry`](super::RunOptions::retry).
    fn retry_policy(&self) -> Option<RetryPolicy> {
        None
    }
}

impl<G: Generator + ?Sized> Generator for Box<G> {
    type Error = G::Error;

    fn capacity(&self) -> usize {
        (**self).capacity()
    }

    fn submit(&mut self, request: Request) {
        (**self).submit(request)
    }

    fn wait(&mut self, out: &mut Vec<Completion<Self::Error>>) -> Result<(), Self::Error> {
        (**self).wait(out)
    }

    fn release(&mut self, stream: StreamId) {
        (**self).release(stream)
    }

    fn retry_policy(&self) -> Option<RetryPolicy> {
        (**self).retry_policy()
    }
}

#[cfg(test)]
mod tests {
    use super::Sampling;

    fn check(temperature: f32, top_p: f32) -> Result<(), String> {
        Sampling {
            temperature,
            top_p,
            seed: 0,
        }
        .validate()
    }

    #[test]
    fn sampling_options_are_checked_once_with_named_fields() {
        assert_eq!(Sampling::default().validate(), Ok(()));
        assert_eq!(check(0.7, 0.9), Ok(()));
        assert_eq!(
            check(-1.0, 1.0).unwrap_err(),
            "`temperature` must be a finite number ≥ 0 (0: greedy), got -1"
        );
        assert!(
            check(f32::NAN, 1.0)
                .unwrap_err()
                .starts_with("`temperature`")
        );
        assert!(check(f32::INFINITY, 1.0).is_err());
        assert_eq!(
            check(1.0, 0.0).unwrap_err(),
            "`top_p` must be in (0, 1], got 0"
        );
        assert!(check(1.0, 1.5).unwrap_err().starts_with("`top_p`"));
        assert!(check(1.0, f32::NAN).is_err());
    }
}
