//! Helpers shared by the CLI's process tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `forge` binary under test.
pub const FORGE: &str = env!("CARGO_BIN_EXE_forge");

/// A fresh, empty scratch folder under `CARGO_TARGET_TMPDIR`, for files that cannot be
/// committed as fixtures (non-UTF-8 bytes, an empty folder, generated pages).
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The result of one `forge` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `forge ARGS...` in `dir`. Fails the test if the process was killed by a signal or
/// panicked.
pub fn forge_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(FORGE)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("failed to run the forge binary");
    let run = Run {
        code: out
            .status
            .code()
            .unwrap_or_else(|| panic!("forge {args:?} was killed by a signal: {out:?}")),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "forge {args:?} panicked: {run:#?}"
    );
    assert_ne!(run.code, 101, "forge {args:?} panicked: {run:#?}");
    run
}

/// A usage error: exit 2, nothing on stdout, and on stderr `error: ...` containing `what`,
/// then a pointer to `--help`.
#[allow(dead_code)] // not every test binary checks usage errors
pub fn assert_usage_error(run: &Run, what: &str) {
    assert_eq!(run.code, 2, "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(
        run.stderr.starts_with("error: "),
        "stderr should start with `error: `: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(what),
        "stderr should contain `{what}`: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("For more information, try '--help'."),
        "{}",
        run.stderr
    );
}
