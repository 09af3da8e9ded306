//! `forge run --model` in a build without the `local` feature: a usage error that says how to
//! get the in-process engine (`cargo test -p forge-cli --no-default-features`).
#![cfg(not(feature = "local"))]

use std::process::Command;

#[test]
fn model_says_the_engine_is_not_built_in() {
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args([
            "run",
            "--model",
            "m.gguf",
            "--out",
            "runs.jsonl",
            "prompts.toml",
        ])
        .output()
        .expect("forge runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--model m.gguf: this forge was built without the in-process engine"),
        "{stderr}"
    );
    assert!(stderr.contains("`local` feature"), "{stderr}");
    assert!(!std::path::Path::new("runs.jsonl").exists());
}
