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
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke version.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::Constitution;
use criterion::{BatchSize, Criterion, Throughput};
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
    g.bench_function("execute_only", |b| {
        b.iter_batched(
            generator,
            |mut generated| {
                let inputs = (0..n).map(|i| {
                    let s = wf.sample_at(common::args(), SEED, i).expect("sample");
                    (StreamId(i as u32), s)
                });
                let mut tokens = 0;
                for r in runner.execute(&mut generated, inputs) {
                    tokens += r.expect("finished").tokens();
                }
                black_box(tokens)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("write_sink", |b| {
        b.iter_batched(
            generator,
            |mut generated| {
                let summary = Run::new(&wf, SEED, 0..n)
                    .args(|_| common::args())
                    .options(options.clone())
                    .write(&mut generated, &mut std::io::sink())
                    .expect("run");
                assert_eq!(summary.finished, n);
                black_box(summary.tokens)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("write_file", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_file(&path);
                generator()
            },
            |mut generated| {
                let summary = Run::new(&wf, SEED, 0..n)
                    .args(|_| common::args())
                    .options(options.clone())
                    .create(&path, &mut generated)
                    .expect("run");
                black_box(summary.tokens)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, smoke);
    c.final_summary();
}
