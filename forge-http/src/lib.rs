//! Run forge workflows against model servers over HTTP: vLLM, SGLang, llama.cpp's server, and
//! any OpenAI-compatible completions endpoint.
//!
//! [`HttpGenerator`] implements forge's [`Generator`](forge_core::exec::Generator) contract: the
//! automaton of every stream runs on the client, the batching is left to the server. Many
//! requests are in flight at once (256 by default, sized for a GPU server), each stream's next
//! request goes out as soon as its reply arrives, streams are pinned to one of several replicas,
//! and transient faults are retried with backoff. See [`Dialect`] for what each server dialect
//! relies on.
//!
//! ```no_run
//! use forge_http::{Config, Dialect, Endpoint, HttpGenerator};
//!
//! let config = Config::new([
//!     Endpoint::parse("http://10.0.0.1:8000,128")?,
//!     Endpoint::parse("http://10.0.0.2:8000,128")?,
//! ])
//! .dialect(Dialect::Vllm);
//! let generator = HttpGenerator::connect(config)?;
//! // Hand `generator` to forge's runner.
//! # drop(generator);
//! # Ok::<(), forge_http::Error>(())
//! ```
//!
//! The API key comes from `FORGE_API_KEY`, falling back to `OPENAI_API_KEY`; it is sent as a
//! bearer token and never printed ([`ApiKey`]'s `Debug` redacts it). HTTPS needs the `tls`
//! feature.

mod answer;
mod body;
mod client;
mod config;
mod dialect;
mod error;
mod fault;
mod probe;

pub use client::{EndpointStats, EndpointTable, HttpGenerator};
pub use config::{ApiKey, Config, Endpoint};
pub use dialect::Dialect;
pub use error::Error;
pub use probe::ServerInfo;

/// Probes the endpoints as [`HttpGenerator::connect`] does (waiting for a loading server,
/// detecting the dialect when it is [`Dialect::Auto`], reading the slot context and the
/// caveats), without starting a generator: what `forge probe` prints.
pub fn probe(config: &Config) -> Result<ServerInfo, Error> {
    config.validate()?;
    let (runtime, client, auth) = client::start(config)?;
    runtime.block_on(probe::probe_all(&client, auth.as_ref(), config))
}
