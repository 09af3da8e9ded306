//! One stream's line: encoding a result, and reading a line back into a transcript.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::RunHeader;
use crate::dataset::DatasetError;
use crate::exec::{
    Correction, Extracted, Span, SpanKind, StreamId, StreamResult, Transcript, Visit, ZoneEnd,
};
use crate::json;
use crate::program::{WorkflowMeta, ZoneId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorWire {
    message: String,
    zone: Option<ZoneId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitWire {
    zone: ZoneId,
    end: ZoneEnd,
    tokens: u32,
    requests: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanIn {
    visit: u32,
    zone: ZoneId,
    kind: SpanKind,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    index: u64,
    seed: u64,
    status: String,
    #[serde(default)]
    error: Option<ErrorWire>,
    visits: Vec<VisitWire>,
    spans: Vec<SpanIn>,
    extractions: BTreeMap<String, Vec<String>>,
    corrections: Vec<Correction>,
}

/// Appends the line of stream `index` (`\n` included) of a run with dataset seed `seed`.
///
/// Written by hand with the dataset writer's JSON escaping (the same bytes as `serde_json`,
/// which the reader parses); enums by their serde names, corrections through serde.
pub(crate) fn encode(index: u64, seed: u64, result: &StreamResult, out: &mut Vec<u8>) {
    let empty = Transcript {
        stream: StreamId(0),
        text: String::new(),
        spans: Vec::new(),
        visits: Vec::new(),
        extractions: Vec::new(),
        corrections: Vec::new(),
    };
    let (t, error) = match result {
        Ok(t) => (t, None),
        Err(e) => (e.partial.as_deref().unwrap_or(&empty), Some(e)),
    };
    out.reserve(t.text.len() + 64 * (t.spans.len() + t.visits.len()) + 128);
    out.extend_from_slice(b"{\"index\":");
    json::push_u64(out, index);
    out.extend_from_slice(b",\"seed\":");
    json::push_u64(out, seed);
    match error {
        None => out.extend_from_slice(b",\"status\":\"finished\""),
        Some(e) => {
            out.extend_from_slice(b",\"status\":\"failed\",\"error\":{\"message\":");
            json::push_str(out, &e.to_string());
            out.extend_from_slice(b",\"zone\":");
            match &e.zone {
                Some(z) => json::push_u64(out, u64::from(z.index.get())),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
    }
    out.extend_from_slice(b",\"visits\":[");
    for (i, v) in t.visits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"zone\":");
        json::push_u64(out, u64::from(v.zone.get()));
        out.extend_from_slice(b",\"end\":\"");
        out.extend_from_slice(v.end.as_str().as_bytes());
        out.push(b'"');
        out.extend_from_slice(b",\"tokens\":");
        json::push_u64(out, u64::from(v.tokens));
        out.extend_from_slice(b",\"requests\":");
        json::push_u64(out, u64::from(v.requests));
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"spans\":[");
    for (i, s) in t.spans().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"visit\":");
        json::push_u64(out, u64::from(s.visit));
        out.extend_from_slice(b",\"zone\":");
        json::push_u64(out, u64::from(s.zone.get()));
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(s.kind.as_str().as_bytes());
        out.push(b'"');
        out.extend_from_slice(b",\"text\":");
        json::push_str(out, s.text);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"extractions\":{");
    for (i, e) in t.extractions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::push_str(out, &e.name);
        out.extend_from_slice(b":[");
        for (j, text) in e.texts.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            json::push_str(out, text);
        }
        out.push(b']');
    }
    out.extend_from_slice(b"},\"corrections\":");
    if t.corrections.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        serde_json::to_writer(&mut *out, &t.corrections).expect("corrections always serialize");
    }
    out.extend_from_slice(b"}\n");
}

/// One stream read back from a run file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLine {
    /// The stream's index: sample `index` of the dataset.
    pub index: u64,
    /// The dataset seed (the header's).
    pub seed: u64,
    /// The transcript of a finished stream, or why it failed.
    pub outcome: Result<Transcript, FailedStream>,
}

