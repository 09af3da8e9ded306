//! An in-process [`Generator`](forge_core::exec::Generator) for forge: runs a llama-architecture GGUF model on the CPU.
//!
//! [`LocalModel::load`] reads the weights *and* the tokenizer from one GGUF file (vocabulary,
//! merges, pre-tokenizer, BOS/EOS all come from its metadata). [`models::resolve`] finds that
//! file: `FORGE_MODEL`, else the default model (SmolLM2-135M-Instruct) from the user cache,
//! downloaded and checked on first use. [`LocalGenerator`] serves a run's requests from it:
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
//! - **Shared prefixes.** Streams whose contexts start with the same tokens (the same system
//!   prompt, the same first zones) share the keys and values of that prefix instead of each
//!   processing it ([`Options::share_prefixes`]). When several waiting requests share at
//!   least [`MIN_SHARED_PREFIX`] tokens that no cache holds, the prefix is processed once, as
//!   one segment, while they wait; then each request's cache *forks* from it: the frozen
//!   prefix ([`FrozenKv`]) is referenced, not copied, and the request's own tokens go into
//!   its own buffers. Finished prefixes stay in a prefix cache (a radix tree over token
//!   sequences, longest-prefix lookup, least recently used evicted first) within
//!   [`Options::prefix_cache_bytes`], for requests that arrive later. Attention over a
//!   forked cache joins the scores of both parts and adds their weighted values, so a forked
//!   stream computes what an unshared one does up to float rounding.
//! - **Replies** end at the first stop pattern to appear in the generated text (found by a
//!   [`StopScanner`](forge_core::exec::StopScanner) over the request's stop set, after every
//!   token, also when the pattern starts at the end of the context and ends in the reply, as
//!   the runtime's scan would see it), at exactly [`Request::max_tokens`](forge_core::exec::Request::max_tokens) tokens, or at the model's end-of-sequence token (not counted, no text). The reply text
//!   stops right after the stop pattern even when the last token carries more text. Bytes of
//!   an incomplete UTF-8 character at the end of a reply become U+FFFD.
//! - **Sampling**: temperature 0 is greedy (lowest id on a tie); otherwise softmax with
//!   temperature, then top-p, drawn from a random generator seeded with the request's seed,
//!   so a stream's tokens do not depend on which other streams share its steps.
//! - **Threads**: a step runs on a thread pool of [`Options::threads`] threads (all cores by
//!   default). Small steps (decoding) run as a *team*: the threads stay awake for the whole
//!   step and take the tasks of each matrix product and of attention from a shared counter,
//!   instead of being woken for each of the step's ~150 short parallel parts; large steps
//!   (prefill) use the pool's work stealing ([`Llama::set_team_tokens`]). Both give the same
//!   results bit for bit.
//!
//! ```no_run
//! use forge_local::{LocalGenerator, LocalModel, Options};
//! # fn main() -> Result<(), forge_local::Error> {
//! let model = LocalModel::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let generator = LocalGenerator::new(model.into(), Options::default())?;
//! # let _ = generator; Ok(())
//! # }
//! ```

mod error;
mod generator;
mod gguf;
mod kv;
mod load;
mod model;
pub mod models;
mod options;
mod prefix;
mod quant;
mod sample;
mod scheduler;
mod share;
mod team;
mod tokenizer;

pub use error::Error;
pub(crate) use error::plain;
pub use kv::{FrozenKv, KvCache};
pub use load::LocalModel;
pub use model::{Config, Llama, Segment};
pub use options::Options;
pub use quant::Kernels;
pub use scheduler::LocalGenerator;
pub use share::{MIN_SHARED_PREFIX, PrefixStats};
pub use tokenizer::Tokenizer;
