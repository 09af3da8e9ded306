//! Compiled workflows and sampled workflows.
//!
//! The metadata types ([`WorkflowMeta`], [`ZoneInfo`], [`JumpEdge`], [`Extraction`]) describe a
//! graph that passed the invariants of [`Program::compile`](super::Program::compile); they are
//! `#[non_exhaustive]`, so other crates read them but cannot forge one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::error::{ProgramError, SampleError};
use super::graph::{ArgSite, Instance, Jump, Node, Slot, ZoneId, check_invariants};
use super::{LoopBounds, SharedStr};
use crate::resources::{Bindings, PlaceholderSite, SampleContext, Site, StreamLayout};
use crate::udpl::{Config, Document, ResourceKind};

/// A jump edge: where the zone goes when the model emits the control pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JumpEdge {
    /// Target zone; `None` is the end of the workflow.
    pub target: Option<ZoneId>,
    /// The pattern that takes the edge (`config.control_pattern`).
    pub pattern: SharedStr,
    /// The loop's bounds, for the jump edge of a bounded loop (`None`: the model alone
    /// decides, as for every `when`).
    #[serde(default)]
    pub bounds: Option<LoopBounds>,
}

/// Everything about a zone except its sampled text: the one zone description, serialized the
/// same way wherever a zone is written (a sampled workflow's wire form, the workflow shape in
/// dataset and run file headers) and carried by errors ([`ZoneRef`](crate::exec::ZoneRef)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZoneInfo {
    /// The sequence the zone's block belongs to.
    pub sequence: SharedStr,
    /// The block's index within its sequence.
    pub block: u32,
    /// Which instance of the block (from `repeats` or `tagset`).
    pub instance: u32,
    /// The zone's index within its block instance.
    pub zone: u32,
    /// The pattern whose appearance advances to `next`.
    pub advance: SharedStr,
    /// The zone's tags.
    pub tags: Arc<[String]>,
    /// Generation limit in tokens.
    pub max_gen_tokens: u64,
    /// The zone is fed the latest tool result instead of generating.
    pub input: bool,
    /// The zone's generated text is sent to `tool`.
    pub output: bool,
    /// The tool of an output zone.
    pub tool: Option<SharedStr>,
    /// The next zone; `None` is the end.
    pub next: Option<ZoneId>,
    /// The jump edge, for the last zone of a loop or `when` control sequence.
    pub jump: Option<JumpEdge>,
}

impl ZoneInfo {
    /// Where the zone is in the document, for messages:
    /// `` sequence `ask`, block 0, instance 0, zone 1 of the block ``.
    pub fn place(&self) -> String {
        format!(
            "sequence `{}`, block {}, instance {}, zone {} of the block",
            self.sequence, self.block, self.instance, self.zone
        )
    }
}

/// A declared output: the zones carrying any of `tags`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Extraction {
    /// The extraction's unique name.
    pub name: String,
    /// The tags it selects.
    pub tags: Vec<String>,
    /// The zones carrying any of the tags, in order.
    pub zones: Vec<ZoneId>,
}

/// The shape of a workflow, shared by every sample drawn from it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkflowMeta {
    /// The config of the document the workflow came from.
    pub config: Config,
    /// The zones, in graph order.
    pub zones: Vec<ZoneInfo>,
    /// The entry zone.
    pub entry: ZoneId,
    /// The declared outputs.
    pub extractions: Vec<Extraction>,
}

/// Tags of each zone of one block instance.
type ZoneTags = Vec<Arc<[String]>>;

pub(super) struct Compiled {
    pub(super) doc: Arc<Document>,
    pub(super) instances: Vec<Instance>,
    pub(super) arg_sites: Vec<ArgSite>,
    /// Owned descriptions of `arg_sites`, shared by the fillers of every sample.
    pub(super) arg_site_info: Vec<Arc<PlaceholderSite>>,
    /// The document's argument resource names.
    pub(super) arg_names: Vec<String>,
    pub(super) meta: Arc<WorkflowMeta>,
    /// Dataset streams of the instances bound at setup or invocation, in first-fill order.
    pub(super) streams: Option<Arc<[StreamLayout]>>,
    pub(super) text_hint: AtomicUsize,
    /// The literal text segments in fill order, JSON-escaped: made on the first dataset line.
    pub(super) json_texts: OnceLock<Box<[Box<str>]>>,
}

