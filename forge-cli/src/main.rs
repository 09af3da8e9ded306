//! `forge`: the command-line tool for UDPL prompt files (the `forge_cli` library with no
//! program of its own: every subcommand takes the document's path).

use std::process::ExitCode;

fn main() -> ExitCode {
    forge_cli::main()
}
