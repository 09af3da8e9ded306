//! The output file of `forge run`: one JSON line per finished stream, appended as each finishes,
//! and read back to resume a run.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// An output file opened for appending, with the streams it already holds.
pub(crate) struct Jsonl {
    file: File,
    path: PathBuf,
}

/// What an existing output file holds: for every stream written, its seed.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) seeds: HashMap<u32, u64>,
    /// Whether a torn last line (a crash mid-write) was cut off.
    pub(crate) torn: bool,
}

impl Jsonl {
    /// Opens (or creates) `path`. Every complete line must be a stream's JSON object; a last
    /// line without its newline is a torn write and is cut off (that stream runs again). Any
    /// other malformed line is an error: the file is not ours, and nothing is overwritten.
    pub(crate) fn open(path: &Path) -> Result<(Jsonl, Written), String> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| format!("cannot open `{}` for writing: {e}", path.display()))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut written = Written::default();
        let complete = match text.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => 0,
        };
        for (n, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (stream, seed) = stream_and_seed(line).ok_or_else(|| {
                format!(
                    "`{}` line {}: not a line of `forge run` output; give another --out file \
                     (nothing was changed)",
                    path.display(),
                    n + 1
                )
            })?;
            written.seeds.insert(stream, seed);
        }
        if complete < text.len() {
            // A torn last line: cut it off (append mode writes at the end, so truncate first).
            file.set_len(complete as u64)
                .and_then(|()| file.seek(SeekFrom::End(0)).map(drop))
                .map_err(|e| format!("cannot repair `{}`: {e}", path.display()))?;
            written.torn = true;
        }
        Ok((
            Jsonl {
                file,
                path: path.to_owned(),
            },
            written,
        ))
    }

    /// Appends one line (a newline is added) with a single write, so that a crash leaves at
    /// most one torn line.
    pub(crate) fn append(&mut self, line: &str) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| format!("cannot write to `{}`: {e}", self.path.display()))
    }
}

/// The `stream` and `seed` fields of a line, if it is a JSON object holding both.
fn stream_and_seed(line: &[u8]) -> Option<(u32, u64)> {
    #[derive(serde::Deserialize)]
    struct Head {
        stream: u32,
        seed: u64,
    }
    let head: Head = serde_json::from_slice(line).ok()?;
    Some((head.stream, head.seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("forge-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn a_torn_last_line_is_cut_and_complete_lines_are_kept() {
        let path = scratch("torn.jsonl");
        std::fs::write(
            &path,
            "{\"stream\":0,\"seed\":7}\n{\"stream\":2,\"seed\":9}\n{\"stream\":1,\"se",
        )
        .unwrap();
        let (mut out, written) = Jsonl::open(&path).unwrap();
        assert!(written.torn);
        assert_eq!(written.seeds, HashMap::from([(0, 7), (2, 9)]));
        out.append("{\"stream\":1,\"seed\":8}").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"stream\":0,\"seed\":7}\n{\"stream\":2,\"seed\":9}\n{\"stream\":1,\"seed\":8}\n"
        );
        let (_, again) = Jsonl::open(&path).unwrap();
        assert!(!again.torn);
        assert_eq!(again.seeds.len(), 3);
    }

    #[test]
    fn a_foreign_file_is_refused_untouched() {
        let path = scratch("foreign.jsonl");
        std::fs::write(&path, "hello\nworld\n").unwrap();
        let error = Jsonl::open(&path).err().unwrap();
        assert!(
            error.contains("line 1: not a line of `forge run` output"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\nworld\n");
    }
}
