//! [`App`]: the subcommands `check`, `render`, `graph`, `sample` and `run` for a program built
//! into the binary, with its document, its program-building code and its Rust tools.

use std::ffi::OsString;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use forge_core::exec::Tools;
use forge_core::program::Program;
use forge_core::udpl::Document;

use crate::{EXIT_STATUS, Outcome, check, graph, render, run, sample};

/// Builds the program: appends steps and extractions to a program whose standard resources
/// the command line bound. The message of an error is printed as `error: MESSAGE` (exit 1).
type BuildFn = dyn Fn(&mut Program) -> Result<(), String>;

/// The command line of a program built into your binary: `check`, `render`, `graph`, `sample`
/// and `run`, with the options, progress bar, resume, Ctrl-C handling and exit status of the
/// `forge` tool's subcommands, on the document given to [`App::new`] (no PATH argument).
///
/// - The program is built by the closure given to [`program`](App::program) (typed calls,
///   loops, `when`, tools, extractions), else the document's declared `[program]`, else the
///   default program (every sequence once), as in `forge`.
/// - Standard and argument resources are bound as in `forge` (`--set NAME=VALUE`, `--list
///   NAME=FILE`, or their `default`); with a program closure, custom resources are bound by
///   its calls (a `--set` of one is a usage error).
/// - Extractions: those the program declares, plus those of `--extract`; when neither
///   declares any, one per valid tag, named after it.
/// - Tools: those given to [`tools`](App::tools) (Rust functions), and any `--tool
///   NAME=COMMAND` (which replaces a Rust tool of the same name for that run). A tool the
///   program sends text to and nothing binds is a usage error before anything runs.
/// - `check` builds and compiles the program (unbound resources as markers) and reports
///   what is wrong; the document itself was checked when the binary was compiled.
///
/// Exit status: 0 success (warnings allowed); 1 the program, its resources or the run have
/// errors; 2 usage or I/O error (130 after Ctrl-C, as `forge run`).
///
/// ```no_run
/// # mod prompts { pub fn document() -> std::sync::Arc<forge_core::udpl::Document> { std::sync::Arc::new(forge_core::udpl::parse_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/my_cli.toml")), "prompts.toml").expect("a valid document").document) } }
/// // forge::include_udpl!(mod prompts = "prompts.toml");
/// fn main() -> std::process::ExitCode {
///     forge_cli::App::new(prompts::document())
///         .name("my-tool")
///         .about("Sample and run my workflow.")
///         .main()
/// }
/// ```
pub struct App {
    document: Arc<Document>,
    name: Option<&'static str>,
    about: Option<&'static str>,
    version: Option<&'static str>,
    program: Option<Box<BuildFn>>,
    tools: Option<Tools>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("document", &self.document.files)
            .field("name", &self.name)
            .field("program", &self.program.as_ref().map(|_| "closure"))
            .field("tools", &self.tools)
            .finish_non_exhaustive()
    }
}

/// What the subcommands work on in place of a PATH: the built-in document, the program
/// closure and the Rust tools.
pub(crate) struct Builtin {
    pub(crate) document: Arc<Document>,
    pub(crate) program: Option<Box<BuildFn>>,
    pub(crate) tools: Option<Tools>,
}

impl Builtin {
    /// A fingerprint of the document (its parsed form: texts, resources, config), recorded
    /// in run headers as `forge run` records the hash of its file.
    pub(crate) fn document_hash(&self) -> String {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for b in format!("{:?}", self.document).bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// Where the document came from, for messages.
    pub(crate) fn files(&self) -> String {
        self.document.files.join(", ")
    }
}

/// The subcommands of an [`App`].
#[derive(Parser)]
#[command(subcommand_required = true, after_help = EXIT_STATUS)]
struct AppCli {
    #[command(subcommand)]
    command: AppCommand,
}

#[derive(Subcommand)]
enum AppCommand {
    Check(check::Args),
    Render(render::Args),
    Graph(graph::Args),
    Sample(sample::Args),
    Run(run::Args),
}

impl App {
    /// The command line of `document` (from `include_udpl!`'s generated `document()`, or
    /// parsed at run time), with its declared or default program and no Rust tools.
    pub fn new(document: Arc<Document>) -> App {
        App {
            document,
            name: None,
            about: None,
            version: None,
            program: None,
            tools: None,
        }
    }

