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

/// A file that is not GGUF (or is cut short) is a one-line error naming the file, even with
/// `RUST_BACKTRACE=1`, under which candle attaches a backtrace to its errors.
#[test]
fn a_bad_gguf_file_is_one_line_without_a_backtrace() {
    let dir = std::env::temp_dir().join(format!("forge-run-bad-gguf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("runs.jsonl");
    let cut = [b"GGUF".as_slice(), &3u32.to_le_bytes(), &[7, 0, 0]].concat();
    for (name, bytes) in [
        ("not-gguf.gguf", b"this is not a model".to_vec()),
        ("cut.gguf", cut),
    ] {
        let model = dir.join(name);
        std::fs::write(&model, bytes).unwrap();
        let run = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args([
                "run",
                "--model",
                model.to_str().unwrap(),
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
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("forge runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with("error: model: ") && stderr.contains(name),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("not a readable GGUF file"),
            "{name}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A greedy in-process run of the real model (`FORGE_MODEL` if set, else the user cache, as
/// the main job and the engine's own tests get it), cut in a line and resumed: the same bytes
/// as the uninterrupted run.
#[test]
fn a_greedy_in_process_run_resumed_equals_the_uninterrupted_one() {
    let model = real_model();
    let model = model.to_str().unwrap().to_owned();
    let dir = std::env::temp_dir().join(format!("forge-run-local-greedy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("doc.toml"),
        r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Q"]
default_max_token_length = 6
sequences = ["q"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[q]]
text = "[P] Name a colour:"
tags = [["Q"]]
"#,
    )
    .unwrap();
    let run = |out: &str, resume: bool| {
        let mut args = vec![
            "run",
            "doc.toml",
            "--model",
            &model,
            "--temperature=0",
            "--streams=4",
            "--max-in-flight=1",
            out,
        ];
        if resume {
            args.push("--resume");
        }
        let out = Command::new(env!("CARGO_BIN_EXE_forge"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("forge runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("--out=whole.jsonl", false);
    let whole = std::fs::read_to_string(dir.join("whole.jsonl")).unwrap();
    assert_eq!(whole.lines().count(), 5);
    assert!(whole.contains("\"kind\":\"generated\""), "{whole}");
    let keep: usize = whole.lines().take(3).map(|l| l.len() + 1).sum::<usize>() + 25;
    std::fs::write(dir.join("cut.jsonl"), &whole[..keep]).unwrap();
    run("--out=cut.jsonl", true);
    let resumed = std::fs::read_to_string(dir.join("cut.jsonl")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(resumed, whole);
}

/// The representative workflow with its declared program (`at_most = 3` on its loop) on
/// SmolLM2 in process: every stream finishes, whatever the model writes, and runs the loop
/// body at most 3 times.
#[test]
fn the_representative_declared_program_finishes_every_stream_on_smollm2() {
    let model = real_model();
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
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let header = lines.next().expect("a header line");
    assert_eq!(header["format"], "forge-run", "{header}");
    let zones = header["workflow"]["zones"].as_array().unwrap().clone();
    let lines: Vec<serde_json::Value> = lines.collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["status"], "finished", "{line}");
        // The loop's control zone is the one zone of `loop_control` the model writes in.
        let sequence =
            |v: &serde_json::Value| zones[v["zone"].as_u64().unwrap() as usize]["sequence"].clone();
        let control: Vec<&str> = line["visits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| sequence(v) == "loop_control" && v["end"] != "forced")
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

/// The real SmolLM2 model: `FORGE_MODEL` if set, else the user cache (downloaded there on first
/// use), the same file the main job runs.
fn real_model() -> std::path::PathBuf {
    forge_local::models::resolve(None).unwrap_or_else(|e| panic!("{e}"))
}
