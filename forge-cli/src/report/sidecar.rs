//! The streams a report page does not embed, written next to it as script files the page loads
//! on demand: `REPORT.streams/00000.js`, `00001.js`, … (for `REPORT.html`).
//!
//! Each file is one call `forgeReportStreams(K, [STREAM, ...]);` where `K` is the file's number
//! and each `STREAM` has the shape of an embedded transcript ([`line_json`](super::line_json)).
//! A page loads them with `<script>` elements, which browsers allow from a `file://` page where
//! `fetch()` of a neighbouring file is refused. A file closes once it holds `chunk_bytes` of
//! JSON (at least one stream), so picking one stream loads about that much whatever the run's
//! size. The page's data block lists the index of the first stream of each file
//! ([`Sidecar::firsts`]), so it finds a stream's file by a binary search, gaps included.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The name a script file calls with its streams.
pub(crate) const CALLBACK: &str = "forgeReportStreams";

/// The sidecar folder of the page `out`: `report.html` → `report.streams`.
pub(crate) fn folder(out: &Path) -> PathBuf {
    out.with_extension("streams")
}

/// Writes the streams of a sidecar folder, one file at a time; memory holds one file's text.
pub(crate) struct Sidecar {
    dir: PathBuf,
    chunk_bytes: usize,
    /// The JSON of the open file's streams, comma-separated.
    open: String,
    /// The index of the first stream of each file written or open.
    firsts: Vec<u64>,
}

impl Sidecar {
    /// A sidecar for `dir`; nothing is written until the first stream is added.
    pub(crate) fn new(dir: PathBuf, chunk_bytes: usize) -> Sidecar {
        Sidecar {
            dir,
            chunk_bytes: chunk_bytes.max(1),
            open: String::new(),
            firsts: Vec::new(),
        }
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds the stream `index` (in the shape of an embedded transcript).
    pub(crate) fn add(&mut self, index: u64, stream: &Value) -> io::Result<()> {
        if self.open.is_empty() {
            if self.firsts.is_empty() {
                fs::create_dir_all(&self.dir)?;
            }
            self.firsts.push(index);
        } else {
            self.open.push(',');
        }
        script_safe(&stream.to_string(), &mut self.open);
        if self.open.len() >= self.chunk_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the open file, if it holds a stream.
    fn flush(&mut self) -> io::Result<()> {
        if self.open.is_empty() {
            return Ok(());
        }
        let k = self.firsts.len() - 1;
        let text = format!("{CALLBACK}({k},[{}]);\n", self.open);
        fs::write(self.dir.join(file_name(k)), text)?;
        self.open.clear();
        Ok(())
    }

    /// Writes the last file and removes the files a previous report left beyond the ones
    /// written now (and the folder, if this report needs none and it is left empty). Returns
    /// the index of the first stream of each file.
    pub(crate) fn finish(mut self) -> io::Result<Vec<u64>> {
        self.flush()?;
        let written = self.firsts.len();
        match fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    let name = entry.file_name();
                    if let Some(k) = name.to_str().and_then(chunk_number)
                        && k >= written
                    {
                        fs::remove_file(entry.path())?;
                    }
                }
                if written == 0 {
                    // Only if empty: the folder may hold the user's own files.
                    let _ = fs::remove_dir(&self.dir);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(self.firsts)
    }
}

/// `00042.js`.
fn file_name(k: usize) -> String {
    format!("{k:05}.js")
}

/// The number of a sidecar file name (`00042.js` → 42); `None` for any other name.
fn chunk_number(name: &str) -> Option<usize> {
    let digits = name.strip_suffix(".js")?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Appends JSON text with the line and paragraph separators escaped (older script parsers end
/// a line at them inside strings).
fn script_safe(json: &str, out: &mut String) {
    if !json.contains('\u{2028}') && !json.contains('\u{2029}') {
        out.push_str(json);
        return;
    }
    for c in json.chars() {
        match c {
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_others_are_left_alone() {
        assert_eq!(file_name(42), "00042.js");
        assert_eq!(chunk_number("00042.js"), Some(42));
        assert_eq!(chunk_number("123456.js"), Some(123_456));
        for other in [
            "notes.js",
            "42.js",
            "00042.json",
            "0004a.js",
            "00042.js.bak",
        ] {
            assert_eq!(chunk_number(other), None, "{other}");
        }
    }

    #[test]
    fn separators_are_escaped() {
        let mut out = String::new();
        script_safe("\"a\u{2028}b\u{2029}\"", &mut out);
        assert_eq!(out, "\"a\\u2028b\\u2029\"");
        script_safe(",\"plain é\"", &mut out);
        assert_eq!(out, "\"a\\u2028b\\u2029\",\"plain é\"");
    }
}
