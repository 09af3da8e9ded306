//! Datasets: the samples `0..n` of a workflow with a seed, written to and read from a
//! versioned JSON Lines file (specified in `docs/datasets.md` in the repository).
//!
//! A dataset is `(workflow, seed, n)`: sample `i` is
//! [`Workflow::sample_at`](crate::program::Workflow::sample_at)`(args(i), seed, i)`, a pure function of the seed and the index (and
//! the arguments given for `i`), so a dataset can be regenerated, diffed, extended, split across
//! machines or resumed, and its bytes do not depend on the number of threads that wrote it.
//!
//! # File format (version 2)
//!
//! UTF-8 JSON Lines: every line is one compact JSON object followed by `\n`.
//!
//! The **first line** is the header, written once: the format name and version, the dataset
//! seed, whether sample lines carry extraction texts, the workflow's shape (its config, entry
//! zone, extractions with the zones each selects, and for each zone its sequence, block,
//! instance, zone index, advance pattern, tags, token limit, input/output flags, tool, next zone
//! and jump edge), and an optional `generator` object in which the writer may record how the
//! samples were made (the command-line tool records its resource options there).
//!
//! ```text
//! {"format":"forge-dataset","version":2,"seed":7,"extraction_texts":false,"workflow":{"config":{…},"entry":0,"extractions":[{"name":"final","tags":["Final"],"zones":[68]},…],"zones":[{"sequence":"setup","block":0,…},…]}}
//! ```
//!
//! **Every further line** is one sample, in index order from 0: its index, the dataset seed and
//! the zone texts in zone order:
//!
//! ```text
//! {"index":0,"seed":7,"zones":["[Prompt] The user is asking…","…"]}
//! ```
//!
//! An extraction's texts are the texts of the zones the header lists for it: the same for
//! every sample, so they are written once, and the reader's
//! [`SampledWorkflow::extractions`](crate::program::SampledWorkflow::extractions) gives them.
//! For consumers that read lines without the header, a header made
//! [`with_extraction_texts`](Header::with_extraction_texts) (`forge sample
//! --extraction-texts`) has every line repeat them after the zones, at about 1.4× the size for the
//! representative workflow:
//!
//! ```text
//! {"index":0,"seed":7,"zones":["…","…"],"extractions":{"training":["…"],"final":["…"]}}
//! ```
//!
//! Version 1 (the first format) had no `extraction_texts` field and always wrote the
//! extraction texts; it is still read.
//!
//! [`DatasetReader`] loads a file back into [`SampledWorkflow`](crate::program::SampledWorkflow)s and rejects a header of another
//! format, a newer version, or (with [`DatasetReader::expect`]) another workflow or seed, naming
//! the first field that differs. A file cut while being written ends in a line without `\n`:
//! the reader reports it, and [`resume_point`] finds where to continue writing
//! ([`open_to_continue`] cuts the torn line); run files ([`crate::run`]) follow the same rule,
//! with the same code.
//!
//! A shard of a dataset (`forge sample --range A..B` or `--shard K/N`) has the same header and
//! the lines `A..B` ([`resume_point_from`] resumes it); [`crate::run::merge`] joins the shards
//! into the file one process writes.
//!
//! ```
//! # use forge::program::Program;
//! use forge::dataset::{self, DatasetReader, Header};
//! use forge::resources::{Bindings, ListSampler};
//! # let doc = forge::udpl::parse_str(r#"
//! # [config]
//! # zone_patterns = ["[P]", "[A]"]
//! # required_patterns = ["[P]"]
//! # valid_tags = ["Out"]
//! # default_max_token_length = 10
//! # sequences = ["s"]
//! # control_pattern = "[J]"
//! # escape_patterns = ["[E]", "[/E]"]
//! # [[s]]
//! # text = "[P] {pick} [A]"
//! # tags = [["Out"]]
//! # [s.pick]
//! # name = "letters"
//! # arguments = { num_samples = 1 }
//! # "#, "s.toml")?.document;
//! # let mut standard = Bindings::new();
//! # standard.insert("letters", ListSampler::new(["a", "b", "c"])?);
//! # let mut program = Program::new(doc, standard)?;
//! # program.run("s")?;
//! # program.extract("out", &["Out"])?;
//! let workflow = program.compile()?;
//! let header = Header::new(&workflow, 7);
//! let mut file = header.to_line().into_bytes();
//! dataset::write_range(&workflow, &header, 0..4, 2, |_| Bindings::new(), &mut file, |_| {})?;
//!
//! let mut reader = DatasetReader::new(&file[..])?;
//! reader.expect(&header)?;
//! for (i, row) in reader.enumerate() {
//!     let row = row?;
//!     assert_eq!(row.index, i as u64);
//!     assert_eq!(row.sample, workflow.sample_at(Bindings::new(), 7, row.index)?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod header;
mod read;
mod resume;
mod write;

pub use header::Header;
pub(crate) use header::{DATASET_FILE, FileKind};
pub use read::{DatasetReader, DatasetSample};
pub(crate) use resume::scan;
pub use resume::{ResumePoint, open_to_continue, resume_point, resume_point_from};
pub use write::{encode_sample, write_range, write_range_to_file};

/// The `format` field of the header.
pub const FORMAT: &str = "forge-dataset";

/// The format version this forge writes; it reads this one and every earlier one.
pub const VERSION: u32 = 2;

/// A dataset file could not be read, or does not belong to the expected dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// Reading failed.
    #[error("cannot read the dataset: {0}")]
    Io(#[from] std::io::Error),
    /// Line `line` (1-based; the header is line 1) is not what the format or the expected
    /// dataset requires.
    #[error("line {line}: {message}")]
    Invalid {
        /// 1-based line number.
        line: u64,
        /// What is wrong, and what to do.
        message: String,
    },
}

impl DatasetError {
    pub(crate) fn invalid(line: u64, message: impl Into<String>) -> Self {
        DatasetError::Invalid {
            line,
            message: message.into(),
        }
    }
}
