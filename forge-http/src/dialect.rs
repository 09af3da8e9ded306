//! The server dialects: request bodies, answers, and how each turns into a [`Reply`].

use std::sync::Arc;

use forge_core::exec::{End, Reply, StopScanner, StopSet};
use serde::Deserialize;

use crate::fault::Fault;

/// Which server API the generator speaks.
///
/// Every dialect sends the whole transcript as a raw prompt (no chat template), the request's
/// temperature, top-p and seed, its token limit, and the model name (the first the server
/// lists, unless [`Config::model`](crate::Config::model) gives one). The servers fill every
/// sampling field a request leaves out from their own defaults (vLLM from the model's
/// `generation_config.json`, llama.cpp from the GGUF's `general.sampling.*` and its flags), so
/// each dialect also sends the neutral value of every such field, in the form that server
/// accepts (`top_k: 0` is "off" for llama.cpp and an error for SGLang). The dialects differ in
/// how the stop patterns are handled. Whatever the server does, the reply is brought to the
/// generator contract: the earliest-completed stop wins (vLLM and SGLang report the first in
/// list order among those one step completed, llama.cpp the earliest start), the
/// end-of-sequence token is not counted (all three servers count it), and a limit with fewer
/// tokens than asked is [`End::ContextFull`] (a full llama.cpp slot, vLLM's clamp of
/// `max_tokens` to the context). The runtime also re-scans every reply.
///
/// # [`Dialect::Vllm`]: vLLM, `POST /v1/completions`
///
/// | relies on | for |
/// |---|---|
/// | `stop` (any number of strings) | the server stops at a pattern, also inside a token |
/// | `include_stop_str_in_output: true` | the reply keeps the stop text (appended if a server trims it anyway) |
/// | `choices[0].stop_reason` | the stop string → [`End::Stop`]; `null` or a token id (a generation-config stop token) with `finish_reason: "stop"` → [`End::Eos`] |
/// | `finish_reason: "length"` | → [`End::Limit`], or [`End::ContextFull`] with fewer tokens than asked |
/// | `finish_reason: "error"` / `"abort"` | a failed generation, retried ([`Error::Generation`](crate::Error::Generation)) |
/// | `usage.completion_tokens` | the token count (less the end-of-sequence token) |
/// | `top_k: -1, min_p: 0, repetition_penalty: 1`, no presence or frequency penalty | the model's generation config does not apply |
/// | `ignore_eos` | sent only when [`Config::ignore_eos`](crate::Config::ignore_eos) is set |
/// | `seed` | the request's seed, reduced to 63 bits |
///
/// # [`Dialect::Sglang`]: SGLang, `POST /v1/completions`
///
/// | relies on | for |
/// |---|---|
/// | `stop` | as vLLM; the server trims the reply where the stop starts, and the stop is appended (`no_stop_trim` is not sent: it keeps the rest of the token that completed the stop) |
/// | `choices[0].matched_stop` | the stop string → [`End::Stop`]; a token id (the EOS token) or `null` with `finish_reason: "stop"` → [`End::Eos`] |
/// | `finish_reason`, `usage.completion_tokens`, neutral sampling values, `ignore_eos` | as vLLM |
/// | `seed` | **ignored** unless the server runs with `--enable-deterministic-inference` (SGLang before late 2025 ignores it always): the probe reads `/server_info` and reports it in [`ServerInfo::caveats`](crate::ServerInfo::caveats) |
///
/// # [`Dialect::LlamaCpp`]: llama.cpp's server, native `POST /completion`
///
/// | relies on | for |
/// |---|---|
/// | `stop`, `n_predict` | the stop patterns and the token limit; a zone with no pattern gets one string no model writes, because the server replaces an empty list by its `-r` antiprompts |
/// | `model` | a router-mode server (`--models-dir`) needs it; a single-model server ignores it |
/// | `cache_prompt: true` | the slot keeps the stream's KV cache, so a continuation only processes its new text |
/// | `stop_type` (`"word"`, `"limit"`, `"eos"`) and `stopping_word` | → [`End::Stop`] / [`End::Limit`] (or [`End::ContextFull`] when a full slot stopped it early) / [`End::Eos`] (older servers: `stopped_word`, `stopped_limit`, `stopped_eos`) |
/// | `content` without the stop text | the stop text is appended, so the reply ends with it |
/// | `tokens_predicted` | the token count (less the end-of-sequence token) |
/// | `top_k: 0, min_p: 0, repeat_penalty: 1, typical_p: 1, xtc_probability: 0, dry_multiplier: 0, mirostat: 0, top_n_sigma: -1`, no presence or frequency penalty | none of the server's sampling defaults (flags, GGUF metadata) apply |
/// | `seed` | the request's seed, reduced to 32 bits (`0xFFFFFFFF`, "random", avoided) |
///
/// llama.cpp's `/v1/completions` does not say which stop fired: drive it with
/// [`Dialect::OpenAi`] if you need that endpoint.
///
/// # [`Dialect::OpenAi`]: any OpenAI-compatible server, `POST /v1/completions` streamed
///
/// Such a server trims the stop text and does not say which stop fired, so no `stop` is sent
/// (to llama.cpp's server, one string no model writes, which keeps its `-r` antiprompts from
/// ending a zone as if at the end of sequence):
///
/// | relies on | for |
/// |---|---|
/// | `stream: true` (server-sent events, `data: {...}` lines, `data: [DONE]`; comments such as `: ping` skipped) | the text arrives chunk by chunk |
/// | client-side matching | after every chunk the text so far is searched for the stop patterns (a pattern split across chunks is found); at the first one the reply is cut right after it and the request is closed, which makes the server stop generating |
/// | `stream_options: {include_usage: true}` (and `continuous_usage_stats` for vLLM and SGLang) | the token count is the server's usage (a chunk may hold several tokens, or none); the number of text events when a server sends none |
/// | `finish_reason: "length"` / `"stop"` | → [`End::Limit`] (or [`End::ContextFull`]) / [`End::Eos`] (no stop was sent, so a server stop is the end of sequence) |
/// | an `error` event, `finish_reason: "error"` / `"abort"` | a failed generation with the server's message, retried unless its code is a client error |
/// | neutral sampling values | those of the server the probe identified behind the endpoint; an unidentified server gets only the OpenAI API's fields |
/// | `seed` | the request's seed, reduced to 63 bits (llama.cpp keeps the low 32) |
///
/// # [`Dialect::Auto`]: the capability probe
///
/// At start, each endpoint's `GET /health` is polled while it answers 503 (a server loading its
/// model), up to [`Config::ready_timeout`](crate::Config::ready_timeout). Then `GET /v1/models`:
/// `owned_by` `"vllm"`, `"sglang"` or `"llamacpp"` picks the dialect (the first listed model
/// also gives the `model` field). Else `GET /props` answering llama.cpp's fields picks
/// [`Dialect::LlamaCpp`], `GET /server_info` (or the older `/get_server_info`) answering
/// SGLang's settings (`version` with `tp_size` or `model_path`) picks [`Dialect::Sglang`],
/// `GET /version` answering exactly `{"version": …}` picks [`Dialect::Vllm`] (a vLLM behind a
/// proxy that rewrites `owned_by`), and a server that only lists models is [`Dialect::OpenAi`]. All endpoints must agree. The probe
/// also reads the context of a slot (llama.cpp `n_ctx`, vLLM and SGLang `max_model_len`) and
/// collects the caveats ([`ServerInfo`](crate::ServerInfo)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Detect the dialect with a capability probe at start.
    #[default]
    Auto,
    /// vLLM's OpenAI-compatible server.
    Vllm,
    /// SGLang's OpenAI-compatible server.
    Sglang,
    /// llama.cpp's `llama-server`, native completion endpoint.
    LlamaCpp,
    /// Any OpenAI-compatible completions server, streamed with client-side stop detection.
    OpenAi,
}

