//! The server dialects: request bodies, answers, and how each turns into a [`Reply`].

use std::sync::Arc;

use forge_core::exec::{End, Reply, Request, StopScanner, StopSet};
use serde::{Deserialize, Serialize};

/// Which server API the generator speaks.
///
/// Every dialect sends the whole transcript as a raw prompt (no chat template), the request's
/// temperature, top-p and seed, and its token limit. They differ in how the stop patterns are
/// handled. Whatever the server does, the runtime re-scans every reply, so a server that
/// mishandles a stop is corrected.
///
/// # [`Dialect::Vllm`]: vLLM, `POST /v1/completions`
///
/// | relies on | for |
/// |---|---|
/// | `stop` (any number of strings) | the server stops at the first pattern, also inside a token |
/// | `include_stop_str_in_output: true` | the reply keeps the stop text (appended if a server trims it anyway) |
/// | `choices[0].stop_reason` | the stop string that fired → [`End::Stop`]; `null` or a token id with `finish_reason: "stop"` → [`End::Eos`] |
/// | `finish_reason: "length"` | → [`End::Limit`] |
/// | `usage.completion_tokens` | the token count |
/// | `ignore_eos` | sent only when [`Config::ignore_eos`](crate::Config::ignore_eos) is set |
/// | `seed` | the request's seed, reduced to 63 bits |
///
/// # [`Dialect::Sglang`]: SGLang, `POST /v1/completions`
///
/// | relies on | for |
/// |---|---|
/// | `stop` | as vLLM |
/// | `no_stop_trim: true` | the reply keeps the stop text (appended if trimmed anyway) |
/// | `choices[0].matched_stop` | the stop string → [`End::Stop`]; a token id (the EOS token) or `null` with `finish_reason: "stop"` → [`End::Eos`] |
/// | `finish_reason: "length"`, `usage.completion_tokens`, `ignore_eos`, `seed` | as vLLM |
///
/// # [`Dialect::LlamaCpp`]: llama.cpp's server, native `POST /completion`
///
/// | relies on | for |
/// |---|---|
/// | `stop`, `n_predict` | the stop patterns and the token limit |
/// | `cache_prompt: true` | the slot keeps the stream's KV cache, so a continuation only processes its new text |
/// | `stop_type` (`"word"`, `"limit"`, `"eos"`) and `stopping_word` | → [`End::Stop`] / [`End::Limit`] / [`End::Eos`] (older servers: `stopped_word`, `stopped_limit`, `stopped_eos`) |
/// | `content` without the stop text | the stop text is appended, so the reply ends with it |
/// | `tokens_predicted` | the token count |
/// | `top_k: 0`, `min_p: 0` | no truncation besides top-p, as on the other servers (llama.cpp defaults to top-k 40, min-p 0.05) |
/// | `seed` | the request's seed, reduced to 32 bits (`0xFFFFFFFF`, "random", avoided) |
///
/// llama.cpp's `/v1/completions` does not say which stop fired: drive it with
/// [`Dialect::OpenAi`] if you need that endpoint.
///
/// # [`Dialect::OpenAi`]: any OpenAI-compatible server, `POST /v1/completions` streamed
///
/// Such a server trims the stop text and does not say which stop fired, so no `stop` is sent:
///
/// | relies on | for |
/// |---|---|
/// | `stream: true` (server-sent events, `data: {...}` lines, `data: [DONE]`) | the text arrives chunk by chunk |
/// | client-side matching | after every chunk the text so far is searched for the stop patterns with a [`StopScanner`] over the request's [`StopSet`] (a pattern split across chunks is found; the scanner states which occurrence is first); at the first one the reply is cut right after it and the request is closed, which makes the server stop generating |
/// | one event per token | the token count is the number of text events received (`usage.completion_tokens` when the server sends it and the reply was not cut) |
/// | `finish_reason: "length"` / `"stop"` | → [`End::Limit`] / [`End::Eos`] (no stop was sent, so a server stop is the end of sequence) |
/// | `seed` | the request's seed, reduced to 63 bits |
///
/// # [`Dialect::Auto`]: the capability probe
///
/// At start, each endpoint is asked `GET /v1/models`: `owned_by` `"vllm"`, `"sglang"` or
/// `"llamacpp"` picks the dialect (the first listed model also gives the `model` field). Else
/// `GET /props` answering llama.cpp's fields picks [`Dialect::LlamaCpp`], `GET /get_server_info`
/// answering picks [`Dialect::Sglang`], and a server that only lists models is
/// [`Dialect::OpenAi`]. All endpoints must agree.
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

    /// Whether the model name is a required field of the request.
    pub(crate) fn needs_model(self) -> bool {
        !matches!(self, Dialect::LlamaCpp)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The body of a `/v1/completions` request (vLLM, SGLang, OpenAI).
#[derive(Serialize)]
struct CompletionsBody<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    model: &'a str,
    prompt: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a [Arc<str>]>,
    temperature: f32,
    top_p: f32,
    seed: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_stop_str_in_output: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_stop_trim: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignore_eos: bool,
}

