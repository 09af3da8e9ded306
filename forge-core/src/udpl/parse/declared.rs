//! The `[program]` table (docs/programs.md §3): steps, `with` tables, bounds and extractions, each
//! checked against the document at the offending value.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::source::{Linter, Span};
use super::value::describe;
use crate::udpl::declared::{
    DeclaredCall, DeclaredExtraction, DeclaredProgram, DeclaredStep, StepKind, WithValue,
};
use crate::udpl::model::{Config, ResourceKind, Segment, Sequence};
use crate::udpl::names::did_you_mean;

/// The step kinds: each names the step's sequence.
const KINDS: &[&str] = &["run", "loop", "when", "capture", "feed"];

/// The keys a step of `kind` takes besides its kind key.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "loop" => &["with", "at_least", "at_most", "body"],
        "when" => &["with", "then", "otherwise"],
        "capture" => &["with", "tool"],
        _ => &["with"],
    }
}

/// The kind a key other than a kind key belongs to, for "belongs to a … step".
fn owner_of(key: &str) -> Option<&'static str> {
    match key {
        "at_least" | "at_most" | "body" => Some("loop"),
        "then" | "otherwise" => Some("when"),
        "tool" => Some("capture"),
        _ => None,
    }
}

/// Steps nested deeper than this are an error (the parser never recurses without bound).
const MAX_DEPTH: usize = 64;

/// What the checks need from the rest of the document.
pub(super) struct DocView<'d> {
    pub(super) config: &'d Config,
    pub(super) sequences: &'d [Sequence],
}

impl DocView<'_> {
    fn sequence(&self, name: &str) -> Option<&Sequence> {
        self.sequences.iter().find(|s| s.name.name == name)
    }
}