impl Dialect {
    /// Parses a dialect name: `auto`, `vllm`, `sglang`, `llama.cpp` (or `llamacpp`), `openai`.
    pub fn parse(name: &str) -> Option<Dialect> {
        Some(match name.to_ascii_lowercase().as_str() {
            "auto" => Dialect::Auto,
            "vllm" => Dialect::Vllm,
            "sglang" => Dialect::Sglang,
            "llama.cpp" | "llamacpp" | "llama-cpp" => Dialect::LlamaCpp,
            "openai" => Dialect::OpenAi,
            _ => return None,
        })
    }

    /// The dialect's name, as [`Dialect::parse`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Auto => "auto",
            Dialect::Vllm => "vllm",
            Dialect::Sglang => "sglang",
            Dialect::LlamaCpp => "llama.cpp",
            Dialect::OpenAi => "openai",
        }
    }

    /// The path requests go to.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Dialect::LlamaCpp => "/completion",
            _ => "/v1/completions",
        }
    }

    /// Whether the model name is a required field of the request (llama.cpp's native endpoint
    /// gets it when known, for a router-mode server, but a single-model server needs none).
    pub(crate) fn needs_model(self) -> bool {
        !matches!(self, Dialect::LlamaCpp)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A stop as a server reports it: the string, or a token id (the end of sequence, or a stop
/// token).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum StopValue {
    Text(String),
    // The token id's value is not used: any token stop is the end of sequence here.
    #[allow(dead_code)]
    Token(i64),
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub(crate) text: String,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
    /// vLLM.
    #[serde(default)]
    pub(crate) stop_reason: Option<StopValue>,
    /// SGLang.
    #[serde(default)]
    pub(crate) matched_stop: Option<StopValue>,
}

#[derive(Deserialize)]
pub(crate) struct Usage {
    pub(crate) completion_tokens: u32,
    #[serde(default)]
    pub(crate) prompt_tokens: Option<u32>,
}

/// The earliest-completed stop pattern in `text[from..]`: its end, start and index, by the
/// one rule of [`StopScanner`](forge_core::exec::StopScanner).
fn first_stop(text: &str, from: usize, stop: &[Arc<str>]) -> Option<(usize, usize, usize)> {
    let set = StopSet::from(stop.to_vec());
    let mut scanner = StopScanner::new();
    scanner.restart_at(from);
    scanner
        .scan(&set, text.as_bytes())
        .map(|hit| (hit.end, hit.start, hit.index))
}

/// Brings a server's reply to the generator contract:
/// - a stop the server chose by its own rule (vLLM and SGLang: the first in list order among
///   those one step completed; llama.cpp: the earliest start) is replaced by the
///   earliest-completed one, and the text cut after it;
/// - the servers count the end-of-sequence token in their usage (vLLM `completion/serving.py`
///   `len(output.token_ids)`, SGLang `len(output_ids)`, llama.cpp `n_decoded`), the contract
///   does not: one less when `eos_counted`;
/// - a limit with fewer tokens than asked is a full context (llama.cpp stops a full slot with
///   `limit`; vLLM clamps `max_tokens` to the context and answers `length`).
pub(crate) fn settle(
    mut text: String,
    mut tokens: u32,
    end: End,
    eos_counted: bool,
    prompt_tokens: Option<u32>,
    stop: &[Arc<str>],
    max_tokens: u32,
) -> Reply {
    let end = match end {
        End::Stop(index) => match first_stop(&text, 0, stop) {
            Some((cut, _, first)) if first != index || cut < text.len() => {
                text.truncate(cut);
                End::Stop(first)
            }
            _ => end,
        },
        End::Eos if eos_counted => {
            tokens = tokens.saturating_sub(1);
            end
        }
        End::Limit if tokens < max_tokens => End::ContextFull {
            context: None,
            needed: prompt_tokens.map(|p| p.saturating_add(max_tokens)),
        },
        other => other,
    };
    Reply { text, tokens, end }
}

/// A finish reason that means the server failed the generation (vLLM `error`, documented as
/// retryable; `abort`, SGLang's and vLLM's cancelled request), as a retryable fault.
pub(crate) fn failed_finish(reason: Option<&str>) -> Option<Fault> {
    match reason {
        Some(r @ ("error" | "abort")) => Some(Fault::Generation {
            message: format!("the generation ended with finish_reason {r:?}"),
            retryable: true,
        }),
        _ => None,
    }
}

/// One server-sent event of a streamed `/v1/completions` answer.
#[derive(Deserialize)]
struct StreamEvent {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
    /// An error event: `{"error": {...}}` (vLLM 2025+, SGLang, llama.cpp).
    #[serde(default)]
    error: Option<serde_json::Value>,
    /// `"error"` in vLLM's older flat error event `{"object": "error", "message": …}`.
    #[serde(default)]
    object: Option<String>,
}

/// Client-side reading of a streamed answer: splits server-sent events, accumulates the text,
/// finds the stop patterns across chunk boundaries.
pub(crate) struct StreamState {
    /// Bytes of an incomplete line.
    line: Vec<u8>,
    text: String,
    /// Text events received.
    events: u32,
    /// The server's token count so far (every chunk with vLLM's and SGLang's
    /// `continuous_usage_stats`, else the last chunk only).
    usage: Option<u32>,
    prompt_tokens: Option<u32>,
    finish: Option<String>,
    done: bool,
    /// The request's stop patterns, searched as the text grows by the one rule of
    /// [`StopScanner`] (a pattern split across chunks is found).
    stops: StopSet,
    scanner: StopScanner,
    /// The request's token limit (a `length` finish with fewer is a full context); 0: unknown.
    max_tokens: u32,
}

/// What a chunk of a streamed answer brought.
pub(crate) enum StreamStep {
    /// More to come.
    More,
    /// The reply is complete (a stop matched, or the server finished).
    Done(Reply),
}

/// An error event's fault: the server's message, retried unless its code is a client error
/// other than 408 and 429 (an error without a code is taken as transient).
fn error_event(value: &serde_json::Value) -> Fault {
    let code = value
        .pointer("/error/code")
        .or_else(|| value.get("code"))
        .and_then(serde_json::Value::as_u64);
    let retryable = code.is_none_or(|c| !(400..500).contains(&c) || c == 408 || c == 429);
    let message = error_message(value.to_string().as_bytes());
    Fault::Generation {
        message: match code {
            Some(c) => format!("error event in the stream (code {c}): {message}"),
            None => format!("error event in the stream: {message}"),
        },
        retryable,
    }
}

impl StreamState {
    pub(crate) fn new(stop: &[Arc<str>]) -> StreamState {
        StreamState {
            line: Vec::new(),
            text: String::new(),
            events: 0,
            usage: None,
            prompt_tokens: None,
            finish: None,
            done: false,
            stops: StopSet::from(stop.to_vec()),
            scanner: StopScanner::new(),
            max_tokens: 0,
        }
    }

    /// The request's token limit: a `length` finish with fewer tokens is a full context.
    pub(crate) fn limit(mut self, max_tokens: u32) -> StreamState {
        self.max_tokens = max_tokens;
        self
    }

    /// Feeds the next chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8], stop: &[Arc<str>]) -> Result<StreamStep, Fault> {
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let mut pending = std::mem::take(&mut self.line);
            let line: &[u8] = if pending.is_empty() {
                &rest[..nl]
            } else {
                pending.extend_from_slice(&rest[..nl]);
                &pending
            };
            let result = self.line_done(line, stop);
            pending.clear();
            self.line = pending;
            rest = &rest[nl + 1..];
            if let Some(reply) = result? {
                return Ok(StreamStep::Done(reply));
            }
        }
        self.line.extend_from_slice(rest);
        Ok(StreamStep::More)
    }

    /// Handles one complete line: a `data:` line is an event, an `error:` line (llama.cpp) an
    /// error; others (`: ping` comments, `event:`, blank separators) are skipped.
    fn line_done(&mut self, line: &[u8], stop: &[Arc<str>]) -> Result<Option<Reply>, Fault> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(data) = line.strip_prefix(b"error:") {
            let value = serde_json::from_slice(data.trim_ascii())
                .unwrap_or_else(|_| serde_json::Value::String(error_message(data)));
            return Err(error_event(&value));
        }
        match line.strip_prefix(b"data:") {
            Some(data) => self.event(data.strip_prefix(b" ").unwrap_or(data), stop),
            None => Ok(None),
        }
    }

    /// Handles one `data:` payload.
    fn event(&mut self, data: &[u8], stop: &[Arc<str>]) -> Result<Option<Reply>, Fault> {
        if data == b"[DONE]" {
            self.done = true;
            return self.finish(stop).map(Some);
        }
        let event: StreamEvent = serde_json::from_slice(data)
            .map_err(|e| Fault::Protocol(format!("not a /v1/completions stream event: {e}")))?;
        if event.error.is_some() || event.object.as_deref() == Some("error") {
            let value: serde_json::Value = serde_json::from_slice(data).unwrap_or_default();
            return Err(error_event(&value));
        }
        if let Some(u) = event.usage {
            self.usage = Some(u.completion_tokens);
            self.prompt_tokens = u.prompt_tokens.or(self.prompt_tokens);
        }
        let Some(choice) = event.choices.into_iter().next() else {
            return Ok(None);
        };
        if !choice.text.is_empty() {
            self.events += 1;
            self.text.push_str(&choice.text);
            if let Some((end, index)) = self.find_stop() {
                self.text.truncate(end);
                return Ok(Some(Reply {
                    text: std::mem::take(&mut self.text),
                    tokens: self.usage.unwrap_or(self.events),
                    end: End::Stop(index),
                }));
            }
        }
        if let Some(reason) = choice.finish_reason {
            self.finish = Some(reason);
        }
        Ok(None)
    }

    /// The earliest-completed stop pattern in the text so far: its end and index.
    fn find_stop(&mut self) -> Option<(usize, usize)> {
        self.scanner
            .scan(&self.stops, self.text.as_bytes())
            .map(|hit| (hit.end, hit.index))
    }

    /// The reply once the server has finished without a stop matching.
    fn finish(&mut self, stop: &[Arc<str>]) -> Result<Reply, Fault> {
        if let Some(fault) = failed_finish(self.finish.as_deref()) {
            return Err(fault);
        }
        let end = match self.finish.as_deref() {
            Some("length") => End::Limit,
            Some("stop") => End::Eos,
            other => {
                return Err(Fault::Protocol(format!(
                    "the stream ended with finish_reason {other:?}: expected \"stop\" or \"length\""
                )));
            }
        };
        let text = std::mem::take(&mut self.text);
        // The server's usage counts the end-of-sequence token; the text events do not.
        let (tokens, eos_counted) = match self.usage {
            Some(n) => (n, true),
            None => (self.events, false),
        };
        let prompt = self.prompt_tokens;
        // Text events undercount (a chunk may hold several tokens): only the server's own
        // count can tell a full context from the limit.
        let max_tokens = if eos_counted { self.max_tokens } else { 0 };
        Ok(settle(
            text,
            tokens,
            end,
            eos_counted,
            prompt,
            stop,
            max_tokens,
        ))
    }

    /// The body ended: a complete reply if the server finished, else the stream was cut.
    pub(crate) fn end_of_body(&mut self, stop: &[Arc<str>]) -> Result<Reply, Fault> {
        if self.finish.is_some() && !self.done {
            // Some servers close without `[DONE]` after the finishing event.
            return self.finish(stop);
        }
        Err(Fault::Connection(
            "the stream ended before the server finished".into(),
        ))
    }
}

