//! Reading a run file back, one line at a time.

use std::io::BufRead;

use super::RunHeader;
use super::line::{self, RunLine};
use crate::dataset::DatasetError;

/// Reads a run file: the header first ([`RunReader::new`]), then the streams as an iterator
/// of [`RunLine`]s, in index order from the header's `range.start`. Memory follows one line.
pub struct RunReader<R> {
    input: R,
    header: RunHeader,
    /// 1-based number of the last line read.
    line: u64,
    next_index: u64,
    buf: String,
    done: bool,
}

impl<R: BufRead> RunReader<R> {
    /// Reads and checks the header line (format, version, shape).
    pub fn new(mut input: R) -> Result<Self, DatasetError> {
        let mut buf = String::new();
        let n = input.read_line(&mut buf)?;
        if n == 0 {
            return Err(DatasetError::invalid(
                1,
                "the file is empty: a run file starts with a header line",
            ));
        }
        if !buf.ends_with('\n') {
            return Err(DatasetError::invalid(
                1,
                "the header line is incomplete (the file was cut while being written); \
                 run again into a new file",
            ));
        }
        let header = RunHeader::parse(&buf)?;
        let next_index = header.range.start;
        Ok(RunReader {
            input,
            header,
            line: 1,
            next_index,
            buf,
            done: false,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &RunHeader {
        &self.header
    }

    /// `Ok` when the file's header describes the `expected` run (workflow, seed, range,
    /// generator); otherwise an error naming the first field that differs.
    pub fn expect(&self, expected: &RunHeader) -> Result<(), DatasetError> {
        self.header.check(expected)
    }

    fn read_line(&mut self) -> Result<Option<RunLine>, DatasetError> {
        self.buf.clear();
        let n = self.input.read_line(&mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let number = self.line;
        if !self.buf.ends_with('\n') {
            return Err(DatasetError::invalid(
                number,
                "the line is incomplete (the file was cut while being written); resume the \
                 run to complete it",
            ));
        }
        let row = line::decode(&self.header, number, &self.buf)?;
        if row.index != self.next_index || row.index >= self.header.range.end {
            return Err(DatasetError::invalid(
                number,
                format!(
                    "expected stream {} of the range {}..{}, found stream {}",
                    self.next_index, self.header.range.start, self.header.range.end, row.index
                ),
            ));
        }
        self.next_index += 1;
        Ok(Some(row))
    }
}

impl<R: BufRead> Iterator for RunReader<R> {
    type Item = Result<RunLine, DatasetError>;

    /// The next stream; after an error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_line().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
