//! `forge`: the command-line tool for UDPL prompt files.
//!
//! ```text
//! forge check [--format human|short] PATH...
//! ```
//!
//! Exit codes: 0 no errors (warnings allowed), 1 some document has errors, 2 usage or I/O error.

use std::io::Write;
use std::process::ExitCode;

use forge_core::diagnostics::{Format, render_all};
use forge_core::udpl;

const USAGE: &str = "\
usage: forge check [--format human|short] PATH...

Parse and lint UDPL documents. PATH is a UDPL file or a folder of *.toml files
forming one document. Prints every diagnostic.

options:
  --format human|short   rustc-style output with source lines (default), or
                         one line per diagnostic: PATH:LINE:COL: SEVERITY: MESSAGE
  -h, --help             print this help

exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage or I/O error";

enum Outcome {
    Clean,
    Invalid,
    Failed,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Invalid) => ExitCode::from(1),
        Ok(Outcome::Failed) => ExitCode::from(2),
        Err(usage) => {
            eprintln!("error: {usage}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<Outcome, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    match command.as_str() {
        "check" => check(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(Outcome::Clean)
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

fn check(args: &[String]) -> Result<Outcome, String> {
    let mut format = Format::Human;
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" => {
                let value = it
                    .next()
                    .ok_or("`--format` needs a value: human or short")?;
                format = parse_format(value)?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(Outcome::Clean);
            }
            s if s.starts_with("--format=") => format = parse_format(&s["--format=".len()..])?,
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            _ => paths.push(arg.clone()),
        }
    }
    if paths.is_empty() {
        return Err("`forge check` needs at least one PATH".into());
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut outcome = Outcome::Clean;
    let mut printed_any = false;
    for path in &paths {
        let diagnostics = match udpl::parse_path(path) {
            Ok(parsed) => parsed.warnings,
            Err(udpl::Error::Invalid { diagnostics }) => {
                if !matches!(outcome, Outcome::Failed) {
                    outcome = Outcome::Invalid;
                }
                diagnostics
            }
            Err(e @ udpl::Error::Io { .. }) => {
                eprintln!("error: {e}");
                outcome = Outcome::Failed;
                continue;
            }
        };
        if diagnostics.is_empty() {
            continue;
        }
        let text = render_all(&diagnostics, format);
        if printed_any && format == Format::Human {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{text}");
        printed_any = true;
    }
    Ok(outcome)
}

fn parse_format(value: &str) -> Result<Format, String> {
    match value {
        "human" => Ok(Format::Human),
        "short" => Ok(Format::Short),
        other => Err(format!("unknown format `{other}`: use `human` or `short`")),
    }
}
