//! How the HTTP generator is set up: endpoints, dialect, limits, timeouts, retries.

use std::fmt;
use std::time::Duration;

use forge_core::exec::RetryPolicy;

use crate::Dialect;
use crate::error::Error;

/// A secret sent as `Authorization: Bearer …`. Its `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKey(Option<String>);

impl ApiKey {
    /// No key: requests carry no `Authorization` header.
    pub fn none() -> ApiKey {
        ApiKey(None)
    }

    /// A key given directly. An empty string means no key.
    pub fn new(key: impl Into<String>) -> ApiKey {
        let key = key.into();
        ApiKey((!key.is_empty()).then_some(key))
    }

    /// The key from the environment: `FORGE_API_KEY`, falling back to `OPENAI_API_KEY`; no key
    /// when neither is set (or both are empty).
    pub fn from_env() -> ApiKey {
        for name in ["FORGE_API_KEY", "OPENAI_API_KEY"] {
            if let Ok(key) = std::env::var(name)
                && !key.is_empty()
            {
                return ApiKey(Some(key));
            }
        }
        ApiKey(None)
    }

    /// Whether a key is set.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn bearer(&self) -> Option<String> {
        self.0.as_ref().map(|k| format!("Bearer {k}"))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "ApiKey(<redacted>)"
        } else {
            "ApiKey(none)"
        })
    }
}

/// One server (replica) to send requests to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The base URL, without a trailing `/` or `/v1` (`http://127.0.0.1:8000`).
    pub url: String,
    /// The most requests in flight on this endpoint at once; `None` means only the run's limit
    /// applies.
    pub max_in_flight: Option<usize>,
}

impl Endpoint {
    /// An endpoint from its base URL. A trailing `/` and a trailing `/v1` are removed, so the
    /// OpenAI-style base `http://host:8000/v1` works too.
    ///
    /// ```
    /// let e = forge_http::Endpoint::new("http://127.0.0.1:8000/v1/")?;
    /// assert_eq!(e.url, "http://127.0.0.1:8000");
    /// # Ok::<(), forge_http::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Endpoint, Error> {
        let mut url = url.trim().trim_end_matches('/');
        if let Some(base) = url.strip_suffix("/v1") {
            url = base;
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(Error::Config(format!(
                "endpoint `{url}` has no scheme: write it like http://127.0.0.1:8000"
            )));
        };
        if scheme != "http" && scheme != "https" {
            return Err(Error::Config(format!(
                "endpoint `{url}`: unsupported scheme `{scheme}` (use http or https)"
            )));
        }
        if scheme == "https" && !cfg!(feature = "tls") {
            return Err(Error::Config(format!(
                "endpoint `{url}` uses https, but forge-http was built without its `tls` feature"
            )));
        }
        if rest.is_empty() {
            return Err(Error::Config(format!("endpoint `{url}` has no host")));
        }
        Ok(Endpoint {
            url: url.to_owned(),
            max_in_flight: None,
        })
    }

    /// Parses the command-line form `URL` or `URL,K`, where `K` (an integer ≥ 1) is this
    /// endpoint's in-flight limit.
    ///
    /// ```
    /// let e = forge_http::Endpoint::parse("http://10.0.0.2:8000,64")?;
    /// assert_eq!((e.url.as_str(), e.max_in_flight), ("http://10.0.0.2:8000", Some(64)));
    /// # Ok::<(), forge_http::Error>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Endpoint, Error> {
        match spec.rsplit_once(',') {
            Some((url, limit)) => {
                let limit: usize = limit.trim().parse().ok().filter(|&k| k >= 1).ok_or_else(|| {
                    Error::Config(format!(
                        "endpoint `{spec}`: the in-flight limit after `,` must be an integer >= 1, got `{limit}`"
                    ))
                })?;
                Ok(Endpoint::new(url)?.with_max_in_flight(limit))
            }
            None => Endpoint::new(spec),
        }
    }

    /// Sets this endpoint's in-flight limit.
    pub fn with_max_in_flight(mut self, limit: usize) -> Endpoint {
        self.max_in_flight = Some(limit.max(1));
        self
    }
}

/// Everything the HTTP generator needs. Start from [`Config::new`] and chain the setters.
///
/// ```
/// use std::time::Duration;
/// use forge_http::{Config, Dialect, Endpoint};
///
/// let config = Config::new([Endpoint::new("http://127.0.0.1:8080")?])
///     .dialect(Dialect::LlamaCpp)
///     .max_in_flight(16)
///     .request_timeout(Duration::from_secs(120));
/// assert_eq!(config.max_in_flight_total(), 16);
/// # Ok::<(), forge_http::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) dialect: Dialect,
    pub(crate) model: Option<String>,
    pub(crate) max_in_flight: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) ready_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) error_budget: u64,
    pub(crate) warm_shared_prefix: usize,
    pub(crate) ignore_eos: bool,
    pub(crate) api_key: ApiKey,
    pub(crate) worker_threads: usize,
}

impl Config {
    /// The defaults, for these endpoints: dialect detected by a probe, 256 requests in flight,
    /// 10 min request timeout, 10 s connect timeout, up to 5 min of waiting for a loading server, 5 retries with backoff from 250 ms to
    /// 30 s, an error budget of 16 failed requests, no shared-prefix warm-up
    /// ([`warm_shared_prefix`](Config::warm_shared_prefix)), the API key from the environment
    /// ([`ApiKey::from_env`]), one I/O thread.
    pub fn new(endpoints: impl IntoIterator<Item = Endpoint>) -> Config {
        Config {
            endpoints: endpoints.into_iter().collect(),
            dialect: Dialect::Auto,
            model: None,
            max_in_flight: 256,
            request_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(10),
            ready_timeout: Duration::from_secs(300),
            retry: RetryPolicy::new(5, Duration::from_millis(250), Duration::from_secs(30)),
            error_budget: 16,
            warm_shared_prefix: 0,
            ignore_eos: false,
            api_key: ApiKey::from_env(),
            worker_threads: 1,
        }
    }

