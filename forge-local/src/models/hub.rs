//! The second source: the model file from the Hugging Face Hub.

use std::fs;
use std::path::{Path, PathBuf};

use super::download::{Fetcher, Item, join_url};
use super::{Error, HubFile, ModelSpec, Progress};

/// How many redirects within the Hub (a renamed repository) the check follows.
const MAX_HOPS: usize = 5;

impl Fetcher {
    /// The model from the Hub into `dir`: the address checked first (a HEAD request), then
    /// downloaded like the wheel (resumed, checked against the pinned digest) and renamed.
    /// The token goes with the requests to the Hub; `ureq` drops it on the redirect to the
    /// Hub's storage (which gets a signed address instead).
    pub(super) fn obtain_from_hub(
        &self,
        spec: &ModelSpec,
        hub: &HubFile,
        dir: &Path,
    ) -> Result<PathBuf, Error> {
        let url = self.check_hub(spec, hub, dir)?;
        let part = dir.join(format!("{}.hub.part", spec.file));
        let item = Item {
            name: spec.file,
            size: spec.size,
            sha256: spec.sha256,
        };
        self.download(spec, &item, &url, self.token.as_deref(), &part, dir)?;
        let dest = spec.path_in(self.cache());
        fs::rename(&part, &dest).map_err(Error::io(&dest))?;
        self.report(&Progress::Done { path: &dest });
        Ok(dest)
    }

    /// Ask the Hub about the file before downloading it: a missing file, a gated repository or
    /// another digest (the Hub's `X-Linked-Etag` / `X-Linked-Size` headers, sent with the
    /// redirect to its storage) fail here, without a download. Returns the address to download
    /// from: the file's, or where the Hub moved it (a renamed repository).
    fn check_hub(&self, spec: &ModelSpec, hub: &HubFile, dir: &Path) -> Result<String, Error> {
        let url = &hub.url(&self.hub);
        let refused = |message: String| Error::Index {
            spec: Box::new(*spec),
            url: url.to_owned(),
            message,
        };
        let mut at = url.to_owned();
        for _ in 0..MAX_HOPS {
            // Only redirects within the Hub are followed here: the token may go along.
            let mut request = self.agent.head(&at);
            if let Some(token) = &self.token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let response = request
                .config()
                .max_redirects(0)
                .build()
                .call()
                .map_err(|e| Self::unreachable(spec, dir, url, e))?;
            let status = response.status().as_u16();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim_matches('"').to_owned())
            };
            if let Some(etag) = header("x-linked-etag")
                && etag.len() == 64
                && !etag.eq_ignore_ascii_case(spec.sha256)
            {
                return Err(refused(format!(
                    "the Hub lists {} with SHA-256 {etag}, forge expects {}",
                    hub.path, spec.sha256
                )));
            }
            if let Some(size) = header("x-linked-size").and_then(|v| v.parse::<u64>().ok())
                && size != spec.size
            {
                return Err(refused(format!(
                    "the Hub lists {} with {size} bytes, forge expects {}",
                    hub.path, spec.size
                )));
            }
            match status {
                200..=299 => return Ok(at),
                300..=399 => {
                    let location = header("location").unwrap_or_default();
                    // A relative redirect stays on the Hub (a renamed repository): ask there.
                    // An absolute one leads to its storage: the GET follows it.
                    if location.starts_with('/') && header("x-linked-etag").is_none() {
                        at = join_url(&at, &location);
                        continue;
                    }
                    return Ok(at);
                }
                401 | 403 => {
                    let what = if self.token.is_some() {
                        "the token in HF_TOKEN was refused (does it grant access to this \
                         repository?)"
                    } else {
                        "the repository is gated or private: set HF_TOKEN to an access token"
                    };
                    return Err(refused(format!("HTTP status {status}: {what}")));
                }
                404 => {
                    return Err(refused(format!(
                        "HTTP status 404: no file {} at revision {} of {}",
                        hub.path, hub.revision, hub.repo
                    )));
                }
                _ => {
                    return Err(Self::unreachable(
                        spec,
                        dir,
                        url,
                        format!("HTTP status {status}"),
                    ));
                }
            }
        }
        Err(Self::unreachable(
            spec,
            dir,
            url,
            format!("more than {MAX_HOPS} redirects"),
        ))
    }
}