    /// The command's name in help and usage lines (default: the binary's file name).
    pub fn name(mut self, name: &'static str) -> App {
        self.name = Some(name);
        self
    }

    /// The one-line description `--help` starts with.
    pub fn about(mut self, about: &'static str) -> App {
        self.about = Some(about);
        self
    }

    /// The version `--version` prints (e.g. `env!("CARGO_PKG_VERSION")`); without it, there
    /// is no `--version`.
    pub fn version(mut self, version: &'static str) -> App {
        self.version = Some(version);
        self
    }

    /// Rust tools for the program's output zones (built with the document's declared tools,
    /// e.g. `Tools::new(prompts::Tool::ALL)`). `--tool NAME=COMMAND` binds the others, or
    /// replaces one for a run.
    pub fn tools(mut self, tools: Tools) -> App {
        self.tools = Some(tools);
        self
    }

    /// The program to run instead of the document's declared (or default) one: `build`
    /// appends steps and extractions to a program whose standard resources the command line
    /// bound (`prompts::program` of a document that declares `[program]` fits, as does any
    /// closure of typed calls). An error fails the subcommand with exit status 1.
    pub fn program<E: Display>(
        mut self,
        build: impl Fn(&mut Program) -> Result<(), E> + 'static,
    ) -> App {
        self.program = Some(Box::new(move |p| build(p).map_err(|e| e.to_string())));
        self
    }

    /// Parse the process's arguments and run the subcommand; the exit code to return from
    /// `main`.
    pub fn main(self) -> ExitCode {
        self.run_with(std::env::args_os())
    }

    /// Parse `args` (the first is the binary's name, as in `std::env::args_os()`) and run the
    /// subcommand. Usage errors, `--help` and `--version` print and return their exit code
    /// (2, 0, 0).
    pub fn run_with<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut args = args.into_iter().map(Into::into).peekable();
        let bin = args
            .peek()
            .and_then(|a| std::path::Path::new(a).file_stem())
            .map(|s| s.to_string_lossy().into_owned());
        let mut command = AppCli::command();
        command = match (self.name, bin) {
            (Some(name), _) => command.name(name).bin_name(name),
            // Once per process: the name lives as long as the command line.
            (None, Some(bin)) => command.name(&*String::leak(bin)),
            (None, None) => command.name("program"),
        };
        if let Some(about) = self.about {
            command = command.about(about);
        }
        if let Some(version) = self.version {
            command = command.version(version);
        }
        // The subcommands' own descriptions speak of PATH and the document's program.
        for (sub, about) in [
            (
                "check",
                "Build and compile the program (unbound resources as markers); report what is wrong",
            ),
            ("render", "Sample the program and print every zone's text"),
            (
                "graph",
                "Draw the sampled program: Graphviz DOT, Mermaid, or a self-contained HTML page",
            ),
            (
                "sample",
                "Write samples 0..N of the program to a JSON Lines dataset file",
            ),
            (
                "run",
                "Run the program against a model, one stream per dataset sample, into a run file",
            ),
        ] {
            command = command.mut_subcommand(sub, |c| c.about(about).long_about(None));
        }
        // The document is built in: the PATH arguments go.
        for sub in ["render", "graph", "sample", "run"] {
            command = command
                .mut_subcommand(sub, |c| c.mut_arg("path", |a| a.required(false).hide(true)));
        }
        command = command.mut_subcommand("check", |c| {
            c.mut_arg("paths", |a| a.required(false).hide(true))
        });
        if let Ok(mut current) = crate::COMMAND.lock() {
            *current = Some(command.clone());
        }
        let matches = match command.try_get_matches_from(args) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
            }
        };
        let cli = match AppCli::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(2);
            }
        };
        let builtin = Builtin {
            document: self.document,
            program: self.program,
            tools: self.tools,
        };
        let b = Some(&builtin);
        let outcome: Outcome = match cli.command {
            AppCommand::Check(args) => check::run(args, b),
            AppCommand::Render(args) => render::run(args, b),
            AppCommand::Graph(args) => graph::run(args, b),
            AppCommand::Sample(args) => sample::run(args, b),
            AppCommand::Run(args) => run::run(args, b),
        };
        outcome.into()
    }
}
