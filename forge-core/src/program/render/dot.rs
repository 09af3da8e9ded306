//! Graphviz DOT.

use std::fmt::Write as _;

use super::palette::{self, BORDER, INK, JUMP, LOOP, NEXT, PAPER, SURFACE};
use super::*;

/// Appends `s` escaped for a double-quoted DOT string used as an escString (labels, tooltips):
/// `"` and `\` are backslash-escaped, line breaks become `\n`, `&` becomes `&amp;` (Graphviz
/// decodes HTML entities in labels), and control characters become control pictures.
pub(super) fn dot_escape(s: &str, out: &mut String) {
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
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"{PAPER}\", color=\"{BORDER}\", fontname=\"Helvetica\", fontsize=10];"
    );
    let _ = writeln!(
        out,
        "  edge [color=\"{NEXT}\", arrowsize=0.7, fontname=\"Helvetica\", fontsize=9];"
    );
    let _ = writeln!(
        out,
        "  START [shape=oval, style=filled, fillcolor=\"{INK}\", fontcolor=\"{PAPER}\", label=\"START\"];"
    );
    let _ = writeln!(
        out,
        "  END [shape=doublecircle, style=filled, fillcolor=\"{INK}\", fontcolor=\"{PAPER}\", label=\"END\"];"
    );
    let colors = sequence_colors(w);
    let mut label = String::new();
    for (k, (start, end)) in groups(w).into_iter().enumerate() {
        let first = w.zone(start);
        let color = palette::sequence(colors.get(&*first.sequence).copied().unwrap_or(11));
        let _ = write!(out, "  subgraph cluster_{k} {{\n    label=");
        dot_quoted(
            &format!("{} · zones {}–{}", first.sequence, start, end - 1),
            &mut out,
        );
        let _ = writeln!(
            out,
            "; style=\"rounded,filled\"; fillcolor=\"{SURFACE}\"; color=\"{color}\"; fontcolor=\"{color}\";"
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
                        " [style=bold, penwidth=2.5, color=\"{LOOP}\", constraint=false];"
                    );
                }
                Kind::Jump => {
                    let pattern = jump_pattern(&z);
                    if e.backward() {
                        out.push_str(" [style=\"dashed,bold\", penwidth=2, constraint=false");
                    } else {
                        out.push_str(" [style=dashed");
                    }
                    let _ = write!(out, ", color=\"{JUMP}\", fontcolor=\"{JUMP}\", label=");
                    dot_quoted(&pattern, &mut out);
                    out.push_str("];\n");
                }
            }
        }
    }
    out.push_str("}\n");
    out
}
