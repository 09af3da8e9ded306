//! The report page in a real browser (headless Chromium): it loads without a console error,
//! the graph page inside it draws, the transcript browser switches streams (also to streams
//! read from the sidecar folder), and the search finds a known string (also in streams the
//! page does not embed).

use std::path::Path;

use super::*;

/// The DOM of `page#fragment` after its scripts ran (sidecar files loaded and searches done:
/// Chromium's virtual time runs until the page is idle), and Chromium's log. Fails after 120 s.
fn dump(page: &Path, fragment: &str) -> (String, String) {
    let profile = page.with_extension(format!("profile{}", fragment.len()));
    let extra = [
        "--virtual-time-budget=30000".to_owned(),
        "--dump-dom".to_owned(),
    ];
    let (dom, log) = common::chromium(page, fragment, &profile, &extra);
    let url = page.display();
    assert!(
        dom.contains("<body data-rendered=\"ok\">"),
        "the page's script did not finish on {url}:\n{log}\n{dom}"
    );
    assert!(!dom.contains("data-error="), "page error: {dom}");
    assert!(!log.contains("Uncaught"), "JavaScript error:\n{log}");
    assert!(!log.contains("forge report error"), "{log}");
    assert!(!log.contains("Content Security Policy"), "{log}");
    (dom, log)
}

