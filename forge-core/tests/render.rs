//! Renderings of sampled workflows: Graphviz DOT, Mermaid and the self-contained HTML page.
//!
//! The main fixture has every kind of edge:
//!
//! ```text
//! run(intro)                      zones 0-1
//! loop_(ctl, run(body))           ctl 2-3, body 4-5: 5 → 2 is a loop-back, 3 jumps to 6
//! when(check, run(yes), run(no))  check 6-7, yes 8-9, no 10-11: 7 jumps to 10, 9 → 12 skips
//! run(one)                        zones 12-13, 13 → END
//! ```

use forge_core::program::{Call, Program};
use forge_core::program::{SampledWorkflow, to_dot, to_html, to_mermaid};
use forge_core::resources::Bindings;

const DOC: &str = r#"
[config]
zone_patterns = ["[Prompt]", "[Answer]"]
required_patterns = ["[Prompt]"]
valid_tags = ["Train", "Final"]
default_max_token_length = 50
sequences = ["intro", "ctl", "body", "check", "yes", "no", "one"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]

[[intro]]
text = "[Prompt] Tricky: \"quoted\" <b>bold</b> & [bracket] {{brace}} #1; %% x\nsecond line {who} [Answer]"
tags = [["Train", "Final"]]
[intro.who]
name = "who"
type = "argument"

[[ctl]]
text = "[Prompt] Again? [Answer]"
tags = [[]]

[[body]]
text = "[Prompt] Work. [Answer]"
tags = [["Train"]]

[[check]]
text = "[Prompt] Good? [Answer]"
tags = [[]]

[[yes]]
text = "[Prompt] Yes. [Answer]"
tags = [[]]

[[no]]
text = "[Prompt] No. [Answer]"
tags = [[]]

[[one]]
text = "[Prompt] Done. [Answer]"
tags = [["Final"]]
"#;

/// The tricky argument value: a closing script tag, quotes, brackets, braces, a newline.
const WHO: &str = "</script><x y='1'>\"{[z]}\"\nend";

fn args() -> Bindings {
    let mut args = Bindings::new();
    args.insert("who", WHO);
    args
}

fn sample() -> SampledWorkflow {
    let doc = forge_core::udpl::parse_str(DOC, "render.toml")
        .expect("the fixture parses")
        .document;
    let mut p = Program::new(doc, Bindings::new()).unwrap();
    p.run("intro").unwrap();
    p.loop_("ctl", |b| {
        b.run("body")?;
        Ok(())
    })
    .unwrap();
    p.when(
        "check",
        |t| {
            t.run("yes")?;
            Ok(())
        },
        |o| {
            o.run("no")?;
            Ok(())
        },
    )
    .unwrap();
    p.run("one").unwrap();
    p.extract("training", &["Train"]).unwrap();
    p.compile().unwrap().sample_seeded(args(), 3).unwrap()
}

