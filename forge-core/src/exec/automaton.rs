//! The automaton of one stream (`docs/execution.md` §2): sans-IO, no threads, no clocks.
//!
//! Drive it with [`Automaton::step`]: it asks for a generation ([`Step::Generate`]: build the
//! request with [`Automaton::request`], hand the generator's reply to [`Automaton::reply`]),
//! for a tool call ([`Step::Tool`]: hand the tool's result to [`Automaton::tool_result`]), or
//! says the stream has ended ([`Step::Finished`]: take the result with
//! [`Automaton::finish`]).
//!
//! The rules it follows beyond the letter of the spec are in the [module docs](super).

use std::sync::Arc;

use super::error::{ErrorKind, StreamError, ZoneRef};
use super::generator::{End, Reply, Request, RequestId, Sampling, StreamId};
use super::plan::{Plan, Role};
use super::stop::StopScanner;
use super::transcript::{Correction, Extracted, Span, SpanKind, Transcript, Visit, ZoneEnd};
use crate::program::{SampledWorkflow, SharedStr, ZoneId};

/// What the automaton needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// A continuation: call [`Automaton::request`], then [`Automaton::reply`].
    Generate,
    /// A tool call: call the tool with `input`, then [`Automaton::tool_result`].
    Tool {
        /// The tool's name.
        name: &'a str,
        /// The text the model generated in the output zone (without the pattern that ended
        /// the zone).
        input: &'a str,
    },
    /// The stream has ended: call [`Automaton::finish`].
    Finished,
    /// The stream cannot go on: call [`Automaton::fail`] with the cause.
    Failed,
}

#[derive(Debug)]
enum Phase {
    Enter(ZoneId),
    Generate,
    AwaitReply,
    Leave {
        jump: bool,
        end: ZoneEnd,
        pattern_start: usize,
    },
    AwaitTool {
        target: Option<ZoneId>,
        name: SharedStr,
        input: String,
    },
    Finished,
    Stuck(ErrorKind),
}

/// The zone-ending occurrence found by a scan.
struct ZoneExit {
    jump: bool,
    pattern_start: usize,
}

/// One stream's automaton. See the [`exec` module docs](super) for the rules it follows.
#[derive(Debug)]
pub struct Automaton {
    plan: Arc<Plan>,
    sample: Arc<SampledWorkflow>,
    stream: StreamId,
    text: Arc<String>,
    spans: Vec<Span>,
    visits: Vec<Visit>,
    corrections: Vec<Correction>,
    phase: Phase,
    zone: ZoneId,
    depth: u8,
    /// Tokens generated in the current visit.
    used: u32,
    /// `max_tokens` of the request in flight.
    asked: u32,
    /// The search of the current zone's text for its patterns.
    scanner: StopScanner,
    /// The first span of the current visit.
    visit_span: usize,
    tool_result: Option<String>,
    /// Context length of the latest request (the next request's prefix).
    sent: usize,
    /// Prefix of the latest request (for a retry).
    sent_prefix: usize,
    /// Zones entered since the last request.
    idle_visits: usize,
    /// The most zone visits the stream may make.
    max_visits: usize,
    /// Whether a full server context closes the zone (else it fails the stream).
    continue_full: bool,
    /// Per bounded loop (`plan.bounded`): visits of its control zone since the loop was
    /// entered (reset when its jump is taken, the only way out of a loop).
    loop_visits: Vec<u32>,
    /// In a bounded loop's control zone held by `at_least`: its index in `plan.bounded` (the
    /// control pattern is plain text during this visit).
    plain: Option<u32>,
}

impl Automaton {
    /// The automaton of stream `stream`, executing `sample` (which `plan` must fit).
    pub fn new(
        plan: Arc<Plan>,
        sample: impl Into<Arc<SampledWorkflow>>,
        stream: StreamId,
    ) -> Result<Automaton, StreamError> {
        let sample = sample.into();
        if !plan.fits(&sample) {
            return Err(StreamError {
                stream,
                zone: None,
                kind: ErrorKind::InvalidWorkflow(
                    "the plan was built for another workflow".to_owned(),
                ),
                partial: None,
            });
        }
        let entry = plan.meta.entry;
        let loops = plan.bounded.len();
        let capacity = sample.text().len() + sample.text().len() / 2;
        Ok(Automaton {
            plan,
            sample,
            stream,
            text: Arc::new(String::with_capacity(capacity)),
            spans: Vec::new(),
            visits: Vec::new(),
            corrections: Vec::new(),
            phase: Phase::Enter(entry),
            zone: entry,
            depth: 0,
            used: 0,
            asked: 0,
            scanner: StopScanner::new(),
            visit_span: 0,
            tool_result: None,
            sent: 0,
            sent_prefix: 0,
            idle_visits: 0,
            max_visits: usize::MAX,
            continue_full: false,
            loop_visits: vec![0; loops],
            plain: None,
        })
    }

