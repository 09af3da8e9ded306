//! Filling a sample's zone texts: into a [`SampledWorkflow`]'s buffers, or straight into the
//! JSON-escaped zone strings of a dataset line (the literal text escaped once per workflow,
//! only the resource values escaped per sample).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::error::SampleError;
use super::graph::Slot;
use super::stage::check_names;
use super::workflow::{Sampler, Workflow};
use crate::json;
use crate::resources::{
    BindError, Bindings, FillError, Filler, FillerInner, ResourceError, SampleContext, Site,
};
use crate::udpl::{ResourceKind, Segment};

/// Where a sample's text goes, in fill order.
trait Sink {
    /// Literal text `t`, the `k`-th literal segment of the workflow in fill order.
    fn literal(&mut self, k: usize, t: &str);
    /// The current end of the output (positions for [`repeat`](Self::repeat)).
    fn pos(&self) -> usize;
    /// Appends the output's own range `a..b` again (a placeholder used twice in a block).
    fn repeat(&mut self, a: usize, b: usize);
    /// The value of a placeholder bound at setup or invocation.
    fn bound(&mut self, f: &Filler, cx: &mut SampleContext) -> Result<(), FillError>;
    /// The value of an argument placeholder, for the resource `resource`.
    fn argument(
        &mut self,
        f: &FillerInner,
        resource: &str,
        cx: &mut SampleContext,
    ) -> Result<(), ResourceError>;
    /// The current zone ends.
    fn zone_end(&mut self);
}

/// Plain text and zone ends: a [`SampledWorkflow`](super::SampledWorkflow)'s buffers.
struct TextSink<'a> {
    text: &'a mut String,
    ends: &'a mut Vec<usize>,
}

impl Sink for TextSink<'_> {
    fn literal(&mut self, _: usize, t: &str) {
        self.text.push_str(t);
    }
    fn pos(&self) -> usize {
        self.text.len()
    }
    fn repeat(&mut self, a: usize, b: usize) {
        self.text.extend_from_within(a..b);
    }
    fn bound(&mut self, f: &Filler, cx: &mut SampleContext) -> Result<(), FillError> {
        f.fill_into(cx, self.text)
    }
    fn argument(
        &mut self,
        f: &FillerInner,
        resource: &str,
        cx: &mut SampleContext,
    ) -> Result<(), ResourceError> {
        f.fill_into(resource, cx, self.text)
    }
    fn zone_end(&mut self) {
        self.ends.push(self.text.len());
    }
}

/// The zones as JSON strings separated by commas (`"…","…"`), with each zone's escaped
/// contents' range recorded.
struct JsonSink<'a> {
    out: &'a mut Vec<u8>,
    literals: &'a [Box<str>],
    scratch: &'a mut String,
    zones: &'a mut Vec<(usize, usize)>,
    start: usize,
}

impl Sink for JsonSink<'_> {
    fn literal(&mut self, k: usize, _: &str) {
        self.out.extend_from_slice(self.literals[k].as_bytes());
    }
    fn pos(&self) -> usize {
        self.out.len()
    }
    fn repeat(&mut self, a: usize, b: usize) {
        self.out.extend_from_within(a..b);
    }
    fn bound(&mut self, f: &Filler, cx: &mut SampleContext) -> Result<(), FillError> {
        f.fill_json(cx, self.out, self.scratch)
    }
    fn argument(
        &mut self,
        f: &FillerInner,
        resource: &str,
        cx: &mut SampleContext,
    ) -> Result<(), ResourceError> {
        f.fill_json(resource, cx, self.out, self.scratch)
    }
    fn zone_end(&mut self) {
        self.zones.push((self.start, self.out.len()));
        self.out.extend_from_slice(b"\",\"");
        self.start = self.out.len();
    }
}

