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
    let result = workflow.run_range(
        range,
        threads,
        BATCH,
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
        &mut |batch, _, buf| {
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
