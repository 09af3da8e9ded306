//! The generator: a tokio runtime of its own behind the blocking completion-queue API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forge_core::exec::{Completion, End, Generator, Reply, Request, RetryPolicy, StreamId};
use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::sync::{OnceCell, Semaphore, mpsc};

use crate::answer;
use crate::body::{self, BodyOptions};
use crate::config::Config;
use crate::dialect::{self, Dialect, StreamState, StreamStep};
use crate::error::Error;
use crate::fault::{Fault, retry_after, transport};
use crate::probe::ServerInfo;

/// A [`Generator`] that sends every request to a model server over HTTP.
///
/// It owns a small tokio runtime (one I/O thread by default), so its API stays blocking:
/// [`submit`](Generator::submit) starts a request and returns at once, and
/// [`wait`](Generator::wait) blocks until some have completed. Up to
/// [`capacity`](Generator::capacity) requests are in flight; each stream's next request goes out
/// as soon as the runner has its reply (no lock-step between streams).
///
/// - **Endpoints**: a stream is pinned to one endpoint for its whole life (so its continuations
///   hit that server's prefix cache); new streams go to the endpoint with the fewest pinned
///   streams relative to its in-flight limit.
/// - **Shared first prompt** (off by default): streams starting together on an endpoint whose
///   first prompts share a long prefix can wait until that prefix has been sent once
///   ([`Config::warm_shared_prefix`]).
/// - **Faults**: every attempt has a timeout; connection errors, timeouts, 429 and 5xx are
///   retried with exponential backoff and jitter (honouring `Retry-After`); other 4xx fail the
///   request at once with the server's message. A failed request fails its stream only, until
///   the run's error budget is spent: then [`wait`](Generator::wait) returns [`Error::Budget`].
///
/// Do not call it from inside an async runtime: `wait` blocks the thread.
///
/// ```no_run
/// use forge_http::{Config, Endpoint, HttpGenerator};
///
/// let generator = HttpGenerator::connect(Config::new([Endpoint::new("http://127.0.0.1:8080")?]))?;
/// println!("{} server, model {:?}", generator.dialect(), generator.model());
/// # Ok::<(), forge_http::Error>(())
/// ```
pub struct HttpGenerator {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Completion<Error>>,
    rx: mpsc::UnboundedReceiver<Completion<Error>>,
    in_flight: usize,
    capacity: usize,
    /// The endpoint of every stream seen (kept after release, for reporting).
    pins: EndpointTable,
    /// Live streams pinned to each endpoint.
    pinned: Vec<usize>,
    /// First requests of streams, held until `wait` so that a batch of them can share a warm-up.
    first: Vec<(usize, Request)>,
    failed: u64,
}

impl std::fmt::Debug for HttpGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpGenerator")
            .field("dialect", &self.shared.dialect)
            .field("model", &self.shared.model)
            .field("config", &self.shared.config)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

/// Which endpoint each stream was pinned to: a handle that stays usable while a runner
/// borrows the generator ([`HttpGenerator::endpoint_table`]).
#[derive(Clone, Debug)]
pub struct EndpointTable {
    urls: Arc<[String]>,
    pins: Arc<Mutex<HashMap<StreamId, u32>>>,
}

