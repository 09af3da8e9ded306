//! The self-contained HTML page. Its style sheet and script are asset files
//! (`assets/page.css`, `assets/page.js`) embedded at build time; the colours come from
//! [`palette`], written into the page as CSS variables.

use std::fmt::Write as _;

use super::palette::{self, JUMP, LOOP, NEXT};
use super::*;

/// The page's style sheet (without the palette's variables, which [`palette::css`] writes).
pub(super) const HTML_CSS: &str = include_str!("assets/page.css");

/// The page's script. Kept free of the character sequence that would close a script element.
pub(super) const HTML_JS: &str = include_str!("assets/page.js");

/// Appends `s` escaped for HTML text and double- or single-quoted attribute values: `&`, `<`,
/// `>`, `"` and `'` become character references; control characters other than tab and line
/// breaks become control pictures (HTML forbids them).
pub(super) fn html_escape(s: &str, out: &mut String) {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep: &str = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            '\t' | '\n' | '\r' => continue,
            c if c.is_control() => {
                out.push_str(&s[last..i]);
                out.push(control_picture(c));
                last = i + c.len_utf8();
                continue;
            }
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + c.len_utf8();
    }
    out.push_str(&s[last..]);
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` are `\u` escapes, so
/// no text can close the script element.
fn script_json(value: &serde_json::Value) -> String {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the workflow as one self-contained HTML page.
///
/// The page makes no network request when viewed (no external script, style sheet, font or
/// image; a `Content-Security-Policy` of `default-src 'none'` enforces it) and has no
/// `http://` or `https://` reference. Layout, in graph order, one row per zone:
///
/// - a `START` row, then for each sequence run a coloured header row and its zones as
///   `<div class="z row cK" id="zI" data-n="NEXT" [data-j="JUMP"] … data-x="TEXT">LABEL…</div>`,
///   where `NEXT`/`JUMP` are zone indices or `end`; each row shows the short label
///   (`#12 setup b1 z2`), a tag badge, a tool badge and, for a zone with a jump edge, the
///   control pattern; its full text (`data-x`, HTML-escaped) is shown next to the row on hover
///   (plain CSS, works without script);
/// - an `END` row (`id="end"`).
///
/// An inline script draws the edges into one SVG behind the rows: *next* edges between
/// neighbouring rows as short solid grey arrows, other forward *next* edges as solid grey arcs on
/// the right; *jump* edges as dashed red arcs on the right, labelled with the control pattern
/// (on the left, thicker, when they go backwards); *loop-backs* as bold blue arcs on the left.
/// Clicking a zone (or opening `page.html#z12`) pins its details in a side panel: sequence,
/// block, instance, tags, advance pattern, generation limit, tool flags, links to its *next* and
/// *jump* targets, and the full text; its edges are highlighted. When the script has drawn the
/// graph it sets `data-rendered="ok"` on `<body>`; on an error it sets `data-error` and shows a
/// banner. The page stays usable with a hundred thousand zones: one element per row (plus one
/// per badge), one path for all neighbour edges, the texts in attributes.
pub fn to_html(w: &SampledWorkflow) -> String {
    let mut out = String::with_capacity(8192 + w.len() * 260 + w.text().len() * 11 / 10);
    let config = w.config();
    // Distinct sequences and advance patterns, so each row carries small indices.
    let mut sequences: Vec<&str> = Vec::new();
    let mut sequence_index: HashMap<&str, usize> = HashMap::new();
    let mut advances: Vec<&str> = Vec::new();
    let mut advance_index: HashMap<&str, usize> = HashMap::new();
    for z in w.zones() {
        for (name, list, index) in [
            (&*z.info.sequence, &mut sequences, &mut sequence_index),
            (&*z.info.advance, &mut advances, &mut advance_index),
        ] {
            if !index.contains_key(name) {
                index.insert(name, list.len());
                list.push(name);
            }
        }
    }
    let meta = serde_json::json!({
        "zones": w.len(),
        "entry": w.entry(),
        "control": config.control_pattern,
        "sequences": sequences,
        "advances": advances,
    });
    let jumps = w.zones().filter(|z| z.jump.is_some()).count();
    let runs = groups(w).len();
    let loops = w
        .zones()
        .filter(|z| matches!(z.next, Some(t) if t <= z.index))
        .count();

    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    // The script shows the zones once they are parsed; without it, CSS does.
    out.push_str("<noscript><style>#col{display:block}</style></noscript>\n");
    let _ = writeln!(out, "<title>forge workflow · {} zones</title>", w.len());
    out.push_str("<style>");
    palette::css(&mut out);
    out.push_str(HTML_CSS);
    out.push_str("</style>\n</head>\n<body>\n<header>\n<h1>forge workflow</h1>\n");
    let _ = write!(
        out,
        "<p>{} zones · {} sequence run{} · entry zone {} · <span id=\"counts\">{} jump, {} loop-back edges</span> · control pattern <code>",
        w.len(),
        runs,
        if runs == 1 { "" } else { "s" },
        w.entry(),
        jumps,
        loops
    );
    html_escape(&config.control_pattern, &mut out);
    out.push_str("</code></p>\n");
    if !w.extractions().is_empty() {
        out.push_str("<p>extractions: ");
        for (k, e) in w.extractions().iter().enumerate() {
            if k > 0 {
                out.push_str(" · ");
            }
            out.push_str("<b>");
            html_escape(&e.name, &mut out);
            out.push_str("</b> [");
            html_escape(&e.tags.join(", "), &mut out);
            let _ = write!(out, "] {} zones", e.zones.len());
        }
        out.push_str("</p>\n");
    }
    out.push_str("<div class=\"legend\">");
    let _ = write!(
        out,
        "<span><svg width=\"44\" height=\"12\" aria-hidden=\"true\"><path class=\"e e-next\" d=\"M2 6H36\"/><path class=\"heads\" d=\"M35 2l7 4l-7 4z\"/></svg>next</span>\
<span><svg width=\"44\" height=\"12\" aria-hidden=\"true\"><path class=\"e e-jump\" d=\"M2 6H36\"/><path d=\"M35 2l7 4l-7 4z\" fill=\"{JUMP}\"/></svg>jump (labelled with the control pattern)</span>\
<span><svg width=\"44\" height=\"12\" aria-hidden=\"true\"><path class=\"e e-loop\" d=\"M2 6H34\"/><path d=\"M33 1l9 5l-9 5z\" fill=\"{LOOP}\"/></svg>loop-back (to the same or an earlier zone)</span>\
<span>hover a zone for its text · click it for details</span>"
    );
    out.push_str("</div>\n</header>\n");
    out.push_str("<p id=\"error\" hidden></p>\n");
    out.push_str(
        "<noscript><p>Scripting is off: edges are not drawn; hover a zone to read its text.</p></noscript>\n",
    );
    out.push_str("<main>\n<div id=\"scroll\">\n<div id=\"col\" hidden>\n");
    // The edge layer: markers are static, paths are drawn by the script.
    let _ = writeln!(
        out,
        "<svg id=\"edges\" width=\"0\" height=\"0\" aria-hidden=\"true\"><defs>\
<marker id=\"mk-next\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{NEXT}\"/></marker>\
<marker id=\"mk-jump\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{JUMP}\"/></marker>\
<marker id=\"mk-loop\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"11\" markerHeight=\"11\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{LOOP}\"/></marker>\
</defs></svg>"
    );
    out.push_str("<div class=\"row term\" id=\"start\">START</div>\n");
    let colors = sequence_colors(w);
    let mut label = String::new();
    for (start, end) in groups(w) {
        let first = w.zone(start);
        let c = colors.get(&*first.sequence).copied().unwrap_or(11);
        let _ = write!(out, "<div class=\"row grp c{c}\">");
        html_escape(&first.sequence, &mut out);
        let _ = writeln!(out, "<small>zones {start}–{}</small></div>", end - 1);
        for i in start..end {
            let z = w.zone(i);
            let block_start = i != start && z.zone == 0;
            let _ = write!(
                out,
                "<div class=\"z row c{c}{}\" id=\"z{i}\" data-n=\"",
                if block_start { " bs" } else { "" }
            );
            match z.next {
                Some(t) => {
                    let _ = write!(out, "{t}");
                }
                None => out.push_str("end"),
            }
            out.push('"');
            if let Some(j) = &z.jump {
                match j.target {
                    Some(t) => {
                        let _ = write!(out, " data-j=\"{t}\"");
                    }
                    None => out.push_str(" data-j=\"end\""),
                }
            }
            let _ = write!(
                out,
                " data-s=\"{}\" data-a=\"{}\" data-m=\"{}\"",
                sequence_index.get(&*z.info.sequence).copied().unwrap_or(0),
                advance_index.get(&*z.info.advance).copied().unwrap_or(0),
                z.max_gen_tokens
            );
            if !z.tags.is_empty() {
                out.push_str(" data-t=\"");
                html_escape(&tag_list(&z), &mut out);
                out.push('"');
            }
            if z.input {
                out.push_str(" data-input=\"\"");
            }
            if z.output {
                out.push_str(" data-tool=\"");
                html_escape(z.tool.as_deref().unwrap_or(""), &mut out);
                out.push('"');
            }
            out.push_str(" data-x=\"");
            html_escape(z.text(), &mut out);
            out.push_str("\">");
            label.clear();
            short_label(&z, &mut label);
            html_escape(&label, &mut out);
            if !z.tags.is_empty() {
                out.push_str("<span class=\"t\">");
                html_escape(&tag_list(&z), &mut out);
                out.push_str("</span>");
            }
            if z.input {
                out.push_str("<span class=\"io\">⇠ tool</span>");
            }
            if z.output {
                out.push_str("<span class=\"io\">⇢ ");
                html_escape(z.tool.as_deref().unwrap_or(""), &mut out);
                out.push_str("</span>");
            }
            if z.jump.is_some() {
                out.push_str("<span class=\"j\">");
                html_escape(&jump_pattern(&z), &mut out);
                out.push_str("</span>");
            }
            out.push_str("</div>\n");
        }
    }
    out.push_str("<div class=\"row term\" id=\"end\">END</div>\n");
    out.push_str("</div>\n</div>\n");
    out.push_str(
        "<aside id=\"panel\">\n<h2 id=\"ptitle\">zone details</h2>\n<p id=\"phint\">Click a zone to pin its text, tags and edges here.</p>\n<dl id=\"pinfo\"></dl>\n<pre id=\"ptext\" hidden></pre>\n</aside>\n",
    );
    out.push_str("</main>\n");
    out.push_str("<script type=\"application/json\" id=\"forge-meta\">");
    out.push_str(&script_json(&meta));
    out.push_str("</script>\n<script>");
    out.push_str(HTML_JS);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}
