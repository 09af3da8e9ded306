//! Renderings of a [`SampledWorkflow`]: Graphviz DOT, Mermaid, and a self-contained HTML page.
//!
//! All three draw the same graph: one node per zone, an explicit `START` node pointing at the
//! entry zone and an explicit `END` node, and three kinds of edges, each drawn differently:
//!
//! | edge | what it is | DOT | Mermaid | HTML |
//! |---|---|---|---|---|
//! | *next* | the zone's advance edge, to a later zone or the end | solid grey | `-->` | solid grey line |
//! | *jump* | taken when the model emits the control pattern | dashed red, labelled with the pattern | `-.->` labelled | dashed red arc, labelled |
//! | *loop-back* | a *next* edge whose target index ≤ its source index | bold blue | `==>` labelled `loop` | bold blue arc |
//!
//! A jump edge that goes backwards keeps the jump style (dashed, labelled) and is drawn bold.
//! Nodes are grouped by *sequence run* (consecutive zones produced by one command on one
//! sequence) and labelled shortly, e.g. `#12 setup b1 z2` (zone 12, sequence `setup`, block 1,
//! zone 2 of the block; `i1` is added for the second instance of a repeated block), plus the
//! zone's tags. The full text, tags, advance pattern and generation limit are in the tooltip
//! (DOT, Mermaid) or on hover and click (HTML).
//!
//! Every function is O(zones) in time and output size, and none recurses, so a workflow of a
//! hundred thousand zones renders in well under a second. (Viewers have their own limits:
//! Mermaid refuses diagrams over its `maxTextSize`, 50,000 characters by default, and Graphviz
//! lays out large graphs slowly; the HTML page is built for large workflows.)
//!
//! ```
//! use forge::program::{Program, to_dot, to_html, to_mermaid};
//! use forge::resources::Bindings;
//!
//! let doc = forge::udpl::parse_str(r#"
//! [config]
//! zone_patterns = ["[Prompt]", "[Answer]"]
//! required_patterns = ["[Prompt]"]
//! valid_tags = ["Final"]
//! default_max_token_length = 50
//! sequences = ["ask"]
//! control_pattern = "[Jump]"
//! escape_patterns = ["[Escape]", "[EndEscape]"]
//!
//! [[ask]]
//! text = "[Prompt] Say \"hi\" <twice>. [Answer]"
//! tags = [["Final"]]
//! "#, "hi.toml")?.document;
//! let mut program = Program::new(doc, Bindings::new())?;
//! program.run("ask")?;
//! let sample = program.compile()?.sample_seeded(Bindings::new(), 0)?;
//!
//! assert!(to_dot(&sample).contains("  n1 -> END;\n"));
//! assert!(to_mermaid(&sample).contains("  n1 --> forge_end\n"));
//! assert!(to_html(&sample).contains("Say &quot;hi&quot; &lt;twice&gt;."));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{SampledWorkflow, SampledZone, ZoneId};

// ------------------------------------------------------------------------------ shared model

/// How an edge is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A forward *next* edge (or a *next* edge to the end).
    Next,
    /// A *jump* edge (taken on the control pattern).
    Jump,
    /// A *next* edge back to the same or an earlier zone.
    Loop,
}

/// One edge; `to == None` is the end.
#[derive(Clone, Copy, Debug)]
struct Edge {
    from: ZoneId,
    to: Option<ZoneId>,
    kind: Kind,
}

impl Edge {
    /// Whether the edge goes to the same or an earlier zone.
    fn backward(&self) -> bool {
        matches!(self.to, Some(t) if t <= self.from)
    }
}

/// The zone's outgoing edges: its *next* edge, then its *jump* edge if it has one.
fn edges_of(z: &SampledZone<'_>) -> impl Iterator<Item = Edge> {
    let from = z.index;
    let next = Edge {
        from,
        to: z.next,
        kind: match z.next {
            Some(t) if t <= from => Kind::Loop,
            _ => Kind::Next,
        },
    };
    let jump = z.jump.as_ref().map(|j| Edge {
        from,
        to: j.target,
        kind: Kind::Jump,
    });
    std::iter::once(next).chain(jump)
}

