//! Runs (see BENCHMARKS.md, "Runs"): the cost of writing a run file through `forge::run`
//! next to executing the same streams without writing.
//!
//! - `run/execute_only`: streams `0..N` of the representative dataset, sampled lazily as they
//!   start, through `Runner::execute` against `Scripted` with instant replies; results dropped;
//! - `run/write_sink`: the same run through `Run::write` into `std::io::sink()` (lines encoded,
//!   reordered into index order through the window, nothing stored);
//! - `run/write_file`: the same run through `Run::create` into a new file (one `write_all`
//!   per line, as `forge run` writes).
//!
//! ```sh
//! cargo bench --bench run
//! ```
//!
//! The figure is the CPU time of the thread that runs (it is single-threaded: `Scripted`
//! answers on the caller's thread), read from `/proc/thread-self/schedstat`, not wall time:
//! other work sharing the cores does not count, so the ratios hold on a busy machine. Writing
//! to the file counts in full (the kernel's copy into the page cache runs on this thread).
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke version.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::Constitution;
use criterion::{Criterion, Throughput};
use forge::exec::{
    Automaton, End, Output, Plan, Reply, RequestId, RunOptions, Runner, Sampling, Scripted, Step,
    StreamId,
};
use forge::program::Workflow;
use forge::run::Run;

const SEED: u64 = 7;

/// The replies of one representative stream: a short answer ended by the advance pattern; in
/// a zone with a jump edge, every third time the control pattern.
fn script(wf: &Workflow) -> Vec<Output> {
    let sample = wf.sample_at(common::args(), SEED, 0).expect("sample");
    let plan = Plan::new(&sample, None).expect("plan");
    let mut a = Automaton::new(plan, sample, StreamId(0)).expect("automaton");
    let mut controls = 0u32;
    let mut out = Vec::new();
    while a.step() == Step::Generate {
        let r = a.request(RequestId(0), Sampling::default());
        let stop = r.stop();
        let jump = stop.len() == 3;
        if jump {
            controls += 1;
        }
        let exit = jump && controls.is_multiple_of(3);
        let text = if exit {
            format!(" Done. {}", stop[1])
        } else {
            format!(" A short answer of a few words. {}", stop[0])
        };
        drop(r);
        out.push(Output::from(text.as_str()));
        a.reply(Reply {
            tokens: 8,
            end: End::Stop(usize::from(exit)),
            text,
        });
    }
    out
}

/// The time this thread spent on a CPU (user and kernel), in nanoseconds: the first field of
/// `/proc/thread-self/schedstat` (Linux). Other processes sharing the cores do not count.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

/// `iters` runs of `routine` on inputs made by `setup` (not measured): the CPU time of the
/// runs. The runs are single-threaded (`Scripted` answers on the caller's thread).
fn on_cpu<T>(iters: u64, mut setup: impl FnMut() -> T, mut routine: impl FnMut(T)) -> Duration {
    let mut total = 0;
    for _ in 0..iters {
        let input = setup();
        let start = thread_cpu_ns();
        routine(input);
        total += thread_cpu_ns() - start;
    }
    Duration::from_nanos(total)
}

fn bench(c: &mut Criterion, smoke: bool) {
    let wf = common::representative_workflow(Constitution::PerSample.binding(common::principles()));
    common::check_representative(&wf);
    let outputs = script(&wf);
    let n: u64 = if smoke { 50 } else { 2_000 };
    let options = RunOptions {
        max_in_flight: 256,
        sampling: Sampling {
            seed: SEED,
            ..Sampling::default()
        },
        ..RunOptions::default()
    };
    let generator = || Scripted::new((0..n).map(|_| outputs.clone()));
    let path = std::env::temp_dir().join(format!("forge-bench-run-{}.jsonl", std::process::id()));

    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(if smoke { 1 } else { 10 }));
    g.throughput(Throughput::Elements(n));

    let runner = Runner::new(options.clone()).expect("options");
    let execute_only = |mut generated: Scripted| {
        let inputs = (0..n).map(|i| {
            let s = wf.sample_at(common::args(), SEED, i).expect("sample");
            (StreamId(i as u32), s)
        });
        let mut tokens = 0;
        for r in runner.execute(&mut generated, inputs) {
            tokens += r.expect("finished").tokens();
        }
        black_box(tokens);
    };
    let write_sink = |mut generated: Scripted| {
        let summary = Run::new(&wf, SEED, 0..n)
            .args(|_| common::args())
            .options(options.clone())
            .write(&mut generated, &mut std::io::sink())
            .expect("run");
        assert_eq!(summary.finished, n);
        black_box(summary.tokens);
    };
    let fresh_file = || {
        let _ = std::fs::remove_file(&path);
        generator()
    };
    let write_file = |mut generated: Scripted| {
        let summary = Run::new(&wf, SEED, 0..n)
            .args(|_| common::args())
            .options(options.clone())
            .create(&path, &mut generated)
            .expect("run");
        black_box(summary.tokens);
    };
    g.bench_function("execute_only", |b| {
        b.iter_custom(|iters| on_cpu(iters, generator, execute_only))
    });
    g.bench_function("write_sink", |b| {
        b.iter_custom(|iters| on_cpu(iters, generator, write_sink))
    });
    g.bench_function("write_file", |b| {
        b.iter_custom(|iters| on_cpu(iters, fresh_file, write_file))
    });
    g.finish();
    if !smoke {
        // The same three, alternated run by run, so that a change in the machine's load
        // affects all three alike: the ratios BENCHMARKS.md reports.
        let mut times = [const { Vec::new() }; 3];
        for _ in 0..21 {
            times[0].push(on_cpu(1, generator, execute_only));
            times[1].push(on_cpu(1, generator, write_sink));
            times[2].push(on_cpu(1, fresh_file, write_file));
        }
        let median = |t: &mut Vec<Duration>| {
            t.sort();
            t[t.len() / 2]
        };
        let [e, s, f] = times.each_mut().map(median);
        println!(
            "run, alternated 21 times (median CPU time): execute_only {e:.2?}, \
             write_sink {s:.2?} ({:.3}×), write_file {f:.2?} ({:.3}×)",
            s.as_secs_f64() / e.as_secs_f64(),
            f.as_secs_f64() / e.as_secs_f64()
        );
    }
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, smoke);
    c.final_summary();
}
