//! `forge merge`: join the shard files of one run or one dataset.

use std::path::PathBuf;

use forge_core::run::{RunFileError, merge};

use crate::Outcome;

/// Merge the shard files of one run (`forge run --range/--shard`) or one dataset (`forge
/// sample --range/--shard`), given in index order, into OUT: exactly the file one process
/// would have written.
///
/// Every shard is checked first: the same header but for the range (same document, seed,
/// resources and options), complete (no missing or torn line: finish a shard with --resume
/// first), and the ranges contiguous (no gap, no overlap). Otherwise nothing is written and
/// the message names the shard and the problem. An existing OUT is refused.
#[derive(clap::Args)]
#[command(after_help = MERGE_EXIT_STATUS)]
pub(crate) struct Args {
    /// The merged file to write (must not exist)
    #[arg(value_name = "OUT")]
    out: PathBuf,
    /// The shard files, in index order
    #[arg(value_name = "SHARD", required = true)]
    shards: Vec<PathBuf>,
}

const MERGE_EXIT_STATUS: &str = "\
Exit status: 0 merged, 1 the shards do not make one file (another header, a gap, an
overlap, an unfinished shard), 2 usage or I/O error.";

pub(crate) fn run(args: Args) -> Outcome {
    match merge(&args.out, &args.shards) {
        Ok(merged) => {
            eprintln!(
                "merged {} {} shard{} into `{}`: indices {}..{}",
                args.shards.len(),
                if merged.runs { "run" } else { "dataset" },
                if args.shards.len() == 1 { "" } else { "s" },
                args.out.display(),
                merged.range.start,
                merged.range.end
            );
            Outcome::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("note: nothing was written");
            match e {
                RunFileError::File { .. } | RunFileError::Range(_) => Outcome::Invalid,
                _ => Outcome::Failed,
            }
        }
    }
}