/// The fixture's graph, checked once so the rendering tests can rely on it.
#[test]
fn fixture_has_next_jump_and_loop_back_edges() {
    let s = sample();
    assert_eq!(s.len(), 14);
    let next: Vec<Option<u32>> = s.zones().map(|z| z.next.map(u32::from)).collect();
    assert_eq!(
        next,
        [
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(2),
            Some(7),
            Some(8),
            Some(9),
            Some(12),
            Some(11),
            Some(12),
            Some(13),
            None
        ]
    );
    let jumps: Vec<(u32, Option<u32>)> = s
        .zones()
        .filter_map(|z| {
            z.jump
                .as_ref()
                .map(|j| (z.index.get(), j.target.map(u32::from)))
        })
        .collect();
    assert_eq!(jumps, [(3, Some(6)), (7, Some(10))]);
    assert_eq!(
        s.zone(1).text(),
        " Tricky: \"quoted\" <b>bold</b> & [bracket] {brace} #1; %% x\nsecond line </script><x y='1'>\"{[z]}\"\nend [Answer]"
    );
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

// -------------------------------------------------------------------------------------- DOT

#[test]
fn dot_draws_the_three_edge_kinds_differently() {
    let dot = to_dot(&sample());
    let l = lines(&dot);
    for expected in [
        "digraph workflow {",
        "  START -> n0;",
        "  n0 -> n1;",
        "  n2 -> n3;",
        "  n3 -> n4;",
        "  n3 -> n6 [style=dashed, color=\"#d1242f\", fontcolor=\"#d1242f\", label=\"[Jump]\"];",
        "  n5 -> n2 [style=bold, penwidth=2.5, color=\"#1f6feb\", constraint=false];",
        "  n7 -> n8;",
        "  n7 -> n10 [style=dashed, color=\"#d1242f\", fontcolor=\"#d1242f\", label=\"[Jump]\"];",
        "  n9 -> n12;",
        "  n11 -> n12;",
        "  n13 -> END;",
        "}",
    ] {
        assert!(l.contains(&expected), "missing line {expected:?} in\n{dot}");
    }
    // The END node, and nothing else points to it.
    assert!(
        dot.contains("  END [shape=doublecircle, style=filled, fillcolor=\"#1f2328\", fontcolor=\"#ffffff\", label=\"END\"];\n"),
        "{dot}"
    );
    assert_eq!(dot.matches("-> END").count(), 1, "{dot}");
    // 16 edges + START; exactly two jumps, one loop-back.
    assert_eq!(l.iter().filter(|x| x.contains(" -> ")).count(), 17);
    assert_eq!(l.iter().filter(|x| x.contains("style=dashed")).count(), 2);
    assert_eq!(l.iter().filter(|x| x.contains("style=bold")).count(), 1);
    // Grouped by sequence run.
    assert_eq!(dot.matches("subgraph cluster_").count(), 7, "{dot}");
    assert!(dot.contains("    label=\"ctl · zones 2–3\";"), "{dot}");
    // Short labels with tags.
    assert!(
        dot.contains("    n1 [label=\"#1 intro b0 z1\\nTrain, Final\", tooltip=\""),
        "{dot}"
    );
}

#[test]
fn dot_escapes_quotes_backslashes_newlines_and_ampersands() {
    let dot = to_dot(&sample());
    let n1 = dot
        .lines()
        .find(|l| l.starts_with("    n1 ["))
        .expect("node n1");
    assert!(
        n1.contains(
            r#"\n\n Tricky: \"quoted\" <b>bold</b> &amp; [bracket] {brace} #1; %% x\nsecond line </script><x y='1'>\"{[z]}\"\nend [Answer]"];"#
        ),
        "{n1}"
    );
    assert!(n1.contains(r"tags: Train, Final\nadvance: [Answer] · max 50 tokens"));
    // Every statement is on one line, and every line's quotes balance.
    for line in dot.lines() {
        let mut quotes = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => quotes += 1,
                _ => escaped = false,
            }
        }
        assert_eq!(quotes % 2, 0, "unbalanced quotes in {line:?}");
        let t = line.trim();
        assert!(
            t.is_empty() || t.starts_with("//") || t.ends_with(';') || t.ends_with('{') || t == "}",
            "line is not a whole statement: {line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------- Mermaid

#[test]
fn mermaid_draws_the_three_edge_kinds_differently() {
    let m = to_mermaid(&sample());
    let l = lines(&m);
    for expected in [
        "flowchart TD",
        "  forge_start([\"START\"])",
        "  forge_end([\"END\"])",
        "  forge_start --> n0",
        "  n0 --> n1",
        "  n3 --> n4",
        "  n3 -.->|#91;Jump#93;| n6",
        "  n5 ==>|loop| n2",
        "  n7 -.->|#91;Jump#93;| n10",
        "  n9 --> n12",
        "  n13 --> forge_end",
        // Edge 0 is START → n0; the jumps are edges 5 and 10, the loop-back edge 7.
        "  linkStyle 5,10 stroke:#d1242f,stroke-width:2px,color:#d1242f",
        "  linkStyle 7 stroke:#1f6feb,stroke-width:3px,color:#1f6feb",
        "  class forge_start,forge_end term",
    ] {
        assert!(l.contains(&expected), "missing line {expected:?} in\n{m}");
    }
    assert_eq!(
        l.iter()
            .filter(|x| x.contains("-->") || x.contains("==>") || x.contains("-.->"))
            .count(),
        17
    );
    assert_eq!(m.matches("  subgraph g").count(), 7);
    assert_eq!(m.matches("\n  end\n").count(), 7);
    assert!(
        l.contains(&"    n1[\"#35;1 intro b0 z1 · Train, Final\"]"),
        "{m}"
    );
    // No node id is the keyword `end`.
    assert!(!m.contains("--> end") && !m.contains("| end\n"));
}

#[test]
fn mermaid_escapes_quotes_brackets_braces_and_newlines() {
    let m = to_mermaid(&sample());
    let click = m
        .lines()
        .find(|l| l.starts_with("  click n1 "))
        .expect("tooltip of n1");
    assert!(
        click.contains(
            "Tricky#58; #34;quoted#34; #60;b#62;bold#60;/b#62; #38; #91;bracket#93; #123;brace#125; #35;1#59; #37;#37; x↵ second line #60;/script#62;#60;x y#61;#39;1#39;#62;#34;#123;#91;z#93;#125;#34;↵ end #91;Answer#93;\""
        ),
        "{click}"
    );
    assert!(click.starts_with("  click n1 \"#z1\" \"zone 1 · intro block 0"));
    // Inside every statement, quotes only delimit strings: two per label, four per click.
    for line in m.lines() {
        let quotes = line.matches('"').count();
        let t = line.trim_start();
        let expected = if t.starts_with("click ") {
            4
        } else if (t.starts_with('n') && t.contains('[')) || t.starts_with("subgraph") {
            2
        } else {
            quotes
        };
        assert_eq!(quotes, expected, "stray quote in {line:?}");
        for bad in ['[', ']', '{', '}', '<', '>'] {
            if t.starts_with("click ") {
                assert!(!t.contains(bad), "unescaped {bad:?} in {line:?}");
            }
        }
    }
}

// ------------------------------------------------------------------------------------- HTML

/// Checks that `html` is well formed: every opened tag is closed in order (void elements
/// excepted), attribute values are quoted, script and style contents are raw text. Returns the
/// number of elements.
fn check_balanced(html: &str) -> usize {
    const VOID: [&str; 14] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "param",
    ];
    let b = html.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut count = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            assert!(
                b[i] != b'>',
                "stray `>` at byte {i}: {:?}",
                &html[i.saturating_sub(40)..i + 1]
            );
            i += 1;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i += html[i..].find("-->").expect("closed comment") + 3;
            continue;
        }
        if html[i..].starts_with("<!") {
            i += html[i..].find('>').expect("closed doctype") + 1;
            continue;
        }
        let closing = b.get(i + 1) == Some(&b'/');
        let name_start = if closing { i + 2 } else { i + 1 };
        let mut j = name_start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
            j += 1;
        }
        let name = html[name_start..j].to_ascii_lowercase();
        assert!(
            !name.is_empty(),
            "`<` not starting a tag at byte {i}: {:?}",
            &html[i..(i + 40).min(html.len())]
        );
        // Attributes: quoted values may hold anything but their quote.
        let mut self_closing = false;
        loop {
            assert!(j < b.len(), "unterminated tag <{name}");
            match b[j] {
                b'>' => break,
                b'"' | b'\'' => {
                    let q = b[j];
                    j += 1;
                    while b[j] != q {
                        assert!(b[j] != b'<', "`<` inside an attribute of <{name}>");
                        j += 1;
                    }
                }
                b'/' if b.get(j + 1) == Some(&b'>') => self_closing = true,
                b'=' => {
                    let next = b[j + 1];
                    assert!(
                        next == b'"' || next == b'\'',
                        "unquoted attribute value in <{name}>"
                    );
                }
                _ => {}
            }
            j += 1;
        }
        i = j + 1;
        if closing {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        count += 1;
        if VOID.contains(&name.as_str()) || self_closing {
            continue;
        }
        if name == "script" || name == "style" {
            let end = format!("</{name}>");
            let k = html[i..]
                .find(&end)
                .unwrap_or_else(|| panic!("unclosed <{name}>"));
            assert!(
                !html[i..i + k].to_ascii_lowercase().contains("</script"),
                "script text closes the element early"
            );
            i += k + end.len();
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
    count
}

#[test]
fn the_tag_checker_rejects_broken_html() {
    for bad in [
        "<div><span></div></span>",
        "<div>",
        "</p>",
        "<p class=x></p>",
        "<p>a > b</p>",
        "<p title=\"a<b\"></p>",
    ] {
        let r = std::panic::catch_unwind(|| check_balanced(bad));
        assert!(r.is_err(), "accepted {bad:?}");
    }
    assert_eq!(
        check_balanced("<p>x<br><img src=\"a\"/></p><script>if (a < b) {}</script>"),
        4
    );
}

#[test]
fn html_is_well_formed_and_self_contained() {
    let s = sample();
    let html = to_html(&s);
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")
    );
    assert!(html.ends_with("</html>\n"));
    let elements = check_balanced(&html);
    assert!(elements > 14 * 3, "{elements}");
    // No network: no URLs, no external resources.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("//cdn") && !html.contains("@import"));
    assert!(!html.contains(" src="), "external source in the page");
    assert!(!html.contains("rel=\"stylesheet\""));
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\""));
    // One inline script (plus the JSON data block), no external ones.
    assert_eq!(html.matches("<script>").count(), 1);
    assert_eq!(
        html.matches("<script type=\"application/json\" id=\"forge-meta\">")
            .count(),
        1
    );
    assert_eq!(html.matches("<script").count(), 2);
}