/// A compiled program: a frozen graph of zones, ready to be sampled any number of times, from
/// any number of threads. Cheap to clone (shared).
#[derive(Clone)]
pub struct Workflow {
    pub(super) inner: Arc<Compiled>,
}

impl std::fmt::Debug for Workflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflow")
            .field("zones", &self.inner.meta.zones.len())
            .field("entry", &self.inner.meta.entry)
            .finish_non_exhaustive()
    }
}

impl Workflow {
    pub(super) fn build(
        doc: Arc<Document>,
        nodes: Vec<Node>,
        instances: Vec<Instance>,
        arg_sites: Vec<ArgSite>,
        extractions: &[(String, Vec<String>)],
    ) -> Result<Workflow, ProgramError> {
        check_invariants(&nodes)?;
        let config = &doc.config;
        let seq_names: Vec<SharedStr> = doc
            .sequences
            .iter()
            .map(|s| SharedStr::from(s.name.name.as_str()))
            .collect();
        let advances: Vec<SharedStr> = config
            .zone_patterns
            .iter()
            .map(|p| SharedStr::from(p.as_str()))
            .collect();
        let tools: Vec<SharedStr> = config
            .tools
            .iter()
            .map(|t| SharedStr::from(t.as_str()))
            .collect();
        let control: SharedStr = SharedStr::from(config.control_pattern.as_str());
        // Tags per (sequence, block, instance, zone), shared by every node that uses them.
        let tags: Vec<Vec<Vec<ZoneTags>>> = doc
            .sequences
            .iter()
            .map(|s| {
                s.blocks
                    .iter()
                    .map(|b| {
                        b.instances
                            .iter()
                            .map(|i| i.iter().map(|z| Arc::from(z.as_slice())).collect())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut zones = Vec::with_capacity(nodes.len());
        for n in &nodes {
            let inst = &instances[n.instance as usize];
            let block = &doc.sequences[inst.seq as usize].blocks[inst.block as usize];
            zones.push(ZoneInfo {
                sequence: seq_names[inst.seq as usize].clone(),
                block: inst.block,
                instance: inst.instance,
                zone: n.zone,
                advance: advances[n.zone as usize].clone(),
                tags: tags[inst.seq as usize][inst.block as usize][inst.instance as usize]
                    [n.zone as usize]
                    .clone(),
                max_gen_tokens: block.zones[n.zone as usize].max_gen_tokens,
                input: n.input,
                output: n.output,
                tool: n.tool.map(|t| tools[t as usize].clone()),
                next: n.next,
                jump: match n.jump {
                    Jump::Absent => None,
                    Jump::To(target) => Some(JumpEdge {
                        target,
                        pattern: control.clone(),
                        bounds: n.bounds,
                    }),
                },
            });
        }
        let extractions = extractions
            .iter()
            .map(|(name, wanted)| Extraction {
                name: name.clone(),
                tags: wanted.clone(),
                zones: zones
                    .iter()
                    .enumerate()
                    .filter(|(_, z)| z.tags.iter().any(|t| wanted.contains(t)))
                    .map(|(i, _)| ZoneId::new(i as u32))
                    .collect(),
            })
            .collect();
        let meta = WorkflowMeta {
            config: config.clone(),
            zones,
            entry: ZoneId::new(0),
            extractions,
        };
        let arg_site_info = arg_sites
            .iter()
            .map(|a| {
                let seq = &doc.sequences[a.seq as usize];
                let block = &seq.blocks[a.block as usize];
                Arc::new(PlaceholderSite::from_site(&Site {
                    sequence: &seq.name.name,
                    block: block.index,
                    placeholder: &block.placeholders[a.placeholder as usize],
                }))
            })
            .collect();
        let arg_names = doc
            .resources_of_kind(ResourceKind::Argument)
            .map(|r| r.name.name.clone())
            .collect();
        let streams = stream_layouts(&instances);
        Ok(Workflow {
            inner: Arc::new(Compiled {
                doc,
                instances,
                arg_sites,
                arg_site_info,
                arg_names,
                meta: Arc::new(meta),
                streams,
                text_hint: AtomicUsize::new(0),
                json_texts: OnceLock::new(),
            }),
        })
    }

    /// The workflow's zones, entry and extractions.
    pub fn meta(&self) -> &WorkflowMeta {
        &self.inner.meta
    }

    /// The shared metadata, for samples built elsewhere (datasets read back).
    pub(crate) fn meta_arc(&self) -> &Arc<WorkflowMeta> {
        &self.inner.meta
    }

    /// Number of zones.
    pub fn zone_count(&self) -> usize {
        self.inner.meta.zones.len()
    }

    /// The document the workflow came from.
    pub fn document(&self) -> &Arc<Document> {
        &self.inner.doc
    }

    /// Sample with a fresh random seed. `args` binds every `argument` resource of the
    /// document (the macros' typed `Args` struct converts into [`Bindings`]).
    pub fn sample(&self, args: impl Into<Bindings>) -> Result<SampledWorkflow, SampleError> {
        self.sample_seeded(args, rand::random())
    }

    /// Sample reproducibly: sample 0 of the dataset with `seed` ([`sample_at`](Self::sample_at)).
    /// The text is a pure function of the workflow, `args` and `seed`, for every built-in
    /// resource, whatever was sampled before, on any thread, in any process; the one input by
    /// nature is an [`LruBuffer`](crate::resources::LruBuffer)'s current contents.
    pub fn sample_seeded(
        &self,
        args: impl Into<Bindings>,
        seed: u64,
    ) -> Result<SampledWorkflow, SampleError> {
        self.sample_at(args, seed, 0)
    }

    /// Sample `index` of the dataset `(self, seed)`: a pure function of the workflow, `args`,
    /// `seed` and `index`. Its RNG is derived from `(seed, index)`
    /// ([`SampleContext::at`]), and list samplers bound as instances continue their cycles
    /// across the indices of the dataset ([`ListSampler`](crate::resources::ListSampler)).
    ///
    /// ```
    /// # use forge::program::Program;
    /// use forge::resources::{Bindings, ListSampler};
    /// # let doc = forge::udpl::parse_str(r#"
    /// # [config]
    /// # zone_patterns = ["[P]", "[A]"]
    /// # required_patterns = ["[P]"]
    /// # valid_tags = []
    /// # default_max_token_length = 10
    /// # sequences = ["s"]
    /// # control_pattern = "[J]"
    /// # escape_patterns = ["[E]", "[/E]"]
    /// # [[s]]
    /// # text = "[P] {pick} [A]"
    /// # tags = [[]]
    /// # [s.pick]
    /// # name = "letters"
    /// # arguments = { num_samples = 1 }
    /// # "#, "s.toml")?.document;
    /// let mut standard = Bindings::new();
    /// standard.insert("letters", ListSampler::new(["a", "b", "c"])?);
    /// let mut program = Program::new(doc, standard)?;
    /// program.run("s")?;
    /// let workflow = program.compile()?;
    ///
    /// // Each sample draws one letter; samples 0, 1, 2 of a dataset draw all three.
    /// let mut letters: Vec<String> = (0..3)
    ///     .map(|i| workflow.sample_at(Bindings::new(), 7, i).map(|s| s.zone(1).text().to_owned()))
    ///     .collect::<Result<_, _>>()?;
    /// letters.sort();
    /// assert_eq!(letters, [" a [A]", " b [A]", " c [A]"]);
    /// // Any index, any number of times, in any order: the same sample.
    /// assert_eq!(workflow.sample_at(Bindings::new(), 7, 2)?, workflow.sample_at(Bindings::new(), 7, 2)?);
    /// assert_eq!(workflow.sample_at(Bindings::new(), 7, 0)?, workflow.sample_seeded(Bindings::new(), 7)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sample_at(
        &self,
        args: impl Into<Bindings>,
        seed: u64,
        index: u64,
    ) -> Result<SampledWorkflow, SampleError> {
        let c = &*self.inner;
        let mut text = String::with_capacity(c.text_hint.load(Ordering::Relaxed));
        let mut ends = Vec::with_capacity(c.meta.zones.len());
        let mut cx = SampleContext::at(seed, index);
        self.fill(&args.into(), seed, index, &mut cx, &mut text, &mut ends)?;
        Ok(SampledWorkflow {
            meta: c.meta.clone(),
            text,
            ends,
        })
    }

    /// The dataset streams of this workflow: one per list sampler (or other resource with
    /// [`stream_draws`](crate::resources::Resource::stream_draws)) bound as an instance, in
    /// first-fill order, each with the positions one sample takes.
    pub fn streams(&self) -> &[StreamLayout] {
        self.inner.streams.as_deref().unwrap_or(&[])
    }

    /// A [`Sampler`] that reuses its output buffers from sample to sample.
    pub fn sampler(&self) -> Sampler {
        Sampler {
            out: SampledWorkflow {
                meta: self.inner.meta.clone(),
                text: String::new(),
                ends: Vec::new(),
            },
            cx: SampleContext::new(0),
            zone_ranges: Vec::new(),
            workflow: self.clone(),
        }
    }
}

/// Draws samples of one workflow into the same buffers, again and again: the mass-generation
/// loop. Each sample overwrites the previous one, so nothing is allocated once the buffers have
/// grown to a sample's size, and no reference count shared with other threads is touched. Give
/// each thread its own sampler ([`Workflow::sampler`]).
///
/// ```
/// # use forge::program::Program;
/// # use forge::resources::Bindings;
/// # let doc = forge::udpl::parse_str(r#"
/// # [config]
/// # zone_patterns = ["[P]", "[A]"]
/// # required_patterns = ["[P]"]
/// # valid_tags = []
/// # default_max_token_length = 10
/// # sequences = ["s"]
/// # control_pattern = "[J]"
/// # escape_patterns = ["[E]", "[/E]"]
/// # [[s]]
/// # text = "[P] hi [A]"
/// # tags = [[]]
/// # "#, "s.toml")?.document;
/// # let mut program = Program::new(doc, Bindings::new())?;
/// # program.run("s")?;
/// let workflow = program.compile()?;
/// let mut sampler = workflow.sampler();
/// for seed in 0..3 {
///     let sample = sampler.sample_seeded(Bindings::new(), seed)?;
///     assert_eq!(sample, &workflow.sample_seeded(Bindings::new(), seed)?);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Sampler {
    pub(super) workflow: Workflow,
    pub(super) out: SampledWorkflow,
    pub(super) cx: SampleContext,
    /// Where each zone's escaped text stands in the line being encoded.
    pub(super) zone_ranges: Vec<(usize, usize)>,
}

impl Sampler {
    /// Like [`Workflow::sample_seeded`], into this sampler's buffers. On error the previous
    /// sample is gone.
    pub fn sample_seeded(
        &mut self,
        args: impl Into<Bindings>,
        seed: u64,
    ) -> Result<&SampledWorkflow, SampleError> {
        self.sample_at(args, seed, 0)
    }

    /// Like [`Workflow::sample_at`], into this sampler's buffers. On error the previous
    /// sample is gone.
    pub fn sample_at(
        &mut self,
        args: impl Into<Bindings>,
        seed: u64,
        index: u64,
    ) -> Result<&SampledWorkflow, SampleError> {
        self.sample_at_with(&args.into(), seed, index)
    }

    pub(crate) fn sample_at_with(
        &mut self,
        args: &Bindings,
        seed: u64,
        index: u64,
    ) -> Result<&SampledWorkflow, SampleError> {
        let out = &mut self.out;
        self.workflow.fill(
            args,
            seed,
            index,
            &mut self.cx,
            &mut out.text,
            &mut out.ends,
        )?;
        Ok(&self.out)
    }

    /// The last sample drawn (empty before the first).
    pub(crate) fn current(&self) -> &SampledWorkflow {
        &self.out
    }

    /// Like [`Workflow::sample`], into this sampler's buffers.
    pub fn sample(&mut self, args: impl Into<Bindings>) -> Result<&SampledWorkflow, SampleError> {
        self.sample_seeded(args, rand::random())
    }

    /// The workflow this sampler draws from.
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }
}

/// One sampled workflow: the graph with final text in every zone.
///
/// Zone metadata is shared with the [`Workflow`] it came from; the texts live in one buffer.
/// Serializes with serde (see [`SampledWorkflow::to_json`] and [`SampledWorkflow::to_bytes`])
/// and round-trips exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampledWorkflow {
    pub(super) meta: Arc<WorkflowMeta>,
    pub(super) text: String,
    pub(super) ends: Vec<usize>,
}

