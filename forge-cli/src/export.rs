//! `forge export`: training-ready rows from a run file (one per finished stream) or a dataset
//! file (one per sample), as JSON Lines or Parquet.

mod parquet_out;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use forge_core::dataset::DatasetReader;
use forge_core::run::RunReader;
use serde_json::{Value, json};

use crate::Outcome;
use crate::report::located;

/// Export training rows: one per finished stream of a run file, or one per sample of a
/// dataset file.
///
/// Each row holds `index`, `seed`, one column per declared extraction (its texts in order, a
/// list of strings, or one string joined with `--join`), and with `--text` the full text
/// (the transcript of a stream; the sampled workflow's text for a dataset, whose extraction
/// columns hold the tagged zones' sampled texts). Failed streams are left out (counted on
/// stderr). Parquet files are written in row groups of 8192 rows (Snappy-compressed), so
/// memory stays bounded; pandas, polars, pyarrow and `datasets` read them directly.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    /// The run file (`forge run`) or dataset file (`forge sample`)
    #[arg(value_name = "RUN.jsonl")]
    input: PathBuf,
    /// The output format
    #[arg(
        long,
        value_enum,
        value_name = "jsonl|parquet",
        default_value = "jsonl"
    )]
    format: Format,
    /// The file to write
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Join each extraction's texts with SEP into one string instead of a list
    #[arg(long, value_name = "SEP")]
    join: Option<String>,
    /// Add a `text` column with the full text
    #[arg(long)]
    text: bool,
}

/// An export format.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Parquet,
}

/// One exported row.
pub(crate) struct Row {
    pub(crate) index: u64,
    pub(crate) seed: u64,
    /// One list per column of [`Columns::extractions`].
    pub(crate) extractions: Vec<Vec<String>>,
    pub(crate) text: Option<String>,
}

/// The columns of an export.
pub(crate) struct Columns {
    pub(crate) extractions: Vec<String>,
    pub(crate) join: Option<String>,
    pub(crate) text: bool,
}

/// Where rows go.
pub(crate) trait Sink {
    fn row(&mut self, row: Row) -> Result<(), String>;
    fn finish(self: Box<Self>) -> Result<(), String>;
}

struct Jsonl<W: Write> {
    out: W,
    columns: Columns,
    path: PathBuf,
}

impl<W: Write> Sink for Jsonl<W> {
    fn row(&mut self, row: Row) -> Result<(), String> {
        let mut obj = serde_json::Map::new();
        obj.insert("index".into(), json!(row.index));
        obj.insert("seed".into(), json!(row.seed));
        for (name, texts) in self.columns.extractions.iter().zip(row.extractions) {
            let v = match &self.columns.join {
                Some(sep) => Value::String(texts.join(sep)),
                None => json!(texts),
            };
            obj.insert(name.clone(), v);
        }
        if let Some(t) = row.text {
            obj.insert("text".into(), Value::String(t));
        }
        serde_json::to_writer(&mut self.out, &Value::Object(obj))
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))
    }

    fn finish(mut self: Box<Self>) -> Result<(), String> {
        self.out
            .flush()
            .map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))
    }
}

