//! Writing sample lines.

use std::io::Write;
use std::ops::Range;

use super::Header;
use crate::json;
use crate::program::{RangeError, SampledWorkflow, Workflow};
use crate::resources::Bindings;

/// Appends sample `index` of the dataset `header` describes as one line (`\n` included) to
/// `out`: `{"index":I,"seed":S,"zones":[...]}`, plus `"extractions":{"name":[...],...}` when
/// the header asks for extraction texts; strings escaped as `serde_json` escapes them (the
/// same bytes). [`write_range`] writes the same bytes without building a
/// [`SampledWorkflow`].
pub fn encode_sample(header: &Header, index: u64, sample: &SampledWorkflow, out: &mut Vec<u8>) {
    out.reserve(sample.text().len() + sample.len() * 4 + 64);
    line_start(out, index, header.seed);
    let mut zones = Vec::with_capacity(sample.len());
    for (i, z) in sample.zones().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        let start = out.len();
        json::push_escaped(out, z.text());
        zones.push((start, out.len()));
        out.push(b'"');
    }
    line_end(out, header, &zones);
}

fn line_start(out: &mut Vec<u8>, index: u64, seed: u64) {
    out.extend_from_slice(b"{\"index\":");
    json::push_u64(out, index);
    out.extend_from_slice(b",\"seed\":");
    json::push_u64(out, seed);
    out.extend_from_slice(b",\"zones\":[");
}

/// Closes the zones array and the line; `zones` are the escaped contents of each zone in
/// `out`, copied for the extraction texts when the header asks for them.
fn line_end(out: &mut Vec<u8>, header: &Header, zones: &[(usize, usize)]) {
    out.push(b']');
    if header.extraction_texts {
        out.extend_from_slice(b",\"extractions\":{");
        for (i, e) in header.workflow.extractions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::push_str(out, &e.name);
            out.extend_from_slice(b":[");
            for (j, z) in e.zones.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let (a, b) = zones[z.index()];
                out.push(b'"');
                out.extend_from_within(a..b);
                out.push(b'"');
            }
            out.push(b']');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"}\n");
}

/// About how many bytes one write to the output carries: few enough system calls that their
/// fixed cost vanishes, small enough that a batch stays in the core's cache (on ext4, 64 to 512
/// KiB per `write` are the fastest).
const WRITE_BYTES: usize = 256 * 1024;

/// Samples per batch: as many lines as make [`WRITE_BYTES`], judged by the range's first line
/// (32 if it cannot be sampled: the range then fails on it anyway).
fn batch_size<B: Into<Bindings>>(
    workflow: &Workflow,
    seed: u64,
    first: u64,
    args: &impl Fn(u64) -> B,
) -> u64 {
    let mut line = Vec::new();
    let mut sampler = workflow.sampler();
    match sampler.fill_json_zones(&args(first).into(), seed, first, &mut line) {
        Ok(()) => (WRITE_BYTES / (line.len() + 64)).clamp(1, 4096) as u64,
        Err(_) => 32,
    }
}

/// Samples indices `range` of the dataset `header` describes (`header.seed`) on `threads`
/// threads and writes their lines to `out` in index order (the header line is not written:
/// a new file starts with [`Header::to_line`]). Threads encode batches of lines (about 256 KiB
/// each) into reusable buffers, which are written in index order, so the bytes do not depend on
/// `threads`; `args(i)` must depend on `i` only (it is also called once to size the batches). `progress(done)` is called after each write with the number of samples written
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
    if range.is_empty() {
        return out.flush().map_err(|error| RangeError::Callback {
            index: start,
            error,
        });
    }
    let batch = batch_size(workflow, seed, start, &args);
    let result = workflow.run_range(
        range,
        threads,
        batch,
        &|sampler, i, buf: &mut Vec<u8>| {
            let mark = buf.len();
            line_start(buf, i, seed);
            if let Err(error) = sampler.fill_json_zones(&args(i).into(), seed, i, buf) {
                buf.truncate(mark);
                return Err(RangeError::Sample { index: i, error });
            }
            line_end(buf, header, sampler.zone_ranges());
            Ok(())
        },
        &mut |batch, buf| {
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
