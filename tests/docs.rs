//! The documentation shows what a user of the `forge` crate writes.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Rustdoc examples of every crate of the workspace use `forge::` paths and need no other
/// dependency: users depend on `forge` only (the other crates' items are re-exported there, and
/// their doctests compile against it).
#[test]
fn rustdoc_examples_use_forge_paths_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "forge-core/src", "forge-macros/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "{files:?}");
    let mut offending = Vec::new();
    let mut examples = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Inside a fenced code block of a doc comment that rustdoc compiles (not ```text).
        let mut in_code = false;
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            let Some(doc) = trimmed
                .strip_prefix("///")
                .or_else(|| trimmed.strip_prefix("//!"))
            else {
                in_code = false;
                continue;
            };
            let doc = doc.trim_start();
            if let Some(fence) = doc.strip_prefix("```") {
                if in_code {
                    in_code = false;
                } else {
                    let lang = fence.trim();
                    in_code = lang.is_empty()
                        || lang.split(',').all(|t| {
                            matches!(t.trim(), "rust" | "no_run" | "should_panic" | "ignore")
                                || t.trim().starts_with("edition")
                        });
                    examples += usize::from(in_code);
                }
                continue;
            }
            if in_code
                && (doc.contains("forge_core::")
                    || doc.contains("forge_macros::")
                    || doc.contains("use serde")
                    || doc.contains("extern crate"))
            {
                offending.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(root).unwrap().display(),
                    i + 1,
                    doc
                ));
            }
        }
    }
    assert!(examples >= 15, "only {examples} examples found");
    assert!(
        offending.is_empty(),
        "doc examples must use `forge::` paths:\n{}",
        offending.join("\n")
    );
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints for a parse error: `Error: {err:?}`,
/// which must be the rendered diagnostics, not a struct dump.
#[test]
fn a_parse_error_returned_from_main_prints_the_diagnostics() {
    let err = forge::udpl::parse_str("[config]\nzone_patterns = 3\n", "prompts.toml").unwrap_err();
    let rendered = err.to_string();
    assert!(rendered.contains(" --> prompts.toml:2:17\n"), "{rendered}");
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert_eq!(format!("Error: {boxed:?}"), format!("Error: {rendered}"));
}
