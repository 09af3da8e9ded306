//! Helpers shared by the CLI's process tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Headless Chromium, from Debian's `chromium` package.
#[allow(dead_code)] // only the page tests use a browser
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The opt-out for the tests that need a program from the system (Chromium, Graphviz).
const SKIP_SYSTEM_TOOLS: &str = "FORGE_SKIP_SYSTEM_TOOLS";

/// Whether the test needing `path` (from the Debian package `package`) runs: yes when it is
/// installed; when it is missing, the test fails with what to install, unless the user opted
/// out with `FORGE_SKIP_SYSTEM_TOOLS=1`, which skips it with a note.
#[allow(dead_code)] // only the page and DOT tests need system programs
pub fn system_tool(path: &str, package: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    let help = format!("apt-get install -y {package}, or set {SKIP_SYSTEM_TOOLS}=1 to skip");
    if std::env::var_os(SKIP_SYSTEM_TOOLS).is_some_and(|v| v == "1") {
        eprintln!("note: {path} not found; skipped because {SKIP_SYSTEM_TOOLS}=1 ({help})");
        return false;
    }
    panic!("{path} not found: this test needs it ({help})");
}

/// Runs headless Chromium on `page#fragment` with a fresh `profile` folder and `extra`
/// arguments; returns (stdout, stderr). Fails the test after 120 s.
#[allow(dead_code)] // only the page tests use a browser
pub fn chromium(page: &Path, fragment: &str, profile: &Path, extra: &[String]) -> (String, String) {
    let url = format!(
        "file://{}{fragment}",
        page.canonicalize().unwrap().display()
    );
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Drain both pipes on threads so a chatty Chromium cannot block.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (t_out.join().unwrap(), t_err.join().unwrap())
}
