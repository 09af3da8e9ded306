//! The `forge` command-line tool as a library: the `forge` binary, and the same subcommands
//! for a program built into your own binary ([`App`]).
//!
//! # Your program as a command-line tool
//!
//! A Rust crate that checks its document with `include_udpl!` and builds a typed program gets
//! `check`, `render`, `graph`, `sample` and `run` — with `forge`'s options, progress bar,
//! resume, Ctrl-C handling and exit status — from a few lines of `main`, with its own Rust
//! tools registered. The document is built in: no subcommand takes a PATH (`--set`, `--list`,
//! `--extract`, `--tool` and the rest work as in `forge`).
//!
//! ```no_run
//! # mod prompts { pub fn document() -> std::sync::Arc<forge_core::udpl::Document> { std::sync::Arc::new(forge_core::udpl::parse_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/my_cli.toml")), "prompts.toml").expect("a valid document").document) } }
//! use forge_core::exec::Tools;
//!
//! // forge::include_udpl!(mod prompts = "prompts.toml");
//! fn main() -> std::process::ExitCode {
//!     let mut tools = Tools::new(["count"]);
//!     tools
//!         .add("count", |text: &str| Ok::<_, std::io::Error>(text.split_whitespace().count().to_string()))
//!         .expect("`count` is declared");
//!     forge_cli::App::new(prompts::document())
//!         .name("my-tool")
//!         .tools(tools)
//!         .program(|program| {
//!             // program.run(prompts::Setup)?; program.loop_(..)?; program.extract(..)?; …
//!             Ok::<_, forge_core::program::ProgramError>(())
//!         })
//!         .main()
//! }
//! ```
//!
//! Depend on `forge-cli` directly (the `forge` crate does not re-export it, so that a crate
//! that only samples does not build the command line's dependencies). `examples/my_cli.rs`
//! in the repository is a complete example.
//!
//! # The `forge` binary
//!
//! ```text
//! forge check [--format human|short] PATH...
//! forge render [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! forge graph [--format dot|mermaid|html] [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! forge sample --count N --out FILE [--range A..B|--shard K/N] [--seed N] [--threads T] [--resume|--force] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! forge run --endpoint URL[,K]...|--model PATH.gguf --out FILE [--streams N] [--range A..B|--shard K/N] [--dialect D] [--max-in-flight K] [--max-zone-tokens N] [--continue-on-full-context] [--resume|--retry-failed|--force] [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! forge merge OUT SHARD...
//! forge probe [--dialect D] [--wait SECS] URL
//! forge report [--out FILE.html] [--transcripts N] RUN.jsonl
//! forge export --out FILE [--format jsonl|parquet] [--join SEP] [--text] RUN.jsonl|DATASET.jsonl
//! forge model pull [NAME] | forge model list
//! ```
//!
//! Every option takes its value as `--flag value` or `--flag=value`; `forge --version` prints the
//! version and `forge SUBCOMMAND --help` the subcommand's help. Each subcommand lives in its own
//! module; this file only declares them and dispatches ([`main`]).
//!
//! Exit codes: 0 success (warnings allowed); 1 the document has errors, or its resources do not
//! match what was bound, or sampling failed; 2 usage or I/O error.

mod app;
mod check;
mod export;
mod graph;
mod merge;
mod model;
mod preview;
mod probe;
mod range;
mod render;
mod report;
mod run;
mod sample;
mod tools;

use std::process::ExitCode;
use std::sync::Mutex;

use clap::{CommandFactory, Parser, Subcommand};

pub use app::App;
pub(crate) use app::Builtin;

/// The text after every help page: what the exit codes mean.
const EXIT_STATUS: &str = "\
Exit status: 0 no errors (warnings allowed), 1 errors found (in the document, its
resources or sampling), 2 usage or I/O error.";

/// Check, render, graph, sample and run UDPL prompt files.
#[derive(Parser)]
#[command(
    name = "forge",
    version,
    subcommand_required = true,
    after_help = EXIT_STATUS
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Check(check::Args),
    Render(render::Args),
    Graph(graph::Args),
    Sample(sample::Args),
    Run(run::Args),
    Probe(probe::Args),
    Merge(merge::Args),
    Report(report::Args),
    Export(export::Args),
    Model(model::Args),
}

/// How a subcommand ended; decides the exit code.
pub(crate) enum Outcome {
    /// Exit 0: no errors (warnings allowed).
    Clean,
    /// Exit 1: the document has errors, or its resources do not match what was bound, or
    /// sampling failed.
    Invalid,
    /// Exit 2: a usage or I/O error.
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::Invalid => ExitCode::from(1),
            Outcome::Failed => ExitCode::from(2),
        }
    }
}

/// The command line being run (`forge`, or an [`App`]'s), for usage errors found after
/// parsing.
static COMMAND: Mutex<Option<clap::Command>> = Mutex::new(None);

/// Prints a usage error found after parsing (e.g. a resource bound twice) the way clap prints
/// its own: `error: MESSAGE`, the subcommand's usage line and a pointer to `--help`. Exit 2.
pub(crate) fn usage_error(subcommand: &str, message: impl std::fmt::Display) -> Outcome {
    let current = COMMAND.lock().ok().and_then(|c| c.clone());
    let mut cli = current.unwrap_or_else(Cli::command);
    cli.build();
    let error = match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(clap::error::ErrorKind::ValueValidation, message),
        None => cli.error(clap::error::ErrorKind::ValueValidation, message),
    };
    let _ = error.print();
    Outcome::Failed
}

/// The `forge` binary: parses the process's arguments and runs the subcommand. Every
/// subcommand that works on a document takes its PATH.
pub fn main() -> ExitCode {
    // Usage errors exit 2, `--help` and `--version` exit 0 (clap's convention matches ours).
    let cli = Cli::parse();
    if let Ok(mut current) = COMMAND.lock() {
        *current = Some(Cli::command());
    }
    match cli.command {
        Command::Check(args) => check::run(args, None),
        Command::Render(args) => render::run(args, None),
        Command::Graph(args) => graph::run(args, None),
        Command::Sample(args) => sample::run(args, None),
        Command::Run(args) => run::run(args, None),
        Command::Probe(args) => probe::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::Export(args) => export::run(args),
        Command::Model(args) => model::run(args),
    }
    .into()
}
