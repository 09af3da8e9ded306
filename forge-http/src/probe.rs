//! The capability probe: which kind of server an endpoint is, which model it serves, how much
//! context a slot holds, and what forge cannot get from it (caveats).

use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use crate::body::Neutral;
use crate::config::Config;
use crate::dialect::Dialect;
use crate::error::Error;
use crate::fault::{Fault, transport};

/// What the start-up probe found out about a server
/// ([`HttpGenerator::server_info`](crate::HttpGenerator::server_info),
/// [`probe`](crate::probe())).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The endpoint probed.
    pub endpoint: String,
    /// The dialect requests are sent in (never [`Dialect::Auto`]).
    pub dialect: Dialect,
    /// The kind of server behind it, where the probe could tell: [`Dialect::Vllm`],
    /// [`Dialect::Sglang`] or [`Dialect::LlamaCpp`]; [`Dialect::OpenAi`] for a server it could
    /// not identify.
    pub server: Dialect,
    /// The first model the server lists.
    pub model: Option<String>,
    /// The context of one slot (one sequence), in tokens, where the server tells: llama.cpp
    /// `/props` `n_ctx` (its `-c` divided by its `-np` slots), vLLM and SGLang `max_model_len`.
    pub slot_context: Option<u32>,
    /// How many sequences the server runs at once, where it tells (llama.cpp `total_slots`).
    pub slots: Option<u32>,
    /// The server's version, where it tells.
    pub version: Option<String>,
    /// What forge cannot get from this server, or overrides, in sentences.
    pub caveats: Vec<String>,
}

impl ServerInfo {
    /// The sampling fields sent with every request besides temperature, top-p and seed: the
    /// neutral values that keep the server's own defaults out.
    pub fn neutral_sampling(&self) -> Value {
        let server = if self.dialect == Dialect::OpenAi {
            self.server
        } else {
            self.dialect
        };
        Neutral::for_server(server).to_json()
    }
}

/// Checks every endpoint; returns what the first one is (probed when the dialect is `Auto`).
pub(crate) async fn probe_all(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    config: &Config,
) -> Result<ServerInfo, Error> {
    let mut found: Option<ServerInfo> = None;
    for endpoint in &config.endpoints {
        let info = probe(client, auth, config, &endpoint.url).await?;
        match &found {
            Some(first) if first.dialect != info.dialect => {
                return Err(Error::Probe {
                    endpoint: endpoint.url.clone(),
                    message: format!(
                        "this endpoint is a {} server but {} is a {} server; give endpoints of \
                         one kind, or choose the dialect explicitly",
                        info.dialect, first.endpoint, first.dialect
                    ),
                });
            }
            Some(_) => {}
            None => found = Some(info),
        }
    }
    found.ok_or_else(|| Error::Config("no endpoint".into()))
}

