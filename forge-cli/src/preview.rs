//! What `render` and `graph` share: their options and the sampled *default program* of a
//! document (every sequence run once, in `config.sequences` order).
//!
//! They preview any valid document: a resource no option binds fills its placeholders with a
//! visible marker, `⟨NAME⟩` or `⟨NAME key = value ...⟩` with the arguments the placeholder
//! passes, or, when it has a `default`, with that text marked as `⟦TEXT⟧`; a note on stderr
//! lists those resources. `--set` binds a fixed text even to a
//! resource whose placeholders pass `arguments` (they are ignored, with a note), so any
//! placeholder can be previewed with a chosen text.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use forge_core::diagnostics::{Format, render_all};
use forge_core::program::{Call, Program, SampledWorkflow, Workflow};
use forge_core::resources::{
    Binding, Bindings, ListSampler, Resource, ResourceError, SampleContext,
};
use forge_core::udpl::{self, Arguments, Document, ResourceKind};

use crate::{Builtin, Outcome};

/// The options shared by `render` and `graph`.
#[derive(clap::Args)]
pub(crate) struct SampleArgs {
    /// The sampling seed, an integer >= 0
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_seed, allow_hyphen_values = true)]
    pub(crate) seed: u64,
    /// Bind resource NAME to the static string VALUE (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub(crate) set: Vec<(String, String)>,
    /// Bind resource NAME to a list sampler over the non-empty lines of FILE (repeatable)
    #[arg(long = "list", value_name = "NAME=FILE", value_parser = parse_list)]
    pub(crate) list: Vec<(String, String)>,
    /// The UDPL file, or a folder of *.toml files forming one document
    #[arg(value_name = "PATH", required = true)]
    pub(crate) path: Option<PathBuf>,
}

fn parse_seed(value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| "expected an integer >= 0".to_owned())
}

fn parse_set(value: &str) -> Result<(String, String), String> {
    parse_binding(value, "NAME=VALUE")
}

fn parse_list(value: &str) -> Result<(String, String), String> {
    parse_binding(value, "NAME=FILE")
}

/// `NAME=REST`, split at the first `=`: the value itself may contain `=`.
fn parse_binding(value: &str, shape: &str) -> Result<(String, String), String> {
    let Some((name, rest)) = value.split_once('=') else {
        return Err(format!("expected {shape}"));
    };
    if name.is_empty() {
        return Err(format!("expected {shape}; the resource name is empty"));
    }
    Ok((name.to_owned(), rest.to_owned()))
}

/// Where a resource's value comes from.
enum Source<'a> {
    /// `--set NAME=VALUE`.
    Value(&'a str),
    /// `--list NAME=FILE`.
    List(&'a str),
}

/// Parse, bind, build the default program, compile and sample. On failure, the error has been
/// printed and the outcome is returned. `command` names the subcommand, for usage errors.
pub(crate) fn sample_default(
    command: &str,
    opts: &SampleArgs,
    builtin: Option<&Builtin>,
) -> Result<SampledWorkflow, Outcome> {
    let (workflow, arguments, _) =
        build_default(command, opts, builtin, Unbound::Markers, Extract::Nothing)?;
    workflow.sample_seeded(arguments, opts.seed).map_err(|e| {
        eprintln!("error: {e}");
        Outcome::Invalid
    })
}

/// What to do with resources no option binds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unbound {
    /// Fill their placeholders with `⟨NAME⟩` markers, with a note (a preview).
    Markers,
    /// Markers without the note (`check` of a built-in program).
    Quiet,
    /// Report them as an error (exit 1): a dataset is not a preview. Resources with a
    /// `default` text use it, unmarked.
    Error,
}

/// Which extractions the default program declares.
#[derive(Clone, Copy)]
pub(crate) enum Extract<'a> {
    /// None (a preview).
    Nothing,
    /// Those `--extract` declared, or when it declared none, those of the document's
    /// declared program, or when it has none, one per valid tag of the document, named
    /// after it.
    DeclaredOrPerTag(&'a [(String, Vec<String>)]),
}

/// The items of each `--list NAME=FILE`, as read once (a file may be a pipe).
pub(crate) type Lists = Vec<(String, Vec<String>)>;

