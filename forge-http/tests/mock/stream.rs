//! The mock's streamed answers, in the style of a plain OpenAI-compatible server, vLLM or
//! llama.cpp.

use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::{Generated, Server, Streaming};

impl Server {
    /// A streamed answer (no stop was sent: the model runs until the client closes, the
    /// limit or the end of sequence), chunked transfer encoding, in the style of
    /// [`Options::streaming`].
    pub(super) async fn stream(
        &self,
        socket: &mut BufReader<TcpStream>,
        generated: &Generated,
        usage: Usage,
        reset: bool,
        failed: Option<(u16, &'static str)>,
    ) -> bool {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        if !self.write(socket, head.as_bytes()).await {
            return false;
        }
        let style = self.options.streaming;
        // The tokens as the server would generate them: past a stop (none was sent), a few
        // filler tokens, then the limit.
        let mut tokens = generated.pieces.clone();
        if generated.stop.is_some() {
            tokens.extend((0..3).map(|_| " ~".to_owned()));
        }
        let finish = if generated.eos { "stop" } else { "length" };
        let eos = u32::from(generated.eos);
        let total = tokens.len() as u32 + eos;
        let mut events = String::new();
        let event = |events: &mut String, text: &str, finish: Option<&str>, done: u32| {
            let mut e = serde_json::json!({"choices": [{"index": 0, "text": text, "finish_reason": finish}]});
            if usage.continuous && style == Streaming::Vllm {
                e["usage"] =
                    serde_json::json!({"prompt_tokens": usage.prompt, "completion_tokens": done});
            }
            events.push_str(&format!("data: {e}\n\n"));
        };
        match style {
            Streaming::Plain | Streaming::LlamaCpp => {
                for (n, token) in tokens.iter().enumerate() {
                    if style == Streaming::LlamaCpp && n % 2 == 1 {
                        events.push_str(": ping\n\n");
                    }
                    event(&mut events, token, None, n as u32 + 1);
                    if failed.is_some() && n == 1 {
                        break;
                    }
                }
                if failed.is_none() {
                    let mut last = serde_json::json!({"choices": [{"index": 0, "text": "", "finish_reason": finish}]});
                    if style == Streaming::LlamaCpp {
                        last["usage"] = serde_json::json!({"prompt_tokens": usage.prompt, "completion_tokens": total});
                    }
                    events.push_str(&format!("data: {last}\n\n"));
                }
            }
            Streaming::Vllm => {
                let chunks: Vec<&[String]> = tokens.chunks(2).collect();
                let mut done = 0;
                for (n, chunk) in chunks.iter().enumerate() {
                    done += chunk.len() as u32;
                    // Token ids whose text is not complete yet: an empty-text chunk.
                    event(&mut events, "", None, done);
                    let last = n + 1 == chunks.len();
                    let count = if last { done + eos } else { done };
                    event(&mut events, &chunk.concat(), last.then_some(finish), count);
                    if failed.is_some() && n == 0 {
                        break;
                    }
                }
                if usage.include && failed.is_none() {
                    let u = serde_json::json!({"choices": [], "usage": {"prompt_tokens": usage.prompt, "completion_tokens": total}});
                    events.push_str(&format!("data: {u}\n\n"));
                }
            }
        }
        if let Some((code, message)) = failed {
            let e = serde_json::json!({"error": {"message": message, "type": "mock_error", "code": code}});
            events.push_str(&format!("data: {e}\n\n"));
        }
        events.push_str("data: [DONE]\n\n");
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

/// What a stream reports of its token counts.
#[derive(Clone, Copy)]
pub(super) struct Usage {
    pub(super) prompt: u32,
    /// `stream_options.include_usage`.
    pub(super) include: bool,
    /// `stream_options.continuous_usage_stats` (vLLM).
    pub(super) continuous: bool,
}
