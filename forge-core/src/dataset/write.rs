//! Writing sample lines.

use std::io::Write;
use std::ops::Range;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::Header;
use crate::program::{RangeError, SampledWorkflow, Workflow, ZoneId};
use crate::resources::Bindings;

/// One sample line, borrowing the sample.
#[derive(Serialize)]
struct Line<'a> {
    index: u64,
    seed: u64,
    zones: Zones<'a>,
    extractions: Extractions<'a>,
}

struct Zones<'a>(&'a SampledWorkflow);

impl Serialize for Zones<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for z in self.0.zones() {
            seq.serialize_element(z.text())?;
        }
        seq.end()
    }
}

struct Extractions<'a>(&'a SampledWorkflow);

impl Serialize for Extractions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sample = self.0;
        let mut map = s.serialize_map(Some(sample.extractions().len()))?;
        for e in sample.extractions() {
            map.serialize_entry(&e.name, &Texts(sample, &e.zones))?;
        }
        map.end()
    }
}

struct Texts<'a>(&'a SampledWorkflow, &'a [ZoneId]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.1.len()))?;
        for &z in self.1 {
            seq.serialize_element(self.0.zone(z).text())?;
        }
        seq.end()
    }
}

/// Appends sample `index` of the dataset with `seed` as one line (`\n` included) to `out`.
pub fn encode_sample(index: u64, seed: u64, sample: &SampledWorkflow, out: &mut Vec<u8>) {
    let line = Line {
        index,
        seed,
        zones: Zones(sample),
        extractions: Extractions(sample),
    };
    serde_json::to_writer(&mut *out, &line).expect("writing JSON into a Vec cannot fail");
    out.push(b'\n');
}

/// Samples in one write to the output (per thread buffer, about 64 KiB for the representative
/// workflow).
const BATCH: u64 = 32;

/// Samples indices `range` of the dataset `header` describes (`header.seed`) on `threads`
/// threads and writes their lines to `out` in index order (the header line is not written:
/// a new file starts with [`Header::to_line`]). Each thread encodes its samples into its own
/// reusable buffer; the buffers are written in index order, so the bytes do not depend on
/// `threads`. `progress(done)` is called after each write with the number of samples written
/// so far by this call.
///
/// Stops at the first failing sample or write, in index order: every line before it has been
/// written (and `out` flushed), nothing after it.
pub fn write_range<B, W>(
    workflow: &Workflow,
    header: &Header,
    range: Range<u64>,
    threads: usize,
    args: impl Fn(u64) -> B + Sync,
    out: &mut W,
    mut progress: impl FnMut(u64) + Send,
) -> Result<(), RangeError<std::io::Error>>
where
    B: Into<Bindings>,
    W: Write + Send + ?Sized,
{
    let seed = header.seed;
    let start = range.start;
    let result = workflow.sample_range_batched(
        seed,
        range,
        threads,
        BATCH,
        args,
        |i, sample, buf: &mut Vec<u8>| {
            encode_sample(i, seed, sample, buf);
            Ok(())
        },
        |batch, buf| {
            let written = out.write_all(buf);
            buf.clear();
            written?;
            progress(batch.end - start);
            Ok(())
        },
    );
    let flushed = out.flush();
    result?;
    flushed.map_err(|error| RangeError::Callback {
        index: start,
        error,
    })
}
