//! The result of one stream: its transcript, split into spans, zone visits and extractions.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::generator::StreamId;
use crate::program::ZoneId;

/// Where a span's text came from (`docs/execution.md` §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// The zone's sampled text, teacher-forced.
    Forced,
    /// Text the model generated.
    Generated,
    /// A tool result fed to an input zone.
    Fed,
    /// A pattern the runtime appended on the model's behalf: an escape close, or the advance
    /// pattern at a token limit, at end of sequence, or after an input zone's fed text, or the
    /// control pattern of a bounded loop's forced jump.
    ForcedClose,
}

/// How a zone visit ended (`docs/execution.md` §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneEnd {
    /// The model wrote the zone's advance pattern; the stream took the *next* edge.
    Pattern,
    /// The control pattern appeared (generated, forced or fed) in a zone with a jump edge;
    /// the stream took the *jump* edge.
    Jump,
    /// The zone's token budget ran out; the runtime closed it (*next* edge).
    Limit,
    /// The model ended its sequence (or the generator claimed a stop it did not produce);
    /// the runtime closed the zone (*next* edge).
    Eos,
    /// The zone's own text ended it: the advance pattern was in its forced or fed text, or it
    /// is an input zone the runtime closed after feeding it (*next* edge).
    Forced,
    /// The server's context ran out before the zone's budget was spent, and the run was set
    /// to go on ([`RunOptions::continue_on_full_context`](super::RunOptions::continue_on_full_context));
    /// the runtime closed the zone (*next* edge).
    ContextFull,
    /// A bounded loop's control zone on the visit after its `at_most`-th body run: the zone was
    /// not sent to the model; the runtime fed its text, appended the control pattern and took
    /// the *jump* edge ([`LoopBounds`](crate::program::LoopBounds)).
    ForcedJump,
    /// The stream failed, or the run stopped, during the visit (only in the partial
    /// transcript of a [`StreamError`](super::StreamError)).
    Unfinished,
}

impl SpanKind {
    /// The kind's name in every file format (`forced`, `generated`, `fed`, `forced_close`):
    /// the string it serializes as.
    ///
    /// ```
    /// assert_eq!(forge::exec::SpanKind::ForcedClose.as_str(), "forced_close");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SpanKind::Forced => "forced",
            SpanKind::Generated => "generated",
            SpanKind::Fed => "fed",
            SpanKind::ForcedClose => "forced_close",
        }
    }
}

impl ZoneEnd {
    /// The end's name in every file format (`pattern`, `jump`, `forced_jump`, …): the string
    /// it serializes as.
    ///
    /// ```
    /// assert_eq!(forge::exec::ZoneEnd::ForcedJump.as_str(), "forced_jump");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ZoneEnd::Pattern => "pattern",
            ZoneEnd::Jump => "jump",
            ZoneEnd::Limit => "limit",
            ZoneEnd::Eos => "eos",
            ZoneEnd::Forced => "forced",
            ZoneEnd::ContextFull => "context_full",
            ZoneEnd::ForcedJump => "forced_jump",
            ZoneEnd::Unfinished => "unfinished",
        }
    }

    /// Whether the stream left the zone by its jump edge (the model's or a forced one).
    pub fn jumped(self) -> bool {
        matches!(self, ZoneEnd::Jump | ZoneEnd::ForcedJump)
    }
}

/// One span of a transcript: a byte range of [`Transcript::text`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The visit (index into [`Transcript::visits`]) the span belongs to.
    pub visit: u32,
    /// Where the text came from.
    pub kind: SpanKind,
    /// Start byte in the transcript.
    pub start: usize,
    /// End byte (exclusive) in the transcript.
    pub end: usize,
}

/// One visit of a zone: the stream entered the zone, and left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The zone's index in the workflow.
    pub zone: ZoneId,
    /// The zone's tags; every span of the visit carries them.
    pub tags: Arc<[String]>,
    /// How the visit ended.
    pub end: ZoneEnd,
    /// Tokens generated during the visit (forced and fed text never count).
    pub tokens: u32,
    /// Generation requests made during the visit.
    pub requests: u32,
    /// Start byte of the visit's text in the transcript.
    pub start: usize,
    /// End byte (exclusive): the visit's text is `text[start..end]`, all its spans.
    pub end_byte: usize,
}

/// A declared extraction's texts: one per visit of a zone carrying any of its tags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// The extraction's name, from the program's `extract`.
    pub name: String,
    /// The full text of each matching visit, in visit order.
    pub texts: Vec<String>,
}

/// Something the runtime corrected in a generator's reply, instead of trusting it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// The reply carried text after the pattern that ended its zone; that text was dropped.
    Discarded {
        /// The visit whose reply it was.
        visit: u32,
        /// The dropped text.
        text: String,
    },
    /// The reply claimed more tokens than the request allowed; the visit counts the limit
    /// and ends at it.
    OverLimit {
        /// The visit whose reply it was.
        visit: u32,
        /// The tokens the reply claimed.
        claimed: u32,
        /// The request's `max_tokens`.
        allowed: u32,
    },
    /// The reply claimed it ended at a stop pattern but holds no text; it is taken as end of
    /// sequence (so a generator that keeps doing this cannot keep the stream alive).
    EmptyStop {
        /// The visit whose reply it was.
        visit: u32,
    },
}

