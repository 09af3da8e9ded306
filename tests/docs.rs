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

/// The GitHub anchor of a Markdown heading: lowercase, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading of a Markdown file (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every link target of a Markdown file outside code blocks and code spans: inline
/// `[text](target)` and reference definitions `[label]: target`.
fn link_targets(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Drop code spans: `[x](y)` inside backticks is not a link.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        if let Some(rest) = prose.strip_prefix('[')
            && let Some((_, target)) = rest.split_once("]: ")
        {
            out.push(target.trim().to_string());
            continue;
        }
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

/// Every relative link of README.md and docs/*.md leads to a file of the repository and, with
/// a `#fragment`, to a heading of that file: what GitHub shows works, and the specification
/// the code cites is there.
#[test]
fn readme_and_spec_links_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    assert!(files.len() >= 7, "docs/ holds the specification: {files:?}");
    let mut links = 0;
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let name = file.strip_prefix(root).unwrap().display().to_string();
            if !resolved.is_file() {
                broken.push(format!("{name}: `{target}`: no such file"));
            } else if !fragment.is_empty() {
                let headings = anchors(&std::fs::read_to_string(&resolved).unwrap());
                if !headings.iter().any(|a| a == fragment) {
                    broken.push(format!("{name}: `{target}`: no such heading"));
                }
            }
        }
    }
    assert!(links >= 20, "only {links} relative links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The rustdoc and README of the workspace cite the specification by its files in `docs/`,
/// never by documents that are not in the repository.
#[test]
fn sources_cite_only_spec_files_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    for dir in [
        "src",
        "forge-core/src",
        "forge-macros/src",
        "forge-cli/src",
        "forge-http/src",
        "forge-local/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut offending = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            for stale in [
                "EXECUTION.md",
                "UDPL.md",
                "RESOURCES.md",
                "FLOW.md",
                "PROGRAMS.md",
                "RUNS.md",
                "spec §",
                "Spec §",
            ] {
                if line.contains(stale) {
                    let name = file.strip_prefix(root).unwrap().display();
                    offending.push(format!("{name}:{}: {}", i + 1, line.trim()));
                }
            }
            let mut rest = line;
            while let Some(at) = rest.find("docs/") {
                let cited: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
                    .collect();
                let cited = cited.trim_end_matches('.');
                if cited.ends_with(".md") && !root.join(cited).is_file() {
                    let name = file.strip_prefix(root).unwrap().display();
                    offending.push(format!("{name}:{}: `{cited}` does not exist", i + 1));
                }
                rest = &rest[at + 5..];
            }
        }
    }
    assert!(
        offending.is_empty(),
        "cite the documents in docs/:\n{}",
        offending.join("\n")
    );
}

/// The README's shell commands, run from the repository's root, name files that exist: every
/// `--list NAME=FILE` and every path under `examples/`.
#[test]
fn readme_commands_name_files_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut in_sh = false;
    let mut named = Vec::new();
    for line in readme.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            in_sh = !in_sh && fence.trim() == "sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let command = line.split(" #").next().unwrap_or_default();
        for token in command.split_whitespace() {
            let token = token.trim_matches(|c| matches!(c, '"' | '\'' | '\\'));
            if let Some((_, file)) = token.split_once('=')
                && named.last().is_some_and(|prev: &String| prev == "--list")
            {
                named.pop();
                named.push(file.to_owned());
            } else if token == "--list" || token.starts_with("examples/") {
                named.push(token.to_owned());
            }
        }
    }
    let files: Vec<&String> = named.iter().filter(|n| *n != "--list").collect();
    assert!(files.len() >= 10, "only {files:?}");
    let missing: Vec<&&String> = files.iter().filter(|f| !root.join(f).exists()).collect();
    assert!(
        missing.is_empty(),
        "README commands name missing files: {missing:?}"
    );
}