/// The body of llama.cpp's native `/completion` request.
#[derive(Serialize)]
struct LlamaBody<'a> {
    prompt: &'a str,
    n_predict: u32,
    stop: &'a [Arc<str>],
    temperature: f32,
    top_p: f32,
    top_k: u32,
    min_p: f32,
    seed: u32,
    cache_prompt: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignore_eos: bool,
}

/// What a request body needs besides the request itself.
pub(crate) struct BodyOptions<'a> {
    pub model: &'a str,
    pub ignore_eos: bool,
}

/// A 63-bit seed, which every server taking a signed 64-bit integer accepts.
fn seed63(seed: u64) -> u64 {
    seed & (u64::MAX >> 1)
}

/// A 32-bit seed other than llama.cpp's "random" value `u32::MAX`.
fn seed32(seed: u64) -> u32 {
    (seed % u64::from(u32::MAX)) as u32
}

/// The JSON body of a request in this dialect. `max_tokens` is separate so that the prefix
/// warm-up can send a one-token request.
pub(crate) fn body(
    dialect: Dialect,
    prompt: &str,
    request: &Request,
    max_tokens: u32,
    options: &BodyOptions<'_>,
) -> Vec<u8> {
    let sampling = request.sampling();
    let stop = request.stop();
    let result = match dialect {
        Dialect::LlamaCpp => serde_json::to_vec(&LlamaBody {
            prompt,
            n_predict: max_tokens,
            stop,
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            top_k: 0,
            min_p: 0.0,
            seed: seed32(sampling.seed),
            cache_prompt: true,
            ignore_eos: options.ignore_eos,
        }),
        Dialect::Vllm | Dialect::Sglang | Dialect::OpenAi | Dialect::Auto => {
            let streamed = matches!(dialect, Dialect::OpenAi | Dialect::Auto);
            serde_json::to_vec(&CompletionsBody {
                model: options.model,
                prompt,
                max_tokens,
                stop: (!streamed && !stop.is_empty()).then_some(stop),
                temperature: sampling.temperature,
                top_p: sampling.top_p,
                seed: seed63(sampling.seed),
                stream: streamed,
                include_stop_str_in_output: (dialect == Dialect::Vllm).then_some(true),
                no_stop_trim: (dialect == Dialect::Sglang).then_some(true),
                ignore_eos: options.ignore_eos && !streamed,
            })
        }
    };
    // Serializing strings and numbers into a Vec cannot fail.
    result.unwrap_or_default()
}

/// A stop as a server reports it: the string, or a token id (the end of sequence, or a stop
/// token).
#[derive(Deserialize)]
#[serde(untagged)]
enum StopValue {
    Text(String),
    // The token id's value is not used: any token stop is the end of sequence here.
    #[allow(dead_code)]
    Token(i64),
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    text: String,
    #[serde(default)]
    finish_reason: Option<String>,
    /// vLLM.
    #[serde(default)]
    stop_reason: Option<StopValue>,
    /// SGLang.
    #[serde(default)]
    matched_stop: Option<StopValue>,
}

