//! The program a document declares in its `[program]` table (docs/programs.md §3, a forge
//! extension of UDPL): steps over its sequences and the outputs to extract.
//!
//! Produced only by the parser, after the linter has checked every name, `with` key and
//! bound; `Program::declared` (in the runtime) turns it into a program. The macros generate
//! the same steps as typed code.

use crate::diagnostics::Location;

/// The `[program]` table of a document.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeclaredProgram {
    /// Where the `program` key is.
    pub location: Location,
    /// The steps, in order (at least one).
    pub steps: Vec<DeclaredStep>,
    /// The declared outputs (`extract = { name = ["Tag", …] }`), in the order written.
    pub extractions: Vec<DeclaredExtraction>,
}

/// One declared output: a name and the tags whose zones it selects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeclaredExtraction {
    /// The output's name.
    pub name: String,
    /// Tags from `config.valid_tags`.
    pub tags: Vec<String>,
    /// Where the name is written.
    pub location: Location,
}

/// A step of a declared program.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeclaredStep {
    /// What the step does.
    pub kind: StepKind,
    /// The sequence it names and the custom resources bound for it.
    pub call: DeclaredCall,
    /// Where the step's table starts.
    pub location: Location,
}

/// The kind of a declared step, with what that kind takes beyond its sequence.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StepKind {
    /// `run = "seq"`: feed the sequence's blocks.
    Run,
    /// `loop = "ctl"`: the control sequence, then `body`, until a jump (within the bounds).
    Loop {
        /// `at_least`: the least number of body runs (0 when absent).
        at_least: u32,
        /// `at_most`: the most body runs, if bounded.
        at_most: Option<u32>,
        /// The loop body (at least one step).
        body: Vec<DeclaredStep>,
    },
    /// `when = "ctl"`: `then` by default, `otherwise` on a jump.
    When {
        /// Taken when the model does not jump (may be empty).
        then: Vec<DeclaredStep>,
        /// Taken on a jump (may be empty).
        otherwise: Vec<DeclaredStep>,
    },
    /// `capture = "seq"`: run it; its last zone's generated text goes to `tool`.
    Capture {
        /// A name from `config.tools`.
        tool: String,
    },
    /// `feed = "seq"`: run it; its last zone is filled with the latest tool result.
    Feed,
}

impl StepKind {
    /// The step's key in the TOML (`run`, `loop`, `when`, `capture`, `feed`).
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Run => "run",
            StepKind::Loop { .. } => "loop",
            StepKind::When { .. } => "when",
            StepKind::Capture { .. } => "capture",
            StepKind::Feed => "feed",
        }
    }
}

/// The sequence a step names, and its `with` table.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DeclaredCall {
    /// The sequence's name (declared in `config.sequences`).
    pub sequence: String,
    /// Custom resources of that sequence and their values, in the order written.
    pub with: Vec<(String, WithValue)>,
    /// Where the sequence name is written.
    pub location: Location,
}

/// A value of a `with` table: text, a number or a boolean, bound as its text.
#[derive(Clone, Debug, PartialEq)]
pub enum WithValue {
    /// A string.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for WithValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WithValue::Text(s) => f.write_str(s),
            WithValue::Integer(n) => n.fmt(f),
            WithValue::Float(x) => x.fmt(f),
            WithValue::Bool(b) => b.fmt(f),
        }
    }
}