impl EndpointTable {
    /// The base URL of the endpoint `stream` was pinned to, if it made a request.
    pub fn get(&self, stream: StreamId) -> Option<&str> {
        let i = *self.lock().get(&stream)?;
        Some(&self.urls[i as usize])
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StreamId, u32>> {
        // A panic while holding the lock leaves the map whole (inserts are atomic).
        self.pins.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counters of one endpoint, as [`HttpGenerator::stats`] reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// The endpoint's base URL.
    pub url: String,
    /// Requests completed successfully.
    pub completed: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Requests that failed for good.
    pub failed: u64,
    /// Tokens generated.
    pub tokens: u64,
}

/// What the tasks share.
struct Shared {
    client: reqwest::Client,
    dialect: Dialect,
    model: String,
    auth: Option<HeaderValue>,
    config: Config,
    endpoints: Vec<EndpointState>,
    info: ServerInfo,
}

struct EndpointState {
    url: String,
    completions: String,
    permits: Semaphore,
    completed: AtomicU64,
    retries: AtomicU64,
    failed: AtomicU64,
    tokens: AtomicU64,
}

/// A shared prefix to send once before a batch of first requests fans out.
struct Warm {
    done: OnceCell<()>,
    prompt: String,
}

/// The I/O runtime, the HTTP client and the authorization header of a configuration.
pub(crate) fn start(
    config: &Config,
) -> Result<
    (
        tokio::runtime::Runtime,
        reqwest::Client,
        Option<HeaderValue>,
    ),
    Error,
> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads)
        .thread_name("forge-http")
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the I/O runtime: {e}")))?;
    let client = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
    let auth = match config.api_key.bearer() {
        Some(b) => {
            let mut value = HeaderValue::from_str(&b).map_err(|_| {
                Error::Config("the API key holds characters a header cannot carry".into())
            })?;
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };

    Ok((runtime, client, auth))
}

impl HttpGenerator {
    /// Starts the runtime, checks every endpoint and settles the dialect (probing when it is
    /// [`Dialect::Auto`]) and the model name. Fails early, naming the endpoint, when a server
    /// cannot be reached, refuses the API key, or cannot be identified.
    pub fn connect(config: Config) -> Result<HttpGenerator, Error> {
        config.validate()?;
        let (runtime, client, auth) = start(&config)?;
        let info = runtime.block_on(crate::probe::probe_all(&client, auth.as_ref(), &config))?;
        let dialect = info.dialect;
        let model = match (&config.model, &info.model) {
            (Some(m), _) => m.clone(),
            (None, Some(m)) => m.clone(),
            (None, None) if dialect.needs_model() => {
                return Err(Error::Probe {
                    endpoint: config.endpoints[0].url.clone(),
                    message: format!(
                        "the {dialect} server lists no model at /v1/models; give the model name \
                         the server expects"
                    ),
                });
            }
            (None, None) => String::new(),
        };
        let capacity = config.max_in_flight_total();
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| EndpointState {
                url: e.url.clone(),
                completions: format!("{}{}", e.url, dialect.path()),
                permits: Semaphore::new(e.max_in_flight.unwrap_or(capacity)),
                completed: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                tokens: AtomicU64::new(0),
            })
            .collect::<Vec<_>>();
        let pinned = vec![0; endpoints.len()];
        let pins = EndpointTable {
            urls: endpoints.iter().map(|e| e.url.clone()).collect(),
            pins: Arc::default(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(HttpGenerator {
            runtime,
            shared: Arc::new(Shared {
                client,
                dialect,
                model,
                auth,
                config,
                endpoints,
                info,
            }),
            tx,
            rx,
            in_flight: 0,
            capacity,
            pins,
            pinned,
            first: Vec::new(),
            failed: 0,
        })
    }

    /// The dialect in use (never [`Dialect::Auto`]: the probe's result).
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// What the start-up probe found out about the (first) server: its kind, slot context,
    /// and the caveats to tell the user once.
    pub fn server_info(&self) -> &ServerInfo {
        &self.shared.info
    }

    /// The model name sent in requests (empty for llama.cpp's native endpoint when none is
    /// listed).
    pub fn model(&self) -> &str {
        &self.shared.model
    }

    /// The base URL of the endpoint a stream was pinned to, if it made a request.
    pub fn endpoint_of(&self, stream: StreamId) -> Option<&str> {
        self.pins.get(stream)
    }

    /// A handle on the stream → endpoint table, usable while a runner borrows the generator.
    pub fn endpoint_table(&self) -> EndpointTable {
        self.pins.clone()
    }

    /// Per-endpoint counters so far.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.shared
            .endpoints
            .iter()
            .map(|e| EndpointStats {
                url: e.url.clone(),
                completed: e.completed.load(Ordering::Relaxed),
                retries: e.retries.load(Ordering::Relaxed),
                failed: e.failed.load(Ordering::Relaxed),
                tokens: e.tokens.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The endpoint of a stream: its pin, or a new pin on the least loaded endpoint.
    fn pin(&mut self, stream: StreamId) -> usize {
        if let Some(&i) = self.pins.lock().get(&stream) {
            return i as usize;
        }
        let weight = |i: usize| {
            self.shared.config.endpoints[i]
                .max_in_flight
                .unwrap_or(self.capacity)
        };
        // Fewest pinned streams per unit of in-flight limit: a·wb < b·wa.
        let best = (0..self.pinned.len())
            .min_by(|&a, &b| (self.pinned[a] * weight(b)).cmp(&(self.pinned[b] * weight(a))))
            .unwrap_or(0);
        self.pinned[best] += 1;
        self.pins.lock().insert(stream, best as u32);
        best
    }

    fn spawn(&self, endpoint: usize, request: Request, warm: Option<Arc<Warm>>) {
        let shared = Arc::clone(&self.shared);
        let tx = self.tx.clone();
        self.runtime.spawn(async move {
            if let Some(warm) = warm {
                warm.done
                    .get_or_init(|| shared.warm(endpoint, &warm.prompt, &request))
                    .await;
            }
            let result = shared.complete(endpoint, &request).await;
            let (id, stream) = (request.id(), request.stream());
            // The stream may append to its transcript without copying once this is dropped.
            drop(request);
            let _ = tx.send(Completion { id, stream, result });
        });
    }

    /// Sends the held first requests: per endpoint, a batch of two or more sharing a long
    /// prefix waits for that prefix to be sent once.
    fn flush_first(&mut self) {
        if self.first.is_empty() {
            return;
        }
        let min = self.shared.config.warm_shared_prefix;
        let mut batch = std::mem::take(&mut self.first);
        batch.sort_by_key(|(endpoint, _)| *endpoint);
        let mut warms: Vec<Option<Arc<Warm>>> = vec![None; self.pinned.len()];
        for (endpoint, warm) in warms.iter_mut().enumerate() {
            let group = batch.iter().filter(|(e, _)| *e == endpoint);
            if group.clone().count() < 2 {
                continue;
            }
            let shared = common_prefix(group.map(|(_, r)| r.context()));
            if shared.len() >= min {
                *warm = Some(Arc::new(Warm {
                    done: OnceCell::new(),
                    prompt: shared.to_owned(),
                }));
            }
        }
        for (endpoint, request) in batch {
            self.spawn(endpoint, request, warms[endpoint].clone());
        }
    }
}

/// The policy's delay jittered into its upper half, raised to the server's `Retry-After` (at
/// most an hour, see `fault::retry_after`).
fn jittered(delay: Duration, retry_after: Option<Duration>) -> Duration {
    let jittered = delay.mul_f64(rand::rng().random_range(0.5..=1.0));
    retry_after.map_or(jittered, |r| r.max(jittered))
}

/// The longest common prefix of some texts, cut at a character boundary.
fn common_prefix<'a>(mut texts: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = texts.next() else {
        return "";
    };
    let mut len = first.len();
    for t in texts {
        len = first
            .bytes()
            .zip(t.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

impl Generator for HttpGenerator {
    type Error = Error;

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn submit(&mut self, request: Request) {
        let endpoint = self.pin(request.stream());
        self.in_flight += 1;
        if self.shared.config.warm_shared_prefix > 0 && request.prefix_len() == 0 {
            self.first.push((endpoint, request));
        } else {
            self.spawn(endpoint, request, None);
        }
    }

    fn wait(&mut self, out: &mut Vec<Completion<Error>>) -> Result<(), Error> {
        self.flush_first();
        if self.in_flight == 0 {
            return Ok(());
        }
        let rx = &mut self.rx;
        let first = self.runtime.block_on(rx.recv());
        let mut last_failure = None;
        for completion in first
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            self.in_flight -= 1;
            if let Err(e) = &completion.result {
                self.failed += 1;
                last_failure = Some(e.clone());
            }
            out.push(completion);
        }
        let budget = self.shared.config.error_budget;
        match last_failure {
            Some(last) if self.failed > budget => Err(Error::Budget {
                failed: self.failed,
                budget,
                last: Box::new(last),
            }),
            _ => Ok(()),
        }
    }

    fn release(&mut self, stream: StreamId) {
        if let Some(&i) = self.pins.lock().get(&stream) {
            let i = i as usize;
            self.pinned[i] = self.pinned[i].saturating_sub(1);
        }
    }

    /// The [`Config::retry`] policy: the client sees the faults and retries them itself.
    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(self.shared.config.retry)
    }
}

impl Shared {
    fn body(&self, prompt: &str, request: &Request, max_tokens: u32) -> Vec<u8> {
        let options = BodyOptions {
            model: &self.model,
            ignore_eos: self.config.ignore_eos,
            server: self.info.server,
        };
        body::body(self.dialect, prompt, request, max_tokens, &options)
    }

    /// Sends a shared prefix once (one token, discarded); failures are ignored, the requests
    /// that wait for it go on either way.
    async fn warm(&self, endpoint: usize, prompt: &str, request: &Request) {
        let e = &self.endpoints[endpoint];
        let body = self.body(prompt, request, 1);
        let _permit = e.permits.acquire().await;
        let send = self.post(&e.completions, body).send();
        if let Ok(Ok(response)) = tokio::time::timeout(self.config.request_timeout, send).await {
            let _ = tokio::time::timeout(self.config.request_timeout, response.bytes()).await;
        }
    }

    /// A full-context end with the slot context the probe found.
    fn with_context(&self, mut reply: Reply) -> Reply {
        if let End::ContextFull { context, .. } = &mut reply.end {
            *context = context.or(self.info.slot_context);
        }
        reply
    }

    fn post(&self, url: &str, body: Vec<u8>) -> reqwest::RequestBuilder {
        let mut builder = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        builder
    }

    /// One request, with its retries.
    async fn complete(&self, endpoint: usize, request: &Request) -> Result<Reply, Error> {
        let e = &self.endpoints[endpoint];
        let body = self.body(request.context(), request, request.max_tokens());
        let timeout = self.config.request_timeout;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let outcome = {
                let _permit = e.permits.acquire().await;
                tokio::time::timeout(timeout, self.attempt(e, body.clone(), request)).await
            };
            let fault = match outcome {
                Ok(Ok(reply)) => {
                    e.completed.fetch_add(1, Ordering::Relaxed);
                    e.tokens
                        .fetch_add(u64::from(reply.tokens), Ordering::Relaxed);
                    return Ok(reply);
                }
                Ok(Err(fault)) => fault,
                Err(_) => Fault::Timeout,
            };
            let delay = match self.config.retry.after_failure(attempts) {
                Some(delay) if fault.retryable() => delay,
                _ => {
                    e.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(fault.into_error(&e.url, attempts, timeout));
                }
            };
            e.retries.fetch_add(1, Ordering::Relaxed);
            let after = match &fault {
                Fault::Status { retry_after, .. } => *retry_after,
                _ => None,
            };
            tokio::time::sleep(jittered(delay, after)).await;
        }
    }

    async fn attempt(
        &self,
        e: &EndpointState,
        body: Vec<u8>,
        request: &Request,
    ) -> Result<Reply, Fault> {
        let response = self
            .post(&e.completions, body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            return Err(Fault::Status {
                status: status.as_u16(),
                message: dialect::error_message(&body),
                retry_after,
            });
        }
        if self.dialect == Dialect::OpenAi {
            let mut response = response;
            let mut state = StreamState::new(request.stop()).limit(request.max_tokens());
            loop {
                match response.chunk().await.map_err(transport)? {
                    Some(chunk) => {
                        if let StreamStep::Done(reply) = state.feed(&chunk, request.stop())? {
                            // Dropping the response closes the request: the server stops.
                            return Ok(self.with_context(reply));
                        }
                    }
                    None => {
                        return state
                            .end_of_body(request.stop())
                            .map(|r| self.with_context(r));
                    }
                }
            }
        }
        let body = response.bytes().await.map_err(transport)?;
        answer::parse_answer(self.dialect, &body, request).map(|r| self.with_context(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes_stop_at_character_boundaries() {
        assert_eq!(common_prefix(["abcé", "abcè"].into_iter()), "abc");
        assert_eq!(common_prefix(["same", "same"].into_iter()), "same");
        assert_eq!(common_prefix(["x"].into_iter()), "x");
        assert_eq!(common_prefix(["ab", "b"].into_iter()), "");
    }
}
