//! The HTML pages in a real browser (headless Chromium), and Graphviz on the DOT output.

use super::*;

// ---------------------------------------------------------------------------------- Chromium

/// Runs headless Chromium on `page` with `extra` arguments (and a fresh profile); returns
/// (stdout, stderr). Fails the test after 120 s.
fn chromium(page: &Path, fragment: &str, extra: &[String]) -> (String, String) {
    let profile = scratch(&format!(
        "chromium-profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    common::chromium(page, fragment, &profile, extra)
}

/// Loads the page and checks the script drew every node and edge without an error.
fn check_in_chromium(page: &Path, zones: usize, jumps: usize, loops: usize) {
    let (dom, log) = chromium(page, "", &["--dump-dom".to_owned()]);
    assert!(
        dom.contains("<body data-rendered=\"ok\">"),
        "the page's script did not finish on {}:\n{log}",
        page.display()
    );
    assert!(!dom.contains("data-error="), "render error in the DOM");
    assert!(!log.contains("Uncaught"), "JavaScript error:\n{log}");
    assert!(!log.contains("forge render error"), "{log}");
    for i in 0..zones {
        assert!(dom.contains(&format!(" id=\"z{i}\" ")), "zone {i} missing");
    }
    assert!(dom.contains("id=\"end\""));
    // The edge layer was filled in: its counts, and one arc element per jump and loop-back.
    assert!(
        dom.contains(&format!("data-jump=\"{jumps}\" data-loop=\"{loops}\"")),
        "edge counts missing in the DOM"
    );
    let svg_start = dom.find("<svg id=\"edges\"").expect("the edge layer");
    let svg = &dom[svg_start..svg_start + dom[svg_start..].find("</svg>").unwrap()];
    assert_eq!(svg.matches("<path class=\"e e-jump").count(), jumps);
    assert_eq!(svg.matches("<path class=\"e e-loop\"").count(), loops);
    assert_eq!(svg.matches("<text class=\"lbl\"").count(), jumps);
    assert_eq!(svg.contains("marker-end=\"url(#mk-jump)\""), jumps > 0);
    // Neighbouring zones are joined by the one combined path of straight next edges.
    assert!(
        svg.contains("<path class=\"e e-next\" d=\"M"),
        "no next edges drawn"
    );
}

#[test]
fn the_html_page_renders_in_headless_chromium() {
    if !system_tool(CHROMIUM, "chromium") {
        return;
    }
    let dir = scratch("chromium");

    // The document's declared program: a bounded loop (a jump and a loop-back) and a when.
    let mut args = vec!["graph", "--format", "html"];
    args.extend_from_slice(&REPRESENTATIVE);
    let run = forge(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("[Jump] (at least 1, at most 3)"));
    let declared = dir.join("representative.html");
    std::fs::write(&declared, &run.stdout).unwrap();
    check_in_chromium(&declared, 69, 2, 1);

    // The representative program, with a loop and a when: jumps and a loop-back.
    let sample = representative_with_loops();
    let jumps = sample.zones().filter(|z| z.jump.is_some()).count();
    let loops = sample
        .zones()
        .filter(|z| matches!(z.next, Some(t) if t <= z.index))
        .count();
    assert_eq!((jumps, loops), (2, 1));
    let page = dir.join("representative_loops.html");
    std::fs::write(&page, to_html(&sample)).unwrap();
    check_in_chromium(&page, sample.len(), jumps, loops);

    // A program ending in a loop: its exit is a jump to END.
    let doc = forge_core::udpl::parse_path(fixtures().join(REPRESENTATIVE_TOML))
        .unwrap()
        .document;
    let mut standard = Bindings::new();
    standard.insert(
        "constitution",
        ListSampler::new(["one", "two", "three"]).unwrap(),
    );
    let mut p = Program::new(doc, standard).unwrap();
    p.loop_(
        Call::new("loop_control").with("min", 1).with("max", 2),
        |b| {
            b.run("decide")?;
            Ok(())
        },
    )
    .unwrap();
    let mut args = Bindings::new();
    args.insert("prompt", "p");
    let sample = p.compile().unwrap().sample_seeded(args, 0).unwrap();
    assert_eq!(sample.zone(2).jump.as_ref().map(|j| j.target), Some(None));
    let exit = dir.join("loop_exit.html");
    std::fs::write(&exit, to_html(&sample)).unwrap();
    check_in_chromium(&exit, sample.len(), 1, 1);

    // Opening a zone's anchor pins its details (and its full text) in the panel.
    let (dom, log) = chromium(&page, "#z1", &["--dump-dom".to_owned()]);
    assert!(dom.contains("<body data-rendered=\"ok\">"), "{log}");
    assert!(
        dom.contains("<h2 id=\"ptitle\">#1 setup b0 z1</h2>"),
        "{dom}"
    );
    assert!(dom.contains("<dt>tags</dt><dd>none</dd>"));
    assert!(dom.contains("<dt>advance</dt><dd>[Answer]  (max 2000 tokens)</dd>"));
    assert!(dom.contains(
        "<pre id=\"ptext\"> The user is asking the following of you: How do I keep a &lt;sourdough&gt; \"starter\" alive?\n[Answer]</pre>"
    ), "{dom}");
}

#[test]
fn render_marks_where_a_default_text_is_used() {
    let run = forge(&[
        "render",
        "--set",
        "system=S",
        "--set",
        "max=7",
        "--set",
        "round=1",
        "--set",
        "question=Q",
        "defaults.toml",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("\n S Rules: ⟦be kind⟧. Tone: ⟦neutral⟧. [Answer]\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n Round 1 of 7, tone ⟦neutral⟧: Q [Answer]\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "note: not bound, their default text is used, shown as ⟦default⟧: \
         `rules` (standard), `tone` (argument)\n"
    );
    // Bound, a resource with a default shows its binding.
    let run = forge(&[
        "render",
        "--set",
        "system=S",
        "--list",
        "rules=rules.txt",
        "--set",
        "tone=dry",
        "--set",
        "round=1",
        "--set",
        "question=Q",
        "defaults.toml",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(!run.stdout.contains("⟦be kind⟧"), "{}", run.stdout);
    assert!(
        run.stdout.contains(". Tone: dry. [Answer]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(" of ⟦3⟧, tone dry: Q"),
        "{}",
        run.stdout
    );
}
