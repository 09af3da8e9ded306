//! Errors of program construction and sampling.

use std::fmt;

use crate::Location;
use crate::resources::{BindError, FillError};
use crate::udpl::ResourceKind;

/// Building or compiling a program failed.
///
/// `Debug` prints the same located message as `Display`, so returning it from `main` or
/// unwrapping it shows what to fix.
#[non_exhaustive]
pub enum ProgramError {
    /// A command named a sequence the document does not declare.
    UnknownSequence {
        /// The name given.
        name: String,
        /// A close declared name, if any.
        suggestion: Option<String>,
    },
    /// The resources given for one stage do not match the document.
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
    Bind(Vec<BindError>),
    /// `capture` named a tool not in `config.tools`.
    UnknownTool {
        /// The name given.
        name: String,
        /// A close declared tool, if any.
        suggestion: Option<String>,
    },
    /// `extract` named a tag not in `config.valid_tags`.
    UnknownTag {
        /// The name given.
        name: String,
        /// A close valid tag, if any.
        suggestion: Option<String>,
    },
    /// Two extractions share a name.
    DuplicateExtraction {
        /// The name.
        name: String,
    },
    /// A loop body added no zone.
    EmptyBody {
        /// The command.
        command: &'static str,
        /// Its control sequence.
        sequence: String,
    },
    /// `subroutine` was given an empty program.
    EmptySubroutine,
    /// `subroutine` was given a program over another document.
    DifferentDocument,
    /// `compile` on a program without commands.
    Empty,
    /// The graph has more zones than a workflow can address (2³² − 1).
    TooLarge,
    /// A graph invariant does not hold.
    Invariant(String),
    /// A bug in forge; please report it.
    Internal(&'static str),
}

fn suggest(f: &mut fmt::Formatter<'_>, s: &Option<String>) -> fmt::Result {
    match s {
        Some(s) => write!(f, "; did you mean `{s}`?"),
        None => Ok(()),
    }
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramError::UnknownSequence { name, suggestion } => {
                write!(f, "unknown sequence `{name}`")?;
                suggest(f, suggestion)
            }
            ProgramError::Resources {
                kind,
                context,
                missing,
                unknown,
            } => {
                write!(f, "{kind} resources for {context} do not match the document")?;
                for (name, loc) in missing {
                    write!(f, "\n  missing `{name}` (declared at {loc})")?;
                }
                for (name, hint) in unknown {
                    write!(f, "\n  unexpected `{name}`: {hint}")?;
                }
                Ok(())
            }
            ProgramError::Bind(errors) => ProgramError::fmt_binds(errors, f),
            ProgramError::UnknownTool { name, suggestion } => {
                write!(f, "unknown tool `{name}` (not in `config.tools`)")?;
                suggest(f, suggestion)
            }
            ProgramError::UnknownTag { name, suggestion } => {
                write!(f, "unknown tag `{name}` (not in `config.valid_tags`)")?;
                suggest(f, suggestion)
            }
            ProgramError::DuplicateExtraction { name } => {
                write!(f, "an extraction named `{name}` already exists; extraction names are unique")
            }
            ProgramError::EmptyBody { command, sequence } => write!(
                f,
                "the body of the {command} on `{sequence}` adds no zone; run at least one sequence in it"
            ),
            ProgramError::EmptySubroutine => f.write_str("the subroutine program is empty"),
            ProgramError::DifferentDocument => f.write_str(
                "a subroutine must be built from the same UDPL document as the program that runs it",
            ),
            ProgramError::Empty => {
                f.write_str("the program is empty: run at least one sequence before compiling")
            }
            ProgramError::TooLarge => {
                f.write_str("the workflow would have more than 4,294,967,294 zones")
            }
            ProgramError::Invariant(msg) => write!(f, "workflow graph invariant violated: {msg}"),
            ProgramError::Internal(msg) => {
                write!(f, "internal error in forge ({msg}); please report it")
            }
        }
    }
}

impl std::error::Error for ProgramError {}

debug_as_display!(ProgramError, SampleError);

/// Sampling a workflow failed. Only that sample is lost; the workflow stays usable.
///
/// `Debug` prints the same located message as `Display`.
#[non_exhaustive]
pub enum SampleError {
    /// The argument resources given do not match the document.
    Arguments(ProgramError),
    /// An argument resource could not be bound to its placeholders.
    Bind(Vec<BindError>),
    /// A resource failed to fill a placeholder.
    Fill(FillError),
    /// A bug in forge; please report it.
    Internal(&'static str),
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SampleError::Arguments(e) => e.fmt(f),
            SampleError::Bind(errors) => ProgramError::fmt_binds(errors, f),
            SampleError::Fill(e) => e.fmt(f),
            SampleError::Internal(msg) => {
                write!(f, "internal error in forge ({msg}); please report it")
            }
        }
    }
}

impl ProgramError {
    fn fmt_binds(errors: &[BindError], f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SampleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SampleError::Arguments(e) => Some(e),
            SampleError::Bind(_) | SampleError::Internal(_) => None,
            SampleError::Fill(e) => Some(e),
        }
    }
}

impl From<FillError> for SampleError {
    fn from(e: FillError) -> Self {
        SampleError::Fill(e)
    }
}
