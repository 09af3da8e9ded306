//! The serialized shape of a workflow, written once.
//!
//! [`ZoneWire`] is the one zone record: the fields of a [`ZoneInfo`], and in a sampled
//! workflow the zone's text after `zone`. [`Shape`] (config, entry, extractions, zone records)
//! is the `workflow` of dataset and run file headers (zones without text), and, with each
//! zone's text, the serde form of a [`SampledWorkflow`]. [`ZoneInfo`] serializes as a zone
//! record without text. Reading checks that every zone a shape points at exists and that loop
//! bounds are in order, and shares equal strings again as a freshly sampled workflow does.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::SharedStr;
use super::graph::ZoneId;
use super::workflow::{Extraction, JumpEdge, SampledWorkflow, WorkflowMeta, ZoneInfo};
use crate::udpl::Config;

/// What a zone record carries as its text: [`Text`] in a sampled workflow, [`NoText`] in a
/// header's shape.
pub(crate) trait ZoneText: Default {
    /// Whether the record has no `text` field.
    fn absent(&self) -> bool;
}

/// A zone's sampled text.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// No text: the record of a zone in a workflow's shape (a `text` field there is an error).
#[derive(Default)]
pub(crate) struct NoText;

impl ZoneText for Text<'_> {
    fn absent(&self) -> bool {
        false
    }
}

impl ZoneText for NoText {
    fn absent(&self) -> bool {
        true
    }
}

impl Serialize for NoText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for NoText {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "a workflow's shape has no zone texts (unknown field `text`)",
        ))
    }
}

/// One zone as every format writes it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ZoneWire<'a, T: ZoneText> {
    #[serde(borrow)]
    sequence: Cow<'a, str>,
    block: u32,
    instance: u32,
    zone: u32,
    #[serde(default, skip_serializing_if = "ZoneText::absent")]
    text: T,
    #[serde(borrow)]
    advance: Cow<'a, str>,
    tags: Cow<'a, [String]>,
    max_gen_tokens: u64,
    input: bool,
    output: bool,
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    next: Option<ZoneId>,
    jump: Option<Cow<'a, JumpEdge>>,
}

impl<'a, T: ZoneText> ZoneWire<'a, T> {
    fn of(z: &'a ZoneInfo, text: T) -> Self {
        ZoneWire {
            sequence: Cow::Borrowed(&z.sequence),
            block: z.block,
            instance: z.instance,
            zone: z.zone,
            text,
            advance: Cow::Borrowed(&z.advance),
            tags: Cow::Borrowed(&z.tags),
            max_gen_tokens: z.max_gen_tokens,
            input: z.input,
            output: z.output,
            tool: z.tool.as_deref().map(Cow::Borrowed),
            next: z.next,
            jump: z.jump.as_ref().map(Cow::Borrowed),
        }
    }

    /// The zone, and its text.
    fn into_info(self) -> (ZoneInfo, T) {
        let info = ZoneInfo {
            sequence: SharedStr::from(&*self.sequence),
            block: self.block,
            instance: self.instance,
            zone: self.zone,
            advance: SharedStr::from(&*self.advance),
            tags: self.tags.into_owned().into(),
            max_gen_tokens: self.max_gen_tokens,
            input: self.input,
            output: self.output,
            tool: self.tool.as_deref().map(SharedStr::from),
            next: self.next,
            jump: self.jump.map(Cow::into_owned),
        };
        (info, self.text)
    }
}

impl Serialize for ZoneInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ZoneWire::of(self, NoText).serialize(s)
    }
}

impl<'de> Deserialize<'de> for ZoneInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ZoneWire::<NoText>::deserialize(d)?.into_info().0)
    }
}

/// A workflow's shape as files and the wire form write it: borrowed when writing, owned when
/// read back (then checked by [`Shape::into_parts`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Shape<'a, T: ZoneText = NoText> {
    config: Cow<'a, Config>,
    entry: ZoneId,
    extractions: Cow<'a, [Extraction]>,
    #[serde(borrow)]
    zones: Vec<ZoneWire<'a, T>>,
}

impl<'a> Shape<'a> {
    /// The shape of `m`, borrowed.
    pub(crate) fn of(m: &'a WorkflowMeta) -> Self {
        Shape::with_texts(m, std::iter::repeat_with(|| NoText))
    }

    /// The workflow metadata this shape describes, checked: every zone it points at exists and
    /// loop bounds are in order.
    pub(crate) fn into_meta(self) -> Result<WorkflowMeta, String> {
        Ok(self.into_parts()?.0)
    }
}

impl<'a, T: ZoneText> Shape<'a, T> {
    fn with_texts(m: &'a WorkflowMeta, texts: impl IntoIterator<Item = T>) -> Self {
        Shape {
            config: Cow::Borrowed(&m.config),
            entry: m.entry,
            extractions: Cow::Borrowed(&m.extractions),
            zones: m
                .zones
                .iter()
                .zip(texts)
                .map(|(z, t)| ZoneWire::of(z, t))
                .collect(),
        }
    }

    /// The checked workflow metadata, with equal strings shared, and each zone's text.
    fn into_parts(self) -> Result<(WorkflowMeta, Vec<T>), String> {
        let n = self.zones.len();
        let in_range = |t: Option<ZoneId>| t.is_none_or(|t| t.index() < n);
        if n == 0 || self.entry.index() >= n {
            return Err("the workflow has no zones or its entry is out of range".into());
        }
        for (i, z) in self.zones.iter().enumerate() {
            if !in_range(z.next) || !in_range(z.jump.as_ref().and_then(|j| j.target)) {
                return Err(format!("zone {i} points past the workflow's {n} zones"));
            }
            if let Some(b) = z.jump.as_ref().and_then(|j| j.bounds)
                && !b.is_ordered()
            {
                return Err(format!(
                    "zone {i}'s loop bounds are out of order ({b}): at_least must not exceed \
                     at_most"
                ));
            }
        }
        for e in self.extractions.iter() {
            if e.zones.iter().any(|z| z.index() >= n) {
                return Err(format!(
                    "extraction `{}` selects a zone past the workflow's {n} zones",
                    e.name
                ));
            }
        }
        let (mut zones, texts): (Vec<ZoneInfo>, Vec<T>) =
            self.zones.into_iter().map(ZoneWire::into_info).unzip();
        intern(&mut zones);
        let meta = WorkflowMeta {
            config: self.config.into_owned(),
            zones,
            entry: self.entry,
            extractions: self.extractions.into_owned(),
        };
        Ok((meta, texts))
    }
}

impl Serialize for SampledWorkflow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let texts = self.zones().map(|z| Text(Cow::Borrowed(z.text())));
        Shape::with_texts(&self.meta, texts).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SampledWorkflow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let (meta, texts) = Shape::<Text>::deserialize(d)?
            .into_parts()
            .map_err(D::Error::custom)?;
        let texts = texts.iter().map(|t| &*t.0);
        Ok(SampledWorkflow::from_zone_texts(Arc::new(meta), texts))
    }
}

/// Makes equal strings of the zones one shared string, as in a freshly sampled workflow.
fn intern(zones: &mut [ZoneInfo]) {
    let mut seen: HashSet<SharedStr> = HashSet::new();
    let mut one = |s: &mut SharedStr| match seen.get(s.as_ref()) {
        Some(shared) => *s = shared.clone(),
        None => {
            seen.insert(s.clone());
        }
    };
    for z in zones {
        one(&mut z.sequence);
        one(&mut z.advance);
        if let Some(tool) = &mut z.tool {
            one(tool);
        }
        if let Some(jump) = &mut z.jump {
            one(&mut jump.pattern);
        }
    }
}
