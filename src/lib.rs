// The README links to the specification in `docs/`; in rustdoc those links lead to the
// `spec` module instead (the first definition of a link label wins).
#![doc = "[docs/README.md]: crate::spec"]
#![doc = "[docs/udpl.md]: crate::spec::udpl"]
#![doc = "[docs/resources.md]: crate::spec::resources"]
#![doc = "[docs/programs.md]: crate::spec::programs"]
#![doc = "[docs/execution.md]: crate::spec::execution"]
#![doc = "[docs/datasets.md]: crate::spec::datasets"]
#![doc = "[docs/runs.md]: crate::spec::runs"]
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use forge_core::diagnostics;
pub use forge_core::{dataset, exec, program, resources, run, typed, udpl};

pub mod spec;

// Documented in place (not as links to the engine crates): with `--all-features` (docs.rs),
// `forge::http` and `forge::local` are pages of this crate, marked with their feature.
/// Model servers over HTTP (the `http` feature): a [`Generator`](exec::Generator) for vLLM,
/// SGLang, llama.cpp's server and OpenAI-compatible completions endpoints.
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
#[doc(inline)]
pub use forge_http as http;

/// The in-process engine (the `local` feature): a [`Generator`](exec::Generator) running a
/// llama-architecture GGUF model on the CPU.
#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
#[doc(inline)]
pub use forge_local as local;

