//! Run files on disk: create, resume, and the retry pass.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::control::Summary;
use super::{RunFileError, RunHeader, line};
use crate::dataset::{DatasetError, ResumePoint, open_to_continue, scan};
use crate::exec::Generator;

use super::Run;

/// Where an existing run file stops, for the run `expected` describes.
///
/// The same rule as a dataset's ([`resume_point`](crate::dataset::resume_point)): the header
/// must be `expected`'s (else an error names the first field that differs), the lines must
/// be indices `range.start, range.start + 1, …` in order, and a last line without `\n` is torn.
pub fn run_resume_point<R: BufRead>(
    input: R,
    expected: &RunHeader,
) -> Result<ResumePoint, DatasetError> {
    scan(
        input,
        &expected.to_line(),
        expected.range.start,
        "stream",
        |line| RunHeader::parse(line)?.check(expected),
    )
}

impl Run<'_> {
    /// Writes the run into a new file at `path`; an existing file is refused, untouched.
    pub fn create<G: Generator>(
        &mut self,
        path: &Path,
        generator: &mut G,
    ) -> Result<Summary, RunFileError> {
        let mut file = File::create_new(path).map_err(|e| RunFileError::io(path, "create", e))?;
        let header = self.header();
        file.write_all(header.to_line().as_bytes())
            .map_err(|e| RunFileError::io(path, "write", e))?;
        self.write_from(generator, self.range.start, &mut file)
            .map_err(|e| e.at(path))
    }

    /// Continues the run file at `path` (starting it if there is none, or if it is empty): its
    /// header must be
    /// this run's ([`header`](Run::header)), else an error names the first field that differs
    /// and nothing is changed (an incomplete header is refused too); the streams after its last complete line are run and
    /// appended; a torn last line is cut and its stream run again. Failed streams already
    /// in the file stay as they are: [`retry_failed`](Run::retry_failed) runs them again.
    pub fn resume<G: Generator>(
        &mut self,
        path: &Path,
        generator: &mut G,
    ) -> Result<Summary, RunFileError> {
        let header = self.header();
        let point = match File::open(path) {
            Ok(file) => run_resume_point(BufReader::new(file), &header)
                .map_err(|e| RunFileError::file(path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ResumePoint::START,
            Err(e) => return Err(RunFileError::io(path, "read", e)),
        };
        if point.keep == 0 && point.torn {
            return Err(RunFileError::file(
                path,
                DatasetError::invalid(
                    1,
                    "the header line is incomplete (the file was cut while its header was \
                     written, or it is not a run file): nothing to resume; remove the file to \
                     start again",
                ),
            ));
        }
        let mut file = open_to_continue(path, &header.to_line(), point)
            .map_err(|e| RunFileError::io(path, "write", e))?;
        let mut summary = self
            .write_from(generator, self.range.start + point.samples, &mut file)
            .map_err(|e| e.at(path))?;
        summary.already = point.samples;
        summary.torn = point.torn && point.keep > 0;
        Ok(summary)
    }

    /// The retry pass: runs again the streams the file at `path` holds as failed, and
    /// replaces their lines; every other line stays byte for byte. The new file is written
    /// next to it (`PATH.retry`) and renamed over it at the end, so a crash loses nothing.
    /// Streams not yet in the file are not run (that is [`resume`](Run::resume)'s job); a
    /// torn last line is dropped. Stopped through the [`Cancel`](super::Cancel) token, the
    /// streams not retried keep their failed lines.
    pub fn retry_failed<G: Generator>(
        &mut self,
        path: &Path,
        generator: &mut G,
    ) -> Result<Summary, RunFileError> {
        let header = self.header();
        let open = |p: &Path| File::open(p).map_err(|e| RunFileError::io(p, "read", e));
        let point = run_resume_point(BufReader::new(open(path)?), &header)
            .map_err(|e| RunFileError::file(path, e))?;
        if point.keep == 0 {
            return Err(RunFileError::file(
                path,
                DatasetError::invalid(1, "the file has no complete header: nothing to retry"),
            ));
        }
        // First pass: the failed indices.
        let mut failed = Vec::new();
        let mut lines = BufReader::new(open(path)?.take(point.keep));
        let mut buf = Vec::new();
        lines
            .read_until(b'\n', &mut buf)
            .map_err(|e| RunFileError::io(path, "read", e))?;
        for k in 0..point.samples {
            buf.clear();
            lines
                .read_until(b'\n', &mut buf)
                .map_err(|e| RunFileError::io(path, "read", e))?;
            if line::is_failed(&buf) {
                failed.push(self.range.start + k);
            }
        }
        let tmp = retry_path(path);
        let result = self.rewrite(path, &tmp, point, &failed, generator);
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn rewrite<G: Generator>(
        &mut self,
        path: &Path,
        tmp: &Path,
        point: ResumePoint,
        failed: &[u64],
        generator: &mut G,
    ) -> Result<Summary, RunFileError> {
        let mut old = BufReader::new(
            File::open(path)
                .map_err(|e| RunFileError::io(path, "read", e))?
                .take(point.keep),
        );
        let mut out = File::create(tmp).map_err(|e| RunFileError::io(tmp, "create", e))?;
        let mut next_old = self.range.start;
        let mut head = Vec::new();
        old.read_until(b'\n', &mut head)
            .and_then(|_| out.write_all(&head))
            .map_err(|e| RunFileError::io(tmp, "write", e))?;
        let total = failed.len() as u64;
        let summary = self.execute(generator, failed.iter().copied(), total, &mut |batch| {
            for (i, bytes) in batch.lines() {
                copy_lines(&mut old, &mut out, &mut next_old, i)?;
                // Skip the old line of `i`, write the new one.
                let mut skipped = Vec::new();
                old.read_until(b'\n', &mut skipped)?;
                next_old += 1;
                out.write_all(bytes)?;
            }
            Ok(())
        });
        let summary = summary.map_err(|e| e.at(tmp))?;
        copy_lines(&mut old, &mut out, &mut next_old, u64::MAX)
            .and_then(|()| out.sync_all())
            .map_err(|e| RunFileError::io(tmp, "write", e))?;
        drop(out);
        std::fs::rename(tmp, path).map_err(|e| RunFileError::io(path, "replace", e))?;
        Ok(summary)
    }
}

/// Copies the lines of `old` up to index `until` (exclusive) to `out`.
fn copy_lines(
    old: &mut impl BufRead,
    out: &mut File,
    next_old: &mut u64,
    until: u64,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while *next_old < until {
        buf.clear();
        if old.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        out.write_all(&buf)?;
        *next_old += 1;
    }
    Ok(())
}

/// The temporary file of a retry pass: `PATH.retry`, next to the file.
fn retry_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".retry");
    path.with_file_name(name)
}

/// Counts the complete lines of a run file that record failed streams (the header is
/// skipped; lines are judged by their `"status"` field, not parsed).
pub fn count_failed<R: BufRead>(mut input: R) -> std::io::Result<u64> {
    let mut line = Vec::new();
    input.read_until(b'\n', &mut line)?;
    let mut failed = 0;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(failed);
        }
        if line.ends_with(b"\n") && line::is_failed(&line) {
            failed += 1;
        }
    }
}
