//! Mermaid flowcharts.

use std::fmt::Write as _;

use super::palette::{INK, JUMP, LOOP, PAPER};
use super::*;

/// Appends `s` for a Mermaid label, edge text or tooltip. Only ASCII letters, digits, spaces
/// and `.,_-/` are written as is; every other ASCII character becomes a Mermaid entity code
/// (`"` → `#34;`, `[` → `#91;`, `#` → `#35;`, …), so no text can end a string, open a shape or
/// form a comment; line breaks become `↵ `, control characters control pictures. Other Unicode
/// is written as is.
pub(super) fn mermaid_escape(s: &str, out: &mut String) {
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
                    mermaid_escape(&pattern, &mut out);
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
    let _ = writeln!(out, "  classDef term fill:{INK},stroke:{INK},color:{PAPER}");
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
        &format!("stroke:{JUMP},stroke-width:2px,color:{JUMP}"),
    );
    link_style(
        &loops,
        &format!("stroke:{LOOP},stroke-width:3px,color:{LOOP}"),
    );
    out
}
