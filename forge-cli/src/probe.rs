//! `forge probe URL`: what forge detects on a model server and what it will send, before a run;
//! and the start-of-run notes `forge run` prints from the same probe.

use std::time::Duration;

use forge_core::program::SampledWorkflow;
use forge_http::{Config, Dialect, Endpoint, ServerInfo};

use crate::Outcome;

/// Probe a model server: print its dialect, model, context per slot, the sampling fields forge
/// sends to it, and every caveat (an ignored seed, server-side sampling defaults forge
/// overrides, an unknown context).
///
/// It waits for a server that is still loading its model (up to --wait seconds), as `forge run`
/// does. Nothing is generated.
#[derive(clap::Args)]
#[command(after_help = crate::EXIT_STATUS)]
pub(crate) struct Args {
    /// The server's base URL (e.g. http://127.0.0.1:8080)
    #[arg(value_name = "URL", value_parser = parse_endpoint)]
    endpoint: Endpoint,
    /// The server's API: auto (probe), vllm, sglang, llama.cpp or openai
    #[arg(long, value_name = "DIALECT", default_value = "auto", value_parser = parse_dialect)]
    dialect: Dialect,
    /// Seconds to wait for a server that is still loading its model
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    wait: u64,
}

fn parse_endpoint(value: &str) -> Result<Endpoint, String> {
    Endpoint::new(value).map_err(|e| e.to_string())
}

fn parse_dialect(value: &str) -> Result<Dialect, String> {
    Dialect::parse(value)
        .ok_or_else(|| "expected auto, vllm, sglang, llama.cpp or openai".to_owned())
}

pub(crate) fn run(args: Args) -> Outcome {
    let config = Config::new([args.endpoint])
        .dialect(args.dialect)
        .ready_timeout(Duration::from_secs(args.wait));
    match forge_http::probe(&config) {
        Ok(info) => {
            print!("{}", report(&info));
            Outcome::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Outcome::Failed
        }
    }
}

/// The server's kind as a person reads it.
fn server_name(server: Dialect) -> &'static str {
    match server {
        Dialect::Vllm => "vLLM",
        Dialect::Sglang => "SGLang",
        Dialect::LlamaCpp => "llama.cpp (llama-server)",
        _ => "an OpenAI-compatible server (not identified)",
    }
}

/// What `forge probe` prints.
pub(crate) fn report(info: &ServerInfo) -> String {
    let mut out = String::new();
    let line = |out: &mut String, key: &str, value: &str| {
        out.push_str(&format!("{key:<9} {value}\n"));
    };
    line(&mut out, "endpoint", &info.endpoint);
    let mut server = server_name(info.server).to_owned();
    if let Some(v) = &info.version {
        server.push_str(&format!(", version {v}"));
    }
    line(&mut out, "server", &server);
    let path = match info.dialect {
        Dialect::LlamaCpp => "POST /completion",
        Dialect::OpenAi => "POST /v1/completions, streamed, stops matched by forge",
        _ => "POST /v1/completions",
    };
    line(&mut out, "dialect", &format!("{} ({path})", info.dialect));
    line(
        &mut out,
        "model",
        info.model.as_deref().unwrap_or("(none listed)"),
    );
    let context = match (info.slot_context, info.slots) {
        (Some(c), Some(n)) => format!("{c} tokens per slot, {n} slots"),
        (Some(c), None) => format!("{c} tokens per sequence"),
        (None, _) => "unknown".to_owned(),
    };
    line(&mut out, "context", &context);
    let seed = match info.dialect {
        Dialect::LlamaCpp => "seed (32 bits)",
        _ => "seed (63 bits)",
    };
    line(
        &mut out,
        "sends",
        &format!("temperature, top_p, {seed}, {}", info.neutral_sampling()),
    );
    if info.caveats.is_empty() {
        out.push_str("caveats   none\n");
    } else {
        out.push_str("caveats\n");
        for c in &info.caveats {
            out.push_str(&format!("  - {c}\n"));
        }
    }
    out
}

/// A warning when a stream's forced text plus its zone budgets cannot fit the server's slot
/// context: one pass through every zone, the forced text estimated at 4 bytes a token (an
/// English-text average; loops only add to it).
pub(crate) fn context_warning<'a>(
    workflows: impl IntoIterator<Item = &'a SampledWorkflow>,
    cap: Option<u32>,
    slot_context: Option<u32>,
) -> Option<String> {
    let context = u64::from(slot_context?);
    let mut worst: Option<(u64, u64, u64)> = None; // (total, forced, budgets)
    for w in workflows {
        let forced = (w.text().len() as u64).div_ceil(4);
        let budgets: u64 = w
            .zones()
            .filter(|z| !z.input)
            .map(|z| cap.map_or(z.max_gen_tokens, |c| z.max_gen_tokens.min(u64::from(c))))
            .sum();
        let total = forced + budgets;
        if worst.is_none_or(|(t, _, _)| total > t) {
            worst = Some((total, forced, budgets));
        }
    }
    let (total, forced, budgets) = worst?;
    (total > context).then(|| {
        format!(
            "a stream may need about {total} tokens (about {forced} of forced text and {budgets} \
             of zone budgets, one pass through every zone) but a server slot holds {context}; \
             a zone cut by the full context fails its stream. Give the server more context per \
             slot (llama-server: -c is shared by the -np slots), cap the budgets with \
             --max-zone-tokens, or pass --continue-on-full-context"
        )
    })
}
