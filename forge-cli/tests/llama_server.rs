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
        .map(|l| l["stream"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..8).collect());
    for line in &written {
        let stream = &line["stream"];
        assert_eq!(line["status"], "finished", "stream {stream}");
        assert_eq!(line["endpoint"], url.as_str());
        // Every stream ends: the declared program's loop is bounded (`at_most = 3`), so the
        // path runs from the entry to the last zone (the final `conclude`).
        let path: Vec<u64> = line["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z.as_u64().unwrap())
            .collect();
        assert_eq!(path.first(), Some(&0), "stream {stream}");
        assert_eq!(
            path.last(),
            Some(&(tags.len() as u64 - 1)),
            "stream {stream}"
        );
        // Every zone's generated tokens are within its (capped) budget.
        let mut total = 0;
        for visit in line["visits"].as_array().unwrap() {
            let tokens = visit["tokens"].as_u64().unwrap();
            assert!(tokens <= CAP, "stream {stream}: {visit}");
            total += tokens;
        }
        assert_eq!(line["tokens"].as_u64().unwrap(), total);
        assert!(total > 0, "stream {stream} generated nothing");
        // Spans carry their zone's tags; generated text is there.
        let mut kinds = BTreeMap::new();
        for span in line["spans"].as_array().unwrap() {
            let zone = span["zone"].as_u64().unwrap() as usize;
            let span_tags: Vec<String> = serde_json::from_value(span["tags"].clone()).unwrap();
            assert_eq!(span_tags, tags[zone], "stream {stream}, zone {zone}");
            *kinds
                .entry(span["kind"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        assert!(
            kinds.contains_key("forced") && kinds.contains_key("generated"),
            "{kinds:?}"
        );
        // The declared extractions: one text per visit of a zone carrying their tags.
        let extractions = line["extractions"].as_object().unwrap();
        let visits = line["visits"].as_array().unwrap();
        for (name, wanted) in [
            ("training", &["Training"][..]),
            ("final", &["Final", "Correct"]),
        ] {
            let texts = extractions[name].as_array().unwrap();
            let tagged = visits
                .iter()
                .filter(|v| {
                    v["tags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|t| wanted.contains(&t.as_str().unwrap()))
                })
                .count();
            assert_eq!(texts.len(), tagged, "stream {stream}, extraction {name}");
            assert!(texts.iter().all(|t| !t.as_str().unwrap().is_empty()));
        }
    }

    // An existing file is not touched without --resume (or --force).
    let refused = run(&dir, &url, 10, false);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("pass --resume"), "{refused:#?}");

    // Resume: the finished streams are skipped and kept byte for byte.
    let before = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    let second = run(&dir, &url, 10, true);
    assert_eq!(second.code, 0, "{second:#?}");
    assert!(
        second
            .stderr
            .contains("2 finished, 0 failed, 8 already in the file"),
        "{second:#?}"
    );
    let after = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(lines(&dir).len(), 10);

    // A torn last line (a crash mid-write) is cut off and its stream runs again.
    let torn = &after[..after.len() - 40];
    std::fs::write(dir.join("out.jsonl"), torn).unwrap();
    let third = run(&dir, &url, 10, true);
    assert_eq!(third.code, 0, "{third:#?}");
    assert!(third.stderr.contains("torn line"), "{third:#?}");
    assert!(
        third
            .stderr
            .contains("1 finished, 0 failed, 9 already in the file"),
        "{third:#?}"
    );
    let repaired = lines(&dir);
    assert_eq!(repaired.len(), 10);
    let streams: BTreeSet<u64> = repaired
        .iter()
        .map(|l| l["stream"].as_u64().unwrap())
        .collect();
    assert_eq!(streams, (0..10).collect());
}