/// Parse, bind, build the program (the one the document declares in `[program]`, else the
/// default: every sequence once), declare its `extractions` and compile it; returns
/// the workflow, the argument resources to sample it with, and the items each `--list` file
/// gave. On failure, the error has been printed and the outcome is returned.
///
/// With a `builtin` program ([`App`](crate::App)), its document takes the place of PATH and
/// its closure, when it has one, that of the declared or default program.
pub(crate) fn build_default(
    command: &str,
    opts: &SampleArgs,
    builtin: Option<&Builtin>,
    unbound_as: Unbound,
    extractions: Extract<'_>,
) -> Result<(Workflow, Bindings, Lists), Outcome> {
    let mut lists = Lists::new();
    let mut sources: Vec<(&str, Source)> = Vec::with_capacity(opts.set.len() + opts.list.len());
    for (name, source) in opts_sources(opts) {
        if sources.iter().any(|(n, _)| *n == name) {
            return Err(crate::usage_error(
                command,
                format!("resource `{name}` is bound twice"),
            ));
        }
        sources.push((name, source));
    }

    let doc = match (builtin, &opts.path) {
        (Some(b), None) => b.document.clone(),
        (Some(b), Some(path)) => {
            return Err(crate::usage_error(
                command,
                format!(
                    "unexpected argument `{}`: the document is built in ({})",
                    path.display(),
                    b.files()
                ),
            ));
        }
        (None, path) => load(path.as_deref().unwrap_or(Path::new("")))?,
    };
    // A program closure replaces the declared program, and binds custom resources itself.
    let closure = builtin.and_then(|b| b.program.as_ref());
    if closure.is_some()
        && let Some((name, _)) = opts_sources(opts).into_iter().find(|(name, _)| {
            doc.resource(name)
                .is_some_and(|r| r.kind == ResourceKind::Custom)
        })
    {
        return Err(crate::usage_error(
            command,
            format!(
                "`{name}` is a custom resource: the program's calls bind it, not --set or --list"
            ),
        ));
    }
    // `--extract` takes the place of the extractions a declared program declares.
    let own: Vec<(String, Vec<String>)> = doc
        .program
        .iter()
        .filter(|_| closure.is_none())
        .flat_map(|p| &p.extractions)
        .map(|e| (e.name.clone(), e.tags.clone()))
        .collect();
    let extractions_asked = extractions;
    let extractions: Vec<(String, Vec<String>)> = match extractions {
        Extract::Nothing => Vec::new(),
        Extract::DeclaredOrPerTag(given) if given.is_empty() && !own.is_empty() => own,
        Extract::DeclaredOrPerTag(declared) if !declared.is_empty() => declared.to_vec(),
        // A program closure declares its own extractions, if any (see below).
        Extract::DeclaredOrPerTag(_) if closure.is_some() => Vec::new(),
        Extract::DeclaredOrPerTag(_) => doc
            .config
            .valid_tags
            .iter()
            .map(|t| (t.to_string(), vec![t.to_string()]))
            .collect(),
    };

    // Build every binding first: a list file that cannot be read is an I/O error.
    let mut bound: Vec<(&str, Binding)> = Vec::with_capacity(sources.len());
    for (name, source) in sources {
        let binding = match source {
            Source::Value(v) => Binding::instance(Fixed(v.to_owned())),
            Source::List(file) => {
                let text = match std::fs::read_to_string(file) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: cannot read `{file}` (for `--list {name}`): {e}");
                        return Err(Outcome::Failed);
                    }
                };
                let items: Vec<String> = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned)
                    .collect();
                lists.push((name.to_owned(), items.clone()));
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
        bound.push((name, binding));
    }

    // Resources no option binds are previewed as markers; `--set` values ignore arguments.
    let given: HashSet<&str> = bound.iter().map(|(n, _)| *n).collect();
    // A declared program binds the custom resources itself (`with`, or their `default`);
    // `--set` of one overrides its `with` values.
    let declared = doc.program.is_some() || closure.is_some();
    let (defaulted, unbound): (Vec<&udpl::Resource>, Vec<&udpl::Resource>) = doc
        .resources
        .iter()
        .filter(|r| !given.contains(r.name.name.as_str()))
        .filter(|r| !(declared && r.kind == ResourceKind::Custom))
        .partition(|r| r.default.is_some());
    let listed = |rs: &[&udpl::Resource]| {
        rs.iter()
            .map(|r| format!("`{}` ({})", r.name.name, r.kind))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !unbound.is_empty() && unbound_as != Unbound::Quiet {
        if unbound_as == Unbound::Error {
            eprintln!(
                "error: resources not bound by any --set or --list: {}
  = help: bind each with --set NAME=VALUE or --list NAME=FILE",
                listed(&unbound)
            );
            return Err(Outcome::Invalid);
        }
        eprintln!(
            "note: not bound by any --set or --list, shown as ⟨name arguments⟩ markers: {}",
            listed(&unbound)
        );
    }
    if !defaulted.is_empty() && unbound_as == Unbound::Markers {
        eprintln!(
            "note: not bound, their default text is used, shown as ⟦default⟧: {}",
            listed(&defaulted)
        );
    }
    for (name, _) in &opts.set {
        if let Some(args) = passed_arguments(&doc, name) {
            eprintln!(
                "note: `--set {name}` fills every `{name}` placeholder with its value; the arguments they pass ({args}) are ignored"
            );
        }
    }
    let markers: Vec<(String, Binding)> = unbound
        .iter()
        .map(|r| {
            (
                r.name.name.clone(),
                Binding::instance(Marker(r.name.name.clone())),
            )
        })
        .chain(defaulted.iter().map(|r| {
            let default = r.default.as_deref().unwrap_or_default();
            // A dataset holds the default text itself; a preview marks it.
            let text = match unbound_as {
                Unbound::Markers | Unbound::Quiet => format!("⟦{default}⟧"),
                Unbound::Error => default.to_owned(),
            };
            (r.name.name.clone(), Binding::instance(Fixed(text)))
        }))
        .collect();

    // Split the bindings by the kind of resource they name. Names the document does not
    // declare go to program setup, whose error names them (with a suggestion).
    let kind_of = |name: &str| doc.resource(name).map(|r| r.kind);
    let mut standard = Bindings::new();
    let mut custom: Vec<(&str, &Binding)> = Vec::new();
    let mut arguments = Bindings::new();
    let all = bound
        .iter()
        .map(|(n, b)| (*n, b))
        .chain(markers.iter().map(|(n, b)| (n.as_str(), b)));
    for (name, binding) in all {
        match kind_of(name) {
            Some(ResourceKind::Custom) => custom.push((name, binding)),
            Some(ResourceKind::Argument) => {
                arguments.insert(name, binding.clone());
            }
            Some(ResourceKind::Standard) | None => {
                standard.insert(name, binding.clone());
            }
        }
    }
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        Outcome::Invalid
    };

    let mut program = match Program::new(doc.clone(), standard) {
        Ok(p) => p,
        Err(e) => return Err(fail(&e)),
    };
    if let Some(build) = closure {
        if let Err(e) = build(&mut program) {
            eprintln!("error: {e}");
            return Err(Outcome::Invalid);
        }
    } else if declared {
        let mut overrides = Bindings::new();
        for (name, binding) in &custom {
            overrides.insert(*name, (*binding).clone());
        }
        if let Err(e) = program.run_declared_steps(&overrides) {
            return Err(fail(&e));
        }
    }
    for seq in doc.sequences.iter().filter(|_| !declared) {
        let mut call = Call::new(seq.name.name.as_str());
        for r in seq.resources_of_kind(ResourceKind::Custom) {
            if let Some((_, b)) = custom.iter().find(|(n, _)| *n == r) {
                call = call.with(r, (*b).clone());
            }
        }
        if let Err(e) = program.run(call) {
            return Err(fail(&e));
        }
    }
    for (name, tags) in &extractions {
        if let Err(e) = program.extract(name, tags) {
            return Err(fail(&e));
        }
    }
    let workflow = match program.compile() {
        Ok(w) => w,
        Err(e) => return Err(fail(&e)),
    };
    // A program closure that declares no extraction, without `--extract`: one per tag.
    let per_tag = matches!(extractions_asked, Extract::DeclaredOrPerTag(_));
    if closure.is_some() && per_tag && workflow.meta().extractions.is_empty() {
        for tag in &doc.config.valid_tags {
            if let Err(e) = program.extract(tag, &[tag]) {
                return Err(fail(&e));
            }
        }
        return match program.compile() {
            Ok(w) => Ok((w, arguments, lists)),
            Err(e) => Err(fail(&e)),
        };
    }
    Ok((workflow, arguments, lists))
}