/// The run or dataset file's first line says which it is.
fn format_of(path: &Path) -> Result<String, String> {
    let file = File::open(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut first = String::new();
    BufReader::new(file)
        .take(1 << 20)
        .read_line(&mut first)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let v: Value = serde_json::from_str(first.trim_end()).unwrap_or(Value::Null);
    Ok(v.get("format")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned())
}

pub(crate) fn run(args: Args) -> Outcome {
    match export(&args) {
        Ok((rows, failed)) => {
            eprintln!(
                "wrote `{}`: {rows} rows{}",
                args.out.display(),
                if failed > 0 {
                    format!(" ({failed} failed streams left out)")
                } else {
                    String::new()
                }
            );
            Outcome::Clean
        }
        Err((message, outcome)) => {
            eprintln!("error: {message}");
            outcome
        }
    }
}

type Failure = (String, Outcome);

fn export(args: &Args) -> Result<(u64, u64), Failure> {
    let io = |m: String| (m, Outcome::Failed);
    let dataset = format_of(&args.input).map_err(io)? == forge_core::dataset::FORMAT;
    let open = || {
        File::open(&args.input)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .map_err(|e| io(format!("cannot read `{}`: {e}", args.input.display())))
    };
    let (mut rows, mut failed) = (0, 0);
    if dataset {
        let reader = DatasetReader::new(open()?).map_err(|e| io(located(&args.input, &e)))?;
        let meta = reader.header().workflow.clone();
        let seed = reader.header().seed;
        let names: Vec<String> = meta.extractions.iter().map(|e| e.name.clone()).collect();
        let mut sink = sink(args, names.clone())?;
        for (k, sample) in reader.enumerate() {
            let sample = match sample {
                Ok(s) => s,
                Err(e) => {
                    sink.finish().map_err(io)?;
                    return Err(bad(&args.input, k as u64 + 2, e));
                }
            };
            let s = &sample.sample;
            sink.row(Row {
                index: sample.index,
                seed,
                extractions: names
                    .iter()
                    .map(|n| {
                        s.extraction_texts(n)
                            .unwrap_or_default()
                            .into_iter()
                            .map(str::to_owned)
                            .collect()
                    })
                    .collect(),
                text: args.text.then(|| s.text().to_owned()),
            })
            .map_err(io)?;
            rows += 1;
        }
        sink.finish().map_err(io)?;
    } else {
        let reader = RunReader::new(open()?).map_err(|e| io(located(&args.input, &e)))?;
        let names: Vec<String> = reader
            .header()
            .workflow
            .extractions
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let mut sink = sink(args, names.clone())?;
        for (k, line) in reader.enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    sink.finish().map_err(io)?;
                    return Err(bad(&args.input, k as u64 + 2, e));
                }
            };
            let Ok(t) = &line.outcome else {
                failed += 1;
                continue;
            };
            sink.row(Row {
                index: line.index,
                seed: line.seed,
                extractions: names
                    .iter()
                    .map(|n| t.extraction(n).map(<[String]>::to_vec).unwrap_or_default())
                    .collect(),
                text: args.text.then(|| t.text.clone()),
            })
            .map_err(io)?;
            rows += 1;
        }
        sink.finish().map_err(io)?;
    }
    Ok((rows, failed))
}

/// A bad line: the rows before it are written (the file is complete), the message names the
/// line; exit 1.
fn bad(path: &Path, line: u64, e: forge_core::dataset::DatasetError) -> Failure {
    let mut m = located(path, &e);
    if !m.contains(" line ") {
        m = format!("{m} (line {line})");
    }
    (
        format!("{m}; the rows before it were written"),
        Outcome::Invalid,
    )
}

fn sink(args: &Args, extractions: Vec<String>) -> Result<Box<dyn Sink>, Failure> {
    for reserved in ["index", "seed", "text"] {
        if extractions.iter().any(|n| n == reserved) {
            return Err((
                format!(
                    "the workflow declares an extraction named `{reserved}`, which is also a \
                     column of the export; rename the extraction"
                ),
                Outcome::Invalid,
            ));
        }
    }
    let columns = Columns {
        extractions,
        join: args.join.clone(),
        text: args.text,
    };
    let file = File::create(&args.out).map_err(|e| {
        (
            format!("cannot create `{}`: {e}", args.out.display()),
            Outcome::Failed,
        )
    })?;
    Ok(match args.format {
        Format::Jsonl => Box::new(Jsonl {
            out: BufWriter::new(file),
            columns,
            path: args.out.clone(),
        }),
        Format::Parquet => Box::new(
            parquet_out::Parquet::new(file, columns, &args.out)
                .map_err(|m| (m, Outcome::Failed))?,
        ),
    })
}