/// Runs of consecutive zones produced by one command on one sequence, as `start..end`.
///
/// A run starts at zone 0, where the sequence changes, and where a sequence starts over (its
/// block 0, instance 0, zone 0).
fn groups(w: &SampledWorkflow) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut start = 0u32;
    let mut prev: Option<&str> = None;
    for z in w.zones() {
        let restart = z.block == 0 && z.instance == 0 && z.zone == 0;
        if let Some(p) = prev
            && (p != &*z.sequence || restart)
        {
            out.push((start, z.index.get()));
            start = z.index.get();
        }
        prev = Some(&z.info.sequence);
    }
    if !w.is_empty() {
        out.push((start, w.len() as u32));
    }
    out
}

/// `#12 setup b1 z2` (with ` i1` after the block for instances other than the first).
fn short_label(z: &SampledZone<'_>, out: &mut String) {
    let _ = write!(out, "#{} {} b{}", z.index, z.sequence, z.block);
    if z.instance > 0 {
        let _ = write!(out, " i{}", z.instance);
    }
    let _ = write!(out, " z{}", z.zone);
}

/// `Training, Final`, or an empty string.
fn tag_list(z: &SampledZone<'_>) -> String {
    z.tags.join(", ")
}

fn target_name(t: Option<ZoneId>) -> String {
    match t {
        Some(t) => format!("zone {t}"),
        None => "END".to_owned(),
    }
}

/// The plain-text description used in DOT and Mermaid tooltips: a summary, a blank line, and
/// the zone's text.
fn summary(z: &SampledZone<'_>) -> String {
    let mut s = String::with_capacity(160 + z.text().len());
    let _ = write!(
        s,
        "zone {} · {} block {} instance {} zone {}\ntags: {}\nadvance: {} · max {} tokens",
        z.index,
        z.sequence,
        z.block,
        z.instance,
        z.zone,
        if z.tags.is_empty() {
            "none".to_owned()
        } else {
            tag_list(z)
        },
        z.advance,
        z.max_gen_tokens
    );
    if z.input {
        s.push_str("\ninput: fed the latest tool result");
    }
    if z.output {
        let _ = write!(
            s,
            "\noutput: generated text goes to tool `{}`",
            z.tool.as_deref().unwrap_or("?")
        );
    }
    let _ = write!(s, "\nnext → {}", target_name(z.next));
    if let Some(j) = &z.jump {
        let _ = write!(s, "\njump {} → {}", j.pattern, target_name(j.target));
    }
    s.push_str("\n\n");
    if z.text().is_empty() {
        s.push_str("(no text: the model generates this zone)");
    } else {
        s.push_str(z.text());
    }
    s
}

/// The Unicode "control picture" for a C0 control character or DEL (U+2400–U+2421), so control
/// characters stay visible and never reach a format that forbids them.
fn control_picture(c: char) -> char {
    match c as u32 {
        n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

/// A color class index (0..12) per sequence: its position in `config.sequences`.
fn sequence_colors(w: &SampledWorkflow) -> HashMap<&str, usize> {
    let mut map: HashMap<&str, usize> = HashMap::new();
    for (i, s) in w.config().sequences.iter().enumerate() {
        map.entry(s.as_str()).or_insert(i % PALETTE.len());
    }
    map
}

const PALETTE: [&str; 12] = [
    "#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#0a7c86", "#cf222e", "#6639ba",
    "#116329", "#953800", "#1b7c83", "#57606a",
];

const NEXT_COLOR: &str = "#57606a";
const JUMP_COLOR: &str = "#d1242f";
const LOOP_COLOR: &str = "#1f6feb";

// -------------------------------------------------------------------------------------- DOT

/// Appends `s` escaped for a double-quoted DOT string used as an escString (labels, tooltips):
/// `"` and `\` are backslash-escaped, line breaks become `\n`, `&` becomes `&amp;` (Graphviz
/// decodes HTML entities in labels), and control characters become control pictures.
fn dot_escape(s: &str, out: &mut String) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => out.push(control_picture(c)),
            c => out.push(c),
        }
    }
}

fn dot_quoted(s: &str, out: &mut String) {
    out.push('"');
    dot_escape(s, out);
    out.push('"');
}