/// Everything one stream produced (`docs/execution.md` §3): the transcript text, its spans, the zone visits
/// (the path taken, how each ended, token counts), the extractions and any corrections made
/// to the generator's replies.
///
/// Serializes with serde and round-trips exactly, as JSON ([`Transcript::to_json`]) or in the
/// compact binary form ([`Transcript::to_bytes`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct Transcript {
    /// The stream: the index of its sampled workflow in the run.
    pub stream: StreamId,
    /// The whole transcript: forced, generated, fed and forced-close text, in order.
    pub text: String,
    /// The spans, in order; they tile `text` exactly and none is empty.
    pub spans: Vec<Span>,
    /// The zone visits, in order.
    pub visits: Vec<Visit>,
    /// The declared extractions, in declaration order.
    pub extractions: Vec<Extracted>,
    /// What the runtime corrected in the generator's replies (empty for a conforming one).
    pub corrections: Vec<Correction>,
}

/// A span with its text, zone and tags resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanRef<'a> {
    /// The zone's index in the workflow.
    pub zone: ZoneId,
    /// The visit's index in [`Transcript::visits`].
    pub visit: u32,
    /// Where the text came from.
    pub kind: SpanKind,
    /// The span's text.
    pub text: &'a str,
    /// The zone's tags.
    pub tags: &'a [String],
}

impl Transcript {
    /// The spans with their text and tags.
    pub fn spans(&self) -> impl ExactSizeIterator<Item = SpanRef<'_>> + '_ {
        self.spans.iter().map(|s| {
            let v = &self.visits[s.visit as usize];
            SpanRef {
                zone: v.zone,
                visit: s.visit,
                kind: s.kind,
                text: &self.text[s.start..s.end],
                tags: &v.tags,
            }
        })
    }

    /// The zone path: zone indices in visit order.
    pub fn path(&self) -> Vec<ZoneId> {
        self.visits.iter().map(|v| v.zone).collect()
    }

    /// The full text of visit `i` (all its spans). Panics if `i` is out of range.
    pub fn visit_text(&self, i: usize) -> &str {
        let v = &self.visits[i];
        &self.text[v.start..v.end_byte]
    }

    /// The texts of the extraction `name`, one per matching visit; `None` if the workflow
    /// declares no such extraction.
    pub fn extraction(&self, name: &str) -> Option<&[String]> {
        self.extractions
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.texts.as_slice())
    }

    /// Tokens generated over the whole stream.
    pub fn tokens(&self) -> u64 {
        self.visits.iter().map(|v| u64::from(v.tokens)).sum()
    }

    /// Pretty JSON, for people.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a transcript always serializes")
    }

    /// Read the JSON form back.
    pub fn from_json(json: &str) -> Result<Transcript, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The compact binary form (postcard), for transport.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a transcript always serializes")
    }

    /// Read the binary form back.
    pub fn from_bytes(bytes: &[u8]) -> Result<Transcript, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// A transcript as read, before its ranges are checked.
#[derive(Deserialize)]
struct Unchecked {
    stream: StreamId,
    text: String,
    spans: Vec<Span>,
    visits: Vec<Visit>,
    extractions: Vec<Extracted>,
    corrections: Vec<Correction>,
}

impl TryFrom<Unchecked> for Transcript {
    type Error = String;

    /// Every range must lie in the text on character boundaries and every span must name a
    /// visit, so that reading a damaged file fails instead of panicking later.
    fn try_from(u: Unchecked) -> Result<Transcript, String> {
        let ok = |a: usize, b: usize| a <= b && u.text.get(a..b).is_some();
        for (i, s) in u.spans.iter().enumerate() {
            if !ok(s.start, s.end) || s.visit as usize >= u.visits.len() {
                return Err(format!("span {i} is out of range"));
            }
        }
        for (i, v) in u.visits.iter().enumerate() {
            if !ok(v.start, v.end_byte) {
                return Err(format!("visit {i} is out of range"));
            }
        }
        Ok(Transcript {
            stream: u.stream,
            text: u.text,
            spans: u.spans,
            visits: u.visits,
            extractions: u.extractions,
            corrections: u.corrections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{SpanKind, ZoneEnd};

    /// The names written by hand are the names serde writes and reads.
    #[test]
    fn names_are_the_serde_names() {
        use SpanKind as K;
        for k in [K::Forced, K::Generated, K::Fed, K::ForcedClose] {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<SpanKind>(&json).unwrap(), k);
        }
        use ZoneEnd as E;
        for e in [
            E::Pattern,
            E::Jump,
            E::Limit,
            E::Eos,
            E::Forced,
            E::ContextFull,
            E::ForcedJump,
            E::Unfinished,
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
            assert_eq!(serde_json::from_str::<ZoneEnd>(&json).unwrap(), e);
        }
    }
}
