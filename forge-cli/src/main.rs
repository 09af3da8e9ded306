//! `forge`: the command-line tool for UDPL prompt files.
//!
//! ```text
//! forge check [--format human|short] PATH...
//! forge render [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! forge graph [--format dot|mermaid|html] [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
//! ```
//!
//! `render` and `graph` build the *default program* of a document: every sequence run once, in
//! `config.sequences` order. Resources are bound by name, whatever their kind: `--set` binds a
//! static string, `--list` a list sampler over the non-empty lines of a file. The workflow is
//! sampled with `--seed` (default 0), so the output is reproducible.
//!
//! Exit codes: 0 success (warnings allowed); 1 the document has errors, or its resources do not
//! match what was bound, or sampling failed; 2 usage or I/O error.

use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;

use forge_core::diagnostics::{Format, render_all};
use forge_core::program::{Call, Program, SampledWorkflow, to_dot, to_html, to_mermaid};
use forge_core::resources::{Binding, Bindings, ListSampler, StaticString};
use forge_core::udpl::{self, Document, ResourceKind};

const USAGE: &str = "\
usage: forge check [--format human|short] PATH...
       forge render [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH
       forge graph [--format dot|mermaid|html] [--seed N] [--set NAME=VALUE]... [--list NAME=FILE]... PATH

check: parse and lint UDPL documents. PATH is a UDPL file or a folder of *.toml files
forming one document. Prints every diagnostic.

render: sample the document's default program (every sequence once, in
`config.sequences` order) and print every zone's text, each under a header line.

graph: draw the same sampled workflow: Graphviz DOT (default), Mermaid, or a
self-contained HTML page. Prints it on stdout.

options:
  --format human|short   (check) rustc-style output with source lines (default), or
                         one line per diagnostic: PATH:LINE:COL: SEVERITY: MESSAGE
  --format dot|mermaid|html
                         (graph) the rendering (default: dot)
  --seed N               (render, graph) the sampling seed, an integer >= 0 (default: 0)
  --set NAME=VALUE       (render, graph) bind resource NAME to the static string VALUE
  --list NAME=FILE       (render, graph) bind resource NAME to a list sampler over the
                         non-empty lines of FILE
  -h, --help             print this help

exit status: 0 no errors (warnings allowed), 1 errors found (in the document, its
resources or sampling), 2 usage or I/O error";

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
        "render" => render(rest),
        "graph" => graph(rest),
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

// ------------------------------------------------------------------------------ render, graph

/// A graph rendering.
#[derive(Clone, Copy)]
enum GraphFormat {
    Dot,
    Mermaid,
    Html,
}

fn parse_graph_format(value: &str) -> Result<GraphFormat, String> {
    match value {
        "dot" => Ok(GraphFormat::Dot),
        "mermaid" => Ok(GraphFormat::Mermaid),
        "html" => Ok(GraphFormat::Html),
        other => Err(format!(
            "unknown format `{other}`: use `dot`, `mermaid` or `html`"
        )),
    }
}

/// Where a resource's value comes from.
enum Source {
    /// `--set NAME=VALUE`.
    Value(String),
    /// `--list NAME=FILE`.
    List(String),
}

/// The options shared by `render` and `graph`.
struct SampleOptions {
    seed: u64,
    resources: Vec<(String, Source)>,
    path: String,
}