/// The node id an edge leads to (`n12`), or the format's name for the end node.
fn edge_target(target: &mut String, to: Option<ZoneId>, end: &str) {
    target.clear();
    match to {
        Some(t) => {
            let _ = write!(target, "n{t}");
        }
        None => target.push_str(end),
    }
}

/// The pattern that takes a zone's jump edge ("" when it has none).
fn jump_pattern<'a>(z: &'a SampledZone<'_>) -> &'a str {
    z.jump.as_ref().map_or("", |j| &*j.pattern)
}

/// Renders the workflow as a Graphviz DOT digraph.
///
/// One node `nI` per zone, clustered by sequence run (`subgraph cluster_K`, labelled with the
/// sequence and its zone range), with a short label (`#12 setup b1 z2` and the zone's tags) and
/// the full text in the `tooltip`; a `START` node pointing at the entry and an `END` node
/// (double circle). Edges: *next* `nI -> nJ;` (solid), *jump*
/// `nI -> nJ [style=dashed, color="#d1242f", fontcolor="#d1242f", label="PATTERN"];`,
/// *loop-back* `nI -> nJ [style=bold, penwidth=2.5, color="#1f6feb", constraint=false];`
/// (a backward jump is `style="dashed,bold"` with `constraint=false`). All strings are escaped
/// (quotes, backslashes, newlines, `&`, control characters).
///
/// `dot -Tsvg workflow.dot > workflow.svg` draws it; the SVG shows the tooltips on hover.
pub fn to_dot(w: &SampledWorkflow) -> String {
    let mut out = String::with_capacity(256 + w.len() * 160 + w.text().len() * 11 / 10);
    let _ = writeln!(
        out,
        "// forge workflow: {} zones, entry zone {}",
        w.len(),
        w.entry()
    );
    out.push_str("digraph workflow {\n");
    out.push_str(
        "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, labelloc=t, label=\"forge workflow\"];\n",
    );
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#8c959f\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    let _ = writeln!(
        out,
        "  edge [color=\"{NEXT_COLOR}\", arrowsize=0.7, fontname=\"Helvetica\", fontsize=9];"
    );
    out.push_str(
        "  START [shape=oval, style=filled, fillcolor=\"#1f2328\", fontcolor=\"#ffffff\", label=\"START\"];\n",
    );
    out.push_str(
        "  END [shape=doublecircle, style=filled, fillcolor=\"#1f2328\", fontcolor=\"#ffffff\", label=\"END\"];\n",
    );
    let colors = sequence_colors(w);
    let mut label = String::new();
    for (k, (start, end)) in groups(w).into_iter().enumerate() {
        let first = w.zone(start);
        let color = PALETTE[colors.get(&*first.sequence).copied().unwrap_or(11)];
        let _ = write!(out, "  subgraph cluster_{k} {{\n    label=");
        dot_quoted(
            &format!("{} · zones {}–{}", first.sequence, start, end - 1),
            &mut out,
        );
        let _ = writeln!(
            out,
            "; style=\"rounded,filled\"; fillcolor=\"#f6f8fa\"; color=\"{color}\"; fontcolor=\"{color}\";"
        );
        for i in start..end {
            let z = w.zone(i);
            label.clear();
            short_label(&z, &mut label);
            if !z.tags.is_empty() {
                label.push('\n');
                label.push_str(&tag_list(&z));
            }
            let _ = write!(out, "    n{i} [label=");
            dot_quoted(&label, &mut out);
            out.push_str(", tooltip=");
            dot_quoted(&summary(&z), &mut out);
            if z.input || z.output {
                out.push_str(", peripheries=2");
            }
            out.push_str("];\n");
        }
        out.push_str("  }\n");
    }
    let _ = writeln!(out, "  START -> n{};", w.entry());
    let mut target = String::new();
    for z in w.zones() {
        for e in edges_of(&z) {
            edge_target(&mut target, e.to, "END");
            let _ = write!(out, "  n{} -> {target}", e.from);
            match e.kind {
                Kind::Next => out.push_str(";\n"),
                Kind::Loop => {
                    let _ = writeln!(
                        out,
                        " [style=bold, penwidth=2.5, color=\"{LOOP_COLOR}\", constraint=false];"
                    );
                }
                Kind::Jump => {
                    let pattern = jump_pattern(&z);
                    if e.backward() {
                        out.push_str(" [style=\"dashed,bold\", penwidth=2, constraint=false");
                    } else {
                        out.push_str(" [style=dashed");
                    }
                    let _ = write!(
                        out,
                        ", color=\"{JUMP_COLOR}\", fontcolor=\"{JUMP_COLOR}\", label="
                    );
                    dot_quoted(pattern, &mut out);
                    out.push_str("];\n");
                }
            }
        }
    }
    out.push_str("}\n");
    out
}