/// The server's message from an error body: `{"error": {"message": …}}`, `{"error": "…"}`,
/// `{"message": …}`, `{"detail": …}`, or the body's first 300 characters.
pub(crate) fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let candidates = [
            value.pointer("/error/message"),
            value.get("error"),
            value.get("message"),
            value.get("detail"),
        ];
        for c in candidates.into_iter().flatten() {
            match c {
                serde_json::Value::String(s) => return s.clone(),
                serde_json::Value::Null | serde_json::Value::Object(_) => continue,
                other => return other.to_string(),
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::parse_answer;
    use forge_core::exec::{Request, RequestId, Sampling, StreamId};

    fn request(stop: &[&str]) -> Request {
        let stop: Vec<Arc<str>> = stop.iter().map(|s| Arc::from(*s)).collect();
        Request::new(
            RequestId(0),
            StreamId(0),
            Arc::new("ctx".to_owned()),
            0,
            stop.into(),
            16,
            Sampling::default(),
        )
    }

    fn sse(text: &str) -> String {
        format!(
            "data: {}\n\n",
            serde_json::json!({"choices": [{"text": text, "finish_reason": null}]})
        )
    }

    #[test]
    fn a_pattern_split_over_chunks_and_bytes_is_found() {
        let req = request(&["[Next]", "[Jump]"]);
        let body = format!("{}{}{}", sse("ab [Ne"), sse("xt] c"), sse("more"));
        // Feed the body one byte at a time: lines and events split anywhere.
        let mut state = StreamState::new(req.stop());
        let mut reply = None;
        for b in body.as_bytes() {
            if let StreamStep::Done(r) = state.feed(std::slice::from_ref(b), req.stop()).unwrap() {
                reply = Some(r);
                break;
            }
        }
        let reply = reply.expect("the stop is found");
        assert_eq!(reply.text, "ab [Next]");
        assert_eq!(reply.end, End::Stop(0));
        assert_eq!(reply.tokens, 2);
    }

    #[test]
    fn a_stream_without_a_stop_ends_by_its_finish_reason() {
        let req = request(&["[Next]"]);
        let mut state = StreamState::new(req.stop());
        let body = format!(
            "{}data: {}\n\ndata: [DONE]\n\n",
            sse("hello"),
            serde_json::json!({"choices": [{"text": "", "finish_reason": "length"}], "usage": {"completion_tokens": 3}})
        );
        let StreamStep::Done(reply) = state.feed(body.as_bytes(), req.stop()).unwrap() else {
            panic!("the stream is complete")
        };
        assert_eq!(
            (reply.text.as_str(), reply.tokens, reply.end),
            ("hello", 3, End::Limit)
        );
        let mut cut = StreamState::new(req.stop());
        assert!(matches!(
            cut.feed(sse("partial").as_bytes(), req.stop()),
            Ok(StreamStep::More)
        ));
        assert!(cut.end_of_body(req.stop()).is_err());
    }

    #[test]
    fn stop_reports_map_to_ends() {
        let req = request(&["[Next]", "[Jump]"]);
        let vllm = br#"{"choices":[{"text":"a[Jump]","finish_reason":"stop","stop_reason":"[Jump]"}],"usage":{"completion_tokens":4}}"#;
        let r = parse_answer(Dialect::Vllm, vllm, &req).unwrap();
        assert_eq!(
            (r.text.as_str(), r.end, r.tokens),
            ("a[Jump]", End::Stop(1), 4)
        );
        let eos = br#"{"choices":[{"text":"a","finish_reason":"stop","matched_stop":2}],"usage":{"completion_tokens":1}}"#;
        assert_eq!(
            parse_answer(Dialect::Sglang, eos, &req).unwrap().end,
            End::Eos
        );
        let llama = br#"{"content":"a b","stop_type":"word","stopping_word":"[Next]","tokens_predicted":3}"#;
        let r = parse_answer(Dialect::LlamaCpp, llama, &req).unwrap();
        assert_eq!((r.text.as_str(), r.end), ("a b[Next]", End::Stop(0)));
        let unknown =
            br#"{"content":"a","stop_type":"word","stopping_word":"zz","tokens_predicted":1}"#;
        assert!(matches!(
            parse_answer(Dialect::LlamaCpp, unknown, &req),
            Err(Fault::Protocol(m)) if m.contains("\"zz\"")
        ));
    }

    #[test]
    fn error_messages_come_from_the_body() {
        assert_eq!(
            error_message(br#"{"error":{"message":"prompt too long","code":400}}"#),
            "prompt too long"
        );
        assert_eq!(
            error_message(br#"{"object":"error","message":"no model x"}"#),
            "no model x"
        );
        assert_eq!(error_message(b"  plain failure \n"), "plain failure");
        assert_eq!(error_message(b""), "(empty body)");
    }

    #[test]
    fn a_short_length_finish_is_a_full_context_only_by_the_servers_count() {
        let req = request(&["[Next]"]);
        let finish = |usage: Option<u32>| {
            let mut last =
                serde_json::json!({"choices": [{"text": "", "finish_reason": "length"}]});
            if let Some(n) = usage {
                last["usage"] = serde_json::json!({"completion_tokens": n, "prompt_tokens": 7});
            }
            // One event carrying several tokens.
            format!("{}data: {last}\n\ndata: [DONE]\n\n", sse("two tokens"))
        };
        let end = |usage: Option<u32>| {
            let mut state = StreamState::new(req.stop()).limit(16);
            match state.feed(finish(usage).as_bytes(), req.stop()).unwrap() {
                StreamStep::Done(reply) => (reply.tokens, reply.end),
                StreamStep::More => panic!("the stream is complete"),
            }
        };
        // One text event, no usage: the count is unknown, so the limit is taken as reached.
        assert_eq!(end(None), (1, End::Limit));
        // The server counted 4 of 16: its context ran out.
        let full = End::ContextFull {
            context: None,
            needed: Some(23),
        };
        assert_eq!(end(Some(4)), (4, full));
        assert_eq!(end(Some(16)), (16, End::Limit));
    }
}
