//! One test per UDPL rule: each asserts the diagnostic's severity, message, line and column
//! (of the offending value), and its help where a fix is known. Everything goes through the
//! public runtime API (`forge::udpl::parse_str` / `parse_sources`).

use forge::diagnostics::{Diagnostic, Severity};
use forge::udpl::{self, ResourceKind};

/// Lines 1–8: a valid config. Appended text starts on line 9.
const CONFIG: &str = r#"[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Training", "Correct", "Final"]
default_max_token_length = 100
sequences = ["setup"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]
"#;

/// Lines 9–11: a valid block of `setup`.
const BLOCK: &str = "[[setup]]\ntext = \"[Prompt] Hi [Answer]\"\ntags = [[], []]\n";

/// The config with the line starting with `key =` replaced by `line`.
fn config_with(key: &str, line: &str) -> String {
    let prefix = format!("{key} =");
    let mut found = false;
    let out: Vec<String> = CONFIG
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                found = true;
                line.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "no config line for {key}");
    out.join("\n") + "\n"
}

fn diagnostics(src: &str) -> Vec<Diagnostic> {
    match udpl::parse_str(src, "t.toml") {
        Ok(parsed) => parsed.warnings,
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// Exactly one diagnostic, with this severity, position and message.
#[track_caller]
fn only(src: &str, severity: Severity, line: u32, column: u32, message: &str) -> Diagnostic {
    let ds = diagnostics(src);
    assert_eq!(
        ds.len(),
        1,
        "expected one diagnostic, got:\n{}",
        forge::diagnostics::render_all(&ds, forge::diagnostics::Format::Short)
    );
    let d = ds.into_iter().next().unwrap();
    assert_eq!(
        (d.severity, d.line, d.column, d.message.as_str()),
        (severity, line, column, message),
        "{}",
        d.render_short()
    );
    d
}

#[track_caller]
fn error(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let d = only(src, Severity::Error, line, column, message);
    assert!(udpl::parse_str(src, "t.toml").is_err());
    d
}

#[track_caller]
fn warning(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let d = only(src, Severity::Warning, line, column, message);
    assert!(
        udpl::parse_str(src, "t.toml").is_ok(),
        "warnings must not fail the parse"
    );
    d
}

/// Among several diagnostics, the one with this message; asserts its position.
#[track_caller]
fn find(src: &str, line: u32, column: u32, message: &str) -> Diagnostic {
    let ds = diagnostics(src);
    let d = ds.iter().find(|d| d.message == message).unwrap_or_else(|| {
        panic!(
            "no diagnostic {message:?} in:\n{}",
            forge::diagnostics::render_all(&ds, forge::diagnostics::Format::Short)
        )
    });
    assert_eq!((d.line, d.column), (line, column), "{}", d.render_short());
    d.clone()
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap_or("")
}

#[test]
fn baseline_is_valid() {
    let src = format!("{CONFIG}{BLOCK}");
    assert!(diagnostics(&src).is_empty());
}

mod blocks;
mod config;
mod placeholders;

// ------------------------------------------------------------------------------ top level

#[test]
fn unknown_top_level_key() {
    let src = format!("title = \"x\"\n{CONFIG}{BLOCK}");
    let d = error(&src, 1, 1, "unknown top-level key `title`");
    assert!(help(&d).contains("only `[config]` and `[[sequence]]`"));
}

#[test]
fn unlisted_sequence_is_an_error_with_suggestion() {
    let src =
        format!("{CONFIG}{BLOCK}[[setpu]]\ntext = \"[Prompt] x [Answer]\"\ntags = [[], []]\n");
    let d = error(
        &src,
        12,
        3,
        "sequence `setpu` is not listed in `config.sequences`",
    );
    assert_eq!(help(&d), "did you mean `setup`?");
}

#[test]
fn sequence_must_be_an_array_of_tables() {
    let src = format!("{CONFIG}[setup]\ntext = \"[Prompt] x [Answer]\"\n");
    error(
        &src,
        9,
        1,
        "sequence `setup` must be an array of tables (`[[setup]]` blocks)",
    );
    let src = format!("{CONFIG}\n");
    let src = src.replacen("[config]", "setup = []\n[config]", 1);
    error(&src, 1, 9, "sequence `setup` has no blocks");
}

#[test]
fn folder_needs_exactly_one_config() {
    let seqs = BLOCK;
    let err = udpl::parse_sources(&[("p/a.toml", seqs), ("p/b.toml", "")]).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(d.message, "no file of the folder has a `[config]` table");
    let err = udpl::parse_sources(&[("p/a.toml", CONFIG), ("p/b.toml", CONFIG)]).unwrap_err();
    let d = err
        .errors()
        .find(|d| d.message.starts_with("top-level key `config`"))
        .expect("a duplicate config error");
    assert_eq!(
        d.message,
        "top-level key `config` is defined in both `p/a.toml` and `p/b.toml`"
    );
    assert_eq!((&*d.file, d.line, d.column), ("p/b.toml", 1, 2));
    assert_eq!(
        d.notes[0].location.as_ref().unwrap().to_string(),
        "p/a.toml:1:2"
    );
}

#[test]
fn folder_key_defined_in_two_files_names_both() {
    let err = udpl::parse_sources(&[
        ("p/a.toml", &format!("{CONFIG}{BLOCK}")),
        ("p/b.toml", BLOCK),
    ])
    .unwrap_err();
    let ds: Vec<_> = err.errors().collect();
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].message,
        "top-level key `setup` is defined in both `p/a.toml` and `p/b.toml`"
    );
    assert_eq!((&*ds[0].file, ds[0].line, ds[0].column), ("p/b.toml", 1, 3));
}
