//! The self-contained HTML page of `forge report`. Its style sheet and script are asset files
//! (`page.css`, `page.js`) embedded at build time; everything the page shows comes from one
//! `<script type="application/json" id="forge-report">` block, which tests read back.
//!
//! The data block holds [`RunStats::to_json`](forge_core::run::RunStats::to_json) plus
//! `file` (the run file's name), `graph` (per zone its `next` and `jump` targets, `null` for
//! the end), `transcripts` (streams in the shape of their run-file lines) and `sidecar`
//! (`null`, or `{"dir": "NAME.streams", "firsts": [...]}`: the folder of the streams not
//! embedded and the index of the first stream of each of its files, see [`super::sidecar`]).
//!
//! The workflow graph is forge's own graph page ([`to_html`](forge_core::program::to_html)),
//! the one `forge graph --format html` prints, inside the report as an `<iframe srcdoc>`
//! (so its script and style sheet run unchanged, in their own document), with each zone's
//! background coloured by its limit-hit rate. The graph page needs a sampled workflow;
//! a run file holds the shape in its header and each stream's forced texts in its spans, so
//! the workflow is rebuilt (through the dataset reader, whose header carries the same shape)
//! with the zone texts of the first embedded stream that visited them.

use forge_core::dataset::DatasetReader;
use forge_core::exec::SpanKind;
use forge_core::program::to_html;
use serde_json::{Value, json};

use super::Pass;

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// The page for the file `name`; `folder` names its sidecar folder (used if `pass` wrote one).
pub(crate) fn page(name: &str, pass: &Pass, folder: &str) -> String {
    let meta = &pass.stats.header.workflow;
    let edges: Vec<Value> = meta
        .zones
        .iter()
        .map(|z| {
            json!({
                "next": z.next,
                "jump": z.jump.as_ref().map(|j| j.target),
                "control": z.jump.as_ref().map(|j| j.pattern.to_string()),
            })
        })
        .collect();
    let mut data = pass.stats.to_json();
    data["file"] = json!(name);
    data["graph"] = Value::Array(edges);
    data["transcripts"] = Value::Array(pass.transcripts.clone());
    data["sidecar"] = if pass.sidecar.is_empty() {
        Value::Null
    } else {
        json!({ "dir": folder, "firsts": pass.sidecar })
    };
    let graph = graph_page(pass);

    let mut out = String::with_capacity(
        16384 + data.to_string().len() + graph.as_ref().map_or(0, |g| g.len() * 11 / 10),
    );
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline' 'self' file:; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n<title>forge report · ");
    escape(name, &mut out);
    out.push_str("</title>\n<style>");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<header><h1>forge report · <code>");
    escape(name, &mut out);
    out.push_str(
        "</code></h1><p id=\"summary\"></p></header>\n\
<p id=\"error\" hidden></p>\n\
<noscript><p>This page needs scripting to draw its figures.</p></noscript>\n\
<div id=\"banners\"></div>\n\
<section><h2>Run</h2><div id=\"run\"></div></section>\n\
<section><h2>Zones</h2><p class=\"hint\">How each zone's visits ended (in graph order), and the tokens generated per visit.</p><div id=\"legend\"></div><table id=\"zones\"></table></section>\n\
<section><h2>Loops and <code>when</code></h2><div id=\"loops\"></div></section>\n\
<section><h2>Failures</h2><div id=\"failures\"></div></section>\n\
<section><h2>Workflow graph</h2><p class=\"hint\">The workflow as <code>forge graph</code> draws it, each zone coloured by the share of its visits that ended at the token limit (darker: more). Hover a zone for its text (from the first embedded stream that visited it), click it for details.</p>\n",
    );
    match &graph {
        Some(g) => {
            out.push_str("<iframe id=\"graph\" title=\"workflow graph\" srcdoc=\"");
            escape(g, &mut out);
            out.push_str("\"></iframe>");
        }
        None => out.push_str(
            "<p id=\"graph\" class=\"hint\">The workflow cannot be redrawn from this file's header.</p>",
        ),
    }
    out.push_str(
        "</section>\n\
<section id=\"browser\"><h2>Transcripts</h2>\n\
<div id=\"controls\"><label>stream <input id=\"pick\" type=\"number\" min=\"0\"></label> \
<label>status <select id=\"status\"><option value=\"\">any</option><option>finished</option><option>failed</option></select></label> \
<label>search <input id=\"search\" type=\"search\" placeholder=\"text in the transcript\"></label> \
<span id=\"sidestate\"></span></div>\n\
<div id=\"bcols\"><ol id=\"list\"></ol><div id=\"view\"><p class=\"hint\">Pick a stream.</p></div><aside id=\"extractions\"></aside></div>\n\
</section>\n",
    );
    out.push_str("<script type=\"application/json\" id=\"forge-report\">");
    script_json(&data, &mut out);
    out.push_str("</script>\n<script>");
    out.push_str(JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Appends `s` escaped for HTML text.
fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` are `\u` escapes, so
/// no text can close the script element.
fn script_json(value: &Value, out: &mut String) {
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

/// Forge's graph page of the run's workflow, each zone's background shaded by its limit-hit
/// rate; `None` if the workflow cannot be rebuilt (a hand-edited header).
fn graph_page(pass: &Pass) -> Option<String> {
    let header = &pass.stats.header;
    let run_header: Value = serde_json::from_str(&header.to_line()).ok()?;
    let zones = header.workflow.zones.len();
    // Each zone's forced text, from the first embedded stream that visited it (its first
    // visit there).
    let mut texts: Vec<Option<String>> = vec![None; zones];
    for t in &pass.transcripts {
        let mut first: Vec<Option<u64>> = vec![None; zones];
        for s in t["spans"].as_array()? {
            let zone = s["zone"].as_u64()? as usize;
            let visit = s["visit"].as_u64()?;
            if zone >= zones || texts[zone].is_some() && first[zone].is_none() {
                continue;
            }
            if *first[zone].get_or_insert(visit) != visit {
                continue;
            }
            let text = texts[zone].get_or_insert_with(String::new);
            if s["kind"] == json!(SpanKind::Forced) {
                text.push_str(s["text"].as_str()?);
            }
        }
    }
    let dataset_header = json!({
        "format": forge_core::dataset::FORMAT,
        "version": 2,
        "seed": header.seed,
        "extraction_texts": false,
        "workflow": run_header["workflow"],
    });
    let line = json!({
        "index": 0,
        "seed": header.seed,
        "zones": texts.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>(),
    });
    let file = format!("{dataset_header}\n{line}\n");
    let sample = DatasetReader::new(file.as_bytes())
        .ok()?
        .next()?
        .ok()?
        .sample;
    let mut html = to_html(&sample);
    let mut style = String::from("<style>");
    for z in &pass.stats.zones {
        if z.visits > 0 {
            let r = z.limit_rate();
            style.push_str(&format!(
                "#z{}{{background:hsl(0,75%,{:.0}%)}}",
                z.zone,
                97.0 - 45.0 * r
            ));
        }
    }
    style.push_str("</style>\n</head>");
    let at = html.find("</head>")?;
    html.replace_range(at..at + "</head>".len(), &style);
    Some(html)
}
