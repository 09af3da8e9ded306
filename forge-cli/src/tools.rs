//! `--tool NAME=COMMAND` and `--tool-timeout`: the declared tools of `forge run`, each bound
//! to a command run without a shell ([`CommandTool`]).

use std::time::Duration;

use forge_core::exec::{CommandTool, Tools};
use forge_core::program::Workflow;

use crate::Outcome;

/// The tool options of `forge run`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct ToolArgs {
    /// Bind the declared tool NAME to a command: the captured text on its stdin, its stdout is
    /// the result; split into words like a shell would, but nothing is expanded and no shell
    /// runs (repeatable)
    #[arg(long = "tool", value_name = "NAME=COMMAND", value_parser = parse_tool)]
    tools: Vec<(String, String)>,
    /// Seconds a tool command may run before it is killed and its stream fails
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    tool_timeout: f64,
    /// The most tool calls running at once; further calls wait for one to finish (the
    /// streams whose model is writing go on meanwhile)
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    max_tool_calls: u32,
}

impl ToolArgs {
    /// `--max-tool-calls`.
    pub(crate) fn max_tool_calls(&self) -> usize {
        self.max_tool_calls as usize
    }
}

fn parse_tool(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((name, command)) if !name.trim().is_empty() => {
            forge_core::exec::split_words(command).map_err(|e| e.to_string())?;
            Ok((name.trim().to_owned(), command.to_owned()))
        }
        _ => Err("expected NAME=COMMAND, e.g. `search=./search.sh --top 3`".to_owned()),
    }
}

/// The tools `workflow` calls: the `rust` tools of an [`App`](crate::App), and each `--tool`
/// command (replacing a Rust tool of its name). A tool the workflow calls and nothing binds,
/// or a `--tool` the document does not declare, is a usage error (exit 2) before anything
/// runs.
pub(crate) fn build(
    args: &ToolArgs,
    workflow: &Workflow,
    rust: Option<&Tools>,
) -> Result<Tools, Outcome> {
    let timeout = match Duration::try_from_secs_f64(args.tool_timeout) {
        Ok(t) if !t.is_zero() => t,
        _ => {
            return Err(crate::usage_error(
                "run",
                format!(
                    "--tool-timeout {}: give a positive number of seconds",
                    args.tool_timeout
                ),
            ));
        }
    };
    let declared = &workflow.document().config.tools;
    let mut tools = rust.cloned().unwrap_or_else(|| Tools::new(declared));
    for (name, command) in &args.tools {
        let tool = match CommandTool::new(name.as_str(), command, timeout) {
            Ok(t) => t,
            Err(e) => return Err(crate::usage_error("run", format!("--tool {name}: {e}"))),
        };
        if let Err(e) = tools.add(name, move |input: &str| tool.call(input)) {
            let hint = e
                .suggestion
                .map_or_else(String::new, |s| format!("; did you mean `{s}`?"));
            return Err(crate::usage_error(
                "run",
                format!(
                    "--tool {name}: the document declares no tool `{name}` (`config.tools`: {}){hint}",
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                ),
            ));
        }
    }
    let mut unbound: Vec<&str> = Vec::new();
    for z in &workflow.meta().zones {
        if let (true, Some(t)) = (z.output, &z.tool)
            && !tools.contains(t)
            && !unbound.contains(&&**t)
        {
            unbound.push(t);
        }
    }
    if !unbound.is_empty() {
        return Err(crate::usage_error(
            "run",
            format!(
                "the program sends text to {}, which no --tool binds; bind each with --tool NAME=COMMAND{}",
                unbound
                    .iter()
                    .map(|t| format!("tool `{t}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if rust.is_some() {
                    " (or register it in the program's `Tools`)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(tools)
}
