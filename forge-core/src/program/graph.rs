//! The control-flow graph of a program: zone nodes, their edges, the block instances and
//! placeholder slots they belong to, and the invariants a compiled graph satisfies. The builder
//! ([`Program`](super::Program)) grows it; the compiled [`Workflow`](super::Workflow) reads it.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::LoopBounds;
use super::error::ProgramError;
use crate::resources::Filler;

/// The index of a zone in a workflow (graph order, from 0).
///
/// Converts from and into `u32`, and into `usize` for indexing, so code written against plain
/// indices keeps working: `sample.zone(3)` and `sample.zone(id)` both work. Serializes as a
/// plain number.
///
/// ```
/// use forge::program::ZoneId;
/// let id = ZoneId::from(3);
/// assert_eq!(id.index(), 3);
/// assert_eq!(u32::from(id), 3);
/// assert_eq!(id.to_string(), "3");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ZoneId(u32);

impl ZoneId {
    /// The zone with index `index`.
    pub const fn new(index: u32) -> Self {
        ZoneId(index)
    }

    /// The index, for indexing slices.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The index as stored.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The zone after this one in graph order.
    pub(crate) const fn succ(self) -> Self {
        ZoneId(self.0 + 1)
    }
}

impl From<u32> for ZoneId {
    fn from(index: u32) -> Self {
        ZoneId(index)
    }
}

impl From<ZoneId> for u32 {
    fn from(id: ZoneId) -> Self {
        id.0
    }
}

impl From<ZoneId> for usize {
    fn from(id: ZoneId) -> Self {
        id.index()
    }
}

impl PartialEq<u32> for ZoneId {
    fn eq(&self, other: &u32) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The most zones a workflow holds: every index fits in a `u32`.
pub(crate) const MAX_ZONES: usize = u32::MAX as usize;

/// Where an edge leads: a zone, or the end of the workflow (`None`).
pub(crate) type Target = Option<ZoneId>;

/// A zone's jump edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jump {
    /// The zone has no jump edge (it is not the last zone of a control sequence).
    Absent,
    /// The model emitting the control pattern in this zone leads to the target.
    To(Target),
}

/// One zone node of the graph.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Index into the graph's block instances.
    pub instance: u32,
    /// The zone's index within its block instance.
    pub zone: u32,
    /// The next zone, or the end.
    pub next: Target,
    pub jump: Jump,
    /// The bounds of the loop whose jump edge this is (a bounded loop's control zone only).
    pub bounds: Option<LoopBounds>,
    /// Fed the latest tool result instead of generated.
    pub input: bool,
    /// The generated text goes to `tool`.
    pub output: bool,
    /// Index into `config.tools`, for an output zone.
    pub tool: Option<u32>,
}

impl Node {
    /// The zones this node leads to (the end is not a zone).
    fn targets(&self) -> impl Iterator<Item = ZoneId> {
        let jump = match self.jump {
            Jump::To(t) => t,
            Jump::Absent => None,
        };
        self.next.into_iter().chain(jump)
    }

    /// Does an edge of this node lead to the end?
    fn ends(&self) -> bool {
        self.next.is_none() || self.jump == Jump::To(None)
    }
}

/// How a block instance's placeholder gets its value.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    /// Bound at setup or invocation.
    Bound(Filler),
    /// Bound at sampling: index into the argument sites.
    Argument(u32),
}

/// One block instance: `zones_per_block` consecutive nodes from `first_node`.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub seq: u32,
    pub block: u32,
    pub instance: u32,
    pub first_node: ZoneId,
    pub slots: Arc<[Slot]>,
}

/// A placeholder of `argument` type, bound per sample.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ArgSite {
    pub seq: u32,
    pub block: u32,
    pub placeholder: u32,
}

/// An edge not yet connected, while a program is built: the *next* or the *jump* edge of a
/// zone.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Open {
    Next(ZoneId),
    Jump(ZoneId),
}

impl Open {
    /// The same edge in a graph copied in at `base`.
    pub(crate) fn shifted(self, base: u32) -> Open {
        match self {
            Open::Next(n) => Open::Next(ZoneId(n.0 + base)),
            Open::Jump(n) => Open::Jump(ZoneId(n.0 + base)),
        }
    }

    /// Connect this edge to `target`.
    pub(crate) fn connect(self, nodes: &mut [Node], target: Target) {
        match self {
            Open::Next(n) => nodes[n.index()].next = target,
            Open::Jump(n) => nodes[n.index()].jump = Jump::To(target),
        }
    }
}