/// A zone of a sampled workflow: its [`ZoneInfo`] and its text.
#[derive(Clone, Copy, Debug)]
pub struct SampledZone<'a> {
    /// The zone's index in the workflow.
    pub index: ZoneId,
    /// The zone's metadata.
    pub info: &'a ZoneInfo,
    pub(super) text: &'a str,
}

impl<'a> SampledZone<'a> {
    /// The text fed to the model on entering the zone (may be empty: the model generates it).
    pub fn text(&self) -> &'a str {
        self.text
    }
}

impl std::ops::Deref for SampledZone<'_> {
    type Target = ZoneInfo;
    fn deref(&self) -> &ZoneInfo {
        self.info
    }
}

impl SampledWorkflow {
    /// A sampled workflow of shape `meta` with these zone texts (one per zone, in order).
    pub(crate) fn from_zone_texts<'t>(
        meta: Arc<WorkflowMeta>,
        texts: impl IntoIterator<Item = &'t str>,
    ) -> Self {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(meta.zones.len());
        for t in texts {
            text.push_str(t);
            ends.push(text.len());
        }
        SampledWorkflow { meta, text, ends }
    }

    /// The config of the document the workflow came from.
    pub fn config(&self) -> &Config {
        &self.meta.config
    }

    /// The entry zone.
    pub fn entry(&self) -> ZoneId {
        self.meta.entry
    }

    /// The declared outputs.
    pub fn extractions(&self) -> &[Extraction] {
        &self.meta.extractions
    }

    /// The shared metadata.
    pub fn meta(&self) -> &WorkflowMeta {
        &self.meta
    }

    /// The shared metadata as shared by every sample of the same workflow (to recognize them).
    pub fn shared_meta(&self) -> &Arc<WorkflowMeta> {
        &self.meta
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the workflow has no zones (never true for a compiled workflow).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Zone `i` (a [`ZoneId`] or a plain `u32` index). Panics if `i` is not below
    /// [`len`](Self::len), like slice indexing.
    pub fn zone(&self, i: impl Into<ZoneId>) -> SampledZone<'_> {
        let i = i.into();
        let i_us = i.index();
        let start = if i_us == 0 { 0 } else { self.ends[i_us - 1] };
        SampledZone {
            index: i,
            info: &self.meta.zones[i_us],
            text: &self.text[start..self.ends[i_us]],
        }
    }

    /// The zones in graph order.
    pub fn zones(&self) -> impl ExactSizeIterator<Item = SampledZone<'_>> + '_ {
        (0..self.ends.len() as u32).map(|i| self.zone(ZoneId::new(i)))
    }

    /// All zone texts concatenated in graph order.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The texts of the zones an extraction selects, in order.
    pub fn extraction_texts(&self, name: &str) -> Option<Vec<&str>> {
        let e = self.meta.extractions.iter().find(|e| e.name == name)?;
        Some(e.zones.iter().map(|&z| self.zone(z).text).collect())
    }

    /// Pretty JSON, for people.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a sampled workflow always serializes")
    }

    /// Read the JSON form back.
    pub fn from_json(json: &str) -> Result<SampledWorkflow, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The compact binary form (postcard), for transport.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a sampled workflow always serializes")
    }

    /// Read the binary form back.
    pub fn from_bytes(bytes: &[u8]) -> Result<SampledWorkflow, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// The dataset stream of every instance bound at setup or invocation that draws from one, with
/// its fills in the order sampling makes them (block instances in order, placeholders in order
/// of first appearance).
fn stream_layouts(instances: &[Instance]) -> Option<Arc<[StreamLayout]>> {
    let mut layouts: Vec<StreamLayout> = Vec::new();
    for inst in instances {
        for slot in inst.slots.iter() {
            let Slot::Bound(f) = slot else { continue };
            let Some((owner, draws)) = f.stream_plan() else {
                continue;
            };
            let i = match layouts.iter().position(|l| l.owner() == owner) {
                Some(i) => i,
                None => {
                    layouts.push(StreamLayout::new(owner));
                    layouts.len() - 1
                }
            };
            layouts[i].push(draws as u64);
        }
    }
    (!layouts.is_empty()).then(|| layouts.into())
}
