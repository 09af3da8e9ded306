//! A loopback model server for tests and benchmarks: speaks vLLM, SGLang, llama.cpp's native
//! endpoint or plain streamed OpenAI completions, over a scripted model, with injectable faults.
//! Binds 127.0.0.1 on a free port; stops when dropped.

#![allow(dead_code)]
// A zero linger makes dropping the socket send a reset, which is the point here.
#![allow(deprecated)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forge_core::exec::{StopScanner, StopSet};
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            piece: None,
            advertise: true,
            record: true,
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

/// What the mock model generates under a server's stop handling: the text up to and including
/// the first stop (by forge's rule, `exec::StopScanner`), the tokens used, and how it ended.
pub struct Generated {
    pub text: String,
    /// Where the stop starts in `text`, if one matched.
    pub stop_start: Option<usize>,
    pub stop: Option<usize>,
    pub tokens: u32,
    pub eos: bool,
    /// The tokens as generated (the last one whole, even if a stop matched inside it).
    pub pieces: Vec<String>,
}

pub fn generate(output: &Output, stop: &[String], max_tokens: u32) -> Generated {
    let mut text = String::new();
    let mut pieces = Vec::new();
    let set = StopSet::from(
        stop.iter()
            .map(|s| Arc::from(s.as_str()))
            .collect::<Vec<_>>(),
    );
    let mut scanner = StopScanner::new();
    for n in 0..max_tokens as usize {
        let token = match output.tokens.get(n) {
            Some(t) => t.clone(),
            None if output.eos => {
                return Generated {
                    text,
                    stop_start: None,
                    stop: None,
                    tokens: n as u32,
                    eos: true,
                    pieces,
                };
            }
            None => " ~".to_owned(),
        };
        text.push_str(&token);
        pieces.push(token);
        if let Some(hit) = scanner.scan(&set, text.as_bytes()) {
            text.truncate(hit.end);
            return Generated {
                text,
                stop_start: Some(hit.start),
                stop: Some(hit.index),
                tokens: n as u32 + 1,
                eos: false,
                pieces,
            };
        }
    }
    Generated {
        text,
        stop_start: None,
        stop: None,
        tokens: max_tokens,
        eos: false,
        pieces,
    }
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
        let owner = match self.kind {
            Kind::Vllm => "vllm",
            Kind::Sglang => "sglang",
            Kind::LlamaCpp => "llamacpp",
            Kind::OpenAi => "someone",
        };
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v1/models") => {
                let owner = if self.options.advertise {
                    owner
                } else {
                    "organization-owner"
                };
                let body = json(serde_json::json!({
                    "object": "list",
                    "data": [{"id": "mock-model", "object": "model", "owned_by": owner}]
                }));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/props") if self.kind == Kind::LlamaCpp => {
                let body = json(serde_json::json!({"total_slots": 4}));
                return self.respond(socket, 200, "", &body).await;
            }
            ("GET", "/get_server_info") if self.kind == Kind::Sglang => {
                let body = json(serde_json::json!({"version": "mock"}));
                return self.respond(socket, 200, "", &body).await;
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
                let body = serde_json::json!({"error": {"message": message}})
                    .to_string()
                    .into_bytes();
                return self.respond(socket, status, &extra, &body).await;
            }
            Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
            _ => {}
        }
        let reset = matches!(fault, Some(Fault::Reset));
        let prompt = body["prompt"].as_str().unwrap_or_default();
        let max_tokens = body
            .get(if self.kind == Kind::LlamaCpp {
                "n_predict"
            } else {
                "max_tokens"
            })
            .and_then(|v| v.as_u64())
            .unwrap_or(16) as u32;
        let stop: Vec<String> = body
            .get("stop")
            .and_then(|s| s.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let output = (self.model)(prompt);
        let generated = generate(&output, &stop, max_tokens);
        if self.kind == Kind::OpenAi {
            return self.stream(socket, &generated, reset).await;
        }
        let answer = match self.kind {
            Kind::LlamaCpp => {
                // Native endpoint: the content stops before the stop text.
                let (content, stop_type, word) = match (generated.stop, generated.stop_start) {
                    (Some(i), Some(start)) => {
                        (generated.text[..start].to_owned(), "word", stop[i].clone())
                    }
                    _ if generated.eos => (generated.text.clone(), "eos", String::new()),
                    _ => (generated.text.clone(), "limit", String::new()),
                };
                serde_json::json!({
                    "content": content,
                    "stop": true,
                    "stop_type": stop_type,
                    "stopping_word": word,
                    "tokens_predicted": generated.tokens,
                    "tokens_evaluated": prompt.len(),
                })
            }
            _ => {
                let finish = if generated.stop.is_some() || generated.eos {
                    "stop"
                } else {
                    "length"
                };
                let trim = match self.kind {
                    Kind::Vllm => body.get("include_stop_str_in_output") != Some(&true.into()),
                    _ => body.get("no_stop_trim") != Some(&true.into()),
                };
                let text = match (trim, generated.stop_start) {
                    (true, Some(start)) => generated.text[..start].to_owned(),
                    _ => generated.text.clone(),
                };
                let reported = match generated.stop {
                    Some(i) => serde_json::Value::from(stop[i].clone()),
                    None if generated.eos && self.kind == Kind::Sglang => 2.into(),
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
                    "usage": {"prompt_tokens": prompt.len(), "completion_tokens": generated.tokens},
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

    /// A streamed answer: one event per token (no stop was sent: the model runs until the
    /// client closes, the limit or the end of sequence), chunked transfer encoding.
    async fn stream(
        &self,
        socket: &mut BufReader<TcpStream>,
        generated: &Generated,
        reset: bool,
    ) -> bool {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        if !self.write(socket, head.as_bytes()).await {
            return false;
        }
        let mut events = String::new();
        for token in &generated.pieces {
            events.push_str(&format!(
                "data: {}\n\n",
                serde_json::json!({"choices": [{"index": 0, "text": token, "finish_reason": null}]})
            ));
        }
        // The stream of a real server would go on past a stop (none was sent): a few filler
        // tokens, then the limit.
        if generated.stop.is_some() {
            for _ in 0..3 {
                events.push_str(&format!(
                    "data: {}\n\n",
                    serde_json::json!({"choices": [{"index": 0, "text": " ~", "finish_reason": null}]})
                ));
            }
        }
        let finish = if generated.eos { "stop" } else { "length" };
        events.push_str(&format!(
            "data: {}\n\ndata: [DONE]\n\n",
            serde_json::json!({"choices": [{"index": 0, "text": "", "finish_reason": finish}]})
        ));
        let bytes = events.into_bytes();
        let piece = self.options.piece.unwrap_or(bytes.len().max(1));
        let pieces: Vec<&[u8]> = bytes.chunks(piece).collect();
        for (n, piece) in pieces.iter().enumerate() {
            if reset && n * 2 >= pieces.len() {
                let _ = socket.get_ref().set_linger(Some(Duration::ZERO));
                return false;
            }
            let chunk = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
            if !self.write(socket, &chunk).await {
                return false;
            }
            if self.options.piece.is_some() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        self.write(socket, b"0\r\n\r\n").await
    }
}
