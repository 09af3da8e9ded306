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
//! The jump edge of a bounded loop is labelled with its bounds too: `[Jump] (at least 2, at
//! most 5)`.
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

mod dot;
mod html;
mod mermaid;
mod palette;
mod text;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

pub use dot::to_dot;
pub use html::to_html;
pub use mermaid::to_mermaid;
pub use text::to_text;

use super::{SampledWorkflow, SampledZone, ZoneId};

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
        let _ = write!(s, "\njump {} → {}", jump_pattern(z), target_name(j.target));
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
        map.entry(s.as_str())
            .or_insert(i % palette::SEQUENCES.len());
    }
    map
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

/// The label of a zone's jump edge: the pattern that takes it, then a bounded loop's bounds
/// (`[Jump] (at least 2, at most 5)`); "" when it has none.
fn jump_pattern<'a>(z: &'a SampledZone<'_>) -> Cow<'a, str> {
    match &z.jump {
        None => Cow::Borrowed(""),
        Some(j) => match j.bounds {
            None => Cow::Borrowed(&*j.pattern),
            Some(b) => Cow::Owned(format!("{} ({b})", j.pattern)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::dot::dot_escape;
    use super::html::{HTML_CSS, HTML_JS, html_escape};
    use super::mermaid::mermaid_escape;

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
