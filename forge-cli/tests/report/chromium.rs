//! The report page in a real browser (headless Chromium): it loads without a console error,
//! the transcript browser switches streams, and the search finds a known string.

use std::path::Path;

use super::*;

/// The DOM of `page#fragment` after its scripts ran, and Chromium's log. Fails after 120 s.
fn dump(page: &Path, fragment: &str) -> (String, String) {
    let profile = page.with_extension(format!("profile{}", fragment.len()));
    let extra = ["--dump-dom".to_owned()];
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

    // Loaded: the first stream is shown, every zone has its row and graph row.
    let (dom, _) = dump(&page, "");
    assert!(dom.contains("id=\"view\" data-stream=\"0\""), "{dom}");
    let zones = page_data(&page)["zones"].as_array().unwrap().len();
    for i in 0..zones {
        assert!(dom.contains(&format!("<tr id=\"zone{i}\"")), "zone row {i}");
        assert!(dom.contains(&format!(" id=\"g{i}\" ")), "graph row {i}");
    }
    assert!(dom.contains("data-end=\"limit\""), "stacked bars");
    assert!(dom.contains("class=\"when\""), "when counts");
    assert!(dom.contains("<td>generator</td>"), "failures");

    // The companion page drawn by `forge graph` renders too, with its edges.
    let (graph, _) = dump(&dir.join("report.graph.html"), "");
    assert!(
        graph.contains(" id=\"z0\" ") && graph.contains("<svg id=\"edges\""),
        "{graph}"
    );

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

    // A stream the page does not embed says how to browse it.
    let run = forge_in(
        &dir,
        &[
            "report",
            "run.jsonl",
            "--out",
            "small.html",
            "--transcripts",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    let (dom, _) = dump(&dir.join("small.html"), "#stream=3");
    assert!(
        dom.contains("Stream 3 is not embedded in this page"),
        "{dom}"
    );
}
