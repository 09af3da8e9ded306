//! `forge run` end to end against a real llama.cpp server (CI starts one and sets
//! `FORGE_LLAMA_URL`; run with `--ignored`). The model is small and rarely writes the zone
//! patterns itself, so every zone's budget is capped at 24 tokens and the assertions are about
//! structure, not text.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Run, forge_in};
use serde_json::Value;

const CAP: u64 = 24;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bindings the representative document needs, as `forge` options.
fn bindings(dir: &Path) -> Vec<String> {
    let principles: String = (0..20)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}.\n"))
        .collect();
    std::fs::write(dir.join("principles.txt"), principles).unwrap();
    [
        "--set=prompt=How do I keep a sourdough starter alive?",
        "--list=constitution=principles.txt",
        "--set=min=2",
        "--set=max=5",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run(dir: &Path, url: &str, streams: u32, resume: bool) -> Run {
    let doc = repo().join("examples/representative.toml");
    let mut args = vec![
        "run".to_owned(),
        doc.display().to_string(),
        format!("--endpoint={url}"),
        format!("--streams={streams}"),
        format!("--max-zone-tokens={CAP}"),
        "--temperature=0.8".to_owned(),
        "--seed=7".to_owned(),
        "--out=out.jsonl".to_owned(),
    ];
    if resume {
        args.push("--resume".to_owned());
    }
    args.extend(bindings(dir));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    forge_in(dir, &args)
}

/// Zone index → tags, from `forge render`'s headers.
fn zone_tags(dir: &Path) -> Vec<Vec<String>> {
    let doc = repo().join("examples/representative.toml");
    let mut args = vec!["render".to_owned(), doc.display().to_string()];
    args.extend(bindings(dir));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let render = forge_in(dir, &args);
    assert_eq!(render.code, 0, "{render:#?}");
    render
        .stdout
        .lines()
        .filter(|l| l.starts_with("--- zone "))
        .map(|l| {
            let tags = l.split(" · tags: ").nth(1).unwrap();
            let tags = tags.split(" · ").next().unwrap().trim_end_matches(" ---");
            if tags == "none" {
                Vec::new()
            } else {
                tags.split(", ").map(str::to_owned).collect()
            }
        })
        .collect()
}

fn lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("out.jsonl"))
        .unwrap()
        .lines()
        .skip(1) // the header
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

#[test]
#[ignore = "needs a running llama.cpp server: set FORGE_LLAMA_URL and pass --ignored"]
fn the_representative_workflow_runs_against_llama_server() {
    let url = std::env::var("FORGE_LLAMA_URL").expect("FORGE_LLAMA_URL is set");
    let dir = common::scratch("forge-cli-tests", "llama_server");
    let tags = zone_tags(&dir);
    assert!(tags.len() > 10, "{tags:?}");

    let first = run(&dir, &url, 8, false);
    assert_eq!(first.code, 0, "{first:#?}");
    eprintln!("{}", first.stderr.trim());
    assert!(first.stderr.contains("8 finished, 0 failed"), "{first:#?}");
    let written = lines(&dir);
    assert_eq!(written.len(), 8);
    let streams: BTreeSet<u64> = written
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..8).collect());
    for line in &written {
        let stream = &line["index"];
        assert_eq!(line["status"], "finished", "stream {stream}");
        assert_eq!(line["seed"], 7);
        // Every stream ends: the default program has no jump, so it visits every zone once.
        let path: Vec<u64> = line["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["zone"].as_u64().unwrap())
            .collect();
        assert_eq!(
            path,
            (0..tags.len() as u64).collect::<Vec<_>>(),
            "stream {stream}"
        );
        // Every zone's generated tokens are within its (capped) budget.
        let mut total = 0;
        for visit in line["visits"].as_array().unwrap() {
            let tokens = visit["tokens"].as_u64().unwrap();
            assert!(tokens <= CAP, "stream {stream}: {visit}");
            total += tokens;
        }
        assert!(total > 0, "stream {stream} generated nothing");
        // Spans name their zone; generated text is there.
        let mut kinds = BTreeMap::new();
        for span in line["spans"].as_array().unwrap() {
            let zone = span["zone"].as_u64().unwrap() as usize;
            assert!(zone < tags.len(), "stream {stream}, zone {zone}");
            *kinds
                .entry(span["kind"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        assert!(
            kinds.contains_key("forced") && kinds.contains_key("generated"),
            "{kinds:?}"
        );
        // One extraction per valid tag; tagged zones give texts.
        let extractions = line["extractions"].as_object().unwrap();
        for tag in ["Training", "Correct", "Incorrect", "Feedback", "Final"] {
            let texts = extractions[tag].as_array().unwrap();
            let zones = tags.iter().filter(|t| t.iter().any(|x| x == tag)).count();
            assert_eq!(texts.len(), zones, "stream {stream}, extraction {tag}");
            assert!(texts.iter().all(|t| !t.as_str().unwrap().is_empty()));
        }
    }

    // An existing file is not touched without --resume (or --force).
    let refused = run(&dir, &url, 8, false);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("pass --resume"), "{refused:#?}");

    // A cut file (a crash mid-write): --resume keeps the complete lines byte for byte, cuts
    // the torn one and runs the missing streams.
    let whole = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let keep: usize = whole.lines().take(7).map(|l| l.len() + 1).sum::<usize>() + 40;
    std::fs::write(dir.join("out.jsonl"), &whole[..keep]).unwrap();
    let second = run(&dir, &url, 8, true);
    assert_eq!(second.code, 0, "{second:#?}");
    assert!(second.stderr.contains("torn line"), "{second:#?}");
    assert!(
        second
            .stderr
            .contains("2 finished, 0 failed, 6 already in the file"),
        "{second:#?}"
    );
    let after = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let complete: usize = whole.lines().take(7).map(|l| l.len() + 1).sum();
    assert!(after.starts_with(&whole[..complete]));
    let repaired = lines(&dir);
    assert_eq!(repaired.len(), 8);
    let streams: BTreeSet<u64> = repaired
        .iter()
        .map(|l| l["index"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..8).collect());
}
