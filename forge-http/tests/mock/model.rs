//! The mock model's output under each server's stop rule.

use super::Output;

/// Which stop a server reports when one step completes several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRule {
    /// The generator contract: the earliest-completed stop (ties: the earliest start).
    Contract,
    /// vLLM `v1/engine/detokenizer.py::check_stop_strings` (`for stop_str in stop`) and SGLang
    /// `schedule_batch.py` (the tail window after each step): the first stop *in list order*
    /// found in the step's new text.
    ListOrder,
    /// llama.cpp `server-context.cpp::find_stopping_strings`: the earliest *start* among the
    /// stops found.
    EarliestStart,
}

/// What the mock model generates under a server's stop handling: the text up to and including
/// the stop the rule picks, the tokens used, and how it ended.
pub struct Generated {
    pub text: String,
    /// Where the stop starts in `text`, if one matched.
    pub stop_start: Option<usize>,
    pub stop: Option<usize>,
    /// Tokens generated, the end-of-sequence token not counted (the contract's figure).
    pub tokens: u32,
    pub eos: bool,
    /// The tokens as generated (the last one whole, even if a stop matched inside it).
    pub pieces: Vec<String>,
}

impl Generated {
    /// What a server that stopped at byte `start` and says only "stop" streams: the text
    /// before it, ended as the end of sequence would be.
    pub fn cut_at(self, start: usize) -> Generated {
        let mut pieces = Vec::new();
        let mut len = 0;
        for piece in self.pieces {
            if len >= start {
                break;
            }
            let keep = piece.len().min(start - len);
            len += keep;
            pieces.push(piece[..keep].to_owned());
        }
        Generated {
            text: self.text[..start].to_owned(),
            stop_start: None,
            stop: None,
            tokens: self.tokens,
            eos: true,
            pieces,
        }
    }
}

/// The contract's reply: the earliest-completed stop.
pub fn generate(output: &Output, stop: &[String], max_tokens: u32) -> Generated {
    generate_by(output, stop, max_tokens, StopRule::Contract)
}

pub fn generate_by(output: &Output, stop: &[String], max_tokens: u32, rule: StopRule) -> Generated {
    let mut text = String::new();
    let mut pieces = Vec::new();
    let mut searched = 0;
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
        let mut best: Option<(usize, usize, usize)> = None; // (end, start, index)
        for (i, s) in stop.iter().enumerate() {
            if let Some(p) = text[searched..].find(s.as_str()) {
                let (start, end) = (searched + p, searched + p + s.len());
                let better = match (rule, best) {
                    (_, None) => true,
                    (StopRule::Contract, Some((e, st, _))) => end < e || (end == e && start < st),
                    (StopRule::ListOrder, Some(_)) => false,
                    (StopRule::EarliestStart, Some((_, st, _))) => start < st,
                };
                if better {
                    best = Some((end, start, i));
                }
            }
        }
        if let Some((end, start, i)) = best {
            text.truncate(end);
            return Generated {
                text,
                stop_start: Some(start),
                stop: Some(i),
                tokens: n as u32 + 1,
                eos: false,
                pieces,
            };
        }
        let longest = stop.iter().map(String::len).max().unwrap_or(1);
        searched = text.len().saturating_sub(longest);
        while !text.is_char_boundary(searched) {
            searched -= 1;
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
