//! The complete (non-streamed) answers of vLLM, SGLang and llama.cpp's native endpoint.

use std::sync::Arc;

use forge_core::exec::{End, Reply, Request};
use serde::Deserialize;

use crate::dialect::{Choice, Dialect, StopValue, Usage, failed_finish, settle};
use crate::fault::Fault;

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
    tokens_evaluated: Option<u32>,
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
fn stopped_at(mut text: String, word: &str, stop: &[Arc<str>]) -> Result<(String, End), Fault> {
    let Some(index) = stop.iter().position(|s| &**s == word) else {
        return Err(Fault::Protocol(format!(
            "the server reports stop {word:?}, which the request did not send"
        )));
    };
    if !text.ends_with(word) {
        text.push_str(word);
    }
    Ok((text, End::Stop(index)))
}

/// Turns a complete (non-streamed) answer into a reply.
pub(crate) fn parse_answer(
    dialect: Dialect,
    body: &[u8],
    request: &Request,
) -> Result<Reply, Fault> {
    let stop = request.stop();
    match dialect {
        Dialect::LlamaCpp => {
            let a: LlamaAnswer = serde_json::from_slice(body)
                .map_err(|e| Fault::Protocol(format!("not a llama.cpp /completion answer: {e}")))?;
            // `stop_type` since the late-2024 server refactor; the booleans before it (and in
            // the ik_llama.cpp fork).
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
                    return Err(Fault::Protocol(format!(
                        "llama.cpp answer with stop_type {other:?}: the generation did not finish"
                    )));
                }
            };
            let tokens = a.tokens_predicted;
            let (prompt, max) = (a.tokens_evaluated, request.max_tokens());
            Ok(settle(text, tokens, end, true, prompt, stop, max))
        }
        Dialect::Vllm | Dialect::Sglang | Dialect::OpenAi | Dialect::Auto => {
            let a: CompletionsAnswer = serde_json::from_slice(body)
                .map_err(|e| Fault::Protocol(format!("not a /v1/completions answer: {e}")))?;
            let Some(choice) = a.choices.into_iter().next() else {
                return Err(Fault::Protocol("the answer has no choice".into()));
            };
            let reported = if dialect == Dialect::Sglang {
                choice.matched_stop
            } else {
                choice.stop_reason
            };
            if let Some(fault) = failed_finish(choice.finish_reason.as_deref()) {
                return Err(fault);
            }
            let (text, end) = match (choice.finish_reason.as_deref(), reported) {
                (Some("length"), _) => (choice.text, End::Limit),
                (Some("stop"), Some(StopValue::Text(word))) => {
                    stopped_at(choice.text, &word, stop)?
                }
                (Some("stop"), _) => (choice.text, End::Eos),
                (other, _) => {
                    return Err(Fault::Protocol(format!(
                        "finish_reason {other:?}: expected \"stop\" or \"length\""
                    )));
                }
            };
            let Some(usage) = a.usage else {
                return Err(Fault::Protocol(
                    "the answer has no usage.completion_tokens".into(),
                ));
            };
            let (tokens, prompt) = (usage.completion_tokens, usage.prompt_tokens);
            Ok(settle(
                text,
                tokens,
                end,
                true,
                prompt,
                stop,
                request.max_tokens(),
            ))
        }
    }
}
