//! The Parquet sink of `forge export`, on the `parquet` crate's column writers (no Arrow
//! arrays: a smaller build). Schema:
//!
//! ```text
//! message forge_export {
//!   required int64 index (INTEGER(64,false));
//!   required int64 seed (INTEGER(64,false));
//!   required group NAME (LIST) { repeated group list { required binary element (STRING); } }  -- per extraction
//!   required binary NAME (STRING);                                                             -- with --join
//!   required binary text (STRING);                                                             -- with --text
//! }
//! ```
//!
//! The list columns use the standard three-level LIST layout, which pyarrow, pandas, polars
//! and `datasets` read as lists of strings.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, IntType, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{Type, TypePtr};

use super::{Columns, Row, Sink};

/// Rows per row group: memory stays bounded by this many rows.
const ROW_GROUP: usize = 8192;

pub(crate) struct Parquet {
    writer: SerializedFileWriter<File>,
    columns: Columns,
    rows: Vec<Row>,
    path: PathBuf,
}

fn string(name: &str, repetition: Repetition) -> parquet::errors::Result<Type> {
    Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
        .with_repetition(repetition)
        .with_logical_type(Some(LogicalType::String))
        .build()
}

fn schema(columns: &Columns) -> parquet::errors::Result<TypePtr> {
    let unsigned = |name: &str| {
        Type::primitive_type_builder(name, Physical::INT64)
            .with_repetition(Repetition::REQUIRED)
            .with_logical_type(Some(LogicalType::Integer(IntType {
                bit_width: 64,
                is_signed: false,
            })))
            .build()
            .map(Arc::new)
    };
    let mut fields = vec![unsigned("index")?, unsigned("seed")?];
    for name in &columns.extractions {
        fields.push(Arc::new(if columns.join.is_some() {
            string(name, Repetition::REQUIRED)?
        } else {
            let element = string("element", Repetition::REQUIRED)?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![Arc::new(element)])
                .build()?;
            Type::group_type_builder(name)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(Some(LogicalType::List))
                .with_fields(vec![Arc::new(list)])
                .build()?
        }));
    }
    if columns.text {
        fields.push(Arc::new(string("text", Repetition::REQUIRED)?));
    }
    Ok(Arc::new(
        Type::group_type_builder("forge_export")
            .with_fields(fields)
            .build()?,
    ))
}

impl Parquet {
    pub(crate) fn new(file: File, columns: Columns, path: &Path) -> Result<Parquet, String> {
        let err = |e: parquet::errors::ParquetError| {
            format!("cannot write Parquet to `{}`: {e}", path.display())
        };
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("forge {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer =
            SerializedFileWriter::new(file, schema(&columns).map_err(err)?, Arc::new(props))
                .map_err(err)?;
        Ok(Parquet {
            writer,
            columns,
            rows: Vec::with_capacity(ROW_GROUP),
            path: path.to_owned(),
        })
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> parquet::errors::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let mut group = self.writer.next_row_group()?;
        let mut column = 0;
        while let Some(mut col) = group.next_column()? {
            let n_extractions = self.columns.extractions.len();
            match column {
                0 | 1 => {
                    let values: Vec<i64> = rows
                        .iter()
                        .map(|r| (if column == 0 { r.index } else { r.seed }) as i64)
                        .collect();
                    col.typed::<Int64Type>().write_batch(&values, None, None)?;
                }
                c if c < 2 + n_extractions => {
                    let e = c - 2;
                    if let Some(sep) = &self.columns.join {
                        let values: Vec<ByteArray> = rows
                            .iter()
                            .map(|r| ByteArray::from(r.extractions[e].join(sep).into_bytes()))
                            .collect();
                        col.typed::<ByteArrayType>()
                            .write_batch(&values, None, None)?;
                    } else {
                        let (mut values, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
                        for r in &rows {
                            let texts = &r.extractions[e];
                            if texts.is_empty() {
                                def.push(0);
                                rep.push(0);
                            }
                            for (k, t) in texts.iter().enumerate() {
                                values.push(ByteArray::from(t.as_bytes().to_vec()));
                                def.push(1);
                                rep.push(i16::from(k > 0));
                            }
                        }
                        col.typed::<ByteArrayType>().write_batch(
                            &values,
                            Some(&def),
                            Some(&rep),
                        )?;
                    }
                }
                _ => {
                    let values: Vec<ByteArray> = rows
                        .iter()
                        .map(|r| {
                            ByteArray::from(r.text.as_deref().unwrap_or("").as_bytes().to_vec())
                        })
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&values, None, None)?;
                }
            }
            col.close()?;
            column += 1;
        }
        group.close()?;
        Ok(())
    }

    fn err(&self, e: parquet::errors::ParquetError) -> String {
        format!("cannot write Parquet to `{}`: {e}", self.path.display())
    }
}

impl Sink for Parquet {
    fn row(&mut self, row: Row) -> Result<(), String> {
        self.rows.push(row);
        if self.rows.len() >= ROW_GROUP {
            self.flush().map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), String> {
        self.flush().map_err(|e| self.err(e))?;
        let path = self.path.clone();
        self.writer
            .close()
            .map(drop)
            .map_err(|e| format!("cannot write Parquet to `{}`: {e}", path.display()))
    }
}