/// Parse the document at `path`, printing its warnings; on failure, the errors have been
/// printed.
fn load(path: &Path) -> Result<Arc<Document>, Outcome> {
    let parsed = match udpl::parse_path(path) {
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
    Ok(Arc::new(parsed.document))
}

/// The `--set` and `--list` options in one list.
fn opts_sources(opts: &SampleArgs) -> Vec<(&str, Source<'_>)> {
    let set = opts.set.iter().map(|(n, v)| (n.as_str(), Source::Value(v)));
    let list = opts.list.iter().map(|(n, f)| (n.as_str(), Source::List(f)));
    set.chain(list).collect()
}

/// The arguments the placeholders of resource `name` pass (`num_samples = 2`), or `None` when
/// none does.
fn passed_arguments(doc: &Document, name: &str) -> Option<String> {
    let mut shown: Vec<String> = Vec::new();
    for p in doc
        .sequences
        .iter()
        .flat_map(|s| &s.blocks)
        .flat_map(|b| &b.placeholders)
        .filter(|p| p.resource == name && !p.arguments.is_empty())
    {
        let args = inline_arguments(&p.arguments);
        if !shown.contains(&args) {
            shown.push(args);
        }
    }
    (!shown.is_empty()).then(|| shown.join("; "))
}

/// `key = value, key = value`, values in TOML syntax.
fn inline_arguments(args: &Arguments) -> String {
    args.iter()
        .map(|(k, v)| format!("{k} = {}", inline_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML value as written inline (strings quoted, tables `{ k = v }`).
fn inline_value(v: &udpl::ArgumentValue) -> String {
    use udpl::ArgumentValue as V;
    match v {
        V::String(s) => format!("{s:?}"),
        V::Integer(i) => i.to_string(),
        V::Float(f) => f.to_string(),
        V::Boolean(b) => b.to_string(),
        V::Datetime(d) => d.to_string(),
        V::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(inline_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        V::Table(t) => format!("{{ {} }}", inline_arguments(t)),
    }
}

/// `--set NAME=VALUE` (or a marked default): the value, whatever arguments the placeholder
/// passes.
struct Fixed(String);

impl Resource for Fixed {
    type Args = Arguments;
    fn sample(&self, _: &Arguments, _: &mut SampleContext) -> Result<String, ResourceError> {
        Ok(self.0.clone())
    }
    fn sample_into(
        &self,
        _: &Arguments,
        _: &mut SampleContext,
        out: &mut String,
    ) -> Result<(), ResourceError> {
        out.push_str(&self.0);
        Ok(())
    }
    fn describe() -> &'static str {
        "value given with --set"
    }
}

/// A resource no option binds: `⟨NAME⟩`, or `⟨NAME key = value, ...⟩` with the arguments the
/// placeholder passes.
struct Marker(String);

impl Resource for Marker {
    type Args = Arguments;
    fn sample(&self, args: &Arguments, _: &mut SampleContext) -> Result<String, ResourceError> {
        Ok(if args.is_empty() {
            format!("⟨{}⟩", self.0)
        } else {
            format!("⟨{} {}⟩", self.0, inline_arguments(args))
        })
    }
    fn describe() -> &'static str {
        "unbound-resource marker"
    }
}

/// Writes `text` to stdout; a closed pipe (`forge graph ... | head`) is not an error.
pub(crate) fn emit(text: &str) -> Outcome {
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

/// Parses `--extract NAME=TAG[,TAG...]`.
pub(crate) fn parse_extract(value: &str) -> Result<(String, Vec<String>), String> {
    let Some((name, tags)) = value.split_once('=') else {
        return Err("expected NAME=TAG[,TAG...]".into());
    };
    let tags: Vec<String> = tags
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if name.is_empty() || tags.is_empty() {
        return Err("expected NAME=TAG[,TAG...] with a name and at least one tag".into());
    }
    Ok((name.to_owned(), tags))
}
