//! Resources bound to the placeholders of a parsed document: arguments are converted at binding
//! time, and errors carry the UDPL file:line the parser recorded.

use std::path::Path;

use forge::resources::{Binding, Bindings, ListSampler, SampleContext, Site, StaticString};
use forge::udpl::{self, Document};

fn representative() -> (Document, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/representative.toml");
    let doc = udpl::parse_file(&path).unwrap().document;
    (doc, path.display().to_string())
}

fn principles() -> Vec<String> {
    (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."))
        .collect()
}

#[test]
fn list_sampler_binds_to_every_constitution_placeholder_and_fills() {
    let (doc, _) = representative();
    let constitution = Binding::instance(ListSampler::new(principles()).unwrap());
    let mut cx = SampleContext::new(11);
    let mut filled = 0;
    for seq in &doc.sequences {
        for block in &seq.blocks {
            for p in block
                .placeholders
                .iter()
                .filter(|p| p.resource == "constitution")
            {
                let site = Site {
                    sequence: &seq.name.name,
                    block: block.index,
                    placeholder: p,
                };
                let text = constitution.bind(&site).unwrap().fill(&mut cx).unwrap();
                // num_samples = 3 in the file: three distinct principles.
                let lines: Vec<_> = text.lines().collect();
                assert_eq!(lines.len(), 3, "{text}");
                assert!(lines.iter().all(|l| l.starts_with("Principle ")));
                assert!(lines[0] != lines[1] && lines[1] != lines[2] && lines[0] != lines[2]);
                filled += 1;
            }
        }
    }
    assert_eq!(filled, 3);
}

#[test]
fn static_string_on_a_placeholder_with_arguments_fails_at_bind_with_its_location() {
    let (doc, path) = representative();
    let setup = doc.sequence("setup").unwrap();
    let block = &setup.blocks[1];
    let site = Site {
        sequence: "setup",
        block: block.index,
        placeholder: &block.placeholders[0],
    };
    let err = Binding::instance(StaticString::new("fixed"))
        .bind(&site)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("resource `constitution`"), "{text}");
    assert!(text.contains("placeholder `{principles}`"), "{text}");
    assert!(text.contains("at program setup"), "{text}");
    assert!(text.contains("takes no arguments"), "{text}");
    // The `arguments` of [setup.principles] (second block) are on line 34 of the file.
    assert!(text.contains(&format!("--> {path}:34:13")), "{text}");
}

#[test]
fn list_sampler_without_num_samples_fails_at_bind_with_its_location() {
    let (doc, path) = representative();
    let block = &doc.sequence("setup").unwrap().blocks[0];
    let prompt = &block.placeholders[0];
    assert_eq!(prompt.resource, "prompt");
    let site = Site {
        sequence: "setup",
        block: 0,
        placeholder: prompt,
    };
    let err = Binding::instance(ListSampler::new(["a"]).unwrap())
        .bind(&site)
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("at sampling"),
        "argument resources bind at sampling: {text}"
    );
    assert!(text.contains("num_samples"), "{text}");
    assert!(text.contains(&format!("--> {path}:21:1")), "{text}");
}

#[test]
fn a_bindings_map_reports_a_missing_resource_by_name() {
    let (doc, _) = representative();
    let mut bindings = Bindings::new();
    bindings.insert("min", 2).insert("max", 5);
    let lc = &doc.sequence("loop_control").unwrap().blocks[0];
    let mut cx = SampleContext::new(0);
    let texts: Vec<String> = lc
        .placeholders
        .iter()
        .map(|p| {
            let site = Site {
                sequence: "loop_control",
                block: 0,
                placeholder: p,
            };
            bindings.bind(&site).unwrap().fill(&mut cx).unwrap()
        })
        .collect();
    assert_eq!(texts, ["2", "5"]);
    let setup = &doc.sequence("setup").unwrap().blocks[0];
    let site = Site {
        sequence: "setup",
        block: 0,
        placeholder: &setup.placeholders[0],
    };
    let err = bindings.bind(&site).unwrap_err();
    assert!(err.to_string().contains("`prompt`"), "{err}");
}
