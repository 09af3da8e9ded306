//! The one resume rule of forge's line files (datasets and runs): where an interrupted file
//! stops, and how it is repaired before writing on.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Seek, SeekFrom, Write};
use std::path::Path;

use super::{DatasetError, Header};

/// Where an interrupted file stops: see [`resume_point`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Complete lines after the header (indices `first..first + samples`, where `first` is
    /// the first index the file holds): the next index to write is `first + samples`.
    pub samples: u64,
    /// Bytes to keep: the header and the complete lines. Anything after them is a torn
    /// line, to truncate before appending.
    pub keep: u64,
    /// Whether the file ends in a torn (incomplete) line, or is empty or holds only part of
    /// the header (then `keep` is 0 and the whole file is written again).
    pub torn: bool,
}

impl ResumePoint {
    /// The point of a file not yet written: nothing to keep.
    pub const START: ResumePoint = ResumePoint {
        samples: 0,
        keep: 0,
        torn: false,
    };
}

/// Scans a dataset file for where to continue writing the dataset `expected` describes: its
/// header must be `expected`'s (an error names the first difference), and its sample lines
/// must be indices `0, 1, 2, …` in order. A last line without `\n` was cut while being
/// written: it is reported as torn and excluded from `keep`. Sample lines are checked by their
/// `{"index":N,` prefix and closing `}`, not parsed, so a scan is as fast as reading the file.
pub fn resume_point<R: BufRead>(input: R, expected: &Header) -> Result<ResumePoint, DatasetError> {
    resume_point_from(input, expected, 0)
}

/// Like [`resume_point`], for a file that holds the indices from `first` on (one shard of a
/// dataset: `forge sample --range A..B` writes lines `A, A+1, …`).
pub fn resume_point_from<R: BufRead>(
    input: R,
    expected: &Header,
    first: u64,
) -> Result<ResumePoint, DatasetError> {
    scan(input, &expected.to_line(), first, "sample", |line| {
        Header::parse(line)?.check(expected)
    })
}

/// The resume rule shared by every line file: the first line must be `header` byte for byte
/// (else `check(line)` explains the difference, or the header is reported as written by
/// hand), then lines `{"index":first,…}`, `{"index":first+1,…}`, … each ending in `}\n`; a
/// last line without `\n` is torn. `what` names a line in messages ("sample", "stream").
pub(crate) fn scan<R: BufRead>(
    mut input: R,
    header: &str,
    first: u64,
    what: &str,
    check: impl FnOnce(&str) -> Result<(), DatasetError>,
) -> Result<ResumePoint, DatasetError> {
    let mut line = Vec::new();
    let n = input.read_until(b'\n', &mut line)?;
    if n == 0 || line.last() != Some(&b'\n') {
        return Ok(ResumePoint {
            samples: 0,
            keep: 0,
            torn: n > 0,
        });
    }
    if line != header.as_bytes() {
        let text = String::from_utf8_lossy(&line);
        check(&text)?;
        // Same content, other bytes (e.g. written by hand): appending would mix encodings.
        return Err(DatasetError::invalid(
            1,
            "the header describes this file's contents but is not written as forge writes it; \
             write the file again instead of resuming",
        ));
    }
    let mut keep = n as u64;
    let mut samples = 0u64;
    let mut number = 1u64;
    let mut prefix = Vec::new();
    loop {
        line.clear();
        let n = input.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(ResumePoint {
                samples,
                keep,
                torn: false,
            });
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            return Ok(ResumePoint {
                samples,
                keep,
                torn: true,
            });
        }
        let index = first + samples;
        prefix.clear();
        prefix.extend_from_slice(format!("{{\"index\":{index},").as_bytes());
        if !line.starts_with(&prefix) || !line.ends_with(b"}\n") {
            return Err(DatasetError::invalid(
                number,
                format!(
                    "expected {what} {index} of this file; the line is something else \
                     (nothing was changed: move the file away or fix it)"
                ),
            ));
        }
        keep += n as u64;
        samples += 1;
    }
}

/// Opens `path` to write on at `point` (from [`resume_point`] or a run's resume scan): a file
/// with nothing to keep is created (or emptied) and gets `header` (its first line, `\n`
/// included); otherwise the file is cut after its last complete line (a torn line is dropped)
/// and positioned at its end. The one torn-line repair of datasets and runs.
pub fn open_to_continue(path: &Path, header: &str, point: ResumePoint) -> std::io::Result<File> {
    if point.keep == 0 {
        let mut file = File::create(path)?;
        file.write_all(header.as_bytes())?;
        return Ok(file);
    }
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.set_len(point.keep)?;
    file.seek(SeekFrom::End(0))?;
    Ok(file)
}
