//! `forge report` and `forge export` on run files written by a scripted generator with known
//! end reasons: the figures embedded in the page, the terminal summary, bad input, and the
//! page in headless Chromium.

#[path = "../common/mod.rs"]
mod common;

mod chromium;
mod export;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{forge_in, scratch};
use forge_core::exec::{Output, RetryPolicy, RunOptions, Scripted, Tools};
use forge_core::program::{Program, Workflow};
use forge_core::resources::Bindings;
use forge_core::run::Run;
use serde_json::Value;

/// Zone 0 of a block is `[P]`; zone 1 ends with `[A]`. `tight` has a 5-token budget.
const DOC: &str = r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Q", "Ctl", "T"]
default_max_token_length = 50
sequences = ["q", "ctl", "tight"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]

[[q]]
text = "[P] q"
tags = [["Q"]]

[[ctl]]
text = "[P] more?"
tags = [["Ctl"]]

[[tight]]
text = "[P] t"
tags = [["T"]]
max_gen_tokens = 5
"#;

/// `loop(ctl, q)`, then `when(ctl, then tight, otherwise q)`; extractions `q` (tag Q) and
/// `t` (tag T).
fn workflow() -> Workflow {
    let doc = Arc::new(
        forge_core::udpl::parse_str(DOC, "report.toml")
            .unwrap()
            .document,
    );
    let mut p = Program::new(doc, Bindings::new()).unwrap();
    p.loop_("ctl", |b| {
        b.run("q")?;
        Ok(())
    })
    .unwrap();
    p.when(
        "ctl",
        |t| {
            t.run("tight")?;
            Ok(())
        },
        |o| {
            o.run("q")?;
            Ok(())
        },
    )
    .unwrap();
    p.extract("q", &["Q"]).unwrap();
    p.extract("t", &["T"]).unwrap();
    p.compile().unwrap()
}

/// Stream `i` loops `i % 3` times (body reply ` body{i}.{k} [A]`), then takes `then` (even
/// `i`: `tight` runs out of tokens on `abcdefghij`) or `otherwise` (odd `i`: ` odd{i} [A]`,
/// but stream 1 stops at ` odd1`: end of sequence).
/// Stream 5's first request fails.
fn script(i: usize) -> Vec<Output> {
    if i == 5 {
        return vec![Output::Fail("the server is down".into())];
    }
    let mut out = Vec::new();
    for k in 0..i % 3 {
        out.push(" go [A]".into());
        out.push(format!(" body{i}.{k} [A]").into());
    }
    out.push(" stop [J]".into());
    if i.is_multiple_of(2) {
        out.push(" yes [A]".into());
        out.push("abcdefghij".into());
    } else {
        out.push(" no [J]".into());
        // Stream 1's model ends its sequence without writing `[A]`.
        out.push(if i == 1 {
            " odd1".into()
        } else {
            format!(" odd{i} [A]").into()
        });
    }
    out
}

/// The run file of streams `0..n`.
fn run_bytes(n: usize) -> Vec<u8> {
    let w = workflow();
    let mut g = Scripted::new((0..n).map(script).collect::<Vec<_>>());
    let mut out = Vec::new();
    Run::new(&w, 7, 0..n as u64)
        .options(RunOptions {
            retry: RetryPolicy::NONE,
            max_in_flight: 2,
            ..RunOptions::default()
        })
        .tools(Tools::new(Vec::<String>::new()))
        .record("engine", serde_json::json!({ "kind": "scripted" }))
        .write(&mut g, &mut out)
        .unwrap();
    out
}

/// A folder holding `run.jsonl` (6 streams, stream 5 failed).
fn with_run(name: &str) -> PathBuf {
    let dir = scratch("report", name);
    std::fs::write(dir.join("run.jsonl"), run_bytes(6)).unwrap();
    dir
}

/// The data block of a report page.
fn page_data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = "<script type=\"application/json\" id=\"forge-report\">";
    let start = html.find(open).expect("the data block") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// The graph page inside a report page (its `<iframe srcdoc>`), unescaped.
fn graph_doc(html: &str) -> String {
    let open = "<iframe id=\"graph\" title=\"workflow graph\" srcdoc=\"";
    let start = html.find(open).expect("the graph's iframe") + open.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn zone<'v>(data: &'v Value, label: &str) -> &'v Value {
    data["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["label"].as_str().unwrap().ends_with(label))
        .unwrap_or_else(|| panic!("no zone {label}"))
}