#[test]
fn html_has_a_node_per_zone_with_edges_start_and_end() {
    let s = sample();
    let html = to_html(&s);
    assert_eq!(html.matches("<div class=\"z row ").count(), s.len());
    for z in s.zones() {
        assert!(html.contains(&format!(" id=\"z{}\" data-n=\"", z.index)));
    }
    for expected in [
        "<div class=\"row term\" id=\"start\">START</div>",
        "<div class=\"row term\" id=\"end\">END</div>",
        // Loop-back, jump, skip and end edges, as the script reads them.
        "id=\"z5\" data-n=\"2\" data-s=\"2\" data-a=\"1\" data-m=\"50\"",
        "id=\"z3\" data-n=\"4\" data-j=\"6\" data-s=\"1\"",
        "id=\"z7\" data-n=\"8\" data-j=\"10\" data-s=\"3\"",
        "id=\"z9\" data-n=\"12\" data-s=\"4\"",
        "id=\"z13\" data-n=\"end\" data-s=\"6\"",
        // Short labels and tags.
        "\">#1 intro b0 z1<span class=\"t\">Train, Final</span></div>\n",
        "\">#3 ctl b0 z1<span class=\"j\">[Jump]</span></div>\n",
        " data-x=\" Work. [Answer]\">#5 body b0 z1<span class=\"t\">Train</span></div>\n",
        // Groups.
        "<div class=\"row grp c1\">ctl<small>zones 2–3</small></div>",
        // The three edge styles and their arrowheads.
        ".e-next{stroke:var(--next);stroke-width:1.5}",
        ".e-jump{stroke:var(--jump);stroke-width:1.6;stroke-dasharray:7 4}",
        ".e-loop{stroke:var(--loop);stroke-width:3}",
        "<marker id=\"mk-jump\"",
        "<marker id=\"mk-loop\"",
        "extractions: <b>training</b> [Train] 2 zones",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
    // The script's data block.
    let start = html.find("id=\"forge-meta\">").unwrap() + "id=\"forge-meta\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let meta: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(meta["zones"], 14);
    assert_eq!(meta["entry"], 0);
    assert_eq!(meta["control"], "[Jump]");
    assert_eq!(
        meta["advances"],
        serde_json::json!(["[Prompt]", "[Answer]"])
    );
    assert_eq!(
        meta["sequences"],
        serde_json::json!(["intro", "ctl", "body", "check", "yes", "no", "one"])
    );
}

#[test]
fn html_escapes_zone_text_tags_and_attributes() {
    let html = to_html(&sample());
    assert!(
        html.contains(
            " data-x=\" Tricky: &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt; &amp; [bracket] {brace} #1; %% x\nsecond line &lt;/script&gt;&lt;x y=&#39;1&#39;&gt;&quot;{[z]}&quot;\nend [Answer]\">#1 intro b0 z1<span"
        ),
        "zone text not escaped"
    );
    assert!(!html.contains("<b>bold"));
    assert!(!html.contains("<x y"));
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(html.contains(" data-t=\"Train, Final\""));
}

#[test]
fn html_escapes_a_control_pattern_in_the_script_data() {
    let doc = DOC.replace(
        "control_pattern = \"[Jump]\"",
        "control_pattern = \"<J&'>\"",
    );
    let doc = forge_core::udpl::parse_str(&doc, "odd.toml")
        .expect("parses")
        .document;
    let mut p = Program::new(doc, Bindings::new()).unwrap();
    p.loop_(Call::new("ctl"), |b| {
        b.run("body")?;
        Ok(())
    })
    .unwrap();
    let s = p.compile().unwrap().sample_seeded(args(), 0).unwrap();
    let html = to_html(&s);
    check_balanced(&html);
    assert!(
        html.contains("\"control\":\"\\u003cJ\\u0026'\\u003e\""),
        "{html}"
    );
    assert!(html.contains("<span class=\"j\">&lt;J&amp;&#39;&gt;</span>"));
    // The loop's exit is the end of the workflow: a jump to END.
    assert!(html.contains("id=\"z1\" data-n=\"2\" data-j=\"end\""));
    let dot = to_dot(&s);
    assert!(
        dot.contains("  n1 -> END [style=dashed, color=\"#d1242f\", fontcolor=\"#d1242f\", label=\"<J&amp;'>\"];\n"),
        "{dot}"
    );
    assert!(dot.contains("  n3 -> n0 [style=bold, penwidth=2.5"));
    let m = to_mermaid(&s);
    assert!(
        m.contains("  n1 -.->|#60;J#38;#39;#62;| forge_end\n"),
        "{m}"
    );
    assert!(m.contains("  n3 ==>|loop| n0\n"), "{m}");
}

// ------------------------------------------------------------------------------------ scale

#[test]
fn twenty_thousand_zones_render_without_recursion() {
    const RUNS: usize = 10_000;
    // A small stack: any recursion over the graph would overflow it.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let doc = forge_core::udpl::parse_str(DOC, "render.toml")
                .unwrap()
                .document;
            let mut p = Program::new(doc, Bindings::new()).unwrap();
            for _ in 0..RUNS {
                p.run("one").unwrap();
            }
            let s = p.compile().unwrap().sample_seeded(args(), 1).unwrap();
            assert_eq!(s.len(), 2 * RUNS);
            let t = std::time::Instant::now();
            let dot = to_dot(&s);
            let mermaid = to_mermaid(&s);
            let html = to_html(&s);
            let elapsed = t.elapsed();
            (s.len(), dot, mermaid, html, elapsed)
        })
        .unwrap();
    let (n, dot, mermaid, html, elapsed) = handle.join().expect("no stack overflow");
    assert!(dot.contains("  n19999 -> END;\n"));
    assert_eq!(dot.matches(" -> ").count(), n + 1);
    assert!(mermaid.contains("  n19999 --> forge_end\n"));
    assert_eq!(html.matches("<div class=\"z row ").count(), n);
    assert!(html.contains("id=\"z19999\" data-n=\"end\""));
    // Output is linear in the zones: no quadratic blow-up.
    for (name, text) in [("dot", &dot), ("mermaid", &mermaid), ("html", &html)] {
        assert!(
            text.len() < n * 600,
            "{name} output is {} bytes for {n} zones",
            text.len()
        );
    }
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "rendering took {elapsed:?}"
    );
}