/// Parses `render`/`graph` arguments. `format` is `Some` for `graph`, which takes `--format`.
/// Returns `None` when help was printed.
fn parse_sample_options(
    command: &str,
    args: &[String],
    mut format: Option<&mut GraphFormat>,
) -> Result<Option<SampleOptions>, String> {
    let mut seed = 0u64;
    let mut resources: Vec<(String, Source)> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("`{flag}` needs a value: {what}")),
            }
        };
        match flag {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--seed" => {
                let v = value("an integer >= 0")?;
                seed = v
                    .parse()
                    .map_err(|_| format!("`--seed` must be an integer >= 0, got `{v}`"))?;
            }
            "--set" | "--list" => {
                let v = value(if flag == "--set" {
                    "NAME=VALUE"
                } else {
                    "NAME=FILE"
                })?;
                let Some((name, val)) = v.split_once('=') else {
                    return Err(format!(
                        "`{flag} {v}`: expected {}",
                        if flag == "--set" {
                            "NAME=VALUE"
                        } else {
                            "NAME=FILE"
                        }
                    ));
                };
                if name.is_empty() {
                    return Err(format!("`{flag} {v}`: the resource name is empty"));
                }
                if resources.iter().any(|(n, _)| n == name) {
                    return Err(format!("resource `{name}` is bound twice"));
                }
                let source = if flag == "--set" {
                    Source::Value(val.to_owned())
                } else {
                    Source::List(val.to_owned())
                };
                resources.push((name.to_owned(), source));
            }
            "--format" if format.is_some() => {
                let v = value("dot, mermaid or html")?;
                if let Some(f) = format.as_deref_mut() {
                    *f = parse_graph_format(&v)?;
                }
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option `{s}`")),
            _ => paths.push(arg.clone()),
        }
    }
    let path = match paths.len() {
        1 => paths.pop().unwrap_or_default(),
        0 => return Err(format!("`forge {command}` needs a PATH")),
        _ => return Err(format!("`forge {command}` takes exactly one PATH")),
    };
    Ok(Some(SampleOptions {
        seed,
        resources,
        path,
    }))
}

/// Parse, bind, build the default program, compile and sample. On failure, the error has been
/// printed and the outcome is returned.
fn sample_default(opts: &SampleOptions) -> Result<SampledWorkflow, Outcome> {
    let parsed = match udpl::parse_path(&opts.path) {
        Ok(parsed) => parsed,
        Err(udpl::Error::Invalid { diagnostics }) => {
            eprintln!("{}", render_all(&diagnostics, Format::Human));
            return Err(Outcome::Invalid);
        }
        Err(e @ udpl::Error::Io { .. }) => {
            eprintln!("error: {e}");
            return Err(Outcome::Failed);
        }
    };
    if !parsed.warnings.is_empty() {
        eprintln!("{}", render_all(&parsed.warnings, Format::Human));
    }
    let doc = parsed.document;

    // Build every binding first: a list file that cannot be read is an I/O error.
    let mut bound: Vec<(&str, Binding)> = Vec::with_capacity(opts.resources.len());
    for (name, source) in &opts.resources {
        let binding = match source {
            Source::Value(v) => Binding::instance(StaticString::new(v.as_str())),
            Source::List(file) => {
                let text = match std::fs::read_to_string(file) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: cannot read `{file}` (for `--list {name}`): {e}");
                        return Err(Outcome::Failed);
                    }
                };
                let items: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
                match ListSampler::new(items) {
                    Ok(s) => Binding::instance(s),
                    Err(_) => {
                        eprintln!(
                            "error: `{file}` (for `--list {name}`) has no non-empty line; a list needs at least one item"
                        );
                        return Err(Outcome::Failed);
                    }
                }
            }
        };
        bound.push((name.as_str(), binding));
    }

    // Split the bindings by the kind of resource they name. Names the document does not
    // declare go to program setup, whose error names them (with a suggestion).
    let kind_of = |name: &str| doc.resource(name).map(|r| r.kind);
    let mut standard = Bindings::new();
    let mut custom: Vec<(&str, &Binding)> = Vec::new();
    let mut arguments = Bindings::new();
    for (name, binding) in &bound {
        match kind_of(name) {
            Some(ResourceKind::Custom) => custom.push((name, binding)),
            Some(ResourceKind::Argument) => {
                arguments.insert(*name, binding.clone());
            }
            Some(ResourceKind::Standard) | None => {
                standard.insert(*name, binding.clone());
            }
        }
    }
    let given: HashSet<&str> = bound.iter().map(|(n, _)| *n).collect();
    let fail = |e: &dyn std::fmt::Display, doc: &Document| {
        eprintln!("error: {e}");
        if let Some(note) = missing_note(doc, &given) {
            eprintln!("{note}");
        }
        Outcome::Invalid
    };

    let mut program = match Program::new(doc.clone(), standard) {
        Ok(p) => p,
        Err(e) => return Err(fail(&e, &doc)),
    };
    for seq in &doc.sequences {
        let mut call = Call::new(seq.name.name.as_str());
        for r in seq.resources_of_kind(ResourceKind::Custom) {
            if let Some((_, b)) = custom.iter().find(|(n, _)| *n == r) {
                call = call.with(r, (*b).clone());
            }
        }
        if let Err(e) = program.run(call) {
            return Err(fail(&e, &doc));
        }
    }
    let workflow = match program.compile() {
        Ok(w) => w,
        Err(e) => return Err(fail(&e, &doc)),
    };
    workflow
        .sample_seeded(arguments, opts.seed)
        .map_err(|e| fail(&e, &doc))
}