#[test]
fn the_page_embeds_the_figures_of_the_run() {
    let dir = with_run("figures");
    let run = forge_in(&dir, &["report", "run.jsonl", "--out", "report.html"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stderr.contains("wrote `report.html`: 6 streams"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("warning: 3 of 3 visits of zone #")
            && run
                .stderr
                .contains("tight b0 z1 ended at the token limit: the model is not writing `[A]`"),
        "{run:#?}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("default-src 'none'"));

    let d = page_data(&dir.join("report.html"));
    assert_eq!(d["file"], "run.jsonl");
    assert_eq!(
        (
            d["streams"].as_u64(),
            d["finished"].as_u64(),
            d["failed"].as_u64()
        ),
        (Some(6), Some(5), Some(1))
    );
    assert_eq!(d["header"]["generator"]["engine"]["kind"], "scripted");
    assert_eq!(d["stopped"], Value::Null);

    let tight = zone(&d, "tight b0 z1");
    assert_eq!(tight["visits"], 3);
    assert_eq!(tight["ends"], serde_json::json!({ "limit": 3 }));
    assert_eq!(tight["limit_rate"], 1.0);
    assert_eq!(tight["tokens"]["sum"], 15);
    assert!(
        tight["warning"]
            .as_str()
            .unwrap()
            .contains("not writing `[A]`")
    );

    let ctl = &d["zones"][d["loops"][0]["control"].as_u64().unwrap() as usize];
    assert!(ctl["label"].as_str().unwrap().ends_with("ctl b0 z1"));
    assert_eq!(
        ctl["ends"],
        serde_json::json!({ "pattern": 4, "jump": 5, "unfinished": 1 })
    );
    assert_eq!(
        d["loops"][0]["iterations"]["buckets"],
        serde_json::json!([3, 2, 1])
    );
    // The `otherwise` branch's zone (the last): one pattern, one end of sequence.
    let last = &d["zones"][d["zones"].as_array().unwrap().len() - 1];
    assert!(last["label"].as_str().unwrap().ends_with("q b0 z1"));
    assert_eq!(last["ends"], serde_json::json!({ "pattern": 1, "eos": 1 }));
    assert_eq!(d["whens"][0]["then"], 3);
    assert_eq!(d["whens"][0]["otherwise"], 2);
    assert_eq!(d["failures"][0]["kind"], "generator");
    assert_eq!(d["failures"][0]["index"], 5);
    assert!(
        d["failures"][0]["example"]
            .as_str()
            .unwrap()
            .contains("the server is down")
    );

    // The graph: one row per zone, with the loop-back and the jump edges.
    assert_eq!(
        d["graph"].as_array().unwrap().len(),
        d["zones"].as_array().unwrap().len()
    );
    assert!(d["graph"][ctl["zone"].as_u64().unwrap() as usize]["control"] == "[J]");

    // forge's own graph page, inside the report, with the limit-hit zone shaded darkest; one
    // file: no companion page, no sidecar folder (every stream is embedded).
    let tight_zone = tight["zone"].as_u64().unwrap();
    let graph = graph_doc(&html);
    assert!(
        graph.contains(&format!("#z{tight_zone}{{background:hsl(0,75%,52%)}}")),
        "no shade"
    );
    assert!(graph.contains(" id=\"z0\" ") && graph.contains("<h1>forge workflow</h1>"));
    assert!(
        graph.contains(" data-x=\" t\""),
        "zone texts from the transcripts"
    );
    assert!(!dir.join("report.graph.html").exists());
    assert!(!dir.join("report.streams").exists());
    assert_eq!(d["sidecar"], Value::Null);

    // Transcripts in the shape of run-file lines, with extraction texts.
    let t = d["transcripts"].as_array().unwrap();
    assert_eq!(t.len(), 6);
    assert_eq!(t[2]["index"], 2);
    assert_eq!(
        t[2]["extractions"]["q"],
        serde_json::json!([" q body2.0 [A]", " q body2.1 [A]"])
    );
    assert_eq!(t[5]["status"], "failed");
    assert!(
        t[5]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream 5")
    );
    let kinds: Vec<&str> = t[0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"generated") && kinds.contains(&"forced_close"),
        "{kinds:?}"
    );
}

#[test]
fn the_page_embeds_a_bounded_sample_of_transcripts() {
    let dir = with_run("sample");
    let run = forge_in(
        &dir,
        &[
            "report",
            "run.jsonl",
            "--out",
            "r.html",
            "--transcripts",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let d = page_data(&dir.join("r.html"));
    // The first two, and the later failed one.
    let indices: Vec<u64> = d["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [0, 1, 5]);
    // The figures still cover every stream.
    assert_eq!(d["streams"], 6);
}

/// The streams of a sidecar file `forgeReportStreams(K,[...]);`, checking `K`.
fn sidecar_file(path: &Path, k: usize) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text
        .strip_prefix(&format!("forgeReportStreams({k},"))
        .and_then(|t| t.strip_suffix(");\n"))
        .unwrap_or_else(|| panic!("not a sidecar file {k}: {text}"));
    serde_json::from_str::<Vec<Value>>(body).unwrap()
}

#[test]
fn streams_beyond_the_sample_go_to_a_sidecar_folder() {
    let dir = with_run("sidecar");
    let report = |keep: &str| {
        let args = [
            "report",
            "run.jsonl",
            "--out",
            "r.html",
            "--transcripts",
            keep,
            "--chunk-bytes",
            "1",
        ];
        let run = forge_in(&dir, &args);
        assert_eq!(run.code, 0, "{run:#?}");
        run
    };
    // Embedded: 0, 1 and the failed 5; one file per stream for 2, 3 and 4.
    let run = report("2");
    assert!(
        run.stderr.contains(
            "wrote `r.html`: 6 streams, 3 transcripts embedded, 3 more in `r.streams` (3 files, loaded on demand)"
        ),
        "{run:#?}"
    );
    let d = page_data(&dir.join("r.html"));
    assert_eq!(
        d["sidecar"],
        serde_json::json!({ "dir": "r.streams", "firsts": [2, 3, 4] })
    );
    for (k, index) in [2, 3, 4].into_iter().enumerate() {
        let streams = sidecar_file(&dir.join(format!("r.streams/0000{k}.js")), k);
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0]["index"], index);
        assert_eq!(streams[0]["status"], "finished");
    }
    // The same shape as an embedded transcript: stream 3 from the sidecar equals stream 3
    // embedded by a page that keeps every stream.
    let sidecar_3 = sidecar_file(&dir.join("r.streams/00001.js"), 1).remove(0);
    let all = forge_in(&dir, &["report", "run.jsonl", "--out", "all.html"]);
    assert_eq!(all.code, 0, "{all:#?}");
    assert_eq!(
        page_data(&dir.join("all.html"))["transcripts"][3],
        sidecar_3
    );
    assert!(!dir.join("all.streams").exists());

    // Large files: one file for the three streams.
    let run = forge_in(
        &dir,
        &[
            "report",
            "run.jsonl",
            "--out",
            "big.html",
            "--transcripts",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let indices: Vec<Value> = sidecar_file(&dir.join("big.streams/00000.js"), 0)
        .iter()
        .map(|s| s["index"].clone())
        .collect();
    assert_eq!(indices, [2, 3, 4]);

    // A later report over the same folder removes the files it no longer needs, and leaves
    // the user's own files (and so the folder) alone.
    report("3");
    assert_eq!(
        page_data(&dir.join("r.html"))["sidecar"]["firsts"],
        serde_json::json!([3, 4])
    );
    assert!(!dir.join("r.streams/00002.js").exists());
    assert_eq!(
        sidecar_file(&dir.join("r.streams/00001.js"), 1)[0]["index"],
        4
    );
    std::fs::write(dir.join("r.streams/notes.txt"), "mine").unwrap();
    report("10");
    assert_eq!(page_data(&dir.join("r.html"))["sidecar"], Value::Null);
    let left: Vec<String> = std::fs::read_dir(dir.join("r.streams"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    std::fs::remove_file(dir.join("r.streams/notes.txt")).unwrap();
    report("2");
    report("10");
    assert!(!dir.join("r.streams").exists());
}

#[test]
fn the_terminal_summary_reads_without_colour() {
    let dir = with_run("terminal");
    let run = forge_in(&dir, &["report", "run.jsonl"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let s = &run.stdout;
    assert!(
        s.starts_with("run run.jsonl: 6 streams (5 finished, 1 failed) of range 0..6, seed 7"),
        "{s}"
    );
    assert!(s.contains("engine: {\"kind\":\"scripted\"}"), "{s}");
    assert!(
        s.contains(
            "limit 3  tokens mean 5.0 max 5  !! 100% at the limit: the model is not writing `[A]`"
        ),
        "{s}"
    );
    assert!(
        s.contains("ctl b0 z1 [Ctl]") && s.contains("pattern 4, jump 5, unfinished 1"),
        "{s}"
    );
    assert!(s.contains("2 visits  pattern 1, eos 1  tokens mean"), "{s}");
    assert!(s.contains("loops: body runs per stream\n"), "{s}");
    assert!(
        s.contains(": 6 streams, mean 0.67, min 0, max 2; exits: jump 5"),
        "{s}"
    );
    assert!(s.contains(": then 3, otherwise 2"), "{s}");
    assert!(
        s.contains("failures by kind\n  generator: 1 stream, e.g. stream 5"),
        "{s}"
    );
    assert!(!s.contains('\u{1b}'), "no escape codes");
}

#[test]
fn bad_input_is_reported_clearly() {
    let dir = with_run("bad");
    let bytes = std::fs::read(dir.join("run.jsonl")).unwrap();

    // Torn: the figures before the cut, a warning naming the line, exit 0.
    std::fs::write(dir.join("torn.jsonl"), &bytes[..bytes.len() - 7]).unwrap();
    let run = forge_in(&dir, &["report", "torn.jsonl"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("TORN at line 7"), "{run:#?}");
    assert!(
        run.stdout.starts_with("run torn.jsonl: 5 streams"),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("warning: `torn.jsonl` is torn at line 7"),
        "{run:#?}"
    );
    // The page: the same figures, the streams before the cut embedded or in the sidecar.
    let args = [
        "report",
        "torn.jsonl",
        "--out",
        "torn.html",
        "--transcripts",
        "2",
    ];
    let run = forge_in(&dir, &args);
    assert_eq!(run.code, 0, "{run:#?}");
    let d = page_data(&dir.join("torn.html"));
    assert_eq!(d["stopped"]["torn"], true);
    assert_eq!(d["stopped"]["line"], 7);
    assert_eq!(d["streams"], 5);
    assert_eq!(d["sidecar"]["firsts"], serde_json::json!([2]));
    let kept: Vec<Value> = sidecar_file(&dir.join("torn.streams/00000.js"), 0)
        .iter()
        .map(|s| s["index"].clone())
        .collect();
    assert_eq!(kept, [2, 3, 4]);

    // Cut inside the header: nothing to report, and said so.
    std::fs::write(dir.join("head.jsonl"), &bytes[..40]).unwrap();
    let run = forge_in(&dir, &["report", "head.jsonl", "--out", "head.html"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains(
            "error: `head.jsonl` line 1: the header line is incomplete (the file was cut while being written)"
        ),
        "{run:#?}"
    );
    assert!(!dir.join("head.html").exists());

    // Cut at a line end: not torn, but fewer streams than the range; said in the summary, on
    // stderr and in the page.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let cut: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("cut.jsonl"), cut).unwrap();
    let run = forge_in(&dir, &["report", "cut.jsonl"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let note = "the file holds 4 of the 6 streams of its range 0..6 (the run stopped early, or the file was cut at a line end); `forge run --resume` with the same arguments completes it";
    assert!(
        run.stdout.contains(&format!("\nINCOMPLETE: {note}\n")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains(&format!("warning: `cut.jsonl`: {note}")),
        "{run:#?}"
    );
    let run = forge_in(&dir, &["report", "run.jsonl"]);
    assert!(!run.stdout.contains("INCOMPLETE") && !run.stderr.contains("streams of its range"));

    // A bad line: figures up to it, exit 1.
    let text = String::from_utf8(bytes).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"index\":1}";
    std::fs::write(dir.join("badline.jsonl"), lines.join("\n") + "\n").unwrap();
    let run = forge_in(&dir, &["report", "badline.jsonl"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("error: `badline.jsonl` line 3: not a stream line of a run file"),
        "{run:#?}"
    );

    // An empty file, a dataset, a missing file: exit 2 and a clear message.
    std::fs::write(dir.join("empty.jsonl"), "").unwrap();
    let run = forge_in(&dir, &["report", "empty.jsonl"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("`empty.jsonl` line 1: the file is empty"),
        "{run:#?}"
    );

    let w = workflow();
    let header = forge_core::dataset::Header::new(&w, 3);
    let mut data = header.to_line().into_bytes();
    forge_core::dataset::write_range(&w, &header, 0..2, 1, |_| Bindings::new(), &mut data, |_| {})
        .unwrap();
    std::fs::write(dir.join("dataset.jsonl"), data).unwrap();
    let run = forge_in(&dir, &["report", "dataset.jsonl"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("`dataset.jsonl` line 1: this is a dataset"),
        "{run:#?}"
    );
    let run = forge_in(&dir, &["report", "dataset.jsonl", "--out", "dataset.html"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .contains("`dataset.jsonl` line 1: this is a dataset"),
        "{run:#?}"
    );
    assert!(!dir.join("dataset.html").exists() && !dir.join("dataset.streams").exists());

    let run = forge_in(&dir, &["report", "run.jsonl", "--out", "r.streams"]);
    common::assert_usage_error(
        &run,
        "a page named `*.streams` would be its own sidecar folder",
    );
    assert!(!dir.join("r.streams").exists());

    let run = forge_in(&dir, &["report", "missing.jsonl"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.contains("cannot read `missing.jsonl`"),
        "{run:#?}"
    );

    // A run of no streams: zeros.
    std::fs::write(dir.join("none.jsonl"), run_bytes(0)).unwrap();
    let run = forge_in(&dir, &["report", "none.jsonl", "--out", "none.html"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let d = page_data(&dir.join("none.html"));
    assert_eq!(
        (d["streams"].as_u64(), d["tokens"].as_u64()),
        (Some(0), Some(0))
    );
}