/// A failed stream as its line records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedStream {
    /// The error, located (stream, zone, sequence, block) as the run reported it.
    pub message: String,
    /// The zone the stream was in, if it had entered one.
    pub zone: Option<ZoneId>,
    /// What the stream had produced when it failed (`None` if nothing).
    pub partial: Option<Transcript>,
}

impl RunLine {
    /// Whether the stream finished.
    pub fn finished(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// Parses line `number` (1-based) of a run file with `header`.
pub(crate) fn decode(header: &RunHeader, number: u64, line: &str) -> Result<RunLine, DatasetError> {
    let bad = |m: String| DatasetError::invalid(number, m);
    let wire: LineIn = serde_json::from_str(line.trim_end_matches('\n'))
        .map_err(|e| bad(format!("not a stream line of a run file: {e}")))?;
    if wire.seed != header.seed {
        return Err(bad(format!(
            "the line's seed is {}, the header's {}",
            wire.seed, header.seed
        )));
    }
    let stream = u32::try_from(wire.index)
        .map_err(|_| bad(format!("index {} is past the last stream id", wire.index)))?;
    let meta = &header.workflow;
    let transcript = rebuild(meta, StreamId(stream), &wire).map_err(bad)?;
    let outcome = match (wire.status.as_str(), wire.error) {
        ("finished", None) => Ok(transcript),
        ("failed", Some(e)) => Err(FailedStream {
            message: e.message,
            zone: e.zone,
            partial: (!transcript.visits.is_empty()).then_some(transcript),
        }),
        ("finished", Some(_)) => return Err(bad("a finished stream with an `error`".into())),
        ("failed", None) => return Err(bad("a failed stream without its `error`".into())),
        (other, _) => {
            return Err(bad(format!(
                "the status is `{other}`, expected `finished` or `failed`"
            )));
        }
    };
    Ok(RunLine {
        index: wire.index,
        seed: wire.seed,
        outcome,
    })
}

/// The transcript a line describes, checked against the workflow's zones.
fn rebuild(meta: &WorkflowMeta, stream: StreamId, wire: &LineIn) -> Result<Transcript, String> {
    let mut text = String::new();
    let mut spans = Vec::with_capacity(wire.spans.len());
    let mut visits = Vec::with_capacity(wire.visits.len());
    let mut next_span = wire.spans.iter().peekable();
    for (v, w) in wire.visits.iter().enumerate() {
        let zone = meta
            .zones
            .get(w.zone.index())
            .ok_or_else(|| format!("visit {v} names zone {}, past the workflow's zones", w.zone))?;
        let start = text.len();
        while let Some(s) = next_span.next_if(|s| s.visit as usize == v) {
            if s.zone != w.zone {
                return Err(format!(
                    "a span of visit {v} names zone {}, the visit zone {}",
                    s.zone, w.zone
                ));
            }
            let a = text.len();
            text.push_str(&s.text);
            spans.push(Span {
                visit: v as u32,
                kind: s.kind,
                start: a,
                end: text.len(),
            });
        }
        visits.push(Visit {
            zone: w.zone,
            tags: Arc::clone(&zone.tags),
            end: w.end,
            tokens: w.tokens,
            requests: w.requests,
            start,
            end_byte: text.len(),
        });
    }
    if let Some(s) = next_span.next() {
        return Err(format!(
            "a span names visit {}, which is not among the {} visits (or is out of order)",
            s.visit,
            visits.len()
        ));
    }
    let mut extractions = Vec::with_capacity(wire.extractions.len());
    for e in &meta.extractions {
        if let Some(texts) = wire.extractions.get(e.name.as_str()) {
            extractions.push(Extracted {
                name: e.name.clone(),
                texts: texts.clone(),
            });
        }
    }
    if extractions.len() != wire.extractions.len() {
        return Err("an extraction the workflow does not declare".into());
    }
    Ok(Transcript {
        stream,
        text,
        spans,
        visits,
        extractions,
        corrections: wire.corrections.clone(),
    })
}

/// Whether a complete line written by [`encode`] records a failed stream (read by its prefix:
/// `{"index":I,"seed":S,"status":"failed"`).
pub(crate) fn is_failed(line: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(line, b",\"status\":\"") else {
        return false;
    };
    line[at + 11..].starts_with(b"failed\"")
}
