//! Runs: a dataset, executed. Stream `i` of a run executes sample `i` of the dataset
//! `(workflow, seed)` ([`Workflow::sample_at`](crate::program::Workflow::sample_at)`(args(i),
//! seed, i)`, exactly what `forge sample` writes on line `i`), with request seeds
//! [`request_seed`](crate::exec::request_seed)`(seed, i, n)`, and its result becomes one line
//! of a versioned JSON Lines file.
//!
//! - [`Run`] executes any compiled workflow (typed or not) with any
//!   [`Generator`](crate::exec::Generator) and [`Tools`](crate::exec::Tools) into a run file:
//!   [`Run::write`] to any `Write`, [`Run::create`], [`Run::resume`] and
//!   [`Run::retry_failed`] on a path. Streams are sampled lazily as they start, so memory
//!   follows the reorder window, whatever the range.
//! - The caller owns progress ([`Progress`]) and cancellation ([`Cancel`]); a run returns a
//!   [`Summary`] (finished, failed, in flight when stopped, not started, tokens, tokens/s,
//!   and per zone how its visits ended).
//! - [`RunReader`] streams a file back into [`Transcript`](crate::exec::Transcript)s.
//! - [`RunStats`] sums a file up in one pass (streams, tokens, per zone how visits ended,
//!   loops, `when` branches, failures), in memory that follows the workflow, not the streams.
//! - [`merge`] joins the shard files of a run or a dataset into the single-process file.
//!
//! # File format (version 1)
//!
//! UTF-8 JSON Lines: every line is one compact JSON object followed by `\n`.
//!
//! The **first line** is the header: `"format":"forge-run"`, the `version`, the dataset
//! `seed`, the index `range` `[start, end]`, the `workflow`'s shape (the same object as a
//! dataset header's, see [`dataset`](crate::dataset)), and a `generator` object recording how
//! the streams were executed: `sampling` (temperature, top_p, the token cap `max_tokens`, the
//! visit bound `max_visits`), `tools` (the registered tool names), and whatever the caller
//! recorded with [`Run::record`] (engine kind and dialect, endpoint or model file name and
//! size, resources). It never holds an API key.
//!
//! ```text
//! {"format":"forge-run","version":1,"seed":7,"range":[0,64],"workflow":{"config":{…},"entry":0,"extractions":[…],"zones":[…]},"generator":{"engine":{…},"sampling":{"temperature":0.0,"top_p":1.0,"max_tokens":null,"max_visits":100000},"tools":[]}}
//! ```
//!
//! **Every further line** is one stream, in index order from `range.start`: its `index`, the
//! dataset `seed` (the header's, never a derived one), its `status` (`finished` or `failed`,
//! then a located `error` with its `message` and `zone`), its `visits` (zone index into the
//! header's zones, how the visit ended, tokens generated, requests made), its `spans` (visit,
//! zone, kind, text: concatenated they are the transcript), its `extractions` (name → texts,
//! in declaration order) and the `corrections` made to the generator's replies. A failed line
//! holds the partial transcript in its visits and spans.
//!
//! ```text
//! {"index":0,"seed":7,"status":"finished","visits":[{"zone":0,"end":"pattern","tokens":3,"requests":1}],"spans":[{"visit":0,"zone":0,"kind":"forced","text":"[Q] Capital? "},{"visit":0,"zone":0,"kind":"generated","text":"Paris [A]"}],"extractions":{"answer":[" Capital? Paris [A]"]},"corrections":[]}
//! {"index":1,"seed":7,"status":"failed","error":{"message":"stream 1, zone 0 (…): the generation request failed (1 attempt): …","zone":0},"visits":[…],"spans":[…],"extractions":{},"corrections":[]}
//! ```
//!
//! Streams finish in any order; a bounded reorder window ([`Run::window`]) holds finished
//! streams until their turn, and no stream starts while it is full. So a deterministic
//! generator (scripted replies, a greedy in-process model) gives the same bytes whatever the
//! concurrency, and the shard files of a run (ranges `0..a`, `a..b`, …) concatenate (one
//! header, with the whole range) into exactly the file one process writes.
//!
//! # Interruption, resume, retries
//!
//! Each line is written with one `write_all` as its turn comes (by a writer thread, while the
//! calling thread goes on executing), so a kill loses only the streams in flight and the
//! window. [`Run::resume`] checks the header (workflow, seed, range,
//! generator: an error names the first field that differs) and continues at the first missing
//! index, cutting a torn last line: the same rule (and code) as a dataset's
//! ([`dataset::resume_point`](crate::dataset::resume_point)). Failed streams stay in the file
//! with their error; [`Run::retry_failed`] runs only them again and replaces their lines,
//! every other line byte for byte.
//!
//! # Example
//!
//! ```
//! use forge::exec::Scripted;
//! use forge::run::{Run, RunReader};
//! # use forge::{program::Program, resources::Bindings};
//! # let doc = forge::udpl::parse_str(r#"
//! # [config]
//! # zone_patterns = ["[Q]", "[A]"]
//! # required_patterns = ["[Q]"]
//! # valid_tags = ["Answer"]
//! # default_max_token_length = 20
//! # sequences = ["ask"]
//! # control_pattern = "[J]"
//! # escape_patterns = ["[E]", "[/E]"]
//! # [[ask]]
//! # text = "[Q] Capital? "
//! # tags = [["Answer"]]
//! # "#, "ask.toml")?.document;
//! # let mut program = Program::new(doc, Bindings::new())?;
//! # program.run("ask")?.extract("answer", &["Answer"])?;
//! # let workflow = program.compile()?;
//! // `workflow`: one zone `[Q] Capital? ` that the model ends with `[A]`.
//! let mut generator = Scripted::new([["Paris [A]"], ["Rome [A]"], ["Bern [A]"]]).shuffled(1);
//! let mut file = Vec::new();
//! let summary = Run::new(&workflow, 7, 0..3).write(&mut generator, &mut file)?;
//! assert_eq!((summary.finished, summary.failed), (3, 0));
//!
//! let reader = RunReader::new(&file[..])?;
//! assert_eq!(reader.header().range, 0..3);
//! let answers = reader
//!     .map(|line| Ok(line?.outcome.unwrap().extraction("answer").unwrap()[0].clone()))
//!     .collect::<Result<Vec<_>, forge::dataset::DatasetError>>()?;
//! assert_eq!(answers, [" Capital? Paris [A]", " Capital? Rome [A]", " Capital? Bern [A]"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod control;
mod execute;
mod file;
mod header;
mod line;
mod merge;
mod read;
mod stats;

