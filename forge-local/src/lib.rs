//! An in-process [`Generator`] for forge: runs a llama-architecture GGUF model on the CPU.
//!
//! [`LocalModel::load`] reads the weights *and* the tokenizer from one GGUF file (vocabulary,
//! merges, pre-tokenizer, BOS/EOS all come from its metadata; nothing is downloaded).
//! [`LocalGenerator`] serves a run's requests from it:
//!
//! - **One forward step serves every live stream.** Each step gathers one segment per
//!   in-flight request (the next token of a decoding stream, or a chunk of up to
//!   [`Options::prefill_chunk`] tokens of a stream that is reading its context) and runs them
//!   through the model together: the matrix products see all the tokens at once, attention
//!   runs per stream against that stream's cache.
//! - **Per-stream KV caches.** A stream keeps its cache between requests. A request's context is
//!   tokenized whole and compared with the tokens already in the stream's cache; only the
//!   tokens after their longest common prefix are processed, as one batched prefill (this is
//!   what llama.cpp's server does with its prompt cache). Usually that is just the new text.
//!   When the runtime discarded text after a pattern that ended a zone inside the last
//!   generated token, or the model produced a token split that the tokenizer would not, the
//!   tokens differ from that point and the cache is **rolled back** to the common prefix and
//!   the rest re-processed: the cache always holds exactly the tokenization of the context, so
//!   a continued stream behaves as a fresh run over its full context would.
//! - **Replies** end at the first stop pattern to appear in the generated text (found by a
//!   [`StopScanner`] over the request's stop set, after every
//!   token, also when the pattern starts at the end of the context and ends in the reply, as
//!   the runtime's scan would see it), at exactly [`Request::max_tokens`] tokens, or at the model's end-of-sequence token (not counted, no text). The reply text
//!   stops right after the stop pattern even when the last token carries more text. Bytes of
//!   an incomplete UTF-8 character at the end of a reply become U+FFFD.
//! - **Sampling**: temperature 0 is greedy (lowest id on a tie); otherwise softmax with
//!   temperature, then top-p, drawn from a random generator seeded with the request's seed,
//!   so a stream's tokens do not depend on which other streams share its steps.
//! - **Threads**: the matrix products run on a thread pool of [`Options::threads`] threads
//!   (all cores by default).
//!
//! ```no_run
//! use forge_local::{LocalGenerator, LocalModel, Options};
//! # fn main() -> Result<(), forge_local::Error> {
//! let model = LocalModel::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let generator = LocalGenerator::new(model.into(), Options::default())?;
//! # let _ = generator; Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file;
pub use forge_core::exec::{Completion, End, Generator, Reply, Request, RequestId, StreamId};
use forge_core::exec::{StopScanner, StopSet};

mod model;
mod sample;
mod tokenizer;

pub use model::{Config, KvCache, Llama, Segment};
pub use tokenizer::Tokenizer;

use sample::Sampler;

/// What went wrong in the local engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The model file cannot be read or does not describe a supported model.
    Model(String),
    /// A request cannot be served (fails its stream only).
    Request {
        /// The stream of the request.
        stream: StreamId,
        /// What is wrong and what to do.
        message: String,
    },
    /// A failure inside the engine.
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

    fn in_file(self, path: &Path) -> Error {
        match self {
            Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
            other => other,
        }
    }

    fn for_stream(self, stream: StreamId) -> Error {
        match self {
            Error::Request { .. } => self,
            Error::Model(message) | Error::Internal(message) => Error::Request { stream, message },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(m) => write!(f, "model: {m}"),
            Error::Request { stream, message } => write!(f, "{stream}: {message}"),
            Error::Internal(m) => write!(f, "local engine: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Error {
        Error::Internal(e.to_string())
    }
}

/// A GGUF model and its tokenizer, shared by the generators that use it.
pub struct LocalModel {
    /// The network.
    pub llama: Llama,
    /// The tokenizer from the same file.
    pub tokenizer: Tokenizer,
}

impl LocalModel {
    /// Load a GGUF file. Errors name the file and the missing or malformed key or tensor.
    pub fn load(path: impl AsRef<Path>) -> Result<LocalModel, Error> {
        let path = path.as_ref();
        let file = File::open(path)
            .map_err(|e| Error::Model(format!("cannot open {}: {e}", path.display())))?;
        LocalModel::from_reader(&mut BufReader::new(file)).map_err(|e| e.in_file(path))
    }

    /// Load a GGUF model from any reader (a file, or bytes in memory).
    pub fn from_reader<R: Read + Seek>(reader: &mut R) -> Result<LocalModel, Error> {
        let content = gguf_file::Content::read(reader)
            .map_err(|e| Error::format(format!("not a readable GGUF file: {e}")))?;
        let tokenizer = Tokenizer::from_gguf(&content)?;
        let llama = Llama::load(&content, reader)?;
        if tokenizer.vocab_size() > llama.config().vocab {
            return Err(Error::format(format!(
                "the tokenizer has {} tokens but the embeddings only {}",
                tokenizer.vocab_size(),
                llama.config().vocab
            )));
        }
        Ok(LocalModel { llama, tokenizer })
    }
}

/// How a [`LocalGenerator`] runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Threads for the matrix work; `None` uses every core.
    pub threads: Option<usize>,
    /// How many requests (streams) the generator takes in flight at once.
    pub capacity: usize,
    /// The most context tokens one stream processes in one step.
    pub prefill_chunk: usize,
    /// The most tokens one step processes over all streams (at least one chunk goes through).
    pub step_tokens: usize,
}

