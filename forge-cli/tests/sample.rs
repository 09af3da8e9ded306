//! `forge sample`: byte-identical datasets for any thread count and across runs, interrupted
//! runs resumed to the same bytes, refusals and exit codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{FORGE, Run, forge_in, scratch};

/// The repository's representative document (one copy, in `examples/`), relative to
/// `fixtures()`.
const REPRESENTATIVE_TOML: &str = "../../../../examples/representative.toml";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/render")
}

/// `forge sample` of the representative fixture with every resource bound, writing `out`.
fn sample_args(out: &Path, count: u64, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "sample",
        "--set",
        "min=2",
        "--set",
        "max=5",
        "--set",
        "prompt=How do I keep a sourdough starter alive?",
        "--list",
        "constitution=principles.txt",
        "--seed",
        "11",
        "--count",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(count.to_string());
    args.push("--out".into());
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(REPRESENTATIVE_TOML.into());
    args
}

fn sample(out: &Path, count: u64, extra: &[&str]) -> Run {
    let args = sample_args(out, count, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    forge_in(&fixtures(), &args)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn the_file_is_byte_identical_for_any_thread_count_and_across_runs() {
    let dir = scratch("sample", "threads");
    let mut files = Vec::new();
    for (name, threads) in [("t1", "1"), ("t2", "2"), ("t7", "7"), ("t2-again", "2")] {
        let out = dir.join(format!("{name}.jsonl"));
        let run = sample(&out, 500, &["--threads", threads]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(run.stdout, "");
        // Not a terminal: no progress bar, only the summary line.
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "wrote samples 0..500 to `{}`: 500 samples in ",
                out.display()
            )),
            "{}",
            run.stderr
        );
        files.push(read(&out));
    }
    assert!(
        files.iter().all(|f| *f == files[0]),
        "thread counts or runs differ"
    );
    let text = String::from_utf8(files[0].clone()).unwrap();
    assert_eq!(text.lines().count(), 501);
    assert!(text.starts_with(
        "{\"format\":\"forge-dataset\",\"version\":2,\"seed\":11,\"extraction_texts\":false,"
    ));
    assert!(!text.lines().nth(1).unwrap().contains("\"extractions\""));
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("{\"index\":0,\"seed\":11,\"zones\":[\"[Prompt]\",")
    );
    // A different seed gives a different dataset.
    let other = dir.join("seed12.jsonl");
    let args = sample_args(&other, 500, &[]);
    let args: Vec<&str> = args
        .iter()
        .map(|a| if a == "11" { "12" } else { a.as_str() })
        .collect();
    assert_eq!(forge_in(&fixtures(), &args).code, 0);
    assert_ne!(read(&other), files[0]);

    // --extraction-texts: the same zones, each line also carrying the texts of the declared
    // extractions (by default one per valid tag), for any thread count.
    let mut with_texts = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("texts-{threads}.jsonl"));
        let run = sample(
            &out,
            50,
            &[
                "--threads",
                threads,
                "--extraction-texts",
                "--extract",
                "both=Training,Final",
            ],
        );
        assert_eq!(run.code, 0, "{run:#?}");
        with_texts.push(read(&out));
    }
    assert!(with_texts[0] == with_texts[1], "thread counts differ");
    let text = String::from_utf8(with_texts.swap_remove(0)).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["extraction_texts"], true);
    let extraction = &header["workflow"]["extractions"][0];
    assert_eq!(extraction["name"], "both");
    let zones: Vec<usize> = extraction["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_u64().unwrap() as usize)
        .collect();
    assert!(!zones.is_empty());
    let plain: Vec<&str> = std::str::from_utf8(&files[0]).unwrap().lines().collect();
    for (i, line) in lines.enumerate() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        let same: serde_json::Value = serde_json::from_str(plain[i + 1]).unwrap();
        assert_eq!(line["zones"], same["zones"], "sample {i}");
        let texts: Vec<&serde_json::Value> = zones.iter().map(|&z| &line["zones"][z]).collect();
        let listed: Vec<&serde_json::Value> = line["extractions"]["both"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(texts, listed, "sample {i}");
    }
}

