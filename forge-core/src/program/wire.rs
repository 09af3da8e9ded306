//! The serde wire format of a [`SampledWorkflow`]: one record per zone with its text and
//! metadata, strings borrowed when serializing and interned again when reading back.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::graph::ZoneId;
use super::workflow::{Extraction, JumpEdge, SampledWorkflow, WorkflowMeta, ZoneInfo};
use super::{LoopBounds, SharedStr};
use crate::udpl::Config;

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    config: Cow<'a, Config>,
    entry: ZoneId,
    extractions: Cow<'a, [Extraction]>,
    #[serde(borrow)]
    zones: Vec<ZoneWire<'a>>,
}

#[derive(Serialize, Deserialize)]
struct ZoneWire<'a> {
    #[serde(borrow)]
    sequence: Cow<'a, str>,
    block: u32,
    instance: u32,
    zone: u32,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(borrow)]
    advance: Cow<'a, str>,
    tags: Vec<Cow<'a, str>>,
    max_gen_tokens: u64,
    input: bool,
    output: bool,
    #[serde(borrow)]
    tool: Option<Cow<'a, str>>,
    next: Option<ZoneId>,
    jump: Option<JumpWire<'a>>,
}

#[derive(Serialize, Deserialize)]
struct JumpWire<'a> {
    target: Option<ZoneId>,
    #[serde(borrow)]
    pattern: Cow<'a, str>,
    bounds: Option<LoopBounds>,
}

impl Serialize for SampledWorkflow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let wire = Wire {
            config: Cow::Borrowed(&self.meta.config),
            entry: self.meta.entry,
            extractions: Cow::Borrowed(&self.meta.extractions),
            zones: self
                .zones()
                .map(|z| ZoneWire {
                    sequence: Cow::Borrowed(&z.info.sequence),
                    block: z.info.block,
                    instance: z.info.instance,
                    zone: z.info.zone,
                    text: Cow::Borrowed(z.text),
                    advance: Cow::Borrowed(&z.info.advance),
                    tags: z
                        .info
                        .tags
                        .iter()
                        .map(|t| Cow::Borrowed(t.as_str()))
                        .collect(),
                    max_gen_tokens: z.info.max_gen_tokens,
                    input: z.info.input,
                    output: z.info.output,
                    tool: z.info.tool.as_deref().map(Cow::Borrowed),
                    next: z.info.next,
                    jump: z.info.jump.as_ref().map(|j| JumpWire {
                        target: j.target,
                        pattern: Cow::Borrowed(&j.pattern),
                        bounds: j.bounds,
                    }),
                })
                .collect(),
        };
        wire.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SampledWorkflow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let wire = Wire::deserialize(d)?;
        let n = wire.zones.len();
        let check = |t: Option<ZoneId>| match t {
            Some(t) if t.index() >= n => Err(D::Error::custom(format!(
                "zone target {t} is out of range (the workflow has {n} zones)"
            ))),
            _ => Ok(()),
        };
        if n == 0 || wire.entry.index() >= n {
            return Err(D::Error::custom("the entry zone is out of range"));
        }
        // Intern repeated strings so the rebuilt workflow shares them like a sampled one.
        let mut interned: std::collections::HashMap<String, SharedStr> = Default::default();
        let mut intern = |s: &str| -> SharedStr {
            if let Some(a) = interned.get(s) {
                return a.clone();
            }
            let a = SharedStr::from(s);
            interned.insert(s.to_owned(), a.clone());
            a
        };
        let mut text = String::new();
        let mut ends = Vec::with_capacity(n);
        let mut zones = Vec::with_capacity(n);
        for z in wire.zones {
            check(z.next)?;
            if let Some(j) = &z.jump {
                check(j.target)?;
                if let Some(b) = j.bounds.filter(|b| !b.is_ordered()) {
                    return Err(D::Error::custom(format!(
                        "the loop bounds of zone {} are out of order ({b}): at_least must not \
                         exceed at_most",
                        zones.len()
                    )));
                }
            }
            text.push_str(&z.text);
            ends.push(text.len());
            zones.push(ZoneInfo {
                sequence: intern(&z.sequence),
                block: z.block,
                instance: z.instance,
                zone: z.zone,
                advance: intern(&z.advance),
                tags: z.tags.iter().map(|t| t.to_string()).collect(),
                max_gen_tokens: z.max_gen_tokens,
                input: z.input,
                output: z.output,
                tool: z.tool.as_deref().map(&mut intern),
                next: z.next,
                jump: z.jump.map(|j| JumpEdge {
                    target: j.target,
                    pattern: intern(&j.pattern),
                    bounds: j.bounds,
                }),
            });
        }
        for e in wire.extractions.iter() {
            for &z in &e.zones {
                check(Some(z))?;
            }
        }
        Ok(SampledWorkflow {
            meta: Arc::new(WorkflowMeta {
                config: wire.config.into_owned(),
                zones,
                entry: wire.entry,
                extractions: wire.extractions.into_owned(),
            }),
            text,
            ends,
        })
    }
}