/// Check the graph invariants without recursion: every target exists, every zone is reachable
/// from the entry (zone 0), and every zone can reach the end.
pub(crate) fn check_invariants(nodes: &[Node]) -> Result<(), ProgramError> {
    let n = nodes.len();
    for (i, node) in nodes.iter().enumerate() {
        if node.targets().any(|t| t.index() >= n) {
            return Err(ProgramError::Invariant(format!(
                "zone {i} points past the graph"
            )));
        }
    }
    // Forward: every zone reachable from the entry (zone 0).
    let mut seen = vec![false; n];
    let mut stack = vec![ZoneId(0)];
    seen[0] = true;
    while let Some(i) = stack.pop() {
        for t in nodes[i.index()].targets() {
            if !seen[t.index()] {
                seen[t.index()] = true;
                stack.push(t);
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(ProgramError::Invariant(format!(
            "zone {i} is not reachable from the entry"
        )));
    }
    // Backward: every zone can reach the end. Predecessor lists in CSR form.
    let mut offsets = vec![0u32; n + 1];
    for node in nodes {
        for t in node.targets() {
            offsets[t.index() + 1] += 1;
        }
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut preds = vec![0u32; offsets[n] as usize];
    let mut fill = offsets.clone();
    for (i, node) in nodes.iter().enumerate() {
        for t in node.targets() {
            preds[fill[t.index()] as usize] = i as u32;
            fill[t.index()] += 1;
        }
    }
    let mut reaches = vec![false; n];
    let mut stack: Vec<u32> = nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| node.ends())
        .map(|(i, _)| i as u32)
        .collect();
    if stack.is_empty() {
        return Err(ProgramError::Invariant("no zone leads to the end".into()));
    }
    for &i in &stack {
        reaches[i as usize] = true;
    }
    while let Some(i) = stack.pop() {
        let (a, b) = (
            offsets[i as usize] as usize,
            offsets[i as usize + 1] as usize,
        );
        for &p in &preds[a..b] {
            if !reaches[p as usize] {
                reaches[p as usize] = true;
                stack.push(p);
            }
        }
    }
    if let Some(i) = reaches.iter().position(|r| !r) {
        return Err(ProgramError::Invariant(format!(
            "zone {i} cannot reach the end"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(next: Option<u32>, jump: Option<Option<u32>>) -> Node {
        Node {
            instance: 0,
            zone: 0,
            next: next.map(ZoneId),
            jump: jump.map_or(Jump::Absent, |t| Jump::To(t.map(ZoneId))),
            bounds: None,
            input: false,
            output: false,
            tool: None,
        }
    }

    fn err(nodes: &[Node]) -> String {
        check_invariants(nodes).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_chain_with_a_loop_passes() {
        // 0 → 1 → 2 → end, 2 jumps back to 0.
        let nodes = [
            node(Some(1), None),
            node(Some(2), None),
            node(None, Some(Some(0))),
        ];
        check_invariants(&nodes).unwrap();
    }

    #[test]
    fn unreachable_zone_is_reported() {
        let nodes = [node(None, None), node(None, None)];
        assert_eq!(
            err(&nodes),
            "workflow graph invariant violated: zone 1 is not reachable from the entry"
        );
    }

    #[test]
    fn zone_that_cannot_reach_the_end_is_reported() {
        // 0 → 1 ⇄ 2 never ends; 0 jumps to the end.
        let nodes = [
            node(Some(1), Some(None)),
            node(Some(2), None),
            node(Some(1), None),
        ];
        assert_eq!(
            err(&nodes),
            "workflow graph invariant violated: zone 1 cannot reach the end"
        );
    }

    #[test]
    fn a_cycle_without_exit_has_no_end() {
        let nodes = [node(Some(1), None), node(Some(0), None)];
        assert_eq!(
            err(&nodes),
            "workflow graph invariant violated: no zone leads to the end"
        );
    }

    #[test]
    fn targets_must_exist() {
        assert!(err(&[node(Some(5), None)]).contains("points past the graph"));
        assert!(err(&[node(None, Some(Some(5)))]).contains("points past the graph"));
    }

    #[test]
    fn a_million_zone_chain_is_checked_without_recursion() {
        let n = 1_000_000u32;
        let nodes: Vec<Node> = (0..n)
            .map(|i| node((i + 1 < n).then_some(i + 1), None))
            .collect();
        check_invariants(&nodes).unwrap();
    }
}