#[derive(Deserialize)]
struct Usage {
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct CompletionsAnswer {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct LlamaAnswer {
    content: String,
    #[serde(default)]
    tokens_predicted: u32,
    #[serde(default)]
    stop_type: Option<String>,
    #[serde(default)]
    stopping_word: String,
    #[serde(default)]
    stopped_word: bool,
    #[serde(default)]
    stopped_limit: bool,
    #[serde(default)]
    stopped_eos: bool,
}

/// The index of `word` in the stop set and the text with the stop text at its end.
fn stopped_at(mut text: String, word: &str, stop: &[Arc<str>]) -> Result<(String, End), String> {
    let Some(index) = stop.iter().position(|s| &**s == word) else {
        return Err(format!(
            "the server reports stop {word:?}, which the request did not send"
        ));
    };
    if !text.ends_with(word) {
        text.push_str(word);
    }
    Ok((text, End::Stop(index)))
}

/// Turns a complete (non-streamed) answer into a reply. The error is a protocol message.
pub(crate) fn parse_answer(
    dialect: Dialect,
    body: &[u8],
    request: &Request,
) -> Result<Reply, String> {
    let stop = request.stop();
    match dialect {
        Dialect::LlamaCpp => {
            let a: LlamaAnswer = serde_json::from_slice(body)
                .map_err(|e| format!("not a llama.cpp /completion answer: {e}"))?;
            let kind = a.stop_type.as_deref().unwrap_or(if a.stopped_word {
                "word"
            } else if a.stopped_eos {
                "eos"
            } else if a.stopped_limit {
                "limit"
            } else {
                "none"
            });
            let (text, end) = match kind {
                "word" => stopped_at(a.content, &a.stopping_word, stop)?,
                "limit" => (a.content, End::Limit),
                "eos" => (a.content, End::Eos),
                other => {
                    return Err(format!(
                        "llama.cpp answer with stop_type {other:?}: the generation did not finish"
                    ));
                }
            };
            Ok(Reply {
                text,
                tokens: a.tokens_predicted,
                end,
            })
        }
        Dialect::Vllm | Dialect::Sglang | Dialect::OpenAi | Dialect::Auto => {
            let a: CompletionsAnswer = serde_json::from_slice(body)
                .map_err(|e| format!("not a /v1/completions answer: {e}"))?;
            let tokens = a.usage.map(|u| u.completion_tokens);
            let Some(choice) = a.choices.into_iter().next() else {
                return Err("the answer has no choice".into());
            };
            let reported = if dialect == Dialect::Sglang {
                choice.matched_stop
            } else {
                choice.stop_reason
            };
            let (text, end) = match (choice.finish_reason.as_deref(), reported) {
                (Some("length"), _) => (choice.text, End::Limit),
                (Some("stop"), Some(StopValue::Text(word))) => {
                    stopped_at(choice.text, &word, stop)?
                }
                (Some("stop"), _) => (choice.text, End::Eos),
                (other, _) => {
                    return Err(format!(
                        "finish_reason {other:?}: expected \"stop\" or \"length\""
                    ));
                }
            };
            let Some(tokens) = tokens else {
                return Err("the answer has no usage.completion_tokens".into());
            };
            Ok(Reply { text, tokens, end })
        }
    }
}

/// One server-sent event of a streamed `/v1/completions` answer.
#[derive(Deserialize)]
struct StreamEvent {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// Client-side reading of a streamed answer: splits server-sent events, accumulates the text,
/// scans it for the stop patterns ([`StopScanner`]).
pub(crate) struct StreamState {
    /// Bytes of an incomplete line.
    line: Vec<u8>,
    text: String,
    /// Text events received.
    events: u32,
    usage: Option<u32>,
    finish: Option<String>,
    done: bool,
    scanner: StopScanner,
}

/// What a chunk of a streamed answer brought.
pub(crate) enum StreamStep {
    /// More to come.
    More,
    /// The reply is complete (a stop matched, or the server finished).
    Done(Reply),
}

impl StreamState {
    pub(crate) fn new() -> StreamState {
        StreamState {
            line: Vec::new(),
            text: String::new(),
            events: 0,
            usage: None,
            finish: None,
            done: false,
            scanner: StopScanner::new(),
        }
    }

    /// Feeds the next chunk of the body.
    pub(crate) fn feed(&mut self, chunk: &[u8], stop: &StopSet) -> Result<StreamStep, String> {
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

    /// Handles one complete line: a `data:` line is an event, others (comments, `event:`,
    /// blank separators) are skipped.
    fn line_done(&mut self, line: &[u8], stop: &StopSet) -> Result<Option<Reply>, String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.strip_prefix(b"data:") {
            Some(data) => self.event(data.strip_prefix(b" ").unwrap_or(data), stop),
            None => Ok(None),
        }
    }

    /// Handles one `data:` payload.
    fn event(&mut self, data: &[u8], stop: &StopSet) -> Result<Option<Reply>, String> {
        if data == b"[DONE]" {
            self.done = true;
            return self.finish().map(Some);
        }
        let event: StreamEvent = serde_json::from_slice(data)
            .map_err(|e| format!("not a /v1/completions stream event: {e}"))?;
        if let Some(u) = event.usage {
            self.usage = Some(u.completion_tokens);
        }
        let Some(choice) = event.choices.into_iter().next() else {
            return Ok(None);
        };
        if !choice.text.is_empty() {
            self.events += 1;
            self.text.push_str(&choice.text);
            if let Some(hit) = self.scanner.scan(stop, self.text.as_bytes()) {
                self.text.truncate(hit.end);
                return Ok(Some(Reply {
                    text: std::mem::take(&mut self.text),
                    tokens: self.events,
                    end: End::Stop(hit.index),
                }));
            }
        }
        if let Some(reason) = choice.finish_reason {
            self.finish = Some(reason);
        }
        Ok(None)
    }

    /// The reply once the server has finished without a stop matching.
    fn finish(&mut self) -> Result<Reply, String> {
        let end = match self.finish.as_deref() {
            Some("length") => End::Limit,
            Some("stop") => End::Eos,
            other => {
                return Err(format!(
                    "the stream ended with finish_reason {other:?}: expected \"stop\" or \"length\""
                ));
            }
        };
        Ok(Reply {
            text: std::mem::take(&mut self.text),
            tokens: self.usage.unwrap_or(self.events),
            end,
        })
    }

    /// The body ended: a complete reply if the server finished, else the stream was cut.
    pub(crate) fn end_of_body(&mut self) -> Result<Reply, String> {
        if self.finish.is_some() && !self.done {
            // Some servers close without `[DONE]` after the finishing event.
            return self.finish();
        }
        Err("the stream ended before the server finished".into())
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
    use forge_core::exec::{RequestId, Sampling, StreamId};

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
        let mut state = StreamState::new();
        let mut reply = None;
        for b in body.as_bytes() {
            if let StreamStep::Done(r) =
                state.feed(std::slice::from_ref(b), req.stop_set()).unwrap()
            {
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
        let mut state = StreamState::new();
        let body = format!(
            "{}data: {}\n\ndata: [DONE]\n\n",
            sse("hello"),
            serde_json::json!({"choices": [{"text": "", "finish_reason": "length"}], "usage": {"completion_tokens": 3}})
        );
        let StreamStep::Done(reply) = state.feed(body.as_bytes(), req.stop_set()).unwrap() else {
            panic!("the stream is complete")
        };
        assert_eq!(
            (reply.text.as_str(), reply.tokens, reply.end),
            ("hello", 3, End::Limit)
        );
        let mut cut = StreamState::new();
        assert!(matches!(
            cut.feed(sse("partial").as_bytes(), req.stop_set()),
            Ok(StreamStep::More)
        ));
        assert!(cut.end_of_body().is_err());
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
        assert!(
            parse_answer(Dialect::LlamaCpp, unknown, &req)
                .unwrap_err()
                .contains("\"zz\"")
        );
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
}