pub use control::{Cancel, Progress, Summary};
pub use execute::Run;
pub use file::{count_failed, run_resume_point};
pub use header::RunHeader;
pub use line::{FailedStream, RunLine};
pub use merge::{Merged, merge};
pub use read::RunReader;
pub use stats::{FailureGroup, Histogram, LoopStats, RunStats, Stopped, WhenStats, ZoneStats};

use std::fmt;
use std::path::{Path, PathBuf};

use crate::dataset::DatasetError;
use crate::exec::InvalidOptions;
use crate::program::SampleError;

/// The `format` field of a run file's header.
pub const FORMAT: &str = "forge-run";

/// The run format version this forge writes; it reads this one and every earlier one.
pub const VERSION: u32 = 1;

/// Why a run could not be written (stream failures are not errors: they are lines).
#[derive(Debug)]
#[non_exhaustive]
pub enum RunFileError {
    /// Reading or writing a file failed.
    Io {
        /// The file (`None`: the caller's writer).
        path: Option<PathBuf>,
        /// What was being done: "create", "read", "write", "replace".
        action: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The existing file is not this run's, or not a run file at all (nothing was changed).
    File {
        /// The file.
        path: PathBuf,
        /// Which line, and what is wrong.
        source: DatasetError,
    },
    /// The run options make no sense.
    Options(InvalidOptions),
    /// The range cannot be run.
    Range(String),
    /// Sample `index` could not be sampled (e.g. its arguments do not bind the workflow's);
    /// every stream before it was written.
    Sample {
        /// The index.
        index: u64,
        /// Why.
        error: SampleError,
    },
}

impl RunFileError {
    fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        RunFileError::Io {
            path: Some(path.to_owned()),
            action,
            source,
        }
    }

    fn write(source: std::io::Error) -> Self {
        RunFileError::Io {
            path: None,
            action: "write",
            source,
        }
    }

    fn file(path: &Path, source: DatasetError) -> Self {
        match source {
            DatasetError::Io(source) => RunFileError::io(path, "read", source),
            source => RunFileError::File {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// This error, naming `path` if it names no file.
    fn at(self, path: &Path) -> Self {
        match self {
            RunFileError::Io {
                path: None,
                action,
                source,
            } => RunFileError::io(path, action, source),
            e => e,
        }
    }
}

impl fmt::Display for RunFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunFileError::Io {
                path,
                action,
                source,
            } => {
                match path {
                    Some(p) => write!(f, "cannot {action} `{}`: {source}", p.display())?,
                    None => write!(f, "cannot {action} the run: {source}")?,
                }
                if let Some(p) = path
                    && source.kind() == std::io::ErrorKind::NotFound
                    && let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
                    && !dir.exists()
                {
                    write!(f, " (the directory `{}` does not exist)", dir.display())?;
                }
                if let Some(p) = path
                    && source.kind() == std::io::ErrorKind::AlreadyExists
                {
                    write!(
                        f,
                        " (resume it, or remove `{}` to start again)",
                        p.display()
                    )?;
                }
                Ok(())
            }
            RunFileError::File { path, source } => write!(f, "`{}` {source}", path.display()),
            RunFileError::Options(e) => write!(f, "{e}"),
            RunFileError::Range(m) => write!(f, "{m}"),
            RunFileError::Sample { index, error } => write!(f, "sample {index}: {error}"),
        }
    }
}

impl std::error::Error for RunFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunFileError::Io { source, .. } => Some(source),
            RunFileError::File { source, .. } => Some(source),
            RunFileError::Options(e) => Some(e),
            RunFileError::Range(_) => None,
            RunFileError::Sample { error, .. } => Some(error),
        }
    }
}
