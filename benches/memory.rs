//! Memory of the scaling workload: a program that runs one block N times (3N zones), built,
//! compiled and sampled, each N in a fresh child process so peak RSS figures don't mix.
//!
//! ```sh
//! cargo bench --bench memory                   # N = 1,000 / 100,000 / 1,000,000
//! cargo bench --bench memory -- 10000 2000000  # chosen N
//! ```
//!
//! Without `--bench` (as under `cargo test --benches`) it only checks N = 1,000.
//!
//! For each N it reports the RSS of the compiled workflow, the peak RSS increase while drawing
//! one sample (the peak is reset through `/proc/self/clear_refs` just before sampling), the
//! sample's output size (text bytes + one `usize` zone end per zone), and their ratio: memory is
//! proportional to output when that ratio stays flat as N grows. Linux only.

mod common;

use std::process::Command;
use std::time::Instant;

use common::Constitution;

/// `VmRSS` and `VmHWM` (peak) of this process, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Reset the peak RSS to the current RSS; false if the kernel refuses.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

const MIB: f64 = 1024.0 * 1024.0;

fn child(n: usize) {
    let (rss0, _) = rss();
    let t = Instant::now();
    let wf = common::single_block_workflow(n, Constitution::Instance.binding(common::principles()));
    let build = t.elapsed();
    let (rss_wf, hwm_build) = rss();

    let mut line = format!(
        "{n:>9} {:>9} {:>9.1} {:>10.1} {:>10.1}",
        3 * n,
        build.as_secs_f64() * 1e3,
        (rss_wf - rss0) as f64 / MIB,
        (hwm_build - rss0) as f64 / MIB,
    );
    // First sample (no size hint yet: the text buffer grows), then a second one (the workflow
    // remembers the size: one exact allocation).
    for _ in 0..2 {
        let (before, _) = rss();
        let reset = reset_peak();
        let t = Instant::now();
        let sample = wf
            .sample_seeded(common::single::Args {}, 1)
            .expect("sample");
        let took = t.elapsed();
        let (_, peak) = rss();
        let output = sample.text().len() + sample.len() * std::mem::size_of::<usize>();
        let grew = peak.saturating_sub(before);
        line += &format!(
            " | {:>8.1} {:>9.1} {:>9.1} {:>6.2}{}",
            took.as_secs_f64() * 1e3,
            output as f64 / MIB,
            grew as f64 / MIB,
            grew as f64 / output as f64,
            if reset { "" } else { "?" }
        );
        drop(sample);
    }
    println!("{line}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args[i + 1].parse().expect("N"));
        return;
    }
    let mut ns: Vec<usize> = args[1..].iter().filter_map(|a| a.parse().ok()).collect();
    if ns.is_empty() {
        // `cargo bench` passes `--bench`; without it (`cargo test --benches`), a smoke test.
        ns = if args.iter().any(|a| a == "--bench") {
            vec![1_000, 100_000, 1_000_000]
        } else {
            vec![1_000]
        };
    }
    println!(
        "memory: `step` run N times (single_block_sequence.toml), constitution = one list \
         sampler instance; MiB; `?` = peak reset refused"
    );
    println!(
        "{:>9} {:>9} {:>9} {:>10} {:>10} | {:>8} {:>9} {:>9} {:>6} | {:>8} {:>9} {:>9} {:>6}",
        "N",
        "zones",
        "build ms",
        "workflow",
        "build peak",
        "1st ms",
        "output",
        "peak +",
        "ratio",
        "2nd ms",
        "output",
        "peak +",
        "ratio"
    );
    let exe = std::env::current_exe().expect("current exe");
    for n in ns {
        let status = Command::new(&exe)
            .arg("--child")
            .arg(n.to_string())
            .status()
            .expect("run child");
        assert!(status.success(), "child for N = {n} failed");
    }
}