// ---------------------------------------------------------------------------------- Mermaid

/// Appends `s` for a Mermaid label, edge text or tooltip. Only ASCII letters, digits, spaces
/// and `.,_-/` are written as is; every other ASCII character becomes a Mermaid entity code
/// (`"` → `#34;`, `[` → `#91;`, `#` → `#35;`, …), so no text can end a string, open a shape or
/// form a comment; line breaks become `↵ `, control characters control pictures. Other Unicode
/// is written as is.
fn mermaid_escape(s: &str, out: &mut String) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | ' ' | '.' | ',' | '_' | '-' | '/' => out.push(c),
            '\n' => out.push_str("↵ "),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("↵ ");
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => out.push(control_picture(c)),
            c if c.is_ascii() => {
                let _ = write!(out, "#{};", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Renders the workflow as a Mermaid flowchart (`flowchart TD`).
///
/// One node `nI["…"]` per zone inside a `subgraph gK ["…"]` per sequence run, plus
/// `forge_start(["START"])` and `forge_end(["END"])` (ids that avoid Mermaid's `end`
/// keyword). Edges: *next* `nI --> nJ`, *jump* `nI -.->|PATTERN| nJ` (dotted, labelled, red via
/// `linkStyle`), *loop-back* `nI ==>|loop| nJ` (thick, blue). Each zone gets
/// `click nI "#zI" "TOOLTIP"` with its tags and full text. Labels and tooltips are escaped with
/// Mermaid entity codes (`#34;` for `"`, `#91;` for `[`, …), line breaks are shown as `↵`.
///
/// Mermaid renders tooltips only with `securityLevel: "loose"` or `"antiscript"`, and refuses
/// diagrams larger than its `maxTextSize` (50,000 characters by default).
pub fn to_mermaid(w: &SampledWorkflow) -> String {
    let mut out = String::with_capacity(256 + w.len() * 140 + w.text().len() * 12 / 10);
    let _ = writeln!(
        out,
        "%% forge workflow: {} zones, entry zone {}",
        w.len(),
        w.entry()
    );
    out.push_str("flowchart TD\n");
    out.push_str("  forge_start([\"START\"])\n");
    let mut label = String::new();
    for (k, (start, end)) in groups(w).into_iter().enumerate() {
        let first = w.zone(start);
        let _ = write!(out, "  subgraph g{k} [\"");
        mermaid_escape(&first.sequence, &mut out);
        let _ = writeln!(out, " · zones {start}–{}\"]", end - 1);
        for i in start..end {
            let z = w.zone(i);
            label.clear();
            short_label(&z, &mut label);
            if !z.tags.is_empty() {
                label.push_str(" · ");
                label.push_str(&tag_list(&z));
            }
            let _ = write!(out, "    n{i}[\"");
            mermaid_escape(&label, &mut out);
            out.push_str("\"]\n");
        }
        out.push_str("  end\n");
    }
    out.push_str("  forge_end([\"END\"])\n");
    let _ = writeln!(out, "  forge_start --> n{}", w.entry());
    // linkStyle indexes edges in order of definition; the START edge is 0.
    let mut index = 1usize;
    let mut jumps: Vec<usize> = Vec::new();
    let mut loops: Vec<usize> = Vec::new();
    let mut target = String::new();
    for z in w.zones() {
        for e in edges_of(&z) {
            edge_target(&mut target, e.to, "forge_end");
            let _ = write!(out, "  n{} ", e.from);
            match e.kind {
                Kind::Next => out.push_str("-->"),
                Kind::Loop => {
                    out.push_str("==>|loop|");
                    loops.push(index);
                }
                Kind::Jump => {
                    out.push_str("-.->|");
                    let pattern = jump_pattern(&z);
                    mermaid_escape(pattern, &mut out);
                    out.push('|');
                    jumps.push(index);
                }
            }
            let _ = writeln!(out, " {target}");
            index += 1;
        }
    }
    for z in w.zones() {
        let _ = write!(out, "  click n{} \"#z{}\" \"", z.index, z.index);
        mermaid_escape(&summary(&z), &mut out);
        out.push_str("\"\n");
    }
    out.push_str("  classDef term fill:#1f2328,stroke:#1f2328,color:#ffffff\n");
    out.push_str("  class forge_start,forge_end term\n");
    let mut link_style = |indices: &[usize], style: &str| {
        // Long index lists are split over several statements.
        for chunk in indices.chunks(500) {
            out.push_str("  linkStyle ");
            for (k, i) in chunk.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{i}");
            }
            let _ = writeln!(out, " {style}");
        }
    };
    link_style(
        &jumps,
        &format!("stroke:{JUMP_COLOR},stroke-width:2px,color:{JUMP_COLOR}"),
    );
    link_style(
        &loops,
        &format!("stroke:{LOOP_COLOR},stroke-width:3px,color:{LOOP_COLOR}"),
    );
    out
}

// ------------------------------------------------------------------------------------- HTML

/// Appends `s` escaped for HTML text and double- or single-quoted attribute values: `&`, `<`,
/// `>`, `"` and `'` become character references; control characters other than tab and line
/// breaks become control pictures (HTML forbids them).
fn html_escape(s: &str, out: &mut String) {
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

const HTML_CSS: &str = r##"
:root{--next:#57606a;--jump:#d1242f;--loop:#1f6feb;--line:#d0d7de;--bg:#f6f8fa;--fg:#1f2328}
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header{padding:8px 16px;border-bottom:1px solid var(--line);background:var(--bg)}
header h1{font-size:16px;margin:0 0 2px}
header p{margin:2px 0;color:#57606a}
.legend{display:flex;gap:18px;align-items:center;margin-top:4px;flex-wrap:wrap}
.legend span{display:inline-flex;align-items:center;gap:6px}
#error{margin:0;padding:8px 16px;background:#ffebe9;color:#82071e;border-bottom:1px solid #ff8182;font-weight:600}
main{flex:1;display:flex;min-height:0}
#scroll{flex:1;overflow:auto;position:relative}
#col{position:relative;padding:16px 0 48px;min-width:800px}
#edges{position:absolute;left:0;top:0;pointer-events:none;overflow:visible}
.row{position:relative;margin-left:150px;width:340px;z-index:1}
.z{height:26px;margin-bottom:12px;padding:3px 8px;border:1px solid var(--line);border-left:6px solid var(--c);border-radius:5px;background:#fff;white-space:nowrap;cursor:pointer;display:flex;gap:6px;align-items:center}
.z:hover{z-index:20;border-color:var(--c)}
.z.sel,.z:target{background:#fff8c5;border-color:#d4a72c;border-left-color:var(--c)}
.z .t{font-size:11px;padding:0 5px;border-radius:9px;background:#ddf4ff;color:#0550ae;flex:none}
.z .io{font-size:11px;padding:0 5px;border-radius:9px;background:#fbefff;color:#8250df;flex:none}
.z .j{font-size:11px;color:var(--jump);flex:none}
.z:hover::after{content:attr(data-x);position:absolute;left:calc(100% + 12px);top:-6px;width:min(440px,45vw);max-height:420px;overflow:auto;padding:8px 10px;white-space:pre-wrap;word-break:break-word;background:#fffdf0;color:var(--fg);border:1px solid #d4a72c;border-radius:6px;box-shadow:0 4px 14px rgba(0,0,0,.15);font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;cursor:text}
.z[data-x=""]:hover::after,#ptext:empty::before{content:"(no text: the model generates this zone)";color:#57606a;font-style:italic}
.z.bs{margin-top:18px}
.grp{height:24px;margin-top:22px;margin-bottom:10px;padding:2px 8px;font-weight:600;color:#fff;background:var(--c);border-radius:5px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.grp small{font-weight:400;opacity:.85;margin-left:6px}
.term{height:30px;width:120px;margin-bottom:12px;border-radius:15px;background:#1f2328;color:#fff;text-align:center;line-height:30px;font-weight:700;letter-spacing:.05em}
#end{margin-top:22px}
#panel{width:360px;flex:none;overflow:auto;border-left:1px solid var(--line);background:var(--bg);padding:12px 16px}
#panel h2{font-size:15px;margin:0 0 6px}
#panel dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0 0 10px}
#panel dt{color:#57606a}
#panel dd{margin:0;word-break:break-word}
#ptext{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:0;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.e{fill:none}
.e-next{stroke:var(--next);stroke-width:1.5}
.e-jump{stroke:var(--jump);stroke-width:1.6;stroke-dasharray:7 4}
.e-jump.back{stroke-width:2.6}
.e-loop{stroke:var(--loop);stroke-width:3}
.e.hl{stroke-width:4}
.heads{fill:var(--next);stroke:none}
.lbl{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:var(--jump);paint-order:stroke;stroke:#fff;stroke-width:3px}
.c0{--c:#0969da}.c1{--c:#8250df}.c2{--c:#1a7f37}.c3{--c:#bf3989}.c4{--c:#9a6700}.c5{--c:#0a7c86}
.c6{--c:#cf222e}.c7{--c:#6639ba}.c8{--c:#116329}.c9{--c:#953800}.c10{--c:#1b7c83}.c11{--c:#57606a}
"##;

/// The page's script. Kept free of the character sequence that would close a script element.
const HTML_JS: &str = r##"
(function () {
  "use strict";
  // The zones are hidden while the page is parsed (laying out a growing column of 100,000
  // rows again and again is slow); show them first, before anything can fail.
  var col = document.getElementById("col");
  col.hidden = false;
  var body = document.body;
  function fail(msg) {
    body.setAttribute("data-error", msg);
    var b = document.getElementById("error");
    if (b) { b.textContent = "forge: the graph could not be drawn: " + msg; b.hidden = false; }
    if (window.console) { console.error("forge render error: " + msg); }
  }
  window.addEventListener("error", function (e) { fail(String(e.message || e)); });

  var meta = JSON.parse(document.getElementById("forge-meta").textContent);
  var svg = document.getElementById("edges");
  var NS = svg.namespaceURI;
  var rows = col.getElementsByClassName("z");
  var n = rows.length;
  var startRow = document.getElementById("start");
  var endRow = document.getElementById("end");

  function target(v) { return v === "end" ? n : +v; }

  function draw() {
    var first = rows[0];
    var L = first.offsetLeft, R = L + first.offsetWidth, h = first.offsetHeight;
    var tops = new Float64Array(n + 2);
    for (var i = 0; i < n; i++) { tops[i] = rows[i].offsetTop; }
    tops[n] = endRow.offsetTop;
    var startTop = startRow.offsetTop, startH = startRow.offsetHeight, endH = endRow.offsetHeight;
    var startR = startRow.offsetLeft + startRow.offsetWidth, endR = endRow.offsetLeft + endRow.offsetWidth;
    function rightOf(i) { return i === n ? endR : i < 0 ? startR : R; }
    function mid(i) { return i === n ? tops[n] + endH / 2 : i < 0 ? startTop + startH / 2 : tops[i] + h / 2; }
    function topOf(i) { return tops[i]; }
    function bottomOf(i) { return i < 0 ? startTop + startH : tops[i] + h; }
    var x = L + 24;
    var straight = [], heads = [];
    var counts = { next: 0, jump: 0, loop: 0 };
    var frag = document.createDocumentFragment();
    function line(from, to) {
      var y1 = bottomOf(from), y2 = topOf(to);
      straight.push("M" + x + " " + y1 + "V" + (y2 - 6));
      heads.push("M" + (x - 4) + " " + (y2 - 7) + "h8l-4 7z");
    }
    function off(span, base, step, cap) { return Math.min(cap, base + step * Math.log2(span + 1)); }
    function arc(cls, from, to, label) {
      var y1 = mid(from), y2 = mid(to), span = Math.abs(to - from), d;
      var back = to <= from && from >= 0;
      if (cls === "e-loop" || back) {
        var o = off(span, 26, 16, 150);
        if (to === from) {
          d = "M" + L + " " + (y1 - 5) + "C" + (L - 44) + " " + (y1 - 30) + " " + (L - 44) + " " + (y1 + 30) + " " + (L - 2) + " " + (y1 + 5);
        } else {
          d = "M" + L + " " + y1 + "C" + (L - o) + " " + y1 + " " + (L - o) + " " + y2 + " " + (L - 2) + " " + y2;
        }
      } else {
        var o2 = cls === "e-jump" ? off(span, 44, 16, 260) : off(span, 22, 12, 180);
        var x1 = rightOf(from), x2 = rightOf(to);
        d = "M" + x1 + " " + y1 + "C" + (R + o2) + " " + y1 + " " + (R + o2) + " " + y2 + " " + (x2 + 2) + " " + y2;
      }
      var p = document.createElementNS(NS, "path");
      p.setAttribute("class", "e " + cls + (back && cls === "e-jump" ? " back" : ""));
      p.setAttribute("d", d);
      p.setAttribute("data-from", from < 0 ? "start" : String(from));
      p.setAttribute("data-to", to === n ? "end" : String(to));
      p.setAttribute("marker-end", "url(#mk-" + cls.slice(2) + ")");
      frag.appendChild(p);
      if (label) {
        var t = document.createElementNS(NS, "text");
        t.setAttribute("class", "lbl");
        var lx = back ? L - off(span, 26, 16, 150) * 0.75 - 6 : R + off(span, 44, 16, 260) * 0.75 + 6;
        t.setAttribute("x", String(lx));
        t.setAttribute("y", String((y1 + y2) / 2 + 4));
        if (back) { t.setAttribute("text-anchor", "end"); }
        t.textContent = label;
        frag.appendChild(t);
      }
    }
    // START -> entry
    if (meta.entry === 0) { line(-1, 0); } else { arc("e-next", -1, meta.entry, null); }
    for (var k = 0; k < n; k++) {
      var row = rows[k];
      var t = target(row.getAttribute("data-n"));
      if (t <= k) { arc("e-loop", k, t, null); counts.loop++; }
      else if (t === k + 1) { line(k, t); counts.next++; }
      else { arc("e-next", k, t, null); counts.next++; }
      var j = row.getAttribute("data-j");
      if (j !== null) { arc("e-jump", k, target(j), meta.control); counts.jump++; }
    }
    var path = document.createElementNS(NS, "path");
    path.setAttribute("class", "e e-next");
    path.setAttribute("d", straight.join(""));
    var hp = document.createElementNS(NS, "path");
    hp.setAttribute("class", "heads");
    hp.setAttribute("d", heads.join(""));
    svg.appendChild(path);
    svg.appendChild(hp);
    svg.appendChild(frag);
    svg.setAttribute("width", String(col.scrollWidth));
    svg.setAttribute("height", String(col.scrollHeight));
    svg.setAttribute("data-next", String(counts.next));
    svg.setAttribute("data-jump", String(counts.jump));
    svg.setAttribute("data-loop", String(counts.loop));
    var c = document.getElementById("counts");
    if (c) { c.textContent = counts.next + " next, " + counts.jump + " jump, " + counts.loop + " loop-back edges"; }
  }

  // ---- details panel
  var selected = -1;
  function dd(dl, name, value) {
    var dt = document.createElement("dt"); dt.textContent = name;
    var d = document.createElement("dd");
    if (typeof value === "string") { d.textContent = value; } else { d.appendChild(value); }
    dl.appendChild(dt); dl.appendChild(d);
  }
  function link(v) {
    var a = document.createElement("a");
    if (v === "end") { a.href = "#end"; a.textContent = "END"; }
    else { a.href = "#z" + v; a.textContent = "zone " + v; }
    return a;
  }
  function select(i) {
    if (i < 0 || i >= n) { return; }
    if (selected >= 0) {
      rows[selected].classList.remove("sel");
      var old = svg.querySelectorAll(".hl");
      for (var q = 0; q < old.length; q++) { old[q].classList.remove("hl"); }
    }
    selected = i;
    var row = rows[i];
    row.classList.add("sel");
    var mine = svg.querySelectorAll('[data-from="' + i + '"],[data-to="' + i + '"]');
    for (var m = 0; m < mine.length; m++) { mine[m].classList.add("hl"); }
    document.getElementById("ptitle").textContent = row.firstChild.nodeValue;
    var dl = document.getElementById("pinfo");
    dl.textContent = "";
    var seq = meta.sequences[+row.getAttribute("data-s")];
    var parts = /^#\d+ .* b(\d+)(?: i(\d+))? z(\d+)$/.exec(row.firstChild.nodeValue);
    dd(dl, "sequence", seq);
    if (parts) { dd(dl, "block", parts[1] + ", instance " + (parts[2] || "0") + ", zone " + parts[3]); }
    var tags = row.getAttribute("data-t");
    dd(dl, "tags", tags ? tags : "none");
    dd(dl, "advance", meta.advances[+row.getAttribute("data-a")] + "  (max " + row.getAttribute("data-m") + " tokens)");
    if (row.hasAttribute("data-input")) { dd(dl, "input", "fed the latest tool result"); }
    if (row.hasAttribute("data-tool")) { dd(dl, "output", "to tool " + row.getAttribute("data-tool")); }
    dd(dl, "next", link(row.getAttribute("data-n")));
    var j = row.getAttribute("data-j");
    if (j !== null) {
      var span = document.createElement("span");
      span.appendChild(document.createTextNode(meta.control + " \u2192 "));
      span.appendChild(link(j));
      dd(dl, "jump", span);
    }
    var ptext = document.getElementById("ptext");
    ptext.textContent = row.getAttribute("data-x");
    ptext.hidden = false;
    document.getElementById("phint").hidden = true;
  }
  function fromHash() {
    var m = /^#z(\d+)$/.exec(location.hash);
    if (m) {
      var i = +m[1];
      select(i);
      if (rows[i] && rows[i].scrollIntoView) { rows[i].scrollIntoView({ block: "center" }); }
    }
  }
  col.addEventListener("click", function (e) {
    var el = e.target;
    var row = el.closest ? el.closest(".z") : null;
    if (!row) { return; }
    e.preventDefault();
    if (location.hash === "#" + row.id) { select(+row.id.slice(1)); }
    else { location.hash = row.id; }
  });
  window.addEventListener("hashchange", fromHash);

  try {
    if (n > 0) { draw(); }
    fromHash();
    if (!body.hasAttribute("data-error")) { body.setAttribute("data-rendered", "ok"); }
  } catch (err) {
    fail(String((err && err.message) || err));
  }
})();
"##;

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
<span><svg width=\"44\" height=\"12\" aria-hidden=\"true\"><path class=\"e e-jump\" d=\"M2 6H36\"/><path d=\"M35 2l7 4l-7 4z\" fill=\"{JUMP_COLOR}\"/></svg>jump (labelled with the control pattern)</span>\
<span><svg width=\"44\" height=\"12\" aria-hidden=\"true\"><path class=\"e e-loop\" d=\"M2 6H34\"/><path d=\"M33 1l9 5l-9 5z\" fill=\"{LOOP_COLOR}\"/></svg>loop-back (to the same or an earlier zone)</span>\
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
<marker id=\"mk-next\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{NEXT_COLOR}\"/></marker>\
<marker id=\"mk-jump\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{JUMP_COLOR}\"/></marker>\
<marker id=\"mk-loop\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"11\" markerHeight=\"11\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0 0L10 5L0 10z\" fill=\"{LOOP_COLOR}\"/></marker>\
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
            if let Some(j) = &z.jump {
                out.push_str("<span class=\"j\">");
                html_escape(&j.pattern, &mut out);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut s = String::new();
        dot_escape("a\"b\\c\nd\r\ne&f\u{1b}", &mut s);
        assert_eq!(s, "a\\\"b\\\\c\\nd\\ne&amp;f\u{241b}");
        s.clear();
        mermaid_escape("[x] \"y\" #1; {z}\n<w>", &mut s);
        assert_eq!(s, "#91;x#93; #34;y#34; #35;1#59; #123;z#125;↵ #60;w#62;");
        s.clear();
        html_escape("<a href='x'>\"&\"</a>\u{0}", &mut s);
        assert_eq!(
            s,
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;\u{2400}"
        );
        assert!(HTML_JS.find("</").is_none());
        assert!(!HTML_JS.contains("http"));
        assert!(!HTML_CSS.contains("http") && !HTML_CSS.contains("url("));
    }
}
