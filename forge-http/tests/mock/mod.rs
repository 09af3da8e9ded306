//! A loopback model server for tests and benchmarks: speaks vLLM, SGLang, llama.cpp's native
//! endpoint or plain streamed OpenAI completions, over a scripted model, with injectable faults.
//! Binds 127.0.0.1 on a free port; stops when dropped.
//!
//! Each behaviour imitates the real server and cites the server source it comes from
//! (vLLM and llama.cpp 2026 trees, SGLang late 2025/2026; see `DIALECTS.md` of the engines
//! notes): the stop each server reports, its trimming, its token counts (the end-of-sequence
//! token included), its stream chunks, its errors, its start-up and its context limit.

#![allow(dead_code)]
// A zero linger makes dropping the socket send a reset, which is the point here.
#![allow(deprecated)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod model;
mod stream;

#[allow(unused_imports)]
pub use model::{Generated, StopRule, generate, generate_by};
use stream::Usage;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The server kinds the mock imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Vllm,
    Sglang,
    LlamaCpp,
    OpenAi,
}

/// What the model would generate for a prompt: these tokens, then the end of sequence (or, if
/// `eos` is false, filler tokens `" ~"` forever).
#[derive(Clone, Debug)]
pub struct Output {
    pub tokens: Vec<String>,
    pub eos: bool,
}

pub type Model = Arc<dyn Fn(&str) -> Output + Send + Sync>;

/// A fault to inject into the next completion request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, JSON error message and optional `Retry-After`.
    Status(u16, &'static str, Option<&'static str>),
    /// Send the headers and part of the answer, then reset the connection.
    Reset,
    /// Wait this long before answering.
    Slow(Duration),
    /// Accept the request, then fail the generation inside the answer: a stream sends two
    /// text chunks, then `data: {"error": {"message", "code"}}` and `data: [DONE]` (vLLM
    /// `completion/serving.py` and SGLang `serving_completions.py` on an exception while
    /// streaming); a complete answer ends with `finish_reason: "error"` (vLLM
    /// `v1/engine/__init__.py` FINISH_REASON_STRINGS).
    Failed(u16, &'static str),
}

/// How an OpenAI-kind mock streams: as a plain OpenAI-compatible server (one event per token,
/// `finish_reason` in its own empty event, no usage), as vLLM, or as llama.cpp's
/// `/v1/completions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streaming {
    Plain,
    /// vLLM `completion/serving.py`: two tokens per chunk (`--stream-interval 2`, or
    /// speculative decoding), an empty-text chunk before each (token ids whose text is an
    /// incomplete UTF-8 character), `finish_reason` on the last text chunk, usage only with
    /// `stream_options.include_usage` (in every chunk with `continuous_usage_stats`), the
    /// end-of-sequence token counted.
    Vllm,
    /// llama.cpp `server-context.cpp`: `: ping` comments between events (`sse_ping_interval`),
    /// usage always in the final chunk, the end-of-sequence token counted (`n_decoded`).
    LlamaCpp,
}

/// One completion request the mock received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub body: serde_json::Value,
    pub authorization: Option<String>,
    pub at: Instant,
    pub answered: Option<Instant>,
}

#[derive(Default)]
struct State {
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
}