impl<'s> Linter<'s> {
    /// The `[program]` table at `value` (key at `key`), or `None` after reporting its errors.
    pub(super) fn declared_program(
        &mut self,
        file: usize,
        key: Span,
        value: &Spanned<DeValue<'s>>,
        doc: &DocView<'_>,
    ) -> Option<DeclaredProgram> {
        let errors_before = self.error_count();
        let DeValue::Table(table) = value.get_ref() else {
            self.error(file, value.span(), "`program` must be a table")
                .label(format!("found {}", describe(value.get_ref())))
                .help("declare the program as `[program]` with `[[program.step]]` tables");
            return None;
        };
        let mut steps = Vec::new();
        let mut extractions = Vec::new();
        let mut has_steps = false;
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "step" => {
                    has_steps = true;
                    steps = self.steps(file, v, doc, "step", 0);
                    if matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
                        self.empty_program(file, v.span());
                    }
                }
                "extract" => extractions = self.extractions(file, v, doc),
                other => {
                    let help = match did_you_mean(other, ["step", "extract"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "`[program]` holds `step` (the steps) and `extract` (the \
                                 outputs)"
                            .to_owned(),
                    };
                    self.error(
                        file,
                        k.span(),
                        format!("unknown key `{other}` in `[program]`"),
                    )
                    .label("not `step` or `extract`")
                    .help(help);
                }
            }
        }
        if !has_steps {
            self.empty_program(file, key.clone());
        }
        if self.error_count() > errors_before {
            return None;
        }
        Some(DeclaredProgram {
            location: self.location(file, key.start),
            steps,
            extractions,
        })
    }

    fn empty_program(&mut self, file: usize, span: Span) {
        self.error(file, span, "the declared program is empty")
            .label("no steps")
            .help("add at least one step, e.g. `[[program.step]]` with `run = \"<sequence>\"`");
    }

    /// An array of step tables (`step`, `body`, `then`, `otherwise`).
    fn steps(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
        doc: &DocView<'_>,
        what: &str,
        depth: usize,
    ) -> Vec<DeclaredStep> {
        let DeValue::Array(items) = v.get_ref() else {
            self.error(
                file,
                v.span(),
                format!("`{what}` must be an array of step tables"),
            )
            .label(format!("found {}", describe(v.get_ref())))
            .help("write steps as `[{ run = \"<sequence>\" }, …]` or `[[…]]` tables");
            return Vec::new();
        };
        if depth >= MAX_DEPTH {
            self.error(
                file,
                v.span(),
                format!("steps are nested more than {MAX_DEPTH} deep"),
            )
            .label("too deep")
            .help("flatten the program");
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => {
                    if let Some(step) = self.step(file, item.span(), t, doc, depth) {
                        out.push(step);
                    }
                }
                other => {
                    self.error(
                        file,
                        item.span(),
                        format!("a `{what}` entry must be a table"),
                    )
                    .label(format!("found {}", describe(other)))
                    .help("write a step as `{ run = \"<sequence>\" }`");
                }
            }
        }
        out
    }

    fn step(
        &mut self,
        file: usize,
        span: Span,
        t: &DeTable<'s>,
        doc: &DocView<'_>,
        depth: usize,
    ) -> Option<DeclaredStep> {
        let errors_before = self.error_count();
        // The kind: exactly one kind key.
        let mut kind: Option<(&str, &Spanned<DeValue<'s>>)> = None;
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            if let Some(&kw) = KINDS.iter().find(|&&kw| kw == key) {
                if let Some((first, _)) = kind {
                    self.error(
                        file,
                        k.span(),
                        format!("a step has one kind, but this one is `{first}` and `{kw}`"),
                    )
                    .label("second kind")
                    .help("split it into two steps");
                } else {
                    kind = Some((kw, v));
                }
            }
        }
        let Some((kw, seq_value)) = kind else {
            let unknown: Vec<_> = t
                .iter()
                .filter(|(k, _)| {
                    let key: &str = k.get_ref();
                    key != "with" && owner_of(key).is_none()
                })
                .collect();
            if unknown.is_empty() {
                self.error(file, span, "this step has no kind")
                    .label("no `run`, `loop`, `when`, `capture` or `feed`")
                    .help("name the step's sequence with one of `run`, `loop`, `when`, `capture`, `feed`");
            }
            for (k, _) in unknown {
                let key: &str = k.get_ref();
                let help = match did_you_mean(key, KINDS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a step is one of `run`, `loop`, `when`, `capture`, `feed`".to_owned(),
                };
                self.error(file, k.span(), format!("unknown step kind `{key}`"))
                    .label("not a step kind")
                    .help(help);
            }
            return None;
        };
        let call = self.call(file, kw, seq_value, t, doc);
        // Keys for the kind.
        let allowed = keys_of(kw);
        for (k, _) in t.iter() {
            let key: &str = k.get_ref();
            if key == kw || KINDS.contains(&key) || allowed.contains(&key) {
                continue;
            }
            let help = match (owner_of(key), did_you_mean(key, allowed.iter().copied())) {
                (Some(owner), _) => format!("`{key}` belongs to a `{owner}` step"),
                (None, Some(s)) => format!("did you mean `{s}`?"),
                (None, None) => format!(
                    "a `{kw}` step takes {}",
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                file,
                k.span(),
                format!("unknown key `{key}` in a `{kw}` step"),
            )
            .label(format!("not a key of `{kw}`"))
            .help(help);
        }
        let get = |name: &str| {
            t.iter()
                .find(|(k, _)| *k.get_ref() == *name)
                .map(|(_, v)| v)
        };
        let kind = match kw {
            "run" => StepKind::Run,
            "feed" => StepKind::Feed,
            "capture" => {
                let tool = match get("tool") {
                    None => {
                        self.error(file, span.clone(), "a `capture` step needs a `tool`")
                            .label("no `tool`")
                            .help("name the tool from `config.tools` that receives the text");
                        String::new()
                    }
                    Some(v) => self.tool(file, v, doc),
                };
                StepKind::Capture { tool }
            }
            "loop" => {
                self.control(file, seq_value, &call, doc);
                let at_least = get("at_least").and_then(|v| self.bound(file, "at_least", v));
                let at_most = get("at_most").and_then(|v| self.bound(file, "at_most", v));
                if let (Some((n, span)), Some((m, _))) = (&at_least, &at_most)
                    && n > m
                {
                    self.error(
                        file,
                        span.clone(),
                        format!("`at_least = {n}` is above `at_most = {m}`"),
                    )
                    .label("out of order")
                    .help("the body cannot run more than `at_most` times: lower `at_least` or raise `at_most`");
                }
                let body = match get("body") {
                    None => {
                        self.error(file, span.clone(), "a `loop` step needs a `body`")
                            .label("no `body`")
                            .help("add `body = [{ run = \"<sequence>\" }]`");
                        Vec::new()
                    }
                    Some(v) => {
                        if matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
                            self.error(file, v.span(), "the loop body is empty")
                                .label("no steps")
                                .help("run at least one sequence in the body");
                        }
                        self.steps(file, v, doc, "body", depth + 1)
                    }
                };
                StepKind::Loop {
                    at_least: at_least.map_or(0, |(n, _)| n),
                    at_most: at_most.map(|(m, _)| m),
                    body,
                }
            }
            _ => {
                self.control(file, seq_value, &call, doc);
                let then = get("then")
                    .map_or_else(Vec::new, |v| self.steps(file, v, doc, "then", depth + 1));
                let otherwise = get("otherwise").map_or_else(Vec::new, |v| {
                    self.steps(file, v, doc, "otherwise", depth + 1)
                });
                StepKind::When { then, otherwise }
            }
        };
        if self.error_count() > errors_before {
            return None;
        }
        Some(DeclaredStep {
            kind,
            call: call?,
            location: self.location(file, span.start),
        })
    }

    /// The step's sequence and its `with` table.
    fn call(
        &mut self,
        file: usize,
        kw: &str,
        v: &Spanned<DeValue<'s>>,
        t: &DeTable<'s>,
        doc: &DocView<'_>,
    ) -> Option<DeclaredCall> {
        let DeValue::String(name) = v.get_ref() else {
            self.error(file, v.span(), format!("`{kw}` must name a sequence"))
                .label(format!("found {}", describe(v.get_ref())))
                .help(format!("write `{kw} = \"<sequence>\"`"));
            return None;
        };
        let listed = &doc.config.sequences;
        if !listed.iter().any(|s| s == name.as_ref()) {
            let help = match did_you_mean(name, listed.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("declared sequences: {}", quoted(listed)),
            };
            self.error(file, v.span(), format!("unknown sequence `{name}`"))
                .label("not in `config.sequences`")
                .help(help);
            return None;
        }
        let seq = doc.sequence(name)?;
        let custom = seq.resources_of_kind(ResourceKind::Custom);
        let mut with = Vec::new();
        let with_value = t
            .iter()
            .find(|(k, _)| *k.get_ref() == *"with")
            .map(|(_, v)| v);
        if let Some(wv) = with_value {
            match wv.get_ref() {
                DeValue::Table(wt) => {
                    for (k, val) in wt.iter() {
                        let key: &str = k.get_ref();
                        if !custom.contains(&key) {
                            let help = match did_you_mean(key, custom.iter().copied()) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None if custom.is_empty() => {
                                    format!(
                                        "sequence `{name}` has no custom resources; remove `with`"
                                    )
                                }
                                None => format!("its custom resources: {}", quoted(&custom)),
                            };
                            self.error(
                                file,
                                k.span(),
                                format!("`{key}` is not a custom resource of sequence `{name}`"),
                            )
                            .label("unknown `with` key")
                            .help(help);
                            continue;
                        }
                        if let Some(x) = self.with_value(file, key, val) {
                            with.push((key.to_owned(), x));
                        }
                    }
                }
                other => {
                    self.error(file, wv.span(), "`with` must be a table")
                        .label(format!("found {}", describe(other)))
                        .help("write `with = { name = value }`");
                }
            }
        }
        for r in &custom {
            let defaulted = seq
                .blocks
                .iter()
                .flat_map(|b| &b.placeholders)
                .any(|p| p.resource == *r && p.default.is_some());
            let given = with_value.is_some_and(|wv| match wv.get_ref() {
                DeValue::Table(wt) => wt.iter().any(|(k, _)| *k.get_ref() == **r),
                _ => true,
            });
            if !given && !defaulted {
                self.error(
                    file,
                    v.span(),
                    format!("custom resource `{r}` of sequence `{name}` is not set"),
                )
                .label("missing in `with`")
                .help(format!(
                    "add `with = {{ {r} = … }}` to this step, or give `{r}` a `default`"
                ));
            }
        }
        Some(DeclaredCall {
            sequence: name.to_string(),
            with,
            location: self.location(file, v.span().start),
        })
    }

    fn with_value(
        &mut self,
        file: usize,
        key: &str,
        v: &Spanned<DeValue<'s>>,
    ) -> Option<WithValue> {
        Some(match v.get_ref() {
            DeValue::String(s) => WithValue::Text(s.to_string()),
            DeValue::Boolean(b) => WithValue::Bool(*b),
            DeValue::Integer(_) | DeValue::Float(_) => match self.convert_value(file, v)? {
                toml::Value::Integer(n) => WithValue::Integer(n),
                toml::Value::Float(x) => WithValue::Float(x),
                _ => return None,
            },
            other => {
                self.error(
                    file,
                    v.span(),
                    format!("`with` value `{key}` must be text, a number or a boolean"),
                )
                .label(format!("found {}", describe(other)));
                return None;
            }
        })
    }

    /// A loop's or when's control sequence: its last zone must be one the model writes, or
    /// the jump could never be taken.
    fn control(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
        call: &Option<DeclaredCall>,
        doc: &DocView<'_>,
    ) {
        let Some(seq) = call.as_ref().and_then(|c| doc.sequence(&c.sequence)) else {
            return;
        };
        let Some(zone) = seq.blocks.last().and_then(|b| b.zones.last()) else {
            return;
        };
        let written =
            matches!(zone.segments.last(), Some(Segment::Text(t)) if t.ends_with(&zone.advance));
        if written {
            self.error(
                file,
                v.span(),
                format!(
                    "sequence `{}` cannot carry a jump edge: its last zone is fully written",
                    seq.name.name
                ),
            )
            .label("the model never writes in its last zone")
            .help(format!(
                "end the sequence's last block before `{}`, so the model writes the zone and may emit the control pattern",
                zone.advance
            ));
        }
    }

    fn bound(&mut self, file: usize, key: &str, v: &Spanned<DeValue<'s>>) -> Option<(u32, Span)> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => {
                let digits: String = i.as_str().chars().filter(|&c| c != '_').collect();
                i128::from_str_radix(&digits, i.radix()).ok()
            }
            _ => None,
        };
        match n.map(u32::try_from) {
            Some(Ok(n)) => Some((n, v.span())),
            _ => {
                self.error(
                    file,
                    v.span(),
                    format!("`{key}` must be an integer from 0 to {}", u32::MAX),
                )
                .label(format!("found {}", describe(v.get_ref())));
                None
            }
        }
    }

    fn tool(&mut self, file: usize, v: &Spanned<DeValue<'s>>, doc: &DocView<'_>) -> String {
        let DeValue::String(name) = v.get_ref() else {
            self.error(file, v.span(), "`tool` must name a tool")
                .label(format!("found {}", describe(v.get_ref())));
            return String::new();
        };
        let tools = &doc.config.tools;
        if !tools.iter().any(|t| t == name.as_ref()) {
            let help = match did_you_mean(name, tools.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None if tools.is_empty() => "declare it in `config.tools`".to_owned(),
                None => format!("declared tools: {}", quoted(tools)),
            };
            self.error(file, v.span(), format!("unknown tool `{name}`"))
                .label("not in `config.tools`")
                .help(help);
        }
        name.to_string()
    }

    fn extractions(
        &mut self,
        file: usize,
        v: &Spanned<DeValue<'s>>,
        doc: &DocView<'_>,
    ) -> Vec<DeclaredExtraction> {
        let DeValue::Table(t) = v.get_ref() else {
            self.error(file, v.span(), "`extract` must be a table of tag lists")
                .label(format!("found {}", describe(v.get_ref())))
                .help("write `extract = { final = [\"Final\"] }`");
            return Vec::new();
        };
        let valid = &doc.config.valid_tags;
        let mut out = Vec::new();
        for (k, tags) in t.iter() {
            let DeValue::Array(items) = tags.get_ref() else {
                self.error(file, tags.span(), "an extraction is a list of tags")
                    .label(format!("found {}", describe(tags.get_ref())));
                continue;
            };
            let mut list = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(tag) if valid.iter().any(|x| x == tag.as_ref()) => {
                        list.push(tag.to_string());
                    }
                    DeValue::String(tag) => {
                        let help = match did_you_mean(tag, valid.iter().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("valid tags: {}", quoted(valid)),
                        };
                        self.error(file, item.span(), format!("unknown tag `{tag}`"))
                            .label("not in `config.valid_tags`")
                            .help(help);
                    }
                    other => {
                        self.error(file, item.span(), "a tag must be a string")
                            .label(format!("found {}", describe(other)));
                    }
                }
            }
            out.push(DeclaredExtraction {
                name: k.get_ref().to_string(),
                tags: list,
                location: self.location(file, k.span().start),
            });
        }
        out
    }
}

fn quoted<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