#[test]
fn the_report_page_works_in_headless_chromium() {
    if !common::system_tool(common::CHROMIUM, "chromium") {
        return;
    }
    let dir = with_run("chromium");
    let run = forge_in(&dir, &["report", "run.jsonl", "--out", "report.html"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let page = dir.join("report.html");

    // Loaded: the first stream is shown, every zone has its row; the graph page inside the
    // report drew every zone and its edges.
    let (dom, _) = dump(&page, "");
    assert!(dom.contains("id=\"view\" data-stream=\"0\""), "{dom}");
    let zones = page_data(&page)["zones"].as_array().unwrap().len();
    for i in 0..zones {
        assert!(dom.contains(&format!("<tr id=\"zone{i}\"")), "zone row {i}");
    }
    assert!(
        dom.contains("<iframe id=\"graph\" title=\"workflow graph\" srcdoc=\"")
            && dom.contains(&format!(
                "data-rendered=\"ok\" data-zones=\"{zones}\" data-edges=\""
            )),
        "the graph page did not draw: {dom}"
    );
    let edges: usize = dom
        .split("data-edges=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(edges > 0, "no edges drawn");
    assert!(dom.contains("data-end=\"limit\""), "stacked bars");
    assert!(dom.contains("class=\"when\""), "when counts");
    assert!(dom.contains("<td>generator</td>"), "failures");

    // Switching streams: stream 3 (odd, so it took `otherwise`).
    let (dom, _) = dump(&page, "#stream=3");
    assert!(
        dom.contains("id=\"view\" data-stream=\"3\" data-status=\"finished\""),
        "{dom}"
    );
    assert!(dom.contains(" odd3 [A]"), "{dom}");
    assert!(
        dom.contains("<dd> q odd3 [A]</dd>"),
        "extractions beside it: {dom}"
    );

    // The failed stream shows its error.
    let (dom, _) = dump(&page, "#stream=5");
    assert!(
        dom.contains("data-stream=\"5\" data-status=\"failed\""),
        "{dom}"
    );
    assert!(dom.contains("the server is down"), "{dom}");

    // By status: the one failed stream is listed alone.
    let (dom, _) = dump(&page, "#status=failed");
    assert!(dom.contains("id=\"list\" data-count=\"1\""), "{dom}");
    assert!(dom.contains("<li data-index=\"5\" class=\"failed"), "{dom}");

    // Search: one stream holds `body2.1`; it is listed alone, shown, and the text marked.
    let (dom, _) = dump(&page, "#search=body2.1");
    assert!(dom.contains("id=\"list\" data-count=\"1\""), "{dom}");
    assert!(dom.contains("data-stream=\"2\""), "{dom}");
    assert!(dom.contains("<mark>body2.1</mark>"), "{dom}");

    // A torn file and a file cut at a line end: the page says so above its figures.
    let bytes = std::fs::read(dir.join("run.jsonl")).unwrap();
    std::fs::write(dir.join("torn.jsonl"), &bytes[..bytes.len() - 7]).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let cut: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("cut.jsonl"), cut).unwrap();
    for name in ["torn", "cut"] {
        let args = [
            "report",
            &format!("{name}.jsonl"),
            "--out",
            &format!("{name}.html"),
        ];
        let run = forge_in(&dir, &args);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    let (dom, _) = dump(&dir.join("torn.html"), "");
    assert!(
        dom.contains("id=\"stopped\">The file is torn at line 7: the line is incomplete"),
        "{dom}"
    );
    let (dom, _) = dump(&dir.join("cut.html"), "");
    assert!(
        dom.contains("id=\"incomplete\">The file holds 4 of the 6 streams of its range 0..6"),
        "{dom}"
    );

    // A stream outside the run says so.
    let (dom, _) = dump(&page, "#stream=60");
    assert!(
        dom.contains("Stream 60 is not in this run (6 streams from index 0)."),
        "{dom}"
    );
}

#[test]
fn streams_beyond_the_sample_load_from_the_sidecar_folder_in_headless_chromium() {
    if !common::system_tool(common::CHROMIUM, "chromium") {
        return;
    }
    // 300 streams: the page embeds the first 200 (the default); the other 100 are in small
    // sidecar files (4 KiB each, so a stream is found among many files).
    let dir = scratch("report", "chromium-sidecar");
    std::fs::write(dir.join("run.jsonl"), run_bytes(300)).unwrap();
    let args = [
        "report",
        "run.jsonl",
        "--out",
        "report.html",
        "--chunk-bytes",
        "4096",
    ];
    let run = forge_in(&dir, &args);
    assert_eq!(run.code, 0, "{run:#?}");
    let page = dir.join("report.html");
    let d = page_data(&page);
    assert_eq!(d["transcripts"].as_array().unwrap().len(), 200);
    let files = d["sidecar"]["firsts"].as_array().unwrap().len();
    assert!(files > 5, "{files} sidecar files");

    // Picking a stream that is not embedded loads its file and shows it, extractions beside.
    let (dom, _) = dump(&page, "#stream=299");
    assert!(
        dom.contains("id=\"view\" data-stream=\"299\" data-status=\"finished\""),
        "{dom}"
    );
    assert!(dom.contains(" odd299 [A]"), "{dom}");
    assert!(dom.contains("<dd> q odd299 [A]</dd>"), "{dom}");

    // The search covers every stream: `body250.0` is only in stream 250 (not embedded)...
    let (dom, _) = dump(&page, "#search=body250.0");
    assert!(dom.contains("id=\"list\" data-count=\"1\""), "{dom}");
    assert!(
        dom.contains(&format!(
            "data-done=\"1\">1 more in the streams not embedded (all {files} files searched)"
        )),
        "{dom}"
    );
    assert!(dom.contains("data-stream=\"250\""), "{dom}");
    assert!(dom.contains("<mark>body250.0</mark>"), "{dom}");
    // ... and `odd29` is in stream 29 (embedded) and 291, 293, ..., 299 (not embedded).
    let (dom, _) = dump(&page, "#search=odd29");
    assert!(dom.contains("id=\"list\" data-count=\"6\""), "{dom}");
    for i in [29, 291, 293, 295, 297, 299] {
        assert!(
            dom.contains(&format!("<li data-index=\"{i}\"")),
            "{i}: {dom}"
        );
    }

    // Without its folder, the page says where the streams are.
    std::fs::rename(dir.join("report.streams"), dir.join("moved.streams")).unwrap();
    let (dom, _) = dump(&page, "#stream=299");
    assert!(dom.contains("Cannot load report.streams/"), "{dom}");
    assert!(dom.contains("which must stay next to the page"), "{dom}");
}