/// A running mock server.
pub struct Mock {
    pub url: String,
    state: Arc<Mutex<State>>,
    active: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How the answer's body is written: in one piece, or in pieces of this many bytes, each
/// flushed separately (so that events and patterns arrive split).
#[derive(Clone, Copy)]
pub struct Options {
    pub piece: Option<usize>,
    /// Advertise the dialect at /v1/models (`owned_by`) and the native probe endpoints.
    pub advertise: bool,
    /// Keep every request for [`Mock::seen`] (off for benchmarks).
    pub record: bool,
    /// How an OpenAI-kind mock streams (and which server `/v1/models` names).
    pub streaming: Streaming,
    /// Answer 503 "Loading model" on every route, `/health` included, for this long after
    /// start (llama.cpp `server.cpp` middleware while the model loads; SGLang `/health`).
    pub loading: Option<Duration>,
    /// The context of one slot, in tokens (the mock's prompt tokens are its bytes). llama.cpp
    /// (`server-context.cpp`, context shift off by default) stops a full slot with
    /// `stop_type: "limit"` and `truncated: true`; vLLM (`serve/utils/api_utils.py`
    /// `get_max_tokens`) clamps `max_tokens` to what is left and answers `length`.
    pub context: Option<u32>,
    /// llama.cpp router mode (`--models-dir`): a `/completion` without `model` gets 400
    /// "model name is missing from the request".
    pub router: bool,
    /// llama.cpp before the late-2024 server refactor (and the ik_llama.cpp fork): the
    /// booleans `stopped_word`, `stopped_eos`, `stopped_limit` instead of `stop_type`.
    pub legacy: bool,
    /// SGLang's `enable_deterministic_inference` server argument, as `/server_info` reports
    /// it.
    pub deterministic: bool,
    /// vLLM: the end of sequence came from a generation-config stop token id, which
    /// `stop_reason` reports as an integer (`v1/core/sched/utils.py::check_stop`).
    pub eos_token_id: bool,
    /// A catch-all proxy or single-page app in front: every unknown GET route answers 200 with
    /// an HTML page.
    pub catch_all: bool,
    /// llama.cpp `-r` (reverse prompts): a request whose `stop` list is empty (or absent, or
    /// only empty strings) gets these instead (`server-schema.cpp` `params_from_json_cmpl`:
    /// `if (antiprompt.empty()) antiprompt = params_base.antiprompt`).
    pub antiprompts: &'static [&'static str],
}

impl Default for Options {
    fn default() -> Self {
        Options {
            piece: None,
            advertise: true,
            record: true,
            streaming: Streaming::Plain,
            loading: None,
            context: None,
            router: false,
            legacy: false,
            deterministic: false,
            eos_token_id: false,
            catch_all: false,
            antiprompts: &[],
        }
    }
}

impl Mock {
    pub fn start(kind: Kind, model: Model) -> Mock {
        Mock::start_with(kind, model, Options::default())
    }

