//! `forge check`: parse and lint UDPL documents, print every diagnostic.

use std::io::Write;
use std::path::PathBuf;

use forge_core::diagnostics::{Format, render_all};
use forge_core::udpl;

use crate::preview::{Extract, SampleArgs, Unbound, build_default};
use crate::{Builtin, Outcome};

/// Parse and lint UDPL documents; print every diagnostic.
///
/// Each PATH is a UDPL file or a folder of *.toml files forming one document. Diagnostics go to
/// stdout, in PATH order; a PATH that cannot be read is reported on stderr and the others are
/// still checked. Without errors, the human format ends with one line saying so.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    /// `human`: rustc-style output with source lines; `short`: one line per diagnostic,
    /// `PATH:LINE:COL: SEVERITY: MESSAGE`
    #[arg(long, value_enum, value_name = "human|short", default_value = "human")]
    format: FormatArg,
    /// UDPL files or folders to check
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Human,
    Short,
}

pub(crate) fn run(args: Args, builtin: Option<&Builtin>) -> Outcome {
    if let Some(builtin) = builtin {
        return check_builtin(&args, builtin);
    }
    let format = match args.format {
        FormatArg::Human => Format::Human,
        FormatArg::Short => Format::Short,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut outcome = Outcome::Clean;
    let mut printed_any = false;
    let mut warnings = 0;
    for path in &args.paths {
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
        warnings += diagnostics.iter().filter(|d| !d.is_error()).count();
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
    if matches!(outcome, Outcome::Clean) && format == Format::Human {
        if printed_any {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{}", confirmation(&args.paths, warnings));
    }
    outcome
}

/// The line `forge check` ends with when no document has errors (human format only: the short
/// format stays one line per diagnostic).
fn confirmation(paths: &[PathBuf], warnings: usize) -> String {
    let warnings = match warnings {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    match paths {
        [one] => format!("ok: {} has no errors{warnings}", one.display()),
        many => format!("ok: {} documents have no errors{warnings}", many.len()),
    }
}

/// `check` of an [`App`](crate::App): the document was checked when the binary was built;
/// build and compile its program (unbound resources as markers), and say what it holds.
fn check_builtin(args: &Args, builtin: &Builtin) -> Outcome {
    if let Some(path) = args.paths.first() {
        return crate::usage_error(
            "check",
            format!(
                "unexpected argument `{}`: the document is built in ({})",
                path.display(),
                builtin.files()
            ),
        );
    }
    let opts = SampleArgs {
        seed: 0,
        set: Vec::new(),
        list: Vec::new(),
        path: None,
    };
    let extract = Extract::DeclaredOrPerTag(&[]);
    match build_default("check", &opts, Some(builtin), Unbound::Quiet, extract) {
        Ok((workflow, _, _)) => {
            let meta = workflow.meta();
            let tools: Vec<&str> = meta
                .zones
                .iter()
                .filter(|z| z.output)
                .filter_map(|z| z.tool.as_deref())
                .collect();
            let unbound: Vec<&str> = tools
                .iter()
                .copied()
                .filter(|t| !builtin.tools.as_ref().is_some_and(|r| r.contains(t)))
                .collect();
            println!(
                "ok: {} has no errors; its program has {} zones and {} extractions",
                builtin.files(),
                meta.zones.len(),
                meta.extractions.len()
            );
            if !unbound.is_empty() {
                println!(
                    "note: `run` needs --tool NAME=COMMAND for {}: no Rust tool is registered",
                    unbound
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Outcome::Clean
        }
        Err(outcome) => outcome,
    }
}