#[test]
fn a_killed_run_resumed_gives_the_bytes_of_an_uninterrupted_one() {
    let dir = scratch("sample", "kill");
    let count = 20_000;
    let full = dir.join("full.jsonl");
    assert_eq!(sample(&full, count, &["--threads", "2"]).code, 0);
    let full = read(&full);

    let cut = dir.join("cut.jsonl");
    let mut child = Command::new(FORGE)
        .args(sample_args(&cut, count, &["--threads", "2"]))
        .current_dir(fixtures())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has written a few hundred samples.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&cut).map_or(0, |m| m.len()) < 400_000 {
        assert!(
            Instant::now() < deadline,
            "forge sample wrote nothing in 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = read(&cut);
    assert!(
        partial.len() < full.len(),
        "the run finished before it was killed; nothing was interrupted"
    );
    assert_eq!(
        &full[..partial.len()],
        &partial[..],
        "what was written is a prefix"
    );

    let run = sample(&cut, count, &["--resume", "--threads", "7"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("(resumed at sample "), "{}", run.stderr);
    assert!(
        read(&cut) == full,
        "resumed file differs from the uninterrupted one"
    );
}

#[test]
fn a_torn_last_line_is_detected_and_written_again() {
    let dir = scratch("sample", "torn");
    let full_path = dir.join("full.jsonl");
    assert_eq!(sample(&full_path, 60, &[]).code, 0);
    let full = read(&full_path);
    // Cut in the middle of sample 40's line.
    let starts: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    let cut_at = starts[40] + 25;
    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &full[..cut_at]).unwrap();
    let run = sample(&torn, 60, &["--resume"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr
            .contains("(resumed at sample 40; its incomplete line was written again)"),
        "{}",
        run.stderr
    );
    assert!(read(&torn) == full);
    // Resuming a complete file writes nothing; a longer --count extends it.
    let run = sample(&torn, 60, &["--resume"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("already holds 60 samples"),
        "{}",
        run.stderr
    );
    let longer = dir.join("longer.jsonl");
    assert_eq!(sample(&longer, 90, &[]).code, 0);
    assert_eq!(sample(&torn, 90, &["--resume"]).code, 0);
    assert!(read(&torn) == read(&longer));
    // --resume on a missing file starts it.
    let fresh = dir.join("fresh.jsonl");
    assert_eq!(sample(&fresh, 60, &["--resume"]).code, 0);
    assert!(read(&fresh) == full);
}

#[test]
fn existing_files_and_other_datasets_are_refused_without_losing_data() {
    let dir = scratch("sample", "refuse");
    let out = dir.join("data.jsonl");
    assert_eq!(sample(&out, 10, &[]).code, 0);
    let before = read(&out);
    // Exists: neither --resume nor --force.
    let run = sample(&out, 10, &[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("pass --resume to continue it or --force to overwrite it")
    );
    assert!(read(&out) == before);
    // Another seed: the header differs, named in the error.
    let args = sample_args(&out, 20, &["--resume"]);
    let args: Vec<&str> = args
        .iter()
        .map(|a| if a == "11" { "12" } else { a.as_str() })
        .collect();
    let run = forge_in(&fixtures(), &args);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(
            "this file belongs to another dataset: its `seed` is 11, the expected one 12"
        ),
        "{}",
        run.stderr
    );
    assert!(read(&out) == before);
    // Other resources: the generator record differs.
    let args = sample_args(&out, 20, &["--resume"]);
    let args: Vec<&str> = args
        .iter()
        .map(|a| if a == "min=2" { "min=3" } else { a.as_str() })
        .collect();
    let run = forge_in(&fixtures(), &args);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("`generator.resources.min.set` is \"2\", the expected one \"3\""),
        "{}",
        run.stderr
    );
    assert!(read(&out) == before);
    // --force overwrites.
    assert_eq!(sample(&out, 5, &["--force"]).code, 0);
    assert_eq!(String::from_utf8(read(&out)).unwrap().lines().count(), 6);
}

#[test]
fn unbound_resources_and_usage_errors_have_their_exit_codes() {
    let dir = scratch("sample", "errors");
    let out = dir.join("x.jsonl");
    let out_s = out.display().to_string();
    let run = forge_in(
        &fixtures(),
        &[
            "sample",
            "--count",
            "3",
            "--out",
            &out_s,
            REPRESENTATIVE_TOML,
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .starts_with("error: resources not bound by any --set or --list: `prompt` (argument)"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
    let run = forge_in(
        &fixtures(),
        &["sample", "--out", &out_s, REPRESENTATIVE_TOML],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--count <N>"), "{}", run.stderr);
    let run = sample(&out, 3, &["--threads", "0"]);
    assert_eq!(run.code, 2, "{run:#?}");
    let run = sample(&out, 3, &["--resume", "--force"]);
    assert_eq!(run.code, 2, "{run:#?}");
    // A missing list file is an I/O error.
    let args = sample_args(&out, 3, &[]);
    let args: Vec<&str> = args
        .iter()
        .map(|a| {
            if a == "constitution=principles.txt" {
                "constitution=missing.txt"
            } else {
                a.as_str()
            }
        })
        .collect();
    assert_eq!(forge_in(&fixtures(), &args).code, 2);
}

/// A `--list` file is read once, so it may be a pipe (`--list name=<(command)` in a shell):
/// the dataset is the one the same items in a regular file give.
#[test]
fn a_list_file_may_be_a_pipe() {
    let dir = scratch("sample", "pipe");
    let from_file = dir.join("file.jsonl");
    assert_eq!(sample(&from_file, 20, &[]).code, 0);
    let from_pipe = dir.join("pipe.jsonl");
    let args: Vec<String> = sample_args(&from_pipe, 20, &[])
        .into_iter()
        .map(|a| {
            if a == "constitution=principles.txt" {
                "constitution=/dev/stdin".into()
            } else {
                a
            }
        })
        .collect();
    let mut child = Command::new(FORGE)
        .args(&args)
        .current_dir(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let principles = std::fs::read(fixtures().join("principles.txt")).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &principles).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(read(&from_pipe) == read(&from_file));
}

#[test]
fn shards_written_apart_merge_into_the_single_process_file() {
    let dir = scratch("sample", "shards");
    let single = dir.join("single.jsonl");
    assert_eq!(sample(&single, 10_000, &[]).code, 0);
    let mut shards = Vec::new();
    for k in 0..4 {
        let out = dir.join(format!("shard{k}.jsonl"));
        let shard = format!("--shard={k}/4");
        let run = sample(&out, 10_000, &[&shard, "--threads=1"]);
        assert_eq!(run.code, 0, "{run:#?}");
        shards.push(out.display().to_string());
    }
    // `--range` gives the same shard; SLURM_ARRAY_TASK_ID the shard number.
    let ranged = dir.join("ranged.jsonl");
    assert_eq!(sample(&ranged, 10_000, &["--range=5000..7500"]).code, 0);
    assert!(read(&ranged) == read(Path::new(&shards[2])));
    let env = dir.join("env.jsonl");
    let args = sample_args(&env, 10_000, &["--shard=env/4"]);
    let status = Command::new(FORGE)
        .args(&args)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .current_dir(fixtures())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(read(&env) == read(Path::new(&shards[1])));

    let merged = dir.join("merged.jsonl");
    let mut args = vec!["merge".to_owned(), merged.display().to_string()];
    args.extend(shards.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = forge_in(&fixtures(), &args);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(read(&merged) == read(&single));

    // Another seed: refused, nothing written.
    let other = dir.join("other.jsonl");
    let mut args = sample_args(&other, 10_000, &["--shard=1/4"]);
    let seed = args.iter().position(|a| a == "11").unwrap();
    args[seed] = "12".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(forge_in(&fixtures(), &args).code, 0);
    let refused = dir.join("refused.jsonl");
    let run = forge_in(
        &fixtures(),
        &[
            "merge",
            &refused.display().to_string(),
            &shards[0],
            &other.display().to_string(),
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains("`seed` is 12, the expected one 11"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("nothing was written"), "{run:#?}");
    assert!(!refused.exists());
}
