//! `forge run --model`: the in-process engine's command-line errors.
#![cfg(feature = "local")]

use std::process::Command;

fn forge(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forge"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("forge runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_model_file_is_named_and_fails() {
    let dir = std::env::temp_dir().join(format!("forge-run-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("runs.jsonl");
    let missing = dir.join("no-such-model.gguf");
    let (code, stderr) = forge(&[
        "run",
        "--model",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "prompt=Why?",
        "--set",
        "min=2",
        "--set",
        "max=5",
        "--list",
        "constitution=../examples/representative.toml",
        "../examples/representative.toml",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    // An I/O error: exit status 2, as for every subcommand.
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot open") && stderr.contains("no-such-model.gguf"),
        "{stderr}"
    );
}

#[test]
fn model_and_endpoint_exclude_each_other() {
    let (code, stderr) = forge(&[
        "run",
        "--model",
        "m.gguf",
        "--endpoint",
        "http://127.0.0.1:9",
        "../examples/representative.toml",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--model") && stderr.contains("--endpoint"),
        "{stderr}"
    );
}

/// The representative workflow with its declared program (`at_most = 3` on its loop) on
/// SmolLM2 in process: every stream finishes, whatever the model writes, and runs the loop
/// body at most 3 times.
#[test]
fn the_representative_declared_program_finishes_every_stream_on_smollm2() {
    let Some(model) = std::env::var_os("FORGE_MODEL") else {
        eprintln!("skipped: FORGE_MODEL is not set; run `eval \"$(bash .ci/engines.sh model)\"`");
        return;
    };
    let dir = std::env::temp_dir().join(format!("forge-run-declared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let principles = dir.join("principles.txt");
    std::fs::write(
        &principles,
        (0..9)
            .map(|i| format!("Principle {i}: be honest.\n"))
            .collect::<String>(),
    )
    .unwrap();
    let out = dir.join("runs.jsonl");
    let (code, stderr) = forge(&[
        "run",
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--streams",
        "2",
        "--max-zone-tokens",
        "3",
        "--temperature",
        "0",
        "--set",
        "prompt=Why is the sky blue?",
        "--list",
        &format!("constitution={}", principles.display()),
        "../examples/representative.toml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["status"], "finished", "{line}");
        // The loop's control zone is the one zone of `loop_control` the model writes in.
        let control: Vec<&str> = line["visits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["sequence"] == "loop_control" && v["end"] != "forced")
            .map(|v| v["end"].as_str().unwrap())
            .collect();
        let body_runs = control.len() - 1;
        assert!((1..=3).contains(&body_runs), "{control:?}");
        assert!(
            matches!(*control.last().unwrap(), "jump" | "forced_jump"),
            "{control:?}"
        );
    }
}
