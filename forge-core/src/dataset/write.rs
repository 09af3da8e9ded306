//! Writing sample lines.

use std::fs::File;
use std::io::{Seek, Write};
use std::ops::Range;
use std::sync::Arc;

use super::Header;
use crate::json;
use crate::program::{RangeError, SampledWorkflow, Workflow};
use crate::resources::Bindings;

/// Appends sample `index` of the dataset `header` describes as one line (`\n` included) to
/// `out`: `{"index":I,"seed":S,"zones":[...]}`, plus `"extractions":{"name":[...],...}` when
/// the header asks for extraction texts; strings escaped as `serde_json` escapes them (the
/// same bytes). [`write_range`] writes the same bytes without building a
/// [`SampledWorkflow`]. The header must describe the sample's workflow ([`Header::new`] of
/// it): an extraction zone the sample does not have is left out of the line, which a reader
/// then rejects.
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
            let texts = e.zones.iter().filter_map(|z| zones.get(z.index()));
            for (j, &(a, b)) in texts.enumerate() {
                if j > 0 {
                    out.push(b',');
                }
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
/// `threads`; `args(i)` must depend on `i` only (it is also called once to size the batches).
/// `progress(done)` is called after each write with the number of samples written so far by
/// this call.
///
/// Stops at the first failing sample or write, in index order: every line before it has been
/// written (and `out` flushed), nothing after it. A `header` that describes another workflow
/// (its shape differs from `workflow`'s) is an `InvalidInput` error at `range.start`, before
/// anything is written.
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
    if !Arc::ptr_eq(&header.workflow, workflow.meta_arc()) && *header.workflow != *workflow.meta() {
        return Err(RangeError::Callback {
            index: start,
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the dataset header describes another workflow; make it with Header::new(workflow, seed)",
            ),
        });
    }
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

/// Space reserved ahead of the writes to a dataset file, at a time.
const RESERVE: u64 = 64 * 1024 * 1024;

/// Like [`write_range`], appending the lines to `file` at its current position (its end: a new
/// dataset file starts with [`Header::to_line`]). On Linux, disk space is reserved ahead of the
/// writes, 64 MiB at a time, without changing the file's size (`fallocate` with
/// `FALLOC_FL_KEEP_SIZE`): the file system then allocates blocks once per reservation instead
/// of once per page written, which makes writing cheaper (see BENCHMARKS.md), and an
/// interrupted file stays a valid prefix. What is not used is released before the call
/// returns, also on error. Where reserving is not supported, the lines are written the same
/// way without it.
///
/// ```no_run
/// # fn demo(workflow: &forge::program::Workflow) -> Result<(), Box<dyn std::error::Error>> {
/// use forge::dataset::{self, Header};
/// use forge::resources::Bindings;
/// use std::io::Write;
/// let header = Header::new(workflow, 7);
/// let mut file = std::fs::File::create("data.jsonl")?;
/// file.write_all(header.to_line().as_bytes())?;
/// dataset::write_range_to_file(workflow, &header, 0..100_000, 2, |_| Bindings::new(), &file, |_| {})?;
/// # Ok(())
/// # }
/// ```
pub fn write_range_to_file<B>(
    workflow: &Workflow,
    header: &Header,
    range: Range<u64>,
    threads: usize,
    args: impl Fn(u64) -> B + Sync,
    file: &File,
    progress: impl FnMut(u64) + Send,
) -> Result<(), RangeError<std::io::Error>>
where
    B: Into<Bindings>,
{
    let start = range.start;
    let at = |error| RangeError::Callback {
        index: start,
        error,
    };
    let pos = (&*file).stream_position().map_err(at)?;
    let mut out = Reserving {
        file,
        pos,
        reserved: pos,
        used: false,
    };
    let written = write_range(workflow, header, range, threads, args, &mut out, progress);
    // Blocks past the end of the file are released by setting its length to what it is.
    let released = if out.used {
        file.set_len(out.pos)
    } else {
        Ok(())
    };
    written?;
    released.map_err(at)
}

/// A file written at its position, with space reserved ahead of the writes.
struct Reserving<'a> {
    file: &'a File,
    /// Where the next write goes.
    pos: u64,
    /// The end of the space reserved (`u64::MAX` once reserving failed: not tried again).
    reserved: u64,
    /// Whether anything was reserved (to release what is left).
    used: bool,
}

impl Reserving<'_> {
    /// Reserves at least `len` bytes from the current position, in steps of [`RESERVE`].
    fn reserve(&mut self, len: u64) {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{FallocateFlags, fallocate};
            let len = len.max(RESERVE);
            if fallocate(self.file, FallocateFlags::KEEP_SIZE, self.pos, len).is_ok() {
                self.reserved = self.pos + len;
                self.used = true;
                return;
            }
        }
        let _ = len;
        self.reserved = u64::MAX;
    }
}

impl Write for Reserving<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.pos + buf.len() as u64 > self.reserved {
            self.reserve(buf.len() as u64);
        }
        let n = (&mut &*self.file).write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&mut &*self.file).flush()
    }
}