    pub fn start_with(kind: Kind, model: Model, options: Options) -> Mock {
        let state = Arc::new(Mutex::new(State::default()));
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let server = Server {
            started: Instant::now(),
            kind,
            model,
            options,
            state: Arc::clone(&state),
            active: Arc::clone(&active),
            peak: Arc::clone(&peak),
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("mock runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("addr");
                url_tx.send(format!("http://{addr}")).expect("url");
                let server = Arc::new(server);
                let accept = async {
                    loop {
                        let Ok((socket, _)) = listener.accept().await else {
                            continue;
                        };
                        let server = Arc::clone(&server);
                        tokio::spawn(async move { server.connection(socket).await });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("mock started");
        Mock {
            url,
            state,
            active,
            peak,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Queue faults for the next completion requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// The completion requests received so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The most completion requests that were being answered at once.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Server {
    started: Instant,
    kind: Kind,
    model: Model,
    options: Options,
    state: Arc<Mutex<State>>,
    active: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

struct HttpRequest {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    let mut authorization = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "authorization" => authorization = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(HttpRequest {
        method,
        path,
        authorization,
        body,
    })
}

/// A JSON error body as vLLM, SGLang and llama.cpp send it.
fn error_body(code: u16, message: &str) -> Vec<u8> {
    serde_json::json!({"error": {"message": message, "code": code, "type": "mock_error"}})
        .to_string()
        .into_bytes()
}

impl Server {
    async fn connection(&self, socket: TcpStream) {
        let mut reader = BufReader::new(socket);
        while let Some(request) = read_request(&mut reader).await {
            let keep = self.answer(&mut reader, request).await;
            if !keep {
                return;
            }
        }
    }

    async fn write(&self, socket: &mut BufReader<TcpStream>, bytes: &[u8]) -> bool {
        socket.get_mut().write_all(bytes).await.is_ok() && socket.get_mut().flush().await.is_ok()
    }

    async fn respond(
        &self,
        socket: &mut BufReader<TcpStream>,
        status: u16,
        extra: &str,
        body: &[u8],
    ) -> bool {
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
            body.len()
        );
        let mut all = head.into_bytes();
        all.extend_from_slice(body);
        match self.options.piece {
            Some(n) => {
                for piece in all.chunks(n) {
                    if !self.write(socket, piece).await {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                true
            }
            None => self.write(socket, &all).await,
        }
    }

    /// Answers one request; false when the connection must close.
    async fn answer(&self, socket: &mut BufReader<TcpStream>, request: HttpRequest) -> bool {
        let json = |v: serde_json::Value| v.to_string().into_bytes();
        if self
            .options
            .loading
            .is_some_and(|d| self.started.elapsed() < d)
        {
            // llama.cpp `server.cpp`: every route, `/health` included, while the model loads.
            let body = error_body(503, "Loading model");
            return self.respond(socket, 503, "", &body).await;
        }
        let owner = match (self.kind, self.options.streaming) {
            (Kind::Vllm, _) | (Kind::OpenAi, Streaming::Vllm) => "vllm",
            (Kind::Sglang, _) => "sglang",
            (Kind::LlamaCpp, _) | (Kind::OpenAi, Streaming::LlamaCpp) => "llamacpp",
            (Kind::OpenAi, Streaming::Plain) => "someone",
        };
        let llama = self.kind == Kind::LlamaCpp || owner == "llamacpp";
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/health") => {
                let body = json(serde_json::json!({"status": "ok"}));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/v1/models") => {
                let owner = if self.options.advertise {
                    owner
                } else {
                    "organization-owner"
                };
                let mut card =
                    serde_json::json!({"id": "mock-model", "object": "model", "owned_by": owner});
                // vLLM and SGLang `ModelCard.max_model_len`.
                if let (Some(c), "vllm" | "sglang") = (self.options.context, owner) {
                    card["max_model_len"] = c.into();
                }
                let body = json(serde_json::json!({"object": "list", "data": [card]}));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/props") if llama => {
                // README `GET /props`: the slot's settings with its context `n_ctx`; a GGUF
                // with `general.sampling.*` (or `--repeat-penalty`) changes the defaults.
                let body = json(serde_json::json!({
                    "total_slots": 4,
                    "default_generation_settings": {
                        "n_ctx": self.options.context.unwrap_or(4096),
                        "params": {"top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1, "typical_p": 1.0}
                    },
                    "build_info": "b-mock",
                }));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/server_info" | "/get_server_info") if self.kind == Kind::Sglang => {
                // SGLang `http_server.py`: the server arguments, scheduler info and version.
                let body = json(serde_json::json!({
                    "version": "0.5-mock",
                    "model_path": "mock-model",
                    "tp_size": 1,
                    "enable_deterministic_inference": self.options.deterministic,
                    "context_length": self.options.context,
                }));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/version") if owner == "vllm" => {
                // vLLM `entrypoints/openai/basic/api_router.py`: `{"version": VLLM_VERSION}`.
                let body = json(serde_json::json!({"version": "0.11-mock"}));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", _) if self.options.catch_all => {
                let page = b"<!doctype html><title>app</title>";
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n",
                    page.len()
                );
                return self.write(socket, &[head.as_bytes(), page].concat()).await;
            }
            ("POST", "/v1/completions") if self.kind != Kind::LlamaCpp => {}
            ("POST", "/completion") if self.kind == Kind::LlamaCpp => {}
            _ => {
                let body = json(serde_json::json!({"error": {"message": "no such route"}}));
                return self.respond(socket, 404, "", &body).await;
            }
        }
        let body: serde_json::Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => {
                let body =
                    json(serde_json::json!({"error": {"message": format!("bad JSON: {e}")}}));
                return self.respond(socket, 400, "", &body).await;
            }
        };
        let index = if !self.options.record {
            None
        } else {
            let mut state = self.state.lock().unwrap();
            state.seen.push(Seen {
                path: request.path.clone(),
                body: body.clone(),
                authorization: request.authorization.clone(),
                at: Instant::now(),
                answered: None,
            });
            Some(state.seen.len() - 1)
        };
        let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let fault = self.state.lock().unwrap().faults.pop_front();
        let keep = self.complete(socket, &body, fault).await;
        self.active.fetch_sub(1, Ordering::SeqCst);
        if let Some(index) = index {
            self.state.lock().unwrap().seen[index].answered = Some(Instant::now());
        }
        keep
    }

    /// A request the server refuses before generating: 400 with its message.
    fn refusal(&self, body: &serde_json::Value, prompt_tokens: u32) -> Option<String> {
        if self.kind == Kind::LlamaCpp
            && self.options.router
            && body.get("model").and_then(|m| m.as_str()).is_none()
        {
            // llama.cpp router mode (`server-models.cpp`).
            return Some("model name is missing from the request".into());
        }
        if self.kind == Kind::Sglang && body.get("top_k").and_then(|k| k.as_i64()) == Some(0) {
            // SGLang `sampling_params.py::verify`.
            return Some("top_k must be -1 (disable), or at least 1, got 0.".into());
        }
        if let Some(c) = self.options.context
            && prompt_tokens >= c
        {
            return Some(format!(
                "the request exceeds the available context size ({prompt_tokens} >= {c})"
            ));
        }
        None
    }

    async fn complete(
        &self,
        socket: &mut BufReader<TcpStream>,
        body: &serde_json::Value,
        fault: Option<Fault>,
    ) -> bool {
        match fault {
            Some(Fault::Status(status, message, retry_after)) => {
                let extra = retry_after
                    .map(|r| format!("retry-after: {r}\r\n"))
                    .unwrap_or_default();
                return self
                    .respond(socket, status, &extra, &error_body(status, message))
                    .await;
            }
            Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
            _ => {}
        }
        let reset = matches!(fault, Some(Fault::Reset));
        let failed = match fault {
            Some(Fault::Failed(code, message)) => Some((code, message)),
            _ => None,
        };
        let prompt = body["prompt"].as_str().unwrap_or_default();
        let prompt_tokens = prompt.len() as u32;
        if let Some(message) = self.refusal(body, prompt_tokens) {
            return self
                .respond(socket, 400, "", &error_body(400, &message))
                .await;
        }
        let asked = body
            .get(if self.kind == Kind::LlamaCpp {
                "n_predict"
            } else {
                "max_tokens"
            })
            .and_then(|v| v.as_u64())
            .unwrap_or(16) as u32;
        // What fits in the slot: the rest of the context.
        let room = self
            .options
            .context
            .map_or(u32::MAX, |c| c.saturating_sub(prompt_tokens));
        let max_tokens = asked.min(room);
        let truncated = max_tokens < asked;
        let mut stop: Vec<String> = body
            .get("stop")
            .and_then(|s| s.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let llama = self.kind == Kind::LlamaCpp || self.options.streaming == Streaming::LlamaCpp;
        let antiprompt = llama && stop.is_empty() && !self.options.antiprompts.is_empty();
        if antiprompt {
            stop = self
                .options
                .antiprompts
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        }
        let rule = match self.kind {
            Kind::LlamaCpp => StopRule::EarliestStart,
            _ => StopRule::ListOrder,
        };
        let output = (self.model)(prompt);
        let generated = generate_by(&output, &stop, max_tokens, rule);
        // All three servers count the end-of-sequence token (vLLM `len(output.token_ids)`,
        // SGLang `len(output_ids)`, llama.cpp `n_decoded`).
        let counted = generated.tokens + u32::from(generated.eos);
        if self.kind == Kind::OpenAi {
            let include_usage = body.pointer("/stream_options/include_usage") == Some(&true.into());
            let continuous =
                body.pointer("/stream_options/continuous_usage_stats") == Some(&true.into());
            let usage = Usage {
                prompt: prompt_tokens,
                include: include_usage,
                continuous,
            };
            // llama.cpp's `/v1/completions` at an antiprompt: the text before it, then
            // `finish_reason: "stop"` (`to_json_oaicompat`: a word stop and the end of
            // sequence both read "stop").
            let generated = match generated.stop_start {
                Some(start) if antiprompt => generated.cut_at(start),
                _ => generated,
            };
            return self.stream(socket, &generated, usage, reset, failed).await;
        }
        let answer = match self.kind {
            Kind::LlamaCpp => {
                // Native endpoint (`server-task.cpp::to_json_non_oaicompat`): the content
                // stops before the stop text (README: stop words "will not be included").
                let (content, stop_type, word) = match (generated.stop, generated.stop_start) {
                    (Some(i), Some(start)) => {
                        (generated.text[..start].to_owned(), "word", stop[i].clone())
                    }
                    _ if generated.eos => (generated.text.clone(), "eos", String::new()),
                    _ => (generated.text.clone(), "limit", String::new()),
                };
                if self.options.legacy {
                    serde_json::json!({
                        "content": content,
                        "stop": true,
                        "stopped_word": stop_type == "word",
                        "stopped_eos": stop_type == "eos",
                        "stopped_limit": stop_type == "limit",
                        "stopping_word": word,
                        "tokens_predicted": counted,
                        "tokens_evaluated": prompt_tokens,
                    })
                } else {
                    serde_json::json!({
                        "content": content,
                        "stop": true,
                        "stop_type": stop_type,
                        "stopping_word": word,
                        "truncated": truncated && stop_type == "limit",
                        "tokens_predicted": counted,
                        "tokens_evaluated": prompt_tokens,
                    })
                }
            }
            _ => {
                let finish = if failed.is_some() {
                    "error"
                } else if generated.stop.is_some() || generated.eos {
                    "stop"
                } else {
                    "length"
                };
                let text = match (self.kind, generated.stop_start) {
                    // vLLM `detokenizer.py::check_stop_strings`: with
                    // `include_stop_str_in_output`, cut at the stop's end, else at its start.
                    (Kind::Vllm, Some(start)) => {
                        if body.get("include_stop_str_in_output") == Some(&true.into()) {
                            generated.text.clone()
                        } else {
                            generated.text[..start].to_owned()
                        }
                    }
                    // SGLang `detokenizer_manager.py::trim_matched_stop`: `no_stop_trim` keeps
                    // the whole output, up to the end of the token that completed the stop;
                    // else the output is cut where the matched stop starts.
                    (_, Some(start)) => {
                        if body.get("no_stop_trim") == Some(&true.into()) {
                            generated.pieces.concat()
                        } else {
                            generated.text[..start].to_owned()
                        }
                    }
                    _ => generated.text.clone(),
                };
                let reported = match generated.stop {
                    Some(i) => serde_json::Value::from(stop[i].clone()),
                    // SGLang: `FINISH_MATCHED_TOKEN(matched=<eos id>)`.
                    None if generated.eos && self.kind == Kind::Sglang => 2.into(),
                    // vLLM: a generation-config stop token id is reported as an integer.
                    None if generated.eos && self.options.eos_token_id => 151_643.into(),
                    None => serde_json::Value::Null,
                };
                let key = if self.kind == Kind::Vllm {
                    "stop_reason"
                } else {
                    "matched_stop"
                };
                serde_json::json!({
                    "id": "cmpl-mock",
                    "object": "text_completion",
                    "model": "mock-model",
                    "choices": [{"index": 0, "text": text, "finish_reason": finish, key: reported}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": counted},
                })
            }
        };
        let bytes = answer.to_string().into_bytes();
        if reset {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                bytes.len()
            );
            let _ = self.write(socket, head.as_bytes()).await;
            let _ = self.write(socket, &bytes[..bytes.len() / 2]).await;
            let _ = socket.get_ref().set_linger(Some(Duration::ZERO));
            return false;
        }
        self.respond(socket, 200, "", &bytes).await
    }
}