/// `note: ...` listing every resource of the document that no option binds, with its kind, or
/// `None` when all are bound.
fn missing_note(doc: &Document, given: &HashSet<&str>) -> Option<String> {
    let missing: Vec<String> = doc
        .resources
        .iter()
        .filter(|r| !given.contains(r.name.name.as_str()))
        .map(|r| format!("`{}` ({})", r.name.name, r.kind))
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "note: resources not bound by any --set or --list: {}",
        missing.join(", ")
    ))
}

/// Writes `text` to stdout; a closed pipe (`forge graph ... | head`) is not an error.
fn emit(text: &str) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Outcome::Clean,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Clean,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            Outcome::Failed
        }
    }
}

fn render(args: &[String]) -> Result<Outcome, String> {
    let Some(opts) = parse_sample_options("render", args, None)? else {
        return Ok(Outcome::Clean);
    };
    let sample = match sample_default(&opts) {
        Ok(s) => s,
        Err(outcome) => return Ok(outcome),
    };
    Ok(emit(&render_text(&sample)))
}

/// Every zone's text in order, each under a header line:
/// `--- zone 3 · setup block 1 · [Answer] · tags: Training ---`.
fn render_text(sample: &SampledWorkflow) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(sample.text().len() + sample.len() * 64);
    for z in sample.zones() {
        let _ = write!(
            out,
            "--- zone {} · {} block {}",
            z.index, z.sequence, z.block
        );
        if z.instance > 0 {
            let _ = write!(out, " instance {}", z.instance);
        }
        let _ = write!(out, " · {} · tags: ", z.advance);
        if z.tags.is_empty() {
            out.push_str("none");
        } else {
            out.push_str(&z.tags.join(", "));
        }
        if z.input {
            out.push_str(" · input");
        }
        if let Some(tool) = &z.tool {
            let _ = write!(out, " · output to {tool}");
        }
        if let Some(j) = &z.jump {
            match j.target {
                Some(t) => {
                    let _ = write!(out, " · jump {} → zone {t}", j.pattern);
                }
                None => {
                    let _ = write!(out, " · jump {} → end", j.pattern);
                }
            }
        }
        out.push_str(" ---\n");
        out.push_str(z.text());
        out.push('\n');
    }
    out
}

fn graph(args: &[String]) -> Result<Outcome, String> {
    let mut format = GraphFormat::Dot;
    let Some(opts) = parse_sample_options("graph", args, Some(&mut format))? else {
        return Ok(Outcome::Clean);
    };
    let sample = match sample_default(&opts) {
        Ok(s) => s,
        Err(outcome) => return Ok(outcome),
    };
    let text = match format {
        GraphFormat::Dot => to_dot(&sample),
        GraphFormat::Mermaid => to_mermaid(&sample),
        GraphFormat::Html => to_html(&sample),
    };
    Ok(emit(&text))
}
