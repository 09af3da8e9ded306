//! The header line of a run file.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FORMAT, VERSION};
use crate::dataset::{DatasetError, FileKind};
use crate::program::{Shape, Workflow, WorkflowMeta};

/// The header of a run file: the dataset `(workflow, seed)` it executes, the index range,
/// and how the streams were executed (`generator`). See the [module docs](super).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RunHeader {
    /// The dataset seed: stream `i` runs sample `i` of the dataset `(workflow, seed)`.
    pub seed: u64,
    /// The indices this file holds, in order.
    pub range: Range<u64>,
    /// The workflow's shape, the same object as a dataset header's.
    pub workflow: Arc<WorkflowMeta>,
    /// How the streams were executed: an object with the run's `sampling` options and
    /// `tools`, and what the caller recorded (engine, endpoint or model file, resources).
    /// Never holds secrets: it is compared on resume and written in clear.
    pub generator: Value,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderWire<'a> {
    format: String,
    version: u32,
    seed: u64,
    range: [u64; 2],
    #[serde(borrow)]
    workflow: Shape<'a>,
    generator: Value,
}

impl RunHeader {
    /// The header of a run of `workflow`'s dataset `seed`, indices `range`, made as
    /// `generator` says.
    pub fn new(workflow: &Workflow, seed: u64, range: Range<u64>, generator: Value) -> Self {
        RunHeader {
            seed,
            range,
            workflow: Arc::clone(workflow.meta_arc()),
            generator,
            version: VERSION,
        }
    }

    /// The format version of the file this header was read from ([`VERSION`] for a new one).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// This header with another range (the shards of a run differ only in it).
    pub fn with_range(mut self, range: Range<u64>) -> Self {
        self.range = range;
        self
    }

    fn wire(&self) -> HeaderWire<'_> {
        HeaderWire {
            format: FORMAT.to_owned(),
            version: self.version,
            seed: self.seed,
            range: [self.range.start, self.range.end],
            workflow: Shape::of(&self.workflow),
            generator: self.generator.clone(),
        }
    }

    /// The header line, `\n` included: the exact bytes a run file starts with.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(&self.wire()).expect("a header always serializes");
        line.push('\n');
        line
    }

    /// Parses a header line (with or without its `\n`). Another format (a dataset, or not
    /// forge's at all), a newer version or a malformed header is an error that says so.
    pub fn parse(line: &str) -> Result<RunHeader, DatasetError> {
        let value = RUN_FILE.open(line)?;
        let err = |m: String| DatasetError::invalid(1, m);
        let wire = HeaderWire::deserialize(value).map_err(|e| err(format!("bad header: {e}")))?;
        let [start, end] = wire.range;
        if start > end {
            return Err(err(format!(
                "bad header: the range {start}..{end} is reversed"
            )));
        }
        let workflow = wire.workflow.into_meta().map_err(err)?;
        Ok(RunHeader {
            seed: wire.seed,
            range: start..end,
            workflow: Arc::new(workflow),
            generator: wire.generator,
            version: wire.version,
        })
    }

    /// `Ok` when this header (read from a file) describes the same run as `expected`;
    /// otherwise an error naming the first field that differs, e.g.
    /// `` the file's `generator.sampling.temperature` is 0.0, the expected one 1.0 ``.
    pub fn check(&self, expected: &RunHeader) -> Result<(), DatasetError> {
        if self == expected {
            return Ok(());
        }
        RUN_FILE.compare(
            (self.version, expected.version),
            serde_json::to_value(self.wire()).expect("a header always serializes"),
            serde_json::to_value(expected.wire()).expect("a header always serializes"),
        )
    }
}

/// Run files (`forge-run`).
pub(crate) const RUN_FILE: FileKind = FileKind {
    format: FORMAT,
    file: "run file",
    owner: "run",
    version_name: "run format",
    version: VERSION,
    remedy: "run again into a new file",
    others: &[&crate::dataset::DATASET_FILE],
};