impl Default for Options {
    /// All cores, 16 streams, chunks of 256 tokens, 512 tokens per step.
    fn default() -> Options {
        Options {
            threads: None,
            capacity: 16,
            prefill_chunk: 256,
            step_tokens: 512,
        }
    }
}

/// What a stream keeps between its requests.
#[derive(Default)]
struct StreamState {
    cache: KvCache,
    /// The tokens in `cache`, in order.
    tokens: Vec<u32>,
}

/// A request being served.
struct Active {
    id: RequestId,
    stream: StreamId,
    stop: Arc<StopSet>,
    scanner: StopScanner,
    max_tokens: u32,
    sampler: Sampler,
    /// Tokens still to feed before the next sample: the rest of the context, or the last
    /// sampled token.
    pending: Vec<u32>,
    /// The end of the context (a stop may start there), then the bytes generated so far.
    text: Vec<u8>,
    /// Where the generated bytes start in `text`.
    reply_start: usize,
    generated: u32,
}

/// The in-process engine: a [`Generator`] over a [`LocalModel`].
pub struct LocalGenerator {
    model: Arc<LocalModel>,
    options: Options,
    pool: rayon::ThreadPool,
    streams: HashMap<StreamId, StreamState>,
    active: Vec<Active>,
    done: Vec<Completion<Error>>,
}

impl LocalGenerator {
    /// A generator over `model`. Fails when the options are out of range or the thread pool
    /// cannot start.
    pub fn new(model: Arc<LocalModel>, options: Options) -> Result<LocalGenerator, Error> {
        if options.capacity == 0 || options.prefill_chunk == 0 || options.step_tokens == 0 {
            return Err(Error::internal(format!(
                "capacity, prefill_chunk and step_tokens must be at least 1: {options:?}"
            )));
        }
        let mut pool = rayon::ThreadPoolBuilder::new();
        if let Some(threads) = options.threads {
            pool = pool.num_threads(threads.max(1));
        }
        let pool = pool
            .build()
            .map_err(|e| Error::internal(format!("cannot start the thread pool: {e}")))?;
        Ok(LocalGenerator {
            model,
            options,
            pool,
            streams: HashMap::new(),
            active: Vec::new(),
            done: Vec::new(),
        })
    }

    /// The model the generator runs.
    pub fn model(&self) -> &Arc<LocalModel> {
        &self.model
    }