impl Workflow {
    /// Sample `index` of dataset `seed` into `text` and `ends` (cleared first), with `cx`
    /// (restarted here).
    pub(super) fn fill(
        &self,
        args: &Bindings,
        seed: u64,
        index: u64,
        cx: &mut SampleContext,
        text: &mut String,
        ends: &mut Vec<usize>,
    ) -> Result<(), SampleError> {
        let c = &*self.inner;
        text.clear();
        ends.clear();
        self.fill_into(args, seed, index, cx, &mut TextSink { text, ends })?;
        // Written only when it grows, so threads sampling the same workflow don't keep
        // invalidating each other's cache line.
        if text.len() > c.text_hint.load(Ordering::Relaxed) {
            c.text_hint.fetch_max(text.len(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// The literal segments in fill order, escaped for JSON (made once).
    fn json_literals(&self) -> &[Box<str>] {
        let c = &*self.inner;
        c.json_texts.get_or_init(|| {
            let mut out = Vec::new();
            for inst in &c.instances {
                let block = &c.doc.sequences[inst.seq as usize].blocks[inst.block as usize];
                for zone in &block.zones {
                    for seg in &zone.segments {
                        if let Segment::Text(t) = seg {
                            out.push(json::escaped(t));
                        }
                    }
                }
            }
            out.into()
        })
    }

    /// The loop shared by every sink. Placeholders are numbered in order of first appearance,
    /// so a value is sampled where it first appears (in slot order, keeping the RNG draws in a
    /// fixed order), written straight into the output, and copied from there for later
    /// occurrences.
    fn fill_into(
        &self,
        args: &Bindings,
        seed: u64,
        index: u64,
        cx: &mut SampleContext,
        sink: &mut impl Sink,
    ) -> Result<(), SampleError> {
        let c = &*self.inner;
        let arg_fillers = self.bind_arguments(args)?;
        cx.restart(seed, index, c.streams.as_ref());
        // Where each placeholder value of the current block instance stands in the output.
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(8);
        let mut k = 0;
        for inst in &c.instances {
            ranges.clear();
            let block = &c.doc.sequences[inst.seq as usize].blocks[inst.block as usize];
            for zone in &block.zones {
                for seg in &zone.segments {
                    match *seg {
                        Segment::Text(ref t) => {
                            sink.literal(k, t);
                            k += 1;
                        }
                        Segment::Placeholder(i) => match ranges.get(i) {
                            Some(&(a, b)) => sink.repeat(a, b),
                            None => {
                                let slot = inst
                                    .slots
                                    .get(i)
                                    .filter(|_| i == ranges.len())
                                    .ok_or(SampleError::Internal("placeholder order"))?;
                                let start = sink.pos();
                                match slot {
                                    Slot::Bound(f) => sink.bound(f, cx)?,
                                    Slot::Argument(a) => {
                                        let info = &c.arg_site_info[*a as usize];
                                        sink.argument(
                                            &arg_fillers[*a as usize],
                                            &info.resource,
                                            cx,
                                        )
                                        .map_err(|e| FillError::new(Arc::clone(info), e))?;
                                    }
                                }
                                ranges.push((start, sink.pos()));
                            }
                        },
                    }
                }
                sink.zone_end();
            }
        }
        Ok(())
    }

    fn bind_arguments(&self, args: &Bindings) -> Result<Vec<FillerInner>, SampleError> {
        let c = &*self.inner;
        let doc = &c.doc;
        // Fast check first; the full one explains what is missing or unexpected.
        if args.len() != c.arg_names.len() || !c.arg_names.iter().all(|n| args.contains(n)) {
            check_names(
                doc,
                ResourceKind::Argument,
                c.arg_names.iter().map(String::as_str).collect(),
                args,
                "sampling".to_owned(),
            )
            .map_err(SampleError::Arguments)?;
        }
        let mut fillers = Vec::with_capacity(c.arg_sites.len());
        let mut errors = Vec::new();
        for site in &c.arg_sites {
            let seq = &doc.sequences[site.seq as usize];
            let block = &seq.blocks[site.block as usize];
            let placeholder = &block.placeholders[site.placeholder as usize];
            let s = Site {
                sequence: &seq.name.name,
                block: block.index,
                placeholder,
            };
            let bound = match (args.get(&placeholder.resource), &placeholder.default) {
                (Some(binding), _) => binding.bind_inner(&s),
                (None, Some(text)) => Ok(FillerInner::Static(Arc::clone(text))),
                (None, None) => Err(BindError::unbound(&s)),
            };
            match bound {
                Ok(f) => fillers.push(f),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(fillers)
        } else {
            Err(SampleError::Bind(errors))
        }
    }
}

impl Sampler {
    /// Sample `index` of dataset `seed`, appended to `out` as the zones of a dataset line:
    /// JSON strings separated by commas (`"…","…"`, no brackets).
    /// [`zone_ranges`](Self::zone_ranges) then gives each zone's escaped contents in `out`. On error, `out`
    /// is as it was.
    pub(crate) fn fill_json_zones(
        &mut self,
        args: &Bindings,
        seed: u64,
        index: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), SampleError> {
        let mark = out.len();
        self.zone_ranges.clear();
        out.push(b'"');
        let mut sink = JsonSink {
            start: out.len(),
            out,
            literals: self.workflow.json_literals(),
            scratch: &mut self.out.text,
            zones: &mut self.zone_ranges,
        };
        // The scratch string is the sample buffer: what it held is gone, as on error.
        self.out.ends.clear();
        match self
            .workflow
            .fill_into(args, seed, index, &mut self.cx, &mut sink)
        {
            Ok(()) => {
                // The last zone's `,"` (or, with no zone, the opening quote).
                let cut = if self.zone_ranges.is_empty() { 1 } else { 2 };
                out.truncate(out.len() - cut);
                Ok(())
            }
            Err(e) => {
                out.truncate(mark);
                Err(e)
            }
        }
    }

    /// Each zone's escaped contents in the buffer of the last
    /// [`fill_json_zones`](Self::fill_json_zones).
    pub(crate) fn zone_ranges(&self) -> &[(usize, usize)] {
        &self.zone_ranges
    }
}
