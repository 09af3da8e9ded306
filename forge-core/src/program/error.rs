//! Errors of program construction and sampling.

use super::LoopBounds;
use crate::diagnostics::Location;
use crate::resources::{BindError, FillError};
use crate::udpl::ResourceKind;

/// Building or compiling a program failed.
///
/// `Debug` prints the same located message as `Display`, so returning it from `main` or
/// unwrapping it shows what to fix.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// A command named a sequence the document does not declare.
    #[error("unknown sequence `{name}`{}", suggest(suggestion))]
    UnknownSequence {
        /// The name given.
        name: String,
        /// A close declared name, if any.
        suggestion: Option<String>,
    },
    /// The resources given for one stage do not match the document.
    #[error("{}", mismatch(*kind, context, missing, unknown))]
    Resources {
        /// The stage's resource kind.
        kind: ResourceKind,
        /// What was being bound ("program setup", "sequence `loop`").
        context: String,
        /// Resources the document needs that were not given, with their declaration.
        missing: Vec<(String, Location)>,
        /// Names given that this stage does not take, each with a hint.
        unknown: Vec<(String, String)>,
    },
    /// Binding resources to placeholders failed (every failure).
    #[error("{}", lines(.0))]
    Bind(Vec<BindError>),
    /// `capture` named a tool not in `config.tools`.
    #[error("unknown tool `{name}` (not in `config.tools`){}", suggest(suggestion))]
    UnknownTool {
        /// The name given.
        name: String,
        /// A close declared tool, if any.
        suggestion: Option<String>,
    },
    /// `extract` named a tag not in `config.valid_tags`.
    #[error(
        "unknown tag `{name}` (not in `config.valid_tags`){}",
        suggest(suggestion)
    )]
    UnknownTag {
        /// The name given.
        name: String,
        /// A close valid tag, if any.
        suggestion: Option<String>,
    },
    /// Two extractions share a name.
    #[error("an extraction named `{name}` already exists; extraction names are unique")]
    DuplicateExtraction {
        /// The name.
        name: String,
    },
    /// A loop body added no zone.
    #[error(
        "the body of the {command} on `{sequence}` adds no zone; run at least one sequence in it"
    )]
    EmptyBody {
        /// The command.
        command: &'static str,
        /// Its control sequence.
        sequence: String,
    },
    /// A loop's `at_least` exceeds its `at_most`.
    #[error(
        "the loop on `{sequence}` has at_least = {} above at_most = {}; lower `at_least` or \
         raise `at_most`",
        bounds.min(),
        bounds.max().unwrap_or(u32::MAX)
    )]
    BoundsOutOfOrder {
        /// The loop's control sequence.
        sequence: String,
        /// The bounds given.
        bounds: LoopBounds,
    },
    /// [`run_declared`](super::Program::run_declared) on a document without `[program]`.
    #[error(
        "the document declares no program: add a `[program]` table with `[[program.step]]` steps, or build the program in code"
    )]
    NoDeclaredProgram,
    /// `subroutine` was given an empty program.
    #[error("the subroutine program is empty")]
    EmptySubroutine,
    /// `subroutine` was given a program over another document.
    #[error("a subroutine must be built from the same UDPL document as the program that runs it")]
    DifferentDocument,
    /// `compile` on a program without commands.
    #[error("the program is empty: run at least one sequence before compiling")]
    Empty,
    /// The graph has more zones than a workflow can address (2³² − 1).
    #[error("the workflow would have more than 4,294,967,294 zones")]
    TooLarge,
    /// A graph invariant does not hold.
    #[error("workflow graph invariant violated: {0}")]
    Invariant(String),
    /// A bug in forge; please report it.
    #[error("internal error in forge ({0}); please report it")]
    Internal(&'static str),
}

debug_as_display!(ProgramError, SampleError);

/// Sampling a workflow failed. Only that sample is lost; the workflow stays usable.
///
/// `Debug` prints the same located message as `Display`.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// The argument resources given do not match the document.
    #[error(transparent)]
    Arguments(ProgramError),
    /// An argument resource could not be bound to its placeholders.
    #[error("{}", lines(.0))]
    Bind(Vec<BindError>),
    /// A resource failed to fill a placeholder.
    #[error(transparent)]
    Fill(#[from] FillError),
    /// A bug in forge; please report it.
    #[error("internal error in forge ({0}); please report it")]
    Internal(&'static str),
}

/// `; did you mean `x`?`, or nothing.
fn suggest(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

/// One error per line.
fn lines(errors: &[BindError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The message of [`ProgramError::Resources`].
fn mismatch(
    kind: ResourceKind,
    context: &str,
    missing: &[(String, Location)],
    unknown: &[(String, String)],
) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{kind} resources for {context} do not match the document");
    for (name, loc) in missing {
        let _ = write!(out, "\n  missing `{name}` (declared at {loc})");
    }
    for (name, hint) in unknown {
        let _ = write!(out, "\n  unexpected `{name}`: {hint}");
    }
    out
}
