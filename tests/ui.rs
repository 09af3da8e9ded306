//! Compile-time behaviour of `include_udpl!` and `forge!`: every UDPL error class, missing
//! resources, unknown names and typed-surface mistakes fail `cargo build` with the messages
//! committed in `tests/ui/*.stderr`; hygiene cases compile.
//!
//! Bless after an intentional change with `TRYBUILD=overwrite cargo test --test ui`.

use std::path::{Path, PathBuf};

/// trybuild compiles the cases in a project of its own under the target directory, so
/// `CARGO_MANIFEST_DIR` points there; give it the fixtures `include_udpl!` reads (those of
/// the UI tests, and the command-line tool's that they share), at the same relative paths.
fn copy_fixtures() {
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf();
    for dir in ["tests/ui/fixtures", "forge-cli/tests/fixtures"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        copy_dir(&src, &target.join("tests/trybuild/forge").join(dir));
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
        }
    }
}

#[test]
fn ui() {
    copy_fixtures();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/*.rs");
}