    /// How many threads run the matrix work.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn start(&mut self, request: &Request) -> Result<Option<Active>, Error> {
        let sampler = Sampler::new(request.sampling()).map_err(Error::internal)?;
        let tokenizer = &self.model.tokenizer;
        let tokens = tokenizer.encode_context(request.context())?;
        let limit = self.model.llama.config().context_length;
        let max_tokens = request.max_tokens();
        if tokens.len() + max_tokens as usize > limit {
            return Err(Error::internal(format!(
                "the context holds {} tokens and the request may generate {max_tokens} more, \
                 past the model's context length of {limit} tokens: lower the zone's token \
                 budget or shorten the workflow",
                tokens.len()
            )));
        }
        if tokens.is_empty() {
            return Err(Error::internal(
                "the context is empty and the model has no BOS token to start from",
            ));
        }
        let state = self.streams.entry(request.stream()).or_default();
        let mut common = state
            .tokens
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count();
        // The last context token must be fed again to get the logits of the next one.
        common = common.min(tokens.len() - 1);
        state.cache.truncate(common);
        state.tokens.truncate(common);
        // A stop may begin in the context and end in the reply: keep enough of the context.
        let stop = request.stop_set().clone();
        let context = request.context().as_bytes();
        let tail = &context[context
            .len()
            .saturating_sub(stop.longest().saturating_sub(1))..];
        let active = Active {
            id: request.id(),
            stream: request.stream(),
            stop,
            scanner: StopScanner::seen(tail.len()),
            max_tokens,
            sampler,
            pending: tokens[common..].to_vec(),
            text: tail.to_vec(),
            reply_start: tail.len(),
            generated: 0,
        };
        if max_tokens == 0 {
            self.finish(active, End::Limit);
            return Ok(None);
        }
        Ok(Some(active))
    }

    fn finish(&mut self, active: Active, end: End) {
        let text = String::from_utf8_lossy(&active.text[active.reply_start..]).into_owned();
        self.done.push(Completion {
            id: active.id,
            stream: active.stream,
            result: Ok(Reply {
                text,
                tokens: active.generated,
                end,
            }),
        });
    }

    fn fail(&mut self, id: RequestId, stream: StreamId, error: Error) {
        self.streams.remove(&stream);
        self.done.push(Completion {
            id,
            stream,
            result: Err(error.for_stream(stream)),
        });
    }

    /// One forward step over every in-flight request.
    fn step(&mut self) -> Result<(), Error> {
        // Which requests go into this step, and how many of their pending tokens.
        let mut budget = self.options.step_tokens;
        let mut plan: Vec<(usize, usize)> = Vec::with_capacity(self.active.len());
        let mut order: Vec<usize> = (0..self.active.len()).collect();
        // Decoding streams first (one token each), then prefills by arrival.
        order.sort_by_key(|&i| self.active[i].pending.len() > 1);
        for i in order {
            let pending = self.active[i].pending.len();
            let take = pending.min(self.options.prefill_chunk).min(budget);
            if take == 0 && !plan.is_empty() {
                continue;
            }
            let take = take.max(1);
            budget = budget.saturating_sub(take);
            plan.push((i, take));
        }
        let mut states: Vec<StreamState> = plan
            .iter()
            .map(|&(i, _)| {
                self.streams
                    .remove(&self.active[i].stream)
                    .unwrap_or_default()
            })
            .collect();
        let mut segments: Vec<Segment<'_>> = states
            .iter_mut()
            .zip(&plan)
            .map(|(state, &(i, take))| Segment {
                cache: &mut state.cache,
                tokens: &self.active[i].pending[..take],
            })
            .collect();
        let model = Arc::clone(&self.model);
        let result = self.pool.install(|| model.llama.forward(&mut segments));
        drop(segments);
        let logits = match result {
            Ok(logits) => logits,
            Err(error) => {
                // The step failed as a whole: fail its requests, keep the engine running.
                let mut failed: Vec<usize> = plan.iter().map(|p| p.0).collect();
                failed.sort_unstable();
                for i in failed.into_iter().rev() {
                    let a = self.active.swap_remove(i);
                    self.fail(a.id, a.stream, error.clone());
                }
                return Ok(());
            }
        };
        let mut finished: Vec<(usize, End)> = Vec::new();
        for ((state, &(i, take)), logits) in states.into_iter().zip(&plan).zip(logits) {
            let a = &mut self.active[i];
            state_push(&mut self.streams, a.stream, state, &a.pending[..take]);
            a.pending.drain(..take);
            if !a.pending.is_empty() {
                continue;
            }
            let token = a.sampler.sample(&logits);
            if Some(token) == self.model.tokenizer.eos() {
                finished.push((i, End::Eos));
                continue;
            }
            a.generated += 1;
            a.text
                .extend_from_slice(self.model.tokenizer.token_bytes(token));
            if let Some(hit) = a.scanner.scan(&a.stop, &a.text) {
                a.text.truncate(hit.end);
                finished.push((i, End::Stop(hit.index)));
            } else if a.generated >= a.max_tokens {
                finished.push((i, End::Limit));
            } else {
                a.pending.push(token);
            }
        }
        finished.sort_unstable_by_key(|f| f.0);
        for (i, end) in finished.into_iter().rev() {
            let a = self.active.swap_remove(i);
            self.finish(a, end);
        }
        Ok(())
    }
}

fn state_push(
    streams: &mut HashMap<StreamId, StreamState>,
    stream: StreamId,
    mut state: StreamState,
    fed: &[u32],
) {
    state.tokens.extend_from_slice(fed);
    streams.insert(stream, state);
}

impl Generator for LocalGenerator {
    type Error = Error;

    fn capacity(&self) -> usize {
        self.options.capacity
    }

    fn submit(&mut self, request: Request) {
        match self.start(&request) {
            Ok(Some(active)) => self.active.push(active),
            Ok(None) => {}
            Err(error) => self.fail(request.id(), request.stream(), error),
        }
    }

    fn wait(&mut self, out: &mut Vec<Completion<Error>>) -> Result<(), Error> {
        while self.done.is_empty() && !self.active.is_empty() {
            self.step()?;
        }
        out.append(&mut self.done);
        Ok(())
    }

    fn release(&mut self, stream: StreamId) {
        self.streams.remove(&stream);
    }
}
