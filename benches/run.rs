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
//! Criterion measures wall time. `Scripted` answers on the caller's thread, and a run encodes
//! and writes its lines on a writer thread of its own, so after criterion the bench runs the
//! three cases alternately 21 times and prints, for each, the median wall time, the median CPU
//! time of the calling thread (`/proc/thread-self/schedstat`) and the CPU time of the whole
//! process (all threads, `/proc/self/stat`, in clock ticks, summed over the 21 runs): the
//! wall time is what a run costs its caller on a machine with a core to spare, the process
//! CPU time what it costs in all.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke version.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

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

/// The CPU time of the whole process (every thread, those that ended included), in clock
/// ticks: fields 14 and 15 (`utime`, `stime`) of `/proc/self/stat` (Linux).
fn process_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // The command name (field 2) may hold spaces: count the fields after its `)`.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| -> u64 { fields[n - 3].parse().expect("a tick count") };
    field(14) + field(15)
}

/// One measured run of `routine` on an input made by `setup` (not measured).
struct Measured {
    wall: Duration,
    thread_cpu: Duration,
    process_ticks: u64,
}

fn measure<T>(mut setup: impl FnMut() -> T, mut routine: impl FnMut(T)) -> Measured {
    let input = setup();
    let (ticks, cpu, wall) = (process_cpu_ticks(), thread_cpu_ns(), Instant::now());
    routine(input);
    Measured {
        wall: wall.elapsed(),
        thread_cpu: Duration::from_nanos(thread_cpu_ns() - cpu),
        process_ticks: process_cpu_ticks() - ticks,
    }
}

/// `iters` runs of `routine` on inputs made by `setup` (not measured): their wall time.
fn timed<T>(iters: u64, mut setup: impl FnMut() -> T, mut routine: impl FnMut(T)) -> Duration {
    (0..iters)
        .map(|_| measure(&mut setup, &mut routine).wall)
        .sum()
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
        b.iter_custom(|iters| timed(iters, generator, execute_only))
    });
    g.bench_function("write_sink", |b| {
        b.iter_custom(|iters| timed(iters, generator, write_sink))
    });
    g.bench_function("write_file", |b| {
        b.iter_custom(|iters| timed(iters, fresh_file, write_file))
    });
    g.finish();
    if !smoke {
        // The same three, alternated run by run, so that a change in the machine's load
        // affects all three alike: the ratios BENCHMARKS.md reports.
        let mut runs = [const { Vec::new() }; 3];
        for _ in 0..21 {
            runs[0].push(measure(generator, execute_only));
            runs[1].push(measure(generator, write_sink));
            runs[2].push(measure(fresh_file, write_file));
        }
        let median = |mut t: Vec<Duration>| {
            t.sort();
            t[t.len() / 2]
        };
        let figures = runs.map(|r| {
            let ticks: u64 = r.iter().map(|m| m.process_ticks).sum();
            (
                median(r.iter().map(|m| m.wall).collect()),
                median(r.iter().map(|m| m.thread_cpu).collect()),
                ticks,
            )
        });
        let (e_wall, e_cpu, e_ticks) = figures[0];
        for (name, (wall, cpu, ticks)) in ["execute_only", "write_sink", "write_file"]
            .into_iter()
            .zip(figures)
        {
            println!(
                "run/{name}, alternated 21 times: median wall {wall:.2?} ({:.3}×), median \
                 calling-thread CPU {cpu:.2?} ({:.3}×), process CPU {ticks} ticks over the 21 \
                 runs ({:.3}×)",
                wall.as_secs_f64() / e_wall.as_secs_f64(),
                cpu.as_secs_f64() / e_cpu.as_secs_f64(),
                ticks as f64 / e_ticks.max(1) as f64,
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, smoke);
    c.final_summary();
}
