//! The header line: format, version, seed and the workflow's shape.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DatasetError, FORMAT, VERSION};
use crate::program::{Shape, Workflow, WorkflowMeta};

/// The header of a dataset file: the dataset seed, the workflow's shape, and what the writer
/// recorded about how it made the samples. See the [module docs](super) for the format.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Header {
    /// The dataset seed.
    pub seed: u64,
    /// The workflow's shape (without texts).
    pub workflow: Arc<WorkflowMeta>,
    /// Whether each sample line repeats the texts of every extraction (`"extractions"`), for
    /// consumers that read lines without the header; `false` by default
    /// ([`with_extraction_texts`](Self::with_extraction_texts)).
    pub extraction_texts: bool,
    /// Free-form data the writer recorded (e.g. the resource options of `forge sample`);
    /// compared like the rest by [`DatasetReader::expect`](super::DatasetReader::expect).
    pub generator: Option<Value>,
    /// The format version of the file it was read from ([`VERSION`] for a new header).
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderWire<'a> {
    format: String,
    version: u32,
    seed: u64,
    /// Absent in version 1, whose lines always carry the extraction texts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extraction_texts: Option<bool>,
    #[serde(borrow)]
    workflow: Shape<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generator: Option<Value>,
}

impl Header {
    /// The header of the dataset `(workflow, seed)`: lines without extraction texts, no
    /// generator data.
    pub fn new(workflow: &Workflow, seed: u64) -> Self {
        Header {
            seed,
            workflow: Arc::clone(workflow.meta_arc()),
            extraction_texts: false,
            generator: None,
            version: VERSION,
        }
    }

    /// This header with sample lines that repeat the texts of every extraction, or not.
    ///
    /// Without them (the default) a line holds the zone texts only, and an extraction's texts
    /// are the texts of the zones the header lists for it (the reader's
    /// [`SampledWorkflow::extractions`](crate::program::SampledWorkflow::extractions) does
    /// this). With them, a consumer that reads lines alone (e.g. `jq`) finds each
    /// extraction's texts under `"extractions"`, at the cost of writing those texts twice.
    pub fn with_extraction_texts(mut self, yes: bool) -> Self {
        self.extraction_texts = yes;
        self
    }

    /// The format version of the file this header was read from, or [`VERSION`] for a new
    /// one.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// This header with `generator` data recorded.
    pub fn with_generator(mut self, generator: Value) -> Self {
        self.generator = Some(generator);
        self
    }

    fn wire(&self) -> HeaderWire<'_> {
        let m = &*self.workflow;
        HeaderWire {
            format: FORMAT.to_owned(),
            version: self.version,
            seed: self.seed,
            extraction_texts: (self.version >= 2).then_some(self.extraction_texts),
            workflow: Shape::of(m),
            generator: self.generator.clone(),
        }
    }

    /// The header line, `\n` included: the exact bytes a dataset file starts with.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(&self.wire()).expect("a header always serializes");
        line.push('\n');
        line
    }

    /// Parses a header line (with or without its `\n`). An unknown format, a newer version or
    /// a malformed workflow is an error that says so.
    pub fn parse(line: &str) -> Result<Header, DatasetError> {
        let value = DATASET_FILE.open(line)?;
        let err = |m: String| DatasetError::invalid(1, m);
        let wire = HeaderWire::deserialize(value).map_err(|e| err(format!("bad header: {e}")))?;
        let extraction_texts = match (wire.version, wire.extraction_texts) {
            (1, None) => true,
            (1, Some(_)) => {
                return Err(err(
                    "bad header: `extraction_texts` is a version 2 field (version 1 lines always \
                     carry the extraction texts)"
                        .into(),
                ));
            }
            (_, Some(yes)) => yes,
            (_, None) => return Err(err("bad header: missing field `extraction_texts`".into())),
        };
        let workflow = wire.workflow.into_meta().map_err(err)?;
        Ok(Header {
            seed: wire.seed,
            workflow: Arc::new(workflow),
            extraction_texts,
            generator: wire.generator,
            version: wire.version,
        })
    }

    /// `Ok` when this header (read from a file) describes the same dataset as `expected`;
    /// otherwise an error naming the first field that differs, e.g.
    /// `` the file's `workflow.zones[12].tags[0]` is "Final", the expected one "Training" ``.
    pub fn check(&self, expected: &Header) -> Result<(), DatasetError> {
        if self == expected {
            return Ok(());
        }
        DATASET_FILE.compare(
            (self.version, expected.version),
            serde_json::to_value(self.wire()).expect("a header always serializes"),
            serde_json::to_value(expected.wire()).expect("a header always serializes"),
        )
    }
}