    /// The server's dialect; [`Dialect::Auto`] (the default) probes the first endpoint.
    pub fn dialect(mut self, dialect: Dialect) -> Config {
        self.dialect = dialect;
        self
    }

    /// The `model` field of every request. By default, the first model the server lists at
    /// `/v1/models` (a single-model llama.cpp server ignores it; a router-mode one needs it).
    pub fn model(mut self, model: impl Into<String>) -> Config {
        self.model = Some(model.into());
        self
    }

    /// The most requests in flight across all endpoints (at least 1; default 256, sized for a
    /// GPU server). Each endpoint's own limit applies on top.
    pub fn max_in_flight(mut self, limit: usize) -> Config {
        self.max_in_flight = limit.max(1);
        self
    }

    /// The run-wide in-flight limit: the smaller of [`Config::max_in_flight`] and the sum of the
    /// endpoints' limits.
    pub fn max_in_flight_total(&self) -> usize {
        let per_endpoint: Option<usize> = self
            .endpoints
            .iter()
            .map(|e| e.max_in_flight)
            .sum::<Option<usize>>();
        per_endpoint.map_or(self.max_in_flight, |sum| sum.min(self.max_in_flight))
    }

    /// How long one attempt may take, from sending to the last byte of the answer. A timed-out
    /// attempt is retried like a connection error.
    pub fn request_timeout(mut self, timeout: Duration) -> Config {
        self.request_timeout = timeout;
        self
    }

    /// How long connecting to a server may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Config {
        self.connect_timeout = timeout;
        self
    }

    /// How long the start-up probe waits for a server that is still loading its model (its
    /// `GET /health` answers 503, as llama.cpp's and SGLang's do) before failing. A server that
    /// cannot be reached at all fails at once.
    pub fn ready_timeout(mut self, timeout: Duration) -> Config {
        self.ready_timeout = timeout;
        self
    }

    /// How a request is retried after a connection error, a timeout, a 429 or a 5xx (a 4xx
    /// other than 429 is never retried). The delay before retry `n` is the policy's
    /// [`delay`](RetryPolicy::delay)`(n)` with jitter: a uniform draw in its upper half. A
    /// `Retry-After` header (seconds, or an HTTP date: the time until then) raises it to the
    /// server's figure (honoured up to an hour). Default 5 retries, from 250 ms to 30 s.
    pub fn retry(mut self, policy: RetryPolicy) -> Config {
        self.retry = RetryPolicy::new(policy.retries, policy.backoff, policy.backoff_max);
        self
    }

    /// Sets the [`retry`](Config::retry) policy's number of retries only.
    pub fn max_retries(mut self, retries: u32) -> Config {
        self.retry.retries = retries;
        self
    }

    /// Sets the [`retry`](Config::retry) policy's delays only: `base · 2ⁿ`, capped at `max`.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Config {
        self.retry = RetryPolicy::new(self.retry.retries, base, max);
        self
    }

    /// The retry policy ([`Config::retry`]).
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// How many requests may fail for good (after their retries) before the whole run stops
    /// with [`Error::Budget`]. A failed request fails its stream; the other streams go on until
    /// the budget is spent.
    pub fn error_budget(mut self, budget: u64) -> Config {
        self.error_budget = budget;
        self
    }

    /// When several streams start at once on an endpoint and their first prompts share a prefix
    /// of at least `min_bytes` bytes, that prefix is sent once (one token generated, discarded)
    /// before fanning out, so the server's prefix cache holds it. `0` (the default) disables
    /// this.
    ///
    /// It pays only where the server shares one prefix cache across all requests (vLLM's
    /// automatic prefix caching, SGLang's radix cache), so that the streams reuse what the
    /// warm-up computed; forge's own benchmarks could not measure that (no such server on their
    /// machines). llama.cpp's server keeps a prefix per slot and reuses it in that slot only: 16
    /// streams sharing a 1,400-token prefix on 16 slots took the same time with and without the
    /// warm-up (BENCHMARKS.md in the repository), so there it only delays the first requests.
    pub fn warm_shared_prefix(mut self, min_bytes: usize) -> Config {
        self.warm_shared_prefix = min_bytes;
        self
    }

    /// Ask the server to ignore the model's end of sequence (vLLM, SGLang and llama.cpp; for
    /// benchmarks with fixed lengths).
    pub fn ignore_eos(mut self, ignore: bool) -> Config {
        self.ignore_eos = ignore;
        self
    }

    /// The API key (by default from the environment, see [`ApiKey::from_env`]).
    pub fn api_key(mut self, key: ApiKey) -> Config {
        self.api_key = key;
        self
    }

    /// How many threads do the HTTP work (at least 1; default 1, which keeps up with a GPU
    /// server: the client's cost per request is a few tens of microseconds).
    pub fn worker_threads(mut self, threads: usize) -> Config {
        self.worker_threads = threads.max(1);
        self
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.endpoints.is_empty() {
            return Err(Error::Config(
                "no endpoint: give at least one server URL".into(),
            ));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if self.endpoints[..i].iter().any(|o| o.url == e.url) {
                return Err(Error::Config(format!(
                    "endpoint {} is given twice; give each replica once (with `,K` for its limit)",
                    e.url
                )));
            }
        }
        if self.request_timeout.is_zero() {
            return Err(Error::Config(
                "the request timeout must be above zero".into(),
            ));
        }
        Ok(())
    }
}
