//! End-to-end tests of `forge check`, run as a process.
//!
//! Every command runs with the fixtures folder (or a scratch folder under `CARGO_TARGET_TMPDIR`)
//! as its working directory and gets relative paths, so the expected output does not depend on
//! where the repository is checked out.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, forge_in};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A valid document: the repository's one copy of the representative workflow, relative to
/// the fixtures folder.
const VALID: &str = "../../../examples/representative.toml";

fn scratch(name: &str) -> PathBuf {
    common::scratch("forge-cli-tests", name)
}

/// Run `forge ARGS...` in the fixtures folder.
fn forge(args: &[&str]) -> Run {
    forge_in(&fixtures(), args)
}

/// `dir/file` as the CLI displays it (with the platform's separator).
fn joined(dir: &str, file: &str) -> String {
    Path::new(dir).join(file).display().to_string()
}

/// Run `forge ARGS...` in the fixtures folder and check it is a usage error mentioning `what`.
fn assert_usage_error(args: &[&str], what: &str) {
    common::assert_usage_error(&forge(args), what);
}

// ------------------------------------------------------------------------------- expected text

const ERRORS_SHORT: &str = "\
errors.toml:10:1: error: unknown key `colour` in `[config]`
errors.toml:13:31: error: placeholder `{who}` has no spec table
errors.toml:14:10: error: unknown tag `Trainig`
";

const WARNINGS_SHORT: &str = "\
warnings.toml:5:14: warning: `valid_tags` is empty: no block can carry a tag
warnings.toml:12:42: warning: unescaped control pattern `[Jump]` in block text
";

// ----------------------------------------------------------------------------------- valid file

