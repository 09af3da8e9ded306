//! Reading dataset files back, and finding where an interrupted one stops.

use std::collections::BTreeMap;
use std::io::BufRead;

use serde::Deserialize;

use super::{DatasetError, Header};
use crate::program::SampledWorkflow;

/// One sample read back from a dataset file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetSample {
    /// Its index in the dataset.
    pub index: u64,
    /// The sampled workflow: the header's shape with this line's zone texts.
    pub sample: SampledWorkflow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineWire<'a> {
    index: u64,
    seed: u64,
    #[serde(borrow)]
    zones: Vec<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    extractions: Option<BTreeMap<std::borrow::Cow<'a, str>, Vec<std::borrow::Cow<'a, str>>>>,
}

/// Reads a dataset file: the header first ([`DatasetReader::new`]), then the samples as an
/// iterator of [`DatasetSample`]s, each checked against the header (seed, zone count, and the
/// extraction texts when the header says lines carry them) and expected in index order from 0.
pub struct DatasetReader<R> {
    input: R,
    header: Header,
    /// 1-based number of the last line read.
    line: u64,
    next_index: u64,
    buf: String,
    done: bool,
}

impl<R: BufRead> DatasetReader<R> {
    /// Reads and checks the header line.
    pub fn new(mut input: R) -> Result<Self, DatasetError> {
        let mut buf = String::new();
        let n = input.read_line(&mut buf)?;
        if n == 0 {
            return Err(DatasetError::invalid(
                1,
                "the file is empty: a dataset starts with a header line",
            ));
        }
        if !buf.ends_with('\n') {
            return Err(DatasetError::invalid(
                1,
                "the header line is incomplete (the file was cut while being written); \
                 write the dataset again",
            ));
        }
        let header = Header::parse(&buf)?;
        Ok(DatasetReader {
            input,
            header,
            line: 1,
            next_index: 0,
            buf,
            done: false,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `Ok` when the file's header describes the `expected` dataset (same seed, same workflow
    /// shape, same generator data); otherwise an error naming the first field that differs.
    pub fn expect(&self, expected: &Header) -> Result<(), DatasetError> {
        self.header.check(expected)
    }

    fn read_sample(&mut self) -> Result<Option<DatasetSample>, DatasetError> {
        self.buf.clear();
        if self.input.read_line(&mut self.buf)? == 0 {
            return Ok(None);
        }
        self.line += 1;
        let line = self.line;
        let bad = |m: String| DatasetError::invalid(line, m);
        if !self.buf.ends_with('\n') {
            return Err(bad(
                "the last line is incomplete (the file was cut while being written); \
                 `forge sample --resume` rewrites it"
                    .into(),
            ));
        }
        let wire: LineWire<'_> =
            serde_json::from_str(&self.buf).map_err(|e| bad(format!("not a sample line: {e}")))?;
        let meta = &self.header.workflow;
        if wire.index != self.next_index {
            return Err(bad(format!(
                "sample index {}, but the samples are in index order and this line should be {}",
                wire.index, self.next_index
            )));
        }
        if wire.seed != self.header.seed {
            return Err(bad(format!(
                "seed {}, but the header's dataset seed is {}",
                wire.seed, self.header.seed
            )));
        }
        if wire.zones.len() != meta.zones.len() {
            return Err(bad(format!(
                "{} zone texts, but the workflow has {} zones",
                wire.zones.len(),
                meta.zones.len()
            )));
        }
        let sample = SampledWorkflow::from_zone_texts(
            std::sync::Arc::clone(meta),
            wire.zones.iter().map(|z| z.as_ref()),
        );
        let extractions = match (wire.extractions, self.header.extraction_texts) {
            (None, false) => BTreeMap::new(),
            (Some(x), true) => x,
            (None, true) => {
                return Err(bad(
                    "no `extractions`, but the header says every line carries them".into(),
                ));
            }
            (Some(_), false) => {
                return Err(bad(
                    "`extractions` on a line, but the header says lines do not carry them".into(),
                ));
            }
        };
        if self.header.extraction_texts {
            if extractions.len() != meta.extractions.len() {
                return Err(bad(format!(
                    "{} extractions, but the workflow declares {}",
                    extractions.len(),
                    meta.extractions.len()
                )));
            }
            for e in &meta.extractions {
                let texts = extractions
                    .get(e.name.as_str())
                    .ok_or_else(|| bad(format!("the extraction `{}` is missing", e.name)))?;
                let expected = sample.extraction_texts(&e.name).unwrap_or_default();
                if texts.len() != expected.len() || texts.iter().zip(&expected).any(|(a, b)| a != b)
                {
                    return Err(bad(format!(
                        "the texts of extraction `{}` are not the texts of its zones {:?}",
                        e.name, e.zones
                    )));
                }
            }
        }
        self.next_index += 1;
        Ok(Some(DatasetSample {
            index: wire.index,
            sample,
        }))
    }
}

impl<R: BufRead> Iterator for DatasetReader<R> {
    type Item = Result<DatasetSample, DatasetError>;

    /// The next sample; after an error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_sample().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
