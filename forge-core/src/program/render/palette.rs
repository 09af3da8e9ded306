//! The one colour palette of every rendering: DOT and Mermaid use these constants, and the
//! HTML page gets them as CSS variables ([`css`]), so its style sheet names no colour of the
//! graph itself.

use std::fmt::Write as _;

/// Sequence colours: sequence `i` of `config.sequences` gets `SEQUENCES[i % 12]`.
pub(super) const SEQUENCES: [&str; 12] = [
    "#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#0a7c86", "#cf222e", "#6639ba",
    "#116329", "#953800", "#1b7c83", "#57606a",
];

/// *next* edges.
pub(super) const NEXT: &str = "#57606a";
/// *jump* edges and their labels.
pub(super) const JUMP: &str = "#d1242f";
/// *loop-back* edges.
pub(super) const LOOP: &str = "#1f6feb";
/// Text, and the `START`/`END` nodes.
pub(super) const INK: &str = "#1f2328";
/// Text on `INK`, and node backgrounds.
pub(super) const PAPER: &str = "#ffffff";
/// Secondary text.
pub(super) const MUTED: &str = "#57606a";
/// Sequence-run backgrounds, the page's header and side panel.
pub(super) const SURFACE: &str = "#f6f8fa";
/// Node borders.
pub(super) const BORDER: &str = "#8c959f";
/// Rules and row borders of the page.
pub(super) const LINE: &str = "#d0d7de";

/// The colour of the sequence with colour class `class`.
pub(super) fn sequence(class: usize) -> &'static str {
    SEQUENCES[class % SEQUENCES.len()]
}

/// The palette as CSS: `:root` variables and one `.cK{--c:…}` class per sequence colour.
pub(super) fn css(out: &mut String) {
    let _ = write!(
        out,
        "\n:root{{--next:{NEXT};--jump:{JUMP};--loop:{LOOP};--line:{LINE};--bg:{SURFACE};\
         --fg:{INK};--muted:{MUTED};--paper:{PAPER}}}\n"
    );
    for (i, c) in SEQUENCES.iter().enumerate() {
        let _ = write!(out, ".c{i}{{--c:{c}}}");
    }
    out.push('\n');
}