/// Parse and lint a UDPL file or folder at compile time and generate typed items for it.
///
/// The path is relative to the directory of the calling crate's `Cargo.toml`; a folder path
/// parses every `*.toml` file directly in it as one document. Any UDPL error is a compile error
/// showing the file, line, column and fix; editing the file triggers a rebuild.
///
/// ```text
/// forge::include_udpl!("prompts.toml");                 // items at the call site
/// forge::include_udpl!(pub mod prompts = "prompts.toml"); // items in a module (preferred)
/// ```
///
/// # Generated items
///
/// | item | what it is |
/// |---|---|
/// | `fn document() -> Arc<Document>` | the parsed document (parsed once, on first use) |
/// | `fn builder() -> Builder<..>` | starts the program builder |
/// | `Builder` | one setter per **standard** resource (named in snake_case); `build()` compiles only when all are set, and each missing one is reported by name with its declaration |
/// | one type per sequence (PascalCase: `loop_control` → `LoopControl`, `loop` → `Loop`) | unit struct, or a struct whose `pub` fields are that sequence's **custom** resources; pass it to `run`, `loop_`, `when`, `capture`, `feed` |
/// | `Args` | struct whose `pub` fields are the **argument** resources; pass it to `Workflow::sample` |
/// | `Tag`, `Tool` | enums of `config.valid_tags` and `config.tools`, for `extract` and `capture` |
/// | `fn program(&mut Program) -> Result<(), ProgramError>` | only when the document declares `[program]`: appends its steps (bounded loops included) and extractions to a built program, as typed code; then `compile()` |
///
/// Setters, handle fields and `Args` fields take values as they are, with no `.into()`: strings,
/// integers, floats and bools bind as static strings; resources (and `Binding`s) bind as
/// themselves. Handle and `Args` fields are type parameters defaulting to `Binding`
/// (`Args<Question = Binding>`), so `prompts::Args { question: "why?" }` compiles as written.
/// A resource whose placeholders pass `arguments` only accepts a resource, not a plain value,
/// also checked at compile time (see [`typed`]).
///
/// UDPL warnings (an unescaped control pattern, an unused resource) are compiler warnings at
/// the macro call, first line ``warning: use of deprecated macro `udpl_warning`:
/// FILE:LINE:COL: MESSAGE`` (on stable Rust a macro can warn only through a deprecation);
/// `#[allow(udpl_warnings)]` before the document silences them for that document only:
/// `forge::include_udpl!(#[allow(udpl_warnings)] mod prompts = "prompts.toml");`.
/// Errors start with the UDPL file's `FILE:LINE:COL`; `cargo build --message-format=short`
/// prints it after the location of the macro call. A document with errors still defines the
/// items above, as stubs that absorb every use, so its errors are the only ones.
/// Generated items carry rustdoc quoting the prompt text, so `cargo doc` documents your prompts.
///
/// # Defaults
///
/// A resource whose spec table has `default = "text"` is optional: `build()` compiles without
/// its setter, and on a handle or `Args` it is not a field (a struct literal cannot leave a
/// field out) but a method that binds it, returning a wrapper with the same methods. Left
/// unbound, the default text fills its placeholders as written (their `arguments` do not
/// apply).
///
/// ```
/// forge::forge!(mod prompts = r#"
/// [config]
/// zone_patterns = ["[Prompt]", "[Answer]"]
/// required_patterns = ["[Prompt]"]
/// valid_tags = []
/// default_max_token_length = 100
/// sequences = ["ask"]
/// control_pattern = "[Jump]"
/// escape_patterns = ["[Escape]", "[EndEscape]"]
///
/// [[ask]]
/// text = "[Prompt] In a {tone} tone, answer {question} (round {round}). [Answer]"
/// tags = [[]]
/// [ask.tone]
/// name = "tone"
/// type = "argument"
/// default = "neutral"
/// [ask.question]
/// name = "question"
/// type = "argument"
/// [ask.round]
/// name = "round"
/// type = "custom"
/// default = "1"
/// "#);
///
/// let mut program = prompts::builder().build()?;
/// program.run(prompts::Ask)?; // `round` keeps its default
/// program.run(prompts::Ask.round(2))?; // or is bound by its method
/// let workflow = program.compile()?;
/// let sample = workflow.sample_seeded(prompts::Args { question: "why?" }, 0)?;
/// assert_eq!(sample.zone(1).text(), " In a neutral tone, answer why? (round 1). [Answer]");
/// let args = prompts::Args { question: "how?" }.tone("dry");
/// let sample = workflow.sample_seeded(args, 0)?;
/// assert_eq!(sample.zone(3).text(), " In a dry tone, answer how? (round 2). [Answer]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// rust-analyzer caches macro expansions: after editing the UDPL file, save the `.rs` file that
/// invokes the macro to refresh it.
///
/// ```
/// forge::forge!(mod prompts = r#"
/// [config]
/// zone_patterns = ["[Prompt]", "[Answer]"]
/// required_patterns = ["[Prompt]"]
/// valid_tags = ["Final"]
/// default_max_token_length = 100
/// sequences = ["ask"]
/// control_pattern = "[Jump]"
/// escape_patterns = ["[Escape]", "[EndEscape]"]
///
/// [[ask]]
/// text = "[Prompt] {persona} answers: {question} [Answer]"
/// tags = [["Final"]]
/// [ask.persona]
/// name = "persona"
/// [ask.question]
/// name = "question"
/// type = "argument"
/// "#);
///
/// let mut program = prompts::builder().persona("A careful tutor").build()?;
/// program.run(prompts::Ask)?;
/// program.extract("answers", &[prompts::Tag::Final])?;
/// let workflow = program.compile()?;
/// let sample = workflow.sample_seeded(prompts::Args { question: "What is 2 + 2?" }, 1)?;
/// assert_eq!(sample.zone(1).text(), " A careful tutor answers: What is 2 + 2? [Answer]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! include_udpl {
    ($($input:tt)*) => {
        $crate::__private::include_udpl_impl! { krate = $crate; $($input)* }
    };
}

/// Like [`include_udpl!`], with the UDPL text inline: `forge!(r#"…"#)` or
/// `forge!(pub mod prompts = r#"…"#)`. Diagnostics point at the line and column in the Rust
/// file.
#[macro_export]
macro_rules! forge {
    ($($input:tt)*) => {
        $crate::__private::forge_impl! { krate = $crate; $($input)* }
    };
}

/// Everything the generated code names. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use ::core::clone::Clone;
    pub use ::core::cmp::{Eq, PartialEq};
    pub use ::core::convert::{AsRef, From, Into};
    pub use ::core::fmt::{Debug, Formatter, Result as FmtResult};
    pub use ::core::hash::{Hash, Hasher};
    pub use ::core::marker::{Copy, PhantomData};
    pub use ::core::mem::discriminant;
    pub use ::core::option::Option;
    pub use ::core::result::Result;
    pub use ::core::{compile_error, include_str};
    pub use ::std::string::String;
    pub use ::std::sync::{Arc, OnceLock};

    pub use forge_core::__private::*;
    pub use forge_core::program::{Call, LoopBounds, Program, ProgramError};
    pub use forge_core::resources::{Binding, Bindings};
    pub use forge_core::udpl::Document;
    pub use forge_macros::{forge_impl, include_udpl_impl};
}
