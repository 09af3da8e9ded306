//! The capability probe: which kind of server an endpoint is, and which model it serves.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::client::{Fault, transport};
use crate::config::Config;
use crate::dialect::Dialect;
use crate::error::Error;

/// Checks every endpoint; returns the dialect (probed when `Auto`) and the first listed model.
pub(crate) async fn probe_all(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    config: &Config,
) -> Result<(Dialect, Option<String>), Error> {
    let mut found: Option<(Dialect, Option<String>, &str)> = None;
    for endpoint in &config.endpoints {
        let (dialect, model) = probe(client, auth, config, &endpoint.url).await?;
        match &found {
            Some((d, _, first)) if *d != dialect => {
                return Err(Error::Probe {
                    endpoint: endpoint.url.clone(),
                    message: format!(
                        "this endpoint is a {dialect} server but {first} is a {d} server; \
                         give endpoints of one kind, or choose the dialect explicitly"
                    ),
                });
            }
            Some(_) => {}
            None => found = Some((dialect, model, &endpoint.url)),
        }
    }
    let (dialect, model, _) = found.ok_or_else(|| Error::Config("no endpoint".into()))?;
    Ok((dialect, model))
}

/// `GET url` with the probe's timeout: the status and the JSON body (if it is JSON).
async fn get_json(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    url: &str,
    timeout: Duration,
) -> Result<(u16, Option<serde_json::Value>), Fault> {
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

async fn probe(
    client: &reqwest::Client,
    auth: Option<&HeaderValue>,
    config: &Config,
    url: &str,
) -> Result<(Dialect, Option<String>), Error> {
    let timeout = config.connect_timeout + Duration::from_secs(20);
    let fail = |message: String| Error::Probe {
        endpoint: url.to_owned(),
        message,
    };
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
    let model = first
        .and_then(|m| m.get("id"))
        .and_then(|id| id.as_str())
        .map(str::to_owned);
    if config.dialect != Dialect::Auto {
        return Ok((config.dialect, model));
    }
    let owner = first
        .and_then(|m| m.get("owned_by"))
        .and_then(|o| o.as_str());
    let by_owner = match owner {
        Some("vllm") => Some(Dialect::Vllm),
        Some("sglang") => Some(Dialect::Sglang),
        Some("llamacpp") => Some(Dialect::LlamaCpp),
        _ => None,
    };
    if let Some(d) = by_owner {
        return Ok((d, model));
    }
    if let Ok((200, Some(props))) = get_json(client, auth, &format!("{url}/props"), timeout).await
        && (props.get("total_slots").is_some()
            || props.get("default_generation_settings").is_some())
    {
        return Ok((Dialect::LlamaCpp, model));
    }
    if let Ok((200, _)) = get_json(client, auth, &format!("{url}/get_server_info"), timeout).await {
        return Ok((Dialect::Sglang, model));
    }
    if first.is_some() {
        return Ok((Dialect::OpenAi, model));
    }
    Err(fail(format!(
        "the capability probe could not tell which server this is (GET /v1/models answered \
         HTTP {status}); choose the dialect explicitly (vllm, sglang, llama.cpp or openai)"
    )))
}