/// `GET url` with the probe's timeout: the status and the JSON body (if it is JSON).
async fn get_json(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    url: &str,
    timeout: Duration,
) -> Result<(u16, Option<Value>), Fault> {
    let mut builder = client.get(url);
    if let Some(auth) = auth {
        builder = builder.header(AUTHORIZATION, auth.clone());
    }
    let fetch = async {
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        Ok((status, serde_json::from_slice(&body).ok()))
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .unwrap_or(Err(Fault::Timeout))
}

/// Waits until `GET /health` stops answering 503 (llama.cpp and SGLang while they load the
/// model; llama.cpp answers 503 "Loading model" on every other route meanwhile), at most
/// [`Config::ready_timeout`]. A server without the route (404 or another status) counts as
/// ready; an unreachable one fails at once.
async fn wait_ready(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    config: &Config,
    url: &str,
) -> Result<(), Error> {
    let fail = |message: String| Error::Probe {
        endpoint: url.to_owned(),
        message,
    };
    let started = Instant::now();
    let deadline = started + config.ready_timeout;
    let each = config.connect_timeout + Duration::from_secs(5);
    loop {
        let last = match get_json(client, auth, &format!("{url}/health"), each).await {
            Ok((503, body)) => format!(
                "HTTP 503: {}",
                body.map_or_else(
                    || "(no JSON body)".to_owned(),
                    |b| crate::dialect::error_message(b.to_string().as_bytes())
                )
            ),
            Ok(_) => return Ok(()),
            Err(Fault::Timeout) => "no answer".to_owned(),
            Err(Fault::Connection(message)) => {
                return Err(fail(format!(
                    "cannot reach the server ({message}); is it running on this address?"
                )));
            }
            Err(_) => "GET /health failed".to_owned(),
        };
        if Instant::now() >= deadline {
            return Err(fail(format!(
                "the server was not ready after {:.0} s of waiting for GET /health to stop \
                 answering 503 (last: {last}); is it still loading the model? Wait for it, or \
                 raise the ready timeout",
                started.elapsed().as_secs_f64()
            )));
        }
        let pause = Duration::from_millis(250).min(deadline - Instant::now());
        tokio::time::sleep(pause).await;
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn number(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// SGLang's server settings, from `/server_info` (newest SGLang) or its deprecated alias
/// `/get_server_info` (`http_server.py`): JSON with `version` and a server argument such as
/// `tp_size` or `model_path`. Any other 200 (a catch-all proxy) is not SGLang.
async fn sglang_info(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    url: &str,
    timeout: Duration,
) -> Option<Value> {
    for path in ["/server_info", "/get_server_info"] {
        if let Ok((200, Some(info))) =
            get_json(client, auth, &format!("{url}{path}"), timeout).await
            && info.get("version").is_some()
            && (info.get("tp_size").is_some() || info.get("model_path").is_some())
        {
            return Some(info);
        }
    }
    None
}

/// vLLM's version, from `GET /version` (`entrypoints/openai/basic/api_router.py`): exactly
/// `{"version": "…"}`. The fallback for a vLLM behind a proxy that rewrites `owned_by` in
/// `/v1/models`; any other answer (a catch-all page, JSON with other keys) is not vLLM.
async fn vllm_version_of(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    url: &str,
    timeout: Duration,
) -> Option<String> {
    match get_json(client, auth, &format!("{url}/version"), timeout).await {
        Ok((200, Some(Value::Object(map)))) if map.len() == 1 => map
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// llama.cpp's `/props` (README `GET /props`): JSON with `total_slots` or
/// `default_generation_settings`.
async fn llama_props(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    url: &str,
    timeout: Duration,
) -> Option<Value> {
    match get_json(client, auth, &format!("{url}/props"), timeout).await {
        Ok((200, Some(props)))
            if props.get("total_slots").is_some()
                || props.get("default_generation_settings").is_some() =>
        {
            Some(props)
        }
        _ => None,
    }
}

async fn probe(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    config: &Config,
    url: &str,
) -> Result<ServerInfo, Error> {
    let timeout = config.connect_timeout + Duration::from_secs(20);
    let fail = |message: String| Error::Probe {
        endpoint: url.to_owned(),
        message,
    };
    wait_ready(client, auth, config, url).await?;
    let (status, models) = match get_json(client, auth, &format!("{url}/v1/models"), timeout).await
    {
        Ok(answer) => answer,
        Err(Fault::Timeout) => {
            return Err(fail(format!(
                "no answer to GET /v1/models within {} s; is the server still loading?",
                timeout.as_secs()
            )));
        }
        Err(Fault::Connection(message)) => {
            return Err(fail(format!(
                "cannot reach the server ({message}); is it running on this address?"
            )));
        }
        Err(_) => return Err(fail("GET /v1/models failed".into())),
    };
    if status == 401 || status == 403 {
        return Err(fail(format!(
            "the server refused the API key (HTTP {status}); set FORGE_API_KEY (or OPENAI_API_KEY)"
        )));
    }
    let first = models
        .as_ref()
        .filter(|_| status == 200)
        .and_then(|m| m.get("data"))
        .and_then(|d| d.get(0));
    let model = text(first.and_then(|m| m.get("id")));
    // vLLM and SGLang's `ModelCard.max_model_len`.
    let max_model_len = number(first.and_then(|m| m.get("max_model_len")));
    let by_owner = match first
        .and_then(|m| m.get("owned_by"))
        .and_then(Value::as_str)
    {
        Some("vllm") => Some(Dialect::Vllm),
        Some("sglang") => Some(Dialect::Sglang),
        Some("llamacpp") => Some(Dialect::LlamaCpp),
        _ => None,
    };
    let mut props = None;
    let mut sglang = None;
    let mut vllm_version = None;
    let server = match by_owner {
        Some(d) => d,
        None => {
            props = llama_props(client, auth, url, timeout).await;
            if props.is_some() {
                Dialect::LlamaCpp
            } else {
                sglang = sglang_info(client, auth, url, timeout).await;
                if sglang.is_some() {
                    Dialect::Sglang
                } else {
                    vllm_version = vllm_version_of(client, auth, url, timeout).await;
                    if vllm_version.is_some() {
                        Dialect::Vllm
                    } else {
                        Dialect::OpenAi
                    }
                }
            }
        }
    };
    let dialect = match config.dialect {
        Dialect::Auto if server == Dialect::OpenAi && first.is_none() => {
            return Err(fail(format!(
                "the capability probe could not tell which server this is (GET /v1/models \
                 answered HTTP {status}); choose the dialect explicitly (vllm, sglang, \
                 llama.cpp or openai)"
            )));
        }
        Dialect::Auto => server,
        explicit => explicit,
    };
    let mut info = ServerInfo {
        endpoint: url.to_owned(),
        dialect,
        server,
        model,
        slot_context: max_model_len,
        slots: None,
        version: vllm_version,
        caveats: Vec::new(),
    };
    match server {
        Dialect::LlamaCpp => {
            if props.is_none() {
                props = llama_props(client, auth, url, timeout).await;
            }
            read_llama_props(&mut info, props.as_ref());
        }
        Dialect::Sglang => {
            if sglang.is_none() {
                sglang = sglang_info(client, auth, url, timeout).await;
            }
            read_sglang_info(&mut info, sglang.as_ref());
        }
        Dialect::Vllm => info.caveats.push(
            "vLLM fills every sampling field a request leaves out from the model's \
             generation_config.json (e.g. top_k 20, repetition_penalty 1.05); forge sends \
             top_k -1, min_p 0, repetition_penalty 1 and no presence or frequency penalty, \
             overriding them"
                .into(),
        ),
        _ => info.caveats.push(
            "the server could not be identified: only the OpenAI API's sampling fields are \
             sent (temperature, top_p, seed, no presence or frequency penalty); any other \
             sampling default of the server (top-k, repetition penalty) applies, and the seed \
             may be ignored"
                .into(),
        ),
    }
    if dialect == Dialect::OpenAi && server == Dialect::LlamaCpp {
        info.caveats
            .push("llama.cpp's /v1/completions keeps only the low 32 bits of the seed".into());
    }
    Ok(info)
}

/// The neutral value forge sends for each llama.cpp sampling setting, under the name
/// `default_generation_settings` uses.
const LLAMA_NEUTRAL: [(&str, f64); 10] = [
    ("top_k", 0.0),
    ("min_p", 0.0),
    ("repeat_penalty", 1.0),
    ("presence_penalty", 0.0),
    ("frequency_penalty", 0.0),
    ("typical_p", 1.0),
    ("xtc_probability", 0.0),
    ("dry_multiplier", 0.0),
    ("mirostat", 0.0),
    ("top_n_sigma", -1.0),
];

/// Slot context and count from llama.cpp's `/props`, and the server defaults forge overrides.
fn read_llama_props(info: &mut ServerInfo, props: Option<&Value>) {
    let Some(props) = props else {
        info.caveats.push(
            "GET /props did not answer: the slot context is unknown, so a full context cannot \
             be foreseen"
                .into(),
        );
        return;
    };
    let settings = props.get("default_generation_settings");
    // `n_ctx` is per slot; newer servers nest the sampling settings under `params`.
    info.slot_context = number(settings.and_then(|s| s.get("n_ctx"))).or(info.slot_context);
    info.slots = number(props.get("total_slots"));
    info.version = text(props.get("build_info"));
    let params = settings.and_then(|s| s.get("params")).or(settings);
    let mut overridden = Vec::new();
    for (name, neutral) in LLAMA_NEUTRAL {
        if let Some(value) = params.and_then(|p| p.get(name)).and_then(Value::as_f64)
            && (value - neutral).abs() > 1e-6
        {
            // Rounded: the server reports its f32 settings widened (0.05 → 0.0500000007).
            let value = (value * 1e4).round() / 1e4;
            overridden.push(format!("{name} {value} → {neutral}"));
        }
    }
    if !overridden.is_empty() {
        info.caveats.push(format!(
            "the server's own sampling defaults (from its flags or the GGUF's \
             general.sampling.*) are overridden by forge's neutral values: {}",
            overridden.join(", ")
        ));
    }
}

/// Version, context and the seed caveat from SGLang's server settings.
fn read_sglang_info(info: &mut ServerInfo, settings: Option<&Value>) {
    let Some(settings) = settings else {
        info.caveats.push(
            "the server's settings (GET /server_info) could not be read, so forge cannot tell \
             whether seeds are honoured: SGLang ignores the seed unless it runs with \
             --enable-deterministic-inference (versions before late 2025 ignore it always); \
             runs may not be reproducible"
                .into(),
        );
        return;
    };
    info.version = text(settings.get("version"));
    info.slot_context = number(settings.get("context_length")).or(info.slot_context);
    if settings.get("enable_deterministic_inference") != Some(&Value::Bool(true)) {
        info.caveats.push(
            "SGLang ignores the seed unless the server runs with \
             --enable-deterministic-inference (sampling_batch_info.py builds no seeds \
             otherwise): runs against this server are not reproducible"
                .into(),
        );
    }
}
