//! Plain text: every zone's text under a header line, for terminals and diffs.

use std::fmt::Write as _;

use super::{SampledWorkflow, jump_pattern};

/// Renders every zone's text in graph order, each under a header line naming its index,
/// sequence, block (and instance, after the first), advance pattern, tags, tool use and jump
/// edge:
///
/// ```text
/// --- zone 3 · setup block 1 · [Answer] · tags: Training ---
/// <the zone's text>
/// ```
///
/// This is what `forge render` prints. O(zones) in time and output size.
///
/// ```
/// use forge::program::{Program, to_text};
/// use forge::resources::Bindings;
///
/// let doc = forge::udpl::parse_str(r#"
/// [config]
/// zone_patterns = ["[Prompt]", "[Answer]"]
/// required_patterns = ["[Prompt]"]
/// valid_tags = ["Final"]
/// default_max_token_length = 50
/// sequences = ["ask"]
/// control_pattern = "[Jump]"
/// escape_patterns = ["[Escape]", "[EndEscape]"]
///
/// [[ask]]
/// text = "[Prompt] Say hi. [Answer]"
/// tags = [["Final"]]
/// "#, "hi.toml")?.document;
/// let mut program = Program::new(doc, Bindings::new())?;
/// program.run("ask")?;
/// let sample = program.compile()?.sample_seeded(Bindings::new(), 0)?;
///
/// assert_eq!(
///     to_text(&sample),
///     "--- zone 0 · ask block 0 · [Prompt] · tags: none ---\n[Prompt]\n\
///      --- zone 1 · ask block 0 · [Answer] · tags: Final ---\n Say hi. [Answer]\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_text(sample: &SampledWorkflow) -> String {
    let mut out = String::with_capacity(sample.text().len() + sample.len() * 64);
    for z in sample.zones() {
        let _ = write!(
            out,
            "--- zone {} · {} block {}",
            z.index, z.sequence, z.block
        );
        if z.instance > 0 {
            let _ = write!(out, " instance {}", z.instance);
        }
        let _ = write!(out, " · {} · tags: ", z.advance);
        if z.tags.is_empty() {
            out.push_str("none");
        } else {
            out.push_str(&z.tags.join(", "));
        }
        if z.input {
            out.push_str(" · input");
        }
        if let Some(tool) = &z.tool {
            let _ = write!(out, " · output to {tool}");
        }
        if let Some(j) = &z.jump {
            match j.target {
                Some(t) => {
                    let _ = write!(out, " · jump {} → zone {t}", jump_pattern(&z));
                }
                None => {
                    let _ = write!(out, " · jump {} → end", jump_pattern(&z));
                }
            }
        }
        out.push_str(" ---\n");
        out.push_str(z.text());
        out.push('\n');
    }
    out
}
