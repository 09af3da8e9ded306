//! Request bodies: what each dialect sends, with the neutral sampling values each server needs
//! so that its own defaults (model files, command-line flags) do not change the sampling.

use std::sync::Arc;

use forge_core::exec::Request;
use serde::Serialize;

use crate::dialect::Dialect;

/// Sampling fields sent with their neutral value, so that a server does not fill them from its
/// own defaults. Which fields depends on the server behind the dialect: each server rejects
/// some values the others need (`top_k: 0` is "disabled" for llama.cpp, an error for SGLang
/// and 2024 vLLM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Neutral {
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_p: Option<f32>,
    /// vLLM and SGLang's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    repetition_penalty: Option<f32>,
    /// llama.cpp's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    repeat_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    typical_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xtc_probability: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_multiplier: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirostat: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_n_sigma: Option<f32>,
}

impl Neutral {
    /// The neutral values for a server of this kind ([`Dialect::OpenAi`]: a server not
    /// identified, which gets only the OpenAI API's own fields).
    pub(crate) fn for_server(server: Dialect) -> Neutral {
        match server {
            // vLLM `to_sampling_params`: "user -> server default (generation_config.json) ->
            // OpenAI default" for repetition_penalty, top_k, top_p, min_p. `-1` is the
            // "no top-k" every vLLM version accepts. SGLang hard-codes the same neutral values
            // and rejects `top_k: 0`; sending them protects against a future default.
            Dialect::Vllm | Dialect::Sglang => Neutral {
                top_k: Some(-1),
                min_p: Some(0.0),
                repetition_penalty: Some(1.0),
                presence_penalty: Some(0.0),
                frequency_penalty: Some(0.0),
                ..Neutral::default()
            },
            // llama.cpp `params_from_json_cmpl`: every field left out takes the server's
            // default, which includes the GGUF's `general.sampling.*` (since Nov 2025) and
            // flags such as `--repeat-penalty` or `--dry-multiplier`.
            Dialect::LlamaCpp => Neutral {
                top_k: Some(0),
                min_p: Some(0.0),
                repeat_penalty: Some(1.0),
                presence_penalty: Some(0.0),
                frequency_penalty: Some(0.0),
                typical_p: Some(1.0),
                xtc_probability: Some(0.0),
                dry_multiplier: Some(0.0),
                mirostat: Some(0),
                top_n_sigma: Some(-1.0),
                ..Neutral::default()
            },
            Dialect::OpenAi | Dialect::Auto => Neutral {
                presence_penalty: Some(0.0),
                frequency_penalty: Some(0.0),
                ..Neutral::default()
            },
        }
    }

    /// The fields as JSON, for reports.
    pub(crate) fn to_json(self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `stream_options` of a streamed request: the usage in the last chunk (every
/// OpenAI-compatible server), and in every chunk where the server supports it (vLLM, SGLang), so
/// that a reply cut at a stop still has its exact token count.
#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    continuous_usage_stats: bool,
}

/// The body of a `/v1/completions` request (vLLM, SGLang, OpenAI).
#[derive(Serialize)]
struct CompletionsBody<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    model: &'a str,
    prompt: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<Stops<'a>>,
    temperature: f32,
    top_p: f32,
    seed: u64,
    #[serde(flatten)]
    neutral: Neutral,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_stop_str_in_output: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignore_eos: bool,
}

/// The body of llama.cpp's native `/completion` request.
#[derive(Serialize)]
struct LlamaBody<'a> {
    /// Needed by a router-mode server (`--models-dir`); a single-model server ignores it.
    #[serde(skip_serializing_if = "str::is_empty")]
    model: &'a str,
    prompt: &'a str,
    n_predict: u32,
    stop: Stops<'a>,
    temperature: f32,
    top_p: f32,
    #[serde(flatten)]
    neutral: Neutral,
    seed: u32,
    cache_prompt: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    ignore_eos: bool,
}

/// The `stop` field sent to llama.cpp when forge has no stop to send. llama.cpp replaces an
/// empty (or absent) list by the antiprompts of its `-r` flag (`server-schema.cpp`,
/// `params_from_json_cmpl`): a zone would end at a text forge never asked for, read as the end
/// of sequence through `/v1/completions`. A list holding one string no model writes (private-use
/// code points) keeps the server's antiprompts out.
const NO_STOP: &str = "\u{F8FF}forge:no-stop\u{F8FF}";

/// A `stop` list as serialized: the request's patterns, or [`NO_STOP`].
#[derive(Serialize)]
#[serde(untagged)]
enum Stops<'a> {
    List(&'a [Arc<str>]),
    Unmatchable([&'static str; 1]),
}

impl<'a> Stops<'a> {
    /// What llama.cpp gets: the patterns, never an empty list.
    fn llama(stop: &'a [Arc<str>]) -> Stops<'a> {
        if stop.is_empty() {
            Stops::Unmatchable([NO_STOP])
        } else {
            Stops::List(stop)
        }
    }
}

/// What a request body needs besides the request itself.
pub(crate) struct BodyOptions<'a> {
    pub model: &'a str,
    pub ignore_eos: bool,
    /// The server behind the dialect, as the probe found it ([`Dialect::OpenAi`]: unknown).
    pub server: Dialect,
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
            model: options.model,
            prompt,
            n_predict: max_tokens,
            stop: Stops::llama(stop),
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            neutral: Neutral::for_server(Dialect::LlamaCpp),
            seed: seed32(sampling.seed),
            cache_prompt: true,
            ignore_eos: options.ignore_eos,
        }),
        Dialect::Vllm | Dialect::Sglang | Dialect::OpenAi | Dialect::Auto => {
            let streamed = matches!(dialect, Dialect::OpenAi | Dialect::Auto);
            let server = if streamed { options.server } else { dialect };
            serde_json::to_vec(&CompletionsBody {
                model: options.model,
                prompt,
                max_tokens,
                // Streamed: the patterns are matched here, so the server gets none (only
                // llama.cpp gets one that cannot match, to keep its `-r` antiprompts out).
                stop: if !streamed && !stop.is_empty() {
                    Some(Stops::List(stop))
                } else if streamed && server == Dialect::LlamaCpp {
                    Some(Stops::llama(&[]))
                } else {
                    None
                },
                temperature: sampling.temperature,
                top_p: sampling.top_p,
                seed: seed63(sampling.seed),
                neutral: Neutral::for_server(server),
                stream: streamed,
                stream_options: streamed.then_some(StreamOptions {
                    include_usage: true,
                    continuous_usage_stats: matches!(server, Dialect::Vllm | Dialect::Sglang),
                }),
                // SGLang's `no_stop_trim` is not sent: it keeps the rest of the token that
                // completed the stop (`detokenizer_manager.py::trim_matched_stop`), while its
                // default trims at the stop, which is then appended again.
                include_stop_str_in_output: (dialect == Dialect::Vllm).then_some(true),
                ignore_eos: options.ignore_eos && !streamed,
            })
        }
    };
    // Serializing strings and numbers into a Vec cannot fail.
    result.unwrap_or_default()
}