    /// Fail the stream once it has visited `n` zones without ending (default: no limit): a
    /// loop the model never leaves would otherwise run, and grow, forever.
    pub fn limit_visits(&mut self, n: usize) {
        self.max_visits = n;
    }

    /// When the server's context runs out in a zone ([`End::ContextFull`]): close the zone as
    /// [`ZoneEnd::ContextFull`] and go on (`true`), or fail the stream (`false`, the default).
    pub fn continue_on_full_context(&mut self, go_on: bool) {
        self.continue_full = go_on;
    }

    /// The stream this automaton runs.
    pub fn stream(&self) -> StreamId {
        self.stream
    }

    /// The transcript so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The zone the stream is in (or last was in).
    pub fn zone(&self) -> Option<ZoneRef> {
        let info = self.plan.meta.zones.get(self.zone.index())?;
        Some(ZoneRef::new(self.zone, info))
    }

    /// End the zone at `exit`: by its jump, or else by `end` (how a non-jump exit ends it).
    fn leave_by(&mut self, exit: ZoneExit, end: ZoneEnd) {
        let end = if exit.jump { ZoneEnd::Jump } else { end };
        self.phase = Phase::Leave {
            jump: exit.jump,
            end,
            pattern_start: exit.pattern_start,
        };
    }

    /// Advance through everything that needs no outside input and say what is needed next.
    pub fn step(&mut self) -> Step<'_> {
        loop {
            match self.phase {
                Phase::Enter(z) => self.enter(z),
                Phase::Generate | Phase::AwaitReply => return Step::Generate,
                Phase::Leave {
                    jump,
                    end,
                    pattern_start,
                } => self.leave(jump, end, pattern_start),
                Phase::AwaitTool { .. } => break,
                Phase::Finished => return Step::Finished,
                Phase::Stuck(_) => return Step::Failed,
            }
        }
        match &self.phase {
            Phase::AwaitTool { name, input, .. } => Step::Tool { name, input },
            _ => Step::Failed,
        }
    }

    /// The request for [`Step::Generate`]: the transcript as context, the stop set of the
    /// current escape depth, the zone's remaining token budget.
    pub fn request(&mut self, id: RequestId, sampling: Sampling) -> Request {
        if matches!(self.phase, Phase::Generate) {
            self.sent_prefix = self.sent;
            self.sent = self.text.len();
            self.asked = self.plan.limits[self.zone.index()] - self.used;
            self.phase = Phase::AwaitReply;
            self.idle_visits = 0;
        }
        Request::with_stop_set(
            id,
            self.stream,
            self.text.clone(),
            self.sent_prefix,
            self.plan
                .set_of(self.zone, self.depth, self.plain)
                .set
                .clone(),
            self.asked,
            sampling,
        )
    }

    /// Take the generator's reply to the latest request and advance (ignored unless a reply
    /// is awaited).
    pub fn reply(&mut self, reply: Reply) {
        if !matches!(self.phase, Phase::AwaitReply) {
            return;
        }
        let visit = self.visits.len() as u32 - 1;
        let mut counted = reply.tokens;
        if !reply.text.is_empty() {
            counted = counted.max(1);
        }
        let over = counted > self.asked;
        if over {
            self.corrections.push(Correction::OverLimit {
                visit,
                claimed: reply.tokens,
                allowed: self.asked,
            });
            counted = self.asked;
        }
        self.used += counted;
        let v = self.visits.last_mut().expect("a visit is open");
        v.tokens += counted;
        v.requests += 1;
        if let Some(exit) = self.append(&reply.text, SpanKind::Generated) {
            self.leave_by(exit, ZoneEnd::Pattern);
            return;
        }
        let spent = self.used >= self.plan.limits[self.zone.index()];
        match reply.end {
            _ if over => self.close(ZoneEnd::Limit),
            End::Limit => self.close(ZoneEnd::Limit),
            End::Eos => self.close(ZoneEnd::Eos),
            End::Stop(_) if spent => self.close(ZoneEnd::Limit),
            End::Stop(_) if reply.text.is_empty() => {
                self.corrections.push(Correction::EmptyStop { visit });
                self.close(ZoneEnd::Eos)
            }
            End::Stop(_) => self.phase = Phase::Generate,
            End::ContextFull { .. } if spent => self.close(ZoneEnd::Limit),
            End::ContextFull { .. } if self.continue_full => self.close(ZoneEnd::ContextFull),
            End::ContextFull { context, needed } => {
                let generated = self.visits.last().map_or(0, |v| v.tokens);
                self.phase = Phase::Stuck(ErrorKind::ContextFull {
                    generated,
                    context,
                    needed,
                });
            }
        }
    }

    /// Take the result of the tool call asked for by [`Step::Tool`]; it becomes the stream's
    /// latest tool result (ignored unless a tool result is awaited).
    pub fn tool_result(&mut self, result: String) {
        if let Phase::AwaitTool { target, .. } = self.phase {
            self.tool_result = Some(result);
            self.phase = target.map_or(Phase::Finished, Phase::Enter);
        }
    }

    /// The result of a finished stream (or what it has produced so far).
    pub fn finish(self) -> Transcript {
        let mut extractions = Vec::with_capacity(self.plan.extractions.len());
        for (name, zones) in &self.plan.extractions {
            let texts = self
                .visits
                .iter()
                .filter(|v| zones.binary_search(&v.zone).is_ok())
                .map(|v| self.text[v.start..v.end_byte].to_owned())
                .collect();
            extractions.push(Extracted {
                name: name.clone(),
                texts,
            });
        }
        let mut t = self.into_partial();
        t.extractions = extractions;
        t
    }

    /// The stream failed: its located error, with what it had produced.
    pub fn fail(self, kind: Option<ErrorKind>) -> StreamError {
        let stream = self.stream;
        let zone = self.zone();
        let kind = match (kind, &self.phase) {
            (Some(kind), _) => kind,
            (None, Phase::Stuck(kind)) => kind.clone(),
            (None, _) => ErrorKind::InvalidWorkflow("the stream was stopped".to_owned()),
        };
        let mut partial = self.into_partial();
        if let Some(v) = partial
            .visits
            .last_mut()
            .filter(|v| v.end == ZoneEnd::Unfinished)
        {
            v.end_byte = partial.text.len();
        }
        StreamError {
            stream,
            zone,
            kind,
            partial: Some(Box::new(partial)),
        }
    }

    fn into_partial(self) -> Transcript {
        Transcript {
            stream: self.stream,
            text: Arc::try_unwrap(self.text).unwrap_or_else(|shared| (*shared).clone()),
            spans: self.spans,
            visits: self.visits,
            extractions: Vec::new(),
            corrections: self.corrections,
        }
    }

    // ------------------------------------------------------------------------------ internals

    /// `docs/execution.md` §2, steps 1–3.
    fn enter(&mut self, z: ZoneId) {
        self.idle_visits += 1;
        if self.idle_visits > self.plan.meta.zones.len() + 1 {
            self.phase = Phase::Stuck(ErrorKind::InvalidWorkflow(format!(
                "the stream visited {} zones in a row without asking the model: a loop whose \
                 zones are all fully written would never end",
                self.idle_visits - 1
            )));
            return;
        }
        if self.visits.len() >= self.max_visits {
            self.phase = Phase::Stuck(ErrorKind::VisitLimit {
                visits: self.visits.len(),
            });
            return;
        }
        self.zone = z;
        self.used = 0;
        self.visit_span = self.spans.len();
        let info = &self.plan.meta.zones[z.index()];
        self.visits.push(Visit {
            zone: z,
            tags: info.tags.clone(),
            end: ZoneEnd::Unfinished,
            tokens: 0,
            requests: 0,
            start: self.text.len(),
            end_byte: self.text.len(),
        });
        let mut forced_jump = false;
        self.plain = None;
        if let Some(b) = self.plan.bounded_index(z) {
            let count = &mut self.loop_visits[b as usize];
            *count = count.saturating_add(1);
            let bounds = self.plan.bounded[b as usize].bounds;
            forced_jump = bounds.forces(*count);
            if bounds.holds(*count) {
                self.plain = Some(b);
            }
        }
        let sample = self.sample.clone();
        let exit = self.append(sample.zone(z).text(), SpanKind::Forced);
        if let Some(exit) = exit {
            self.leave_by(exit, ZoneEnd::Forced);
        } else if forced_jump {
            self.force_jump();
        } else if self.plan.meta.zones[z.index()].input {
            let fed = self.tool_result.take().unwrap_or_default();
            let exit = self.append(&fed, SpanKind::Fed);
            self.tool_result = Some(fed);
            match exit {
                Some(exit) => {
                    self.leave_by(exit, ZoneEnd::Forced);
                }
                None => self.close(ZoneEnd::Forced),
            }
        } else if self.plan.limits[z.index()] == 0 {
            self.close(ZoneEnd::Limit);
        } else {
            self.phase = Phase::Generate;
        }
    }

    /// `docs/execution.md` §2, step 5 (and the close of an input zone): close an open escape,
    /// append the advance pattern, leave by *next*.
    fn close(&mut self, end: ZoneEnd) {
        let visit = self.visits.len() as u32 - 1;
        if self.depth == 1 {
            let close = self.plan.escape_close.clone();
            self.push(&close, SpanKind::ForcedClose, visit);
            self.depth = 0;
        }
        let advance = self.plan.meta.zones[self.zone.index()].advance.clone();
        self.push(&advance, SpanKind::ForcedClose, visit);
        self.scanner.restart_at(self.text.len());
        self.phase = Phase::Leave {
            jump: false,
            end,
            pattern_start: usize::MAX,
        };
    }

    /// docs/programs.md §2: a bounded loop's control zone past `at_most`. Its text has been fed;
    /// close an open escape, append the control pattern, leave by *jump*.
    fn force_jump(&mut self) {
        let visit = self.visits.len() as u32 - 1;
        if self.depth == 1 {
            let close = self.plan.escape_close.clone();
            self.push(&close, SpanKind::ForcedClose, visit);
            self.depth = 0;
        }
        let info = &self.plan.meta.zones[self.zone.index()];
        let Some(control) = info.jump.as_ref().map(|j| j.pattern.clone()) else {
            self.phase = Phase::Stuck(ErrorKind::InvalidWorkflow(
                "a bounded loop's control zone has no jump edge".to_owned(),
            ));
            return;
        };
        self.push(&control, SpanKind::ForcedClose, visit);
        self.scanner.restart_at(self.text.len());
        self.phase = Phase::Leave {
            jump: true,
            end: ZoneEnd::ForcedJump,
            pattern_start: usize::MAX,
        };
    }

    /// `docs/execution.md` §2, step 6.
    fn leave(&mut self, jump: bool, end: ZoneEnd, pattern_start: usize) {
        if jump && let Some(b) = self.plan.bounded_index(self.zone) {
            self.loop_visits[b as usize] = 0;
        }
        let len = self.text.len();
        let v = self.visits.last_mut().expect("a visit is open");
        v.end = end;
        v.end_byte = len;
        let info = &self.plan.meta.zones[self.zone.index()];
        let target = if jump {
            info.jump.as_ref().and_then(|j| j.target)
        } else {
            info.next
        };
        match (&info.tool, info.output) {
            (Some(tool), true) => {
                let mut input = String::new();
                for s in &self.spans[self.visit_span..] {
                    if s.kind == SpanKind::Generated && s.start < pattern_start {
                        input.push_str(&self.text[s.start..s.end.min(pattern_start)]);
                    }
                }
                self.phase = Phase::AwaitTool {
                    target,
                    name: tool.clone(),
                    input,
                };
            }
            _ => self.phase = target.map_or(Phase::Finished, Phase::Enter),
        }
    }

    /// Append `piece` as a span of `kind` and scan it (`docs/execution.md` §2 step 4). If a pattern ends the
    /// zone, the text after it is dropped and the exit is returned.
    fn append(&mut self, piece: &str, kind: SpanKind) -> Option<ZoneExit> {
        if piece.is_empty() {
            return None;
        }
        let visit = self.visits.len() as u32 - 1;
        self.push(piece, kind, visit);
        let exit = self.scan()?;
        let end = exit.pattern_start + self.pattern_len(&exit);
        if end < self.text.len() {
            let text = Arc::make_mut(&mut self.text);
            if kind == SpanKind::Generated {
                self.corrections.push(Correction::Discarded {
                    visit,
                    text: text[end..].to_owned(),
                });
            }
            text.truncate(end);
            let span = self.spans.last_mut().expect("just pushed");
            span.end = end;
        }
        self.scanner.restart_at(end);
        Some(exit)
    }

    fn pattern_len(&self, exit: &ZoneExit) -> usize {
        let info = &self.plan.meta.zones[self.zone.index()];
        match (&info.jump, exit.jump) {
            (Some(j), true) => j.pattern.len(),
            _ => info.advance.len(),
        }
    }

    fn push(&mut self, piece: &str, kind: SpanKind, visit: u32) {
        let start = self.text.len();
        Arc::make_mut(&mut self.text).push_str(piece);
        self.spans.push(Span {
            visit,
            kind,
            start,
            end: self.text.len(),
        });
    }

    /// Scan the text appended since the last scan, following escape depth changes, until a
    /// pattern ends the zone.
    fn scan(&mut self) -> Option<ZoneExit> {
        let bytes = self.text.as_bytes();
        loop {
            let stops = self.plan.set_of(self.zone, self.depth, self.plain);
            let hit = self.scanner.scan(&stops.set, bytes)?;
            match stops.roles[hit.index] {
                Role::EscapeOpen => self.depth = 1,
                Role::EscapeClose => self.depth = 0,
                Role::Advance => {
                    return Some(ZoneExit {
                        jump: false,
                        pattern_start: hit.start,
                    });
                }
                Role::Control => {
                    return Some(ZoneExit {
                        jump: true,
                        pattern_start: hit.start,
                    });
                }
            }
        }
    }
}
