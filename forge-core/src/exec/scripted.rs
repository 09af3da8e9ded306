//! [`Scripted`]: a generator that plays back prepared model outputs, for tests and dry runs.

use std::collections::{HashMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::generator::{Completion, End, Generator, Reply, Request, StreamId};
use super::stop::StopScanner;

/// One raw model output: what the "model" would write if nothing stopped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Text, one token per `char`.
    Chars(String),
    /// Text in explicit token chunks (a chunk may be empty, or split a pattern anywhere).
    Tokens(Vec<String>),
    /// The request fails with this message.
    Fail(String),
    /// This reply, returned as is, ignoring the request's stop set and limit (to test how the
    /// runtime corrects a generator that breaks the contract).
    Raw(Reply),
}

impl From<&str> for Output {
    fn from(s: &str) -> Output {
        Output::Chars(s.to_owned())
    }
}

impl From<String> for Output {
    fn from(s: String) -> Output {
        Output::Chars(s)
    }
}

/// A scripted request failure ([`Output::Fail`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{stream}: {message}")]
pub struct ScriptedError {
    /// The stream whose request failed.
    pub stream: StreamId,
    /// The scripted message.
    pub message: String,
}

/// A generator that answers each stream's successive requests with that stream's successive
/// scripted [`Output`]s, as a real engine would:
///
/// - the output is cut right after the first stop pattern that appears in it (found by a
///   [`StopScanner`], across tokens), reported as [`End::Stop`] with its index;
/// - else it is cut after `max_tokens` tokens ([`End::Limit`]);
/// - else the whole output is returned with [`End::Eos`] (the model ended its sequence);
/// - once a stream's list is used up, every further request gets an empty [`End::Eos`] reply.
///
/// The rest of a cut output is thrown away, as a real engine would never write it. By default
/// requests complete in the order they were submitted; [`Scripted::shuffled`] completes them
/// in a seeded random order, a random number at a time, to prove order independence.
///
/// ```
/// use forge::exec::{Output, Scripted};
///
/// // Stream 0 answers its first request with "Paris. [EOS]" (one token per char), stream 1
/// // its first with two tokens, then fails its second request.
/// let generator = Scripted::new([
///     vec![Output::from("Paris. [EOS]")],
///     vec![
///         Output::Tokens(vec!["Ro".into(), "me [EOS]".into()]),
///         Output::Fail("server gone".into()),
///     ],
/// ])
/// .shuffled(7);
/// # let _ = generator;
/// ```
pub struct Scripted {
    scripts: HashMap<StreamId, VecDeque<Output>>,
    /// Makes a stream's script when it first sends a request ([`Scripted::from_fn`]).
    make: Option<Box<dyn Fn(StreamId) -> Vec<Output> + Send + Sync>>,
    pending: Vec<Request>,
    rng: Option<Pcg64Mcg>,
    capacity: usize,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripted")
            .field("scripts", &self.scripts)
            .field("from_fn", &self.make.is_some())
            .field("pending", &self.pending)
            .field("shuffled", &self.rng.is_some())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Scripted {
    /// A generator where stream `i` gets the outputs of the `i`-th item, in order.
    pub fn new<S, O>(streams: impl IntoIterator<Item = S>) -> Scripted
    where
        S: IntoIterator<Item = O>,
        O: Into<Output>,
    {
        let scripts = streams
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    StreamId(i as u32),
                    s.into_iter().map(Into::into).collect::<VecDeque<_>>(),
                )
            })
            .collect();
        Scripted {
            scripts,
            make: None,
            pending: Vec::new(),
            rng: None,
            capacity: usize::MAX,
        }
    }

    /// A generator that asks `script` for a stream's outputs when that stream sends its first
    /// request, and forgets them when the stream ends
    /// ([`release`](Generator::release)): memory follows the streams in flight, not the
    /// number of streams, so a run of millions of scripted streams stays small.
    ///
    /// ```
    /// use forge::exec::{Output, Scripted};
    ///
    /// // Stream `i` answers "Answer i. [EOS]", then ends every later request at once.
    /// let generator = Scripted::from_fn(|stream| {
    ///     vec![Output::from(format!("Answer {}. [EOS]", stream.0))]
    /// });
    /// # let _ = generator;
    /// ```
    pub fn from_fn<O: Into<Output>>(
        script: impl Fn(StreamId) -> Vec<O> + Send + Sync + 'static,
    ) -> Scripted {
        let mut scripted = Scripted::new(Vec::<Vec<Output>>::new());
        scripted.make = Some(Box::new(move |stream| {
            script(stream).into_iter().map(Into::into).collect()
        }));
        scripted
    }

    /// Complete requests in a random order drawn from `seed`.
    pub fn shuffled(mut self, seed: u64) -> Scripted {
        self.rng = Some(Pcg64Mcg::seed_from_u64(seed));
        self
    }

    /// Accept at most `n` requests in flight (default: unlimited).
    pub fn with_capacity(mut self, n: usize) -> Scripted {
        self.capacity = n.max(1);
        self
    }

    /// The outputs not yet used for `stream` (for [`Scripted::from_fn`], 0 before the stream's
    /// first request and after it ends).
    pub fn remaining(&self, stream: StreamId) -> usize {
        self.scripts.get(&stream).map_or(0, VecDeque::len)
    }

    fn answer(&mut self, request: &Request) -> Result<Reply, ScriptedError> {
        let stream = request.stream();
        let output = match &self.make {
            Some(make) => self
                .scripts
                .entry(stream)
                .or_insert_with(|| make(stream).into())
                .pop_front(),
            None => self.scripts.get_mut(&stream).and_then(VecDeque::pop_front),
        };
        let (text, ends) = match output {
            None => return Ok(empty_eos()),
            Some(Output::Raw(reply)) => return Ok(reply),
            Some(Output::Fail(message)) => {
                return Err(ScriptedError {
                    stream: request.stream(),
                    message,
                });
            }
            // One token per char: token boundaries are char boundaries, found when needed.
            Some(Output::Chars(text)) => (text, None),
            Some(Output::Tokens(tokens)) => {
                let mut text = String::new();
                let ends: Vec<usize> = tokens
                    .iter()
                    .map(|t| {
                        text.push_str(t);
                        text.len()
                    })
                    .collect();
                (text, Some(ends))
            }
        };
        let max = request.max_tokens() as usize;
        // Tokens needed to write the text up to byte `e`: up to the token holding byte e − 1.
        let tokens_to = |e: usize| match &ends {
            None => text[..e].chars().count(),
            Some(ends) => ends.partition_point(|&x| x < e) + 1,
        };
        // The end of the `k`-th token, if the output has that many.
        let end_of = |k: usize| match &ends {
            None => text
                .char_indices()
                .nth(k - 1)
                .map(|(i, c)| i + c.len_utf8()),
            Some(ends) => ends.get(k - 1).copied(),
        };
        if let Some(h) = StopScanner::new().scan(request.stop_set(), text.as_bytes()) {
            let n = tokens_to(h.end);
            if n <= max {
                return Ok(Reply {
                    text: cut(text, h.end),
                    tokens: n as u32,
                    end: End::Stop(h.index),
                });
            }
        }
        if let Some(at) = if max == 0 { Some(0) } else { end_of(max) } {
            return Ok(Reply {
                text: cut(text, at),
                tokens: max as u32,
                end: End::Limit,
            });
        }
        let tokens = match &ends {
            None => text.chars().count(),
            Some(ends) => ends.len(),
        };
        Ok(Reply {
            tokens: tokens as u32,
            text,
            end: End::Eos,
        })
    }
}

fn cut(mut text: String, at: usize) -> String {
    text.truncate(at);
    text
}

fn empty_eos() -> Reply {
    Reply {
        text: String::new(),
        tokens: 0,
        end: End::Eos,
    }
}

impl Generator for Scripted {
    type Error = ScriptedError;

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn submit(&mut self, request: Request) {
        self.pending.push(request);
    }

    fn wait(&mut self, out: &mut Vec<Completion<ScriptedError>>) -> Result<(), ScriptedError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.pending);
        if let Some(rng) = &mut self.rng {
            // A random number of requests, in a random order; the rest stay pending.
            let n = batch.len();
            let k = rng.random_range(1..=n);
            for i in 0..k {
                let j = rng.random_range(i..n);
                batch.swap(i, j);
            }
            self.pending = batch.split_off(k);
        }
        for request in batch {
            let result = self.answer(&request);
            out.push(Completion {
                id: request.id(),
                stream: request.stream(),
                result,
            });
        }
        Ok(())
    }

    fn release(&mut self, stream: StreamId) {
        self.scripts.remove(&stream);
    }
}
