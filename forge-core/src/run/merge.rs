//! Merging the shard files of one dataset or run into the file one process would write.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{RunFileError, RunHeader, run_resume_point};
use crate::dataset::{DatasetError, Header, resume_point_from};

/// What [`merge`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Merged {
    /// Whether the shards were run files (else dataset files).
    pub runs: bool,
    /// The indices the merged file holds.
    pub range: Range<u64>,
}

/// One shard, checked.
struct Shard {
    path: PathBuf,
    /// Bytes of its header line.
    header_len: u64,
    /// Bytes of the header and its complete lines.
    keep: u64,
    range: Range<u64>,
}

enum Kind {
    Dataset(Header),
    Run(RunHeader),
}

/// Merges shard files of one dataset (`forge sample --range/--shard`) or one run (`forge run
/// --range/--shard`), given in index order, into a new file at `out`: exactly the file one
/// process writing the whole range would have written (for runs, with a deterministic
/// generator). Every shard is checked first: same format, the same header but for the range,
/// complete (no torn or missing line), and ranges contiguous (no gap, no overlap; a dataset
/// starts at index 0). On any failure the error names the shard and the problem, and nothing
/// is written; an existing `out` is refused.
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<Merged, RunFileError> {
    let bad = |path: &Path, line: u64, m: String| RunFileError::File {
        path: path.to_owned(),
        source: DatasetError::invalid(line, m),
    };
    let Some(first) = shards.first() else {
        return Err(RunFileError::Range(
            "give at least one shard to merge".into(),
        ));
    };
    let mut kind: Option<Kind> = None;
    let mut checked: Vec<Shard> = Vec::with_capacity(shards.len());
    for path in shards {
        let open = || File::open(path).map_err(|e| RunFileError::io(path, "read", e));
        let mut line = String::new();
        let header_len = BufReader::new(open()?)
            .read_line(&mut line)
            .map_err(|e| RunFileError::io(path, "read", e))? as u64;
        if !line.ends_with('\n') {
            return Err(bad(
                path,
                1,
                "the header line is incomplete or missing: not a finished shard".into(),
            ));
        }
        let this = if line.contains("\"format\":\"forge-run\"") {
            Kind::Run(RunHeader::parse(&line).map_err(|e| RunFileError::file(path, e))?)
        } else {
            Kind::Dataset(Header::parse(&line).map_err(|e| RunFileError::file(path, e))?)
        };
        // Same header but for the range.
        match (&kind, &this) {
            (None, _) => {}
            (Some(Kind::Run(a)), Kind::Run(b)) => {
                let a = a.clone().with_range(0..0);
                b.clone()
                    .with_range(0..0)
                    .check(&a)
                    .map_err(|e| RunFileError::file(path, e))?;
            }
            (Some(Kind::Dataset(a)), Kind::Dataset(b)) => {
                b.check(a).map_err(|e| RunFileError::file(path, e))?;
            }
            _ => {
                return Err(bad(
                    path,
                    1,
                    format!(
                        "mixes run files and dataset files (`{}` is the other kind)",
                        first.display()
                    ),
                ));
            }
        }
        let shard = match &this {
            Kind::Run(h) => {
                let point = run_resume_point(BufReader::new(open()?), h)
                    .map_err(|e| RunFileError::file(path, e))?;
                let len = h.range.end - h.range.start;
                if point.torn || point.samples != len {
                    return Err(bad(
                        path,
                        point.samples + 2,
                        format!(
                            "the shard holds {} of its {len} streams{}: finish it with --resume \
                             (and --retry-failed) before merging",
                            point.samples,
                            if point.torn { " and a torn line" } else { "" }
                        ),
                    ));
                }
                Shard {
                    path: path.clone(),
                    header_len,
                    keep: point.keep,
                    range: h.range.clone(),
                }
            }
            Kind::Dataset(h) => {
                let mut reader = BufReader::new(open()?);
                let mut head = String::new();
                reader
                    .read_line(&mut head)
                    .and_then(|_| {
                        head.clear();
                        reader.read_line(&mut head)
                    })
                    .map_err(|e| RunFileError::io(path, "read", e))?;
                let start = head
                    .strip_prefix("{\"index\":")
                    .and_then(|r| r.split(',').next())
                    .and_then(|n| n.parse::<u64>().ok())
                    // An empty shard continues where the previous one ended.
                    .unwrap_or(checked.last().map_or(0, |s| s.range.end));
                let point = resume_point_from(BufReader::new(open()?), h, start)
                    .map_err(|e| RunFileError::file(path, e))?;
                if point.torn {
                    return Err(bad(
                        path,
                        point.samples + 2,
                        "the shard ends in a torn line: finish it with --resume before merging"
                            .into(),
                    ));
                }
                Shard {
                    path: path.clone(),
                    header_len,
                    keep: point.keep,
                    range: start..start + point.samples,
                }
            }
        };
        if let Some(prev) = checked.last() {
            let (end, start) = (prev.range.end, shard.range.start);
            if start > end {
                return Err(bad(
                    path,
                    2,
                    format!(
                        "starts at index {start}, but `{}` ends at {end}: indices {end}..{start} \
                         are missing (a gap)",
                        prev.path.display()
                    ),
                ));
            }
            if start < end {
                return Err(bad(
                    path,
                    2,
                    format!(
                        "starts at index {start}, but `{}` already holds indices up to {end} \
                         (the shards overlap on {start}..{})",
                        prev.path.display(),
                        end.min(shard.range.end)
                    ),
                ));
            }
        } else if matches!(this, Kind::Dataset(_)) && shard.range.start != 0 {
            return Err(bad(
                path,
                2,
                format!(
                    "the first shard starts at index {}: a dataset starts at 0 (give the \
                     shards in order)",
                    shard.range.start
                ),
            ));
        }
        checked.push(shard);
        kind.get_or_insert(this);
    }
    let range = checked[0].range.start..checked[checked.len() - 1].range.end;
    let (runs, header) = match kind.expect("at least one shard") {
        Kind::Run(h) => (true, h.with_range(range.clone()).to_line()),
        Kind::Dataset(h) => (false, h.to_line()),
    };
    let mut file = File::create_new(out).map_err(|e| RunFileError::io(out, "create", e))?;
    let written = (|| {
        file.write_all(header.as_bytes())?;
        for shard in &checked {
            let mut body = File::open(&shard.path)?.take(shard.keep);
            std::io::copy(
                &mut (&mut body).take(shard.header_len),
                &mut std::io::sink(),
            )?;
            std::io::copy(&mut body, &mut file)?;
        }
        file.sync_all()
    })();
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(out);
        return Err(RunFileError::io(out, "write", e));
    }
    Ok(Merged { runs, range })
}
