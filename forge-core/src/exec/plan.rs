//! What the automaton needs to know about a workflow, computed once and shared by every stream
//! of it: the stop sets by zone and escape depth, token limits, extractions.

use std::collections::HashMap;
use std::sync::Arc;

use super::stop::StopSet;
use crate::program::{LoopBounds, SampledWorkflow, SharedStr, WorkflowMeta, ZoneId};

/// What a pattern of a stop set does when it appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Advance,
    Control,
    EscapeOpen,
    EscapeClose,
}

/// A zone's stop set: what the generator is asked to stop at (built once, shared by every
/// request), and what each pattern means.
#[derive(Debug)]
pub(crate) struct ZoneStops {
    pub set: Arc<StopSet>,
    pub roles: Vec<Role>,
}

impl ZoneStops {
    fn new(entries: Vec<(Arc<str>, Role)>) -> ZoneStops {
        let stop: Arc<[Arc<str>]> = entries.iter().map(|(p, _)| p.clone()).collect();
        ZoneStops {
            set: Arc::new(StopSet::new(stop)),
            roles: entries.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

/// A workflow prepared for execution: shared by every stream sampled from it.
///
/// Build one with [`Plan::new`] and hand it to [`Automaton::new`](super::Automaton::new) for
/// each stream; the runner does this for you and caches plans per workflow.
#[derive(Debug)]
pub struct Plan {
    pub(crate) meta: Arc<WorkflowMeta>,
    /// Stop sets; index 0 is the escape-depth-1 set (escape close only).
    pub(crate) sets: Vec<ZoneStops>,
    /// Per zone: its depth-0 stop set.
    pub(crate) zone_set: Vec<u32>,
    /// Per zone: its token budget (the zone's `max_gen_tokens`, capped by the run).
    pub(crate) limits: Vec<u32>,
    pub(crate) escape_close: Arc<str>,
    /// Declared extractions: name and sorted zone indices.
    pub(crate) extractions: Vec<(String, Vec<ZoneId>)>,
    /// The control zones of bounded loops, by zone index: their bounds and the depth-0 stop
    /// set without the control pattern (used while `at_least` holds the model in the loop).
    pub(crate) bounded: Vec<Bounded>,
}

/// A bounded loop's control zone, as the automaton needs it.
#[derive(Debug)]
pub(crate) struct Bounded {
    pub zone: ZoneId,
    pub bounds: LoopBounds,
    pub plain_set: u32,
}

impl Plan {
    /// Prepare the workflow `sample` was drawn from. `max_tokens` caps every zone's token
    /// budget (`None`: each zone's own `max_gen_tokens`).
    ///
    /// Fails, naming the zone, if a pattern the automaton needs is empty or the two escape
    /// patterns are equal (possible only in a workflow read back from an edited file).
    pub fn new(sample: &SampledWorkflow, max_tokens: Option<u32>) -> Result<Arc<Plan>, String> {
        let meta = sample.shared_meta().clone();
        let [open, close] = &meta.config.escape_patterns;
        if open.is_empty() || close.is_empty() {
            return Err("an escape pattern is empty".to_owned());
        }
        if open == close {
            return Err(format!("both escape patterns are `{open}`"));
        }
        let open: Arc<str> = Arc::from(open.as_str());
        let close: Arc<str> = Arc::from(close.as_str());
        let mut sets = vec![ZoneStops::new(vec![(close.clone(), Role::EscapeClose)])];
        let mut index: HashMap<(SharedStr, Option<SharedStr>), u32> = HashMap::new();
        let mut zone_set = Vec::with_capacity(meta.zones.len());
        let mut limits = Vec::with_capacity(meta.zones.len());
        let mut bounded = Vec::new();
        for (i, z) in meta.zones.iter().enumerate() {
            if z.advance.is_empty() {
                return Err(format!("zone {i} has an empty advance pattern"));
            }
            let control = z.jump.as_ref().map(|j| j.pattern.clone());
            if control.as_deref() == Some("") {
                return Err(format!("zone {i} has an empty control pattern"));
            }
            let mut set_of = |key: (SharedStr, Option<SharedStr>)| {
                *index.entry(key).or_insert_with_key(|(advance, control)| {
                    let mut entries = vec![(advance.as_arc().clone(), Role::Advance)];
                    if let Some(c) = control {
                        entries.push((c.as_arc().clone(), Role::Control));
                    }
                    entries.push((open.clone(), Role::EscapeOpen));
                    sets.push(ZoneStops::new(entries));
                    sets.len() as u32 - 1
                })
            };
            zone_set.push(set_of((z.advance.clone(), control)));
            if let Some(bounds) = z.jump.as_ref().and_then(|j| j.bounds) {
                if !bounds.is_ordered() {
                    return Err(format!("zone {i} has loop bounds out of order ({bounds})"));
                }
                bounded.push(Bounded {
                    zone: ZoneId::new(i as u32),
                    bounds,
                    plain_set: set_of((z.advance.clone(), None)),
                });
            }
            let own = u32::try_from(z.max_gen_tokens).unwrap_or(u32::MAX);
            limits.push(max_tokens.map_or(own, |cap| own.min(cap)));
        }
        let extractions = meta
            .extractions
            .iter()
            .map(|e| {
                let mut zones = e.zones.clone();
                zones.sort_unstable();
                (e.name.clone(), zones)
            })
            .collect();
        Ok(Arc::new(Plan {
            meta,
            sets,
            zone_set,
            limits,
            escape_close: close,
            extractions,
            bounded,
        }))
    }

    /// Whether `sample` was drawn from the workflow this plan prepares.
    pub fn fits(&self, sample: &SampledWorkflow) -> bool {
        Arc::ptr_eq(&self.meta, sample.shared_meta())
    }

    /// The workflow's zones, entry and extractions.
    pub fn meta(&self) -> &WorkflowMeta {
        &self.meta
    }

    /// The tools the workflow's output zones call, each once.
    pub fn tools(&self) -> Vec<(ZoneId, SharedStr)> {
        let mut seen: Vec<(ZoneId, SharedStr)> = Vec::new();
        for (i, z) in self.meta.zones.iter().enumerate() {
            if let (true, Some(t)) = (z.output, &z.tool)
                && !seen.iter().any(|(_, s)| s == t)
            {
                seen.push((ZoneId::new(i as u32), t.clone()));
            }
        }
        seen
    }

    pub(crate) fn set(&self, zone: ZoneId, depth: u8) -> &ZoneStops {
        if depth == 0 {
            &self.sets[self.zone_set[zone.index()] as usize]
        } else {
            &self.sets[0]
        }
    }

    /// The stop set of `zone` at `depth`, without the control pattern when `plain` (a bounded
    /// loop's control zone while `at_least` holds; `plain` is an index into `bounded`).
    pub(crate) fn set_of(&self, zone: ZoneId, depth: u8, plain: Option<u32>) -> &ZoneStops {
        match plain {
            Some(b) if depth == 0 => &self.sets[self.bounded[b as usize].plain_set as usize],
            _ => self.set(zone, depth),
        }
    }

    /// The index into `bounded` of `zone`, if it is a bounded loop's control zone.
    pub(crate) fn bounded_index(&self, zone: ZoneId) -> Option<u32> {
        self.bounded
            .binary_search_by_key(&zone, |b| b.zone)
            .ok()
            .map(|i| i as u32)
    }
}