#[test]
fn valid_file_exits_0_and_confirms_in_one_line() {
    for args in [
        &["check", VALID][..],
        &["check", "--format", "human", VALID],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 0, "forge {args:?}: {run:#?}");
        assert_eq!(
            run.stdout,
            format!("ok: {VALID} has no errors\n"),
            "forge {args:?}"
        );
        assert_eq!(run.stderr, "", "forge {args:?}");
    }
    // The short format stays one line per diagnostic: nothing for a clean document.
    let run = forge(&["check", "--format", "short", VALID]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
    let run = forge(&["check", VALID, "warnings.toml"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .ends_with("\n\nok: 2 documents have no errors, 2 warnings\n"),
        "{}",
        run.stdout
    );
}

// --------------------------------------------------------------------------------- warnings only

#[test]
fn warnings_only_exit_0_and_are_printed_short() {
    let run = forge(&["check", "--format", "short", "warnings.toml"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, WARNINGS_SHORT);
    assert_eq!(run.stderr, "");
}

#[test]
fn warnings_only_exit_0_and_are_printed_human() {
    let run = forge(&["check", "warnings.toml"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stderr, "");
    let expected = r#"warning: `valid_tags` is empty: no block can carry a tag
 --> warnings.toml:5:14
  |
5 | valid_tags = []
  |              ^^ empty
  |
  = help: list the tags your extractions will select, e.g. ["Training"]

warning: unescaped control pattern `[Jump]` in block text
  --> warnings.toml:12:42
   |
12 | text = "[Prompt] When you are done, emit [Jump] right away. [Answer]"
   |                                          ^^^^^^ this triggers flow control as soon as it is fed
   |
   = help: escape it as [Escape] "[Jump]" [EndEscape]

ok: warnings.toml has no errors, 2 warnings
"#;
    assert_eq!(run.stdout, expected);
    assert!(!run.stdout.contains("error:"), "{}", run.stdout);
}

// -------------------------------------------------------------------------------------- errors

#[test]
fn errors_exit_1_short_format_prints_exactly_one_line_each() {
    for args in [
        &["check", "--format", "short", "errors.toml"][..],
        &["check", "--format=short", "errors.toml"],
        &["check", "errors.toml", "--format", "short"],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 1, "forge {args:?}: {run:#?}");
        assert_eq!(run.stdout, ERRORS_SHORT, "forge {args:?}");
        assert_eq!(run.stderr, "", "forge {args:?}");
    }
}

#[test]
fn errors_exit_1_human_format_is_rustc_style() {
    for args in [
        &["check", "errors.toml"][..],
        &["check", "--format", "human", "errors.toml"],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 1, "forge {args:?}: {run:#?}");
        assert_eq!(run.stderr, "", "forge {args:?}");
        let out = &run.stdout;
        // One block per error, headed by `error: MESSAGE`, separated by blank lines.
        let headers: Vec<&str> = out.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(
            headers,
            [
                "error: unknown key `colour` in `[config]`",
                "error: placeholder `{who}` has no spec table",
                "error: unknown tag `Trainig`",
            ],
            "{out}"
        );
        assert_eq!(out.matches("\n\nerror: ").count(), 2, "{out}");
        for needle in [
            "  --> errors.toml:10:1\n",
            "  --> errors.toml:13:31\n",
            "  --> errors.toml:14:10\n",
            "10 | colour = \"blue\"\n",
            "   | ^^^^^^ unknown key\n",
            "   = help: did you mean `Training`?\n",
            "   = help: valid keys are: zone_patterns,",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
        }
        // One complete diagnostic, byte for byte: the `-->` line, the source line, the caret
        // under the placeholder, the label and the help line.
        let placeholder = r#"error: placeholder `{who}` has no spec table
  --> errors.toml:13:31
   |
13 | text = "[Prompt] Say hello to {who}. [Answer]"
   |                               ^^^^^ undeclared placeholder
   |
   = help: add a table after this block: `[greet.who]` with `name = "<resource>"` (and optionally `type` and `arguments`)
"#;
        assert!(out.contains(placeholder), "{out}");
        assert!(
            out.ends_with("   = help: did you mean `Training`?\n"),
            "{out}"
        );
    }
}

#[test]
fn toml_syntax_error_exits_1_with_one_error_at_the_line_to_fix() {
    // `syntax.toml` misses the `]` of line 2; the TOML parser's own errors are on line 3.
    let run = forge(&["check", "--format", "short", "syntax.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        "syntax.toml:2:17: error: invalid TOML: unclosed array: this `[` has no matching `]`\n"
    );

    let run = forge(&["check", "syntax.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.stdout,
        r#"error: invalid TOML: unclosed array: this `[` has no matching `]`
 --> syntax.toml:2:17
  |
2 | zone_patterns = ["[Prompt]", "[Answer]"
  |                 ^ opened here
  |
  = help: close the array with `]` after its last element
"#
    );
}

// ------------------------------------------------------------------------------ folder documents

#[test]
fn valid_folder_document_exits_0() {
    for (args, stdout) in [
        (&["check", "folder_ok"][..], "ok: folder_ok has no errors\n"),
        (&["check", "folder_ok/"], "ok: folder_ok/ has no errors\n"),
        (&["check", "--format", "short", "folder_ok"], ""),
    ] {
        let run = forge(args);
        assert_eq!(run.code, 0, "forge {args:?}: {run:#?}");
        assert_eq!(run.stdout, stdout, "forge {args:?}");
        assert_eq!(run.stderr, "", "forge {args:?}");
    }
}

#[test]
fn folder_with_a_sequence_in_two_files_exits_1_naming_both() {
    // `folder_ok`'s config file next to a file that defines `greet` again.
    let dir = scratch("folder_dup");
    std::fs::create_dir(dir.join("folder_dup")).unwrap();
    for (from, to) in [
        ("folder_ok/a_config.toml", "a_config.toml"),
        ("greet_again.toml", "b_sequences.toml"),
    ] {
        std::fs::copy(fixtures().join(from), dir.join("folder_dup").join(to)).unwrap();
    }
    let forge = |args: &[&str]| forge_in(&dir, args);
    let a = joined("folder_dup", "a_config.toml");
    let b = joined("folder_dup", "b_sequences.toml");

    let run = forge(&["check", "--format", "short", "folder_dup"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!("{b}:5:3: error: top-level key `greet` is defined in both `{a}` and `{b}`\n")
    );

    let run = forge(&["check", "folder_dup"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stderr, "");
    let expected = format!(
        "error: top-level key `greet` is defined in both `{a}` and `{b}`
 --> {b}:5:3
  |
5 | [[greet]]
  |   ^^^^^ defined again here
  |
  = note: first defined here (at {a}:10:3)
  = help: keep each sequence and `[config]` in exactly one file of the folder
"
    );
    assert_eq!(run.stdout, expected);
}

#[test]
fn empty_folder_exits_2() {
    let dir = scratch("empty_folder");
    std::fs::create_dir(dir.join("empty")).unwrap();
    std::fs::write(dir.join("empty").join("notes.txt"), "not a toml file").unwrap();
    let run = forge_in(&dir, &["check", "empty"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: cannot read `empty`: the folder holds no `*.toml` file\n"
    );
}

// ---------------------------------------------------------------------------------- I/O errors

#[test]
fn missing_path_exits_2_and_names_it() {
    for args in [
        &["check", "does_not_exist.toml"][..],
        &["check", "--format", "short", "does_not_exist.toml"],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 2, "forge {args:?}: {run:#?}");
        assert_eq!(run.stdout, "", "forge {args:?}");
        assert!(
            run.stderr
                .starts_with("error: cannot read `does_not_exist.toml`: "),
            "forge {args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains("Usage:"), "{}", run.stderr);
    }
}

#[test]
fn non_utf8_file_exits_2_with_a_clear_message() {
    let dir = scratch("non_utf8");
    // `é` in Latin-1: byte 0xE9 at offset 42.
    std::fs::write(
        dir.join("latin1.toml"),
        b"[config]\nzone_patterns = [\"[Prompt]\", \"caf\xe9\"]\n",
    )
    .unwrap();
    let run = forge_in(&dir, &["check", "latin1.toml"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: cannot read `latin1.toml`: not valid UTF-8 (invalid byte at offset 42); \
         UDPL files are UTF-8 text\n"
    );

    // The same inside a folder document: the message names the file, not just the folder.
    std::fs::create_dir(dir.join("doc")).unwrap();
    std::fs::copy(fixtures().join(VALID), dir.join("doc/a.toml")).unwrap();
    std::fs::write(dir.join("doc/b.toml"), b"# \xff\xfe\n").unwrap();
    let run = forge_in(&dir, &["check", "doc"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "");
    let b = joined("doc", "b.toml");
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot read `{b}`: not valid UTF-8 (invalid byte at offset 2); \
             UDPL files are UTF-8 text\n"
        )
    );
}

// -------------------------------------------------------------------------------- several paths

#[test]
fn several_paths_one_with_errors_exits_1() {
    let run = forge(&["check", "--format", "short", VALID, "errors.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stdout, ERRORS_SHORT);
    assert_eq!(run.stderr, "");

    // Errors in one document are not hidden by a later valid one; output follows path order.
    let run = forge(&[
        "check",
        "--format",
        "short",
        "warnings.toml",
        "errors.toml",
        "folder_ok",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(run.stdout, format!("{WARNINGS_SHORT}{ERRORS_SHORT}"));
    assert_eq!(run.stderr, "");

    // Human format: documents separated by one blank line.
    let run = forge(&["check", "warnings.toml", "errors.toml"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains(
            "   = help: escape it as [Escape] \"[Jump]\" [EndEscape]\n\nerror: unknown key `colour`"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn several_paths_warnings_only_exit_0() {
    let run = forge(&["check", "--format", "short", "warnings.toml", VALID]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout, WARNINGS_SHORT);
}

#[test]
fn several_paths_one_missing_exits_2_but_checks_the_others() {
    for args in [
        &["check", "--format", "short", "errors.toml", "missing.toml"][..],
        &["check", "--format", "short", "missing.toml", "errors.toml"],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 2, "forge {args:?}: {run:#?}");
        assert_eq!(run.stdout, ERRORS_SHORT, "forge {args:?}");
        assert!(
            run.stderr
                .starts_with("error: cannot read `missing.toml`: "),
            "forge {args:?}: {}",
            run.stderr
        );
    }
    let run = forge(&["check", VALID, "missing.toml", "folder_ok"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("`missing.toml`"), "{}", run.stderr);
}

// -------------------------------------------------------------------------------- usage errors

#[test]
fn no_arguments_prints_the_help_on_stderr_and_exits_2() {
    let run = forge(&[]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("Usage: forge <COMMAND>"),
        "{}",
        run.stderr
    );
    for command in ["check", "render", "graph"] {
        assert!(
            run.stderr.contains(&format!("\n  {command} ")),
            "{command} missing from {}",
            run.stderr
        );
    }
}

#[test]
fn unknown_command_is_a_usage_error() {
    assert_usage_error(&["frobnicate"], "unrecognized subcommand 'frobnicate'");
    assert_usage_error(&["valid.toml"], "unrecognized subcommand 'valid.toml'");
}

#[test]
fn unknown_format_is_a_usage_error() {
    assert_usage_error(
        &["check", "--format", "xml", VALID],
        "invalid value 'xml' for '--format <human|short>'\n  [possible values: human, short]",
    );
    assert_usage_error(
        &["check", "--format=json", VALID],
        "invalid value 'json' for '--format",
    );
    assert_usage_error(
        &["check", VALID, "--format"],
        "a value is required for '--format <human|short>'",
    );
}

#[test]
fn unknown_option_is_a_usage_error() {
    assert_usage_error(
        &["check", "--frobnicate", VALID],
        "unexpected argument '--frobnicate' found",
    );
}

#[test]
fn check_without_a_path_is_a_usage_error() {
    for args in [&["check"][..], &["check", "--format", "short"]] {
        assert_usage_error(
            args,
            "the following required arguments were not provided:\n  <PATH>...",
        );
    }
}

#[test]
fn help_exits_0_and_prints_on_stdout() {
    // The overview lists every subcommand and the exit codes.
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let run = forge(args);
        assert_eq!(run.code, 0, "forge {args:?}: {run:#?}");
        assert_eq!(run.stderr, "", "forge {args:?}");
        assert!(
            run.stdout.contains("Usage: forge <COMMAND>"),
            "{}",
            run.stdout
        );
        for line in [
            "  check   Parse and lint UDPL documents",
            "  render  Sample the document's program and print every zone's text",
            "  graph   Draw the document's sampled program",
            "Exit status: 0 no errors",
        ] {
            assert!(
                run.stdout.contains(line),
                "forge {args:?}: no {line:?} in {}",
                run.stdout
            );
        }
    }
    // Each subcommand has its own help, with its own options only; `-h` wins over a path
    // that does not exist.
    for args in [
        &["check", "--help"][..],
        &["check", "-h", "does_not_exist.toml"],
        &["help", "check"],
    ] {
        let run = forge(args);
        assert_eq!(run.code, 0, "forge {args:?}: {run:#?}");
        assert_eq!(run.stderr, "", "forge {args:?}");
        assert!(
            run.stdout
                .contains("Usage: forge check [OPTIONS] <PATH>..."),
            "forge {args:?}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains("--format <human|short>"),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("--seed"), "{}", run.stdout);
        assert!(run.stdout.contains("Exit status: 0"), "{}", run.stdout);
    }
    for (command, options) in [
        (
            "render",
            &["--seed <N>", "--set <NAME=VALUE>", "--list <NAME=FILE>"][..],
        ),
        (
            "graph",
            &[
                "--format <dot|mermaid|html>",
                "--seed <N>",
                "--set <NAME=VALUE>",
                "--list <NAME=FILE>",
            ],
        ),
    ] {
        let run = forge(&[command, "--help"]);
        assert_eq!(run.code, 0, "forge {command} --help: {run:#?}");
        assert!(
            run.stdout
                .contains(&format!("Usage: forge {command} [OPTIONS] <PATH>")),
            "{}",
            run.stdout
        );
        for option in options {
            assert!(
                run.stdout.contains(option),
                "forge {command} --help: no {option}: {}",
                run.stdout
            );
        }
        assert_eq!(
            run.stdout.contains("--format"),
            command == "graph",
            "{}",
            run.stdout
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    for flag in ["--version", "-V"] {
        let run = forge(&[flag]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(run.stdout, format!("forge {}\n", env!("CARGO_PKG_VERSION")));
        assert_eq!(run.stderr, "");
    }
}