/// One kind of forge file that opens with a header line (a dataset, a run file): what its
/// messages call it, so that both kinds check their headers with the same code and words.
pub(crate) struct FileKind {
    /// The header's `format` field.
    pub(crate) format: &'static str,
    /// What a file of this kind is called: "dataset", "run file".
    pub(crate) file: &'static str,
    /// What its header describes: "dataset", "run" ("this file belongs to another run").
    pub(crate) owner: &'static str,
    /// The name of its `version` field in messages.
    pub(crate) version_name: &'static str,
    /// The newest version this forge reads (and the one it writes).
    pub(crate) version: u32,
    /// What to do with a file of another version than the expected one.
    pub(crate) remedy: &'static str,
    /// The kinds a file of this kind is named as when handed one of them instead.
    pub(crate) others: &'static [&'static FileKind],
}

/// Datasets (`forge-dataset`).
pub(crate) const DATASET_FILE: FileKind = FileKind {
    format: FORMAT,
    file: "dataset",
    owner: "dataset",
    version_name: "format",
    version: VERSION,
    remedy: "write the dataset again into a new file",
    others: &[],
};

impl FileKind {
    /// A header line (with or without its `\n`) as JSON, once its `format` is this kind's and
    /// its `version` one this forge reads; otherwise an error on line 1 that says what the file
    /// is instead.
    pub(crate) fn open(&self, line: &str) -> Result<Value, DatasetError> {
        let err = |m: String| DatasetError::invalid(1, m);
        let format = self.format;
        let value: Value = serde_json::from_str(line.trim_end_matches('\n')).map_err(|e| {
            err(format!(
                "the header is not JSON ({e}): a forge {} starts with a `{format}` header line",
                self.file
            ))
        })?;
        match value.get("format").and_then(Value::as_str) {
            Some(f) if f == format => {}
            Some(other) => {
                return Err(err(match self.others.iter().find(|k| k.format == other) {
                    Some(kind) => format!(
                        "this is a {} (`{other}`), not a {} (`{format}`)",
                        kind.file, self.file
                    ),
                    None => format!(
                        "the format is `{other}`, not `{format}`: this is not a forge {}",
                        self.file
                    ),
                }));
            }
            None => {
                return Err(err(format!(
                    "the header has no `format` field: this is not a `{format}` file"
                )));
            }
        }
        check_version(&value, self.version_name, self.version).map_err(err)?;
        Ok(value)
    }

    /// `Ok` when the serialized headers `file` and `expected` are equal; otherwise an error on
    /// line 1 naming the versions when `(file, expected)` versions differ, else the first field
    /// that differs.
    pub(crate) fn compare(
        &self,
        versions: (u32, u32),
        file: Value,
        expected: Value,
    ) -> Result<(), DatasetError> {
        if versions.0 != versions.1 {
            return Err(DatasetError::invalid(
                1,
                format!(
                    "this file is in {} format version {}, and version {} is expected: {}",
                    self.owner, versions.0, versions.1, self.remedy
                ),
            ));
        }
        if file == expected {
            return Ok(());
        }
        let (path, got, want) = first_difference(&file, &expected, String::new())
            .unwrap_or_else(|| (String::new(), file.to_string(), expected.to_string()));
        Err(DatasetError::invalid(
            1,
            format!(
                "this file belongs to another {}: its `{path}` is {got}, the expected one {want}",
                self.owner
            ),
        ))
    }
}

/// Checks a header's `version` field: an integer from 1 to `version`, else a message naming
/// the `kind` of format and, for a newer file, what to do. Shared by dataset and run headers.
fn check_version(value: &Value, kind: &str, version: u32) -> Result<(), String> {
    match value.get("version").and_then(Value::as_u64) {
        Some(v) if (1..=u64::from(version)).contains(&v) => Ok(()),
        Some(v) => Err(format!(
            "{kind} version {v}, but this forge reads versions 1 to {version}{}",
            if v > u64::from(version) {
                ": upgrade forge to read it"
            } else {
                ""
            }
        )),
        None => Err("the header has no integer `version` field".into()),
    }
}

/// The path of the first place where `a` and `b` differ, with both values (abbreviated).
fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, join(k)) {
                            return Some(d);
                        }
                    }
                    None => return Some((join(k), short(v), "absent".into())),
                }
            }
            y.iter()
                .find(|(k, _)| !x.contains_key(*k))
                .map(|(k, w)| (join(k), "absent".into(), short(w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(v, w, format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| {
                (
                    format!("{path} length"),
                    x.len().to_string(),
                    y.len().to_string(),
                )
            })
        }
        _ => (a != b).then(|| (path, short(a), short(b))),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}
