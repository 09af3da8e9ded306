//! Execution overhead (see BENCHMARKS.md, "Execution"):
//!
//! - `exec/scan/N`: the automaton handling one reply of N bytes (a request built, the reply
//!   appended and scanned for patterns, the zone ended): bytes per second;
//! - `exec/replies`: one representative stream driven by hand with short instant replies
//!   (every request built, every reply scanned, every zone advanced): replies per second;
//! - `exec/run_10000`: 10,000 concurrent representative streams through the `Runner` and
//!   `Scripted` with instant replies.
//!
//! Before measuring it prints the peak RSS of runs that keep 1,000 and 10,000 streams alive,
//! over 10,000 and 40,000 streams, consuming results as they finish (memory follows the live
//! transcripts, not the size of the run), each in a fresh child process.
//!
//! ```sh
//! cargo bench --bench exec
//! cargo bench --bench exec -- --memory 10000 40000   # one memory figure (live, total)
//! ```
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke version.

mod common;

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Constitution;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use forge::exec::{
    Automaton, End, Output, Plan, Reply, Request, RequestId, RunOptions, Runner, Sampling,
    Scripted, Step, StreamId,
};
use forge::program::{SampledWorkflow, Workflow};

fn workflow() -> Workflow {
    let wf = common::representative_workflow(Constitution::PerSample.binding(common::principles()));
    common::check_representative(&wf);
    wf
}

/// The model's policy for the representative workflow: a short answer ended by the advance
/// pattern; in a zone with a jump edge, every third time the control pattern instead (the loop
/// runs twice, the `when` takes its default branch and later its other one).
struct Policy {
    controls: u32,
}

impl Policy {
    fn reply(&mut self, r: &Request) -> Reply {
        let stop = r.stop();
        let jump = stop.len() == 3;
        if jump {
            self.controls += 1;
        }
        let exit = jump && self.controls.is_multiple_of(3);
        let text = if exit {
            format!(" Done. {}", stop[1])
        } else {
            format!(" A short answer of a few words. {}", stop[0])
        };
        Reply {
            tokens: 8,
            end: End::Stop(usize::from(exit)),
            text,
        }
    }
}

/// The replies one representative stream gets under [`Policy`], in order.
fn script(sample: &SampledWorkflow) -> Vec<Reply> {
    let plan = Plan::new(sample, None).expect("plan");
    let mut a = Automaton::new(plan, sample.clone(), StreamId(0)).expect("automaton");
    let mut policy = Policy { controls: 0 };
    let mut replies = Vec::new();
    while a.step() == Step::Generate {
        let r = a.request(RequestId(0), Sampling::default());
        let reply = policy.reply(&r);
        drop(r);
        replies.push(reply.clone());
        a.reply(reply);
    }
    assert_eq!(a.step(), Step::Finished);
    replies
}

/// Drive one stream through `replies`; returns the transcript length.
fn drive(plan: &Arc<Plan>, sample: &SampledWorkflow, replies: &[Reply]) -> usize {
    let mut a = Automaton::new(plan.clone(), sample.clone(), StreamId(0)).expect("automaton");
    let mut next = replies.iter();
    let mut id = 0;
    while a.step() == Step::Generate {
        let r = a.request(RequestId(id), Sampling::default());
        id += 1;
        drop(black_box(r));
        a.reply(next.next().expect("enough replies").clone());
    }
    a.finish().text.len()
}

/// Text of `n` bytes: words with brackets that are not patterns, then the advance pattern.
fn long_reply(n: usize, advance: &str) -> Reply {
    let mut text = String::with_capacity(n + advance.len());
    let words = [
        "alpha ",
        "[beta] ",
        "gamma, ",
        "delta. ",
        "[Ans wer] ",
        "epsilon ",
    ];
    let mut i = 0;
    while text.len() < n {
        text.push_str(words[i % words.len()]);
        i += 1;
    }
    text.truncate(n);
    text.push_str(advance);
    Reply {
        text,
        tokens: (n / 4) as u32,
        end: End::Stop(0),
    }
}

fn bench(c: &mut Criterion, smoke: bool) {
    let wf = workflow();
    let sample = wf.sample_seeded(common::args(), 1).expect("sample");
    let plan = Plan::new(&sample, Some(u32::MAX)).expect("plan");
    let replies = script(&sample);
    let visits = {
        let mut a = Automaton::new(plan.clone(), sample.clone(), StreamId(0)).unwrap();
        let mut it = replies.iter();
        while a.step() == Step::Generate {
            drop(a.request(RequestId(0), Sampling::default()));
            a.reply(it.next().unwrap().clone());
        }
        a.finish().visits.len()
    };
    println!(
        "representative stream: {} replies, {visits} zone visits, {} transcript bytes",
        replies.len(),
        drive(&plan, &sample, &replies)
    );

    let mut g = c.benchmark_group("exec");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));

    for n in if smoke {
        vec![1 << 10]
    } else {
        vec![1 << 10, 64 << 10, 1 << 20]
    } {
        // Drop the zone-ending pattern's index: the automaton only needs the stop set's text.
        let reply = long_reply(n, "[EOS]");
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_with_input(BenchmarkId::new("scan", n), &reply, |b, reply| {
            b.iter_batched(
                || {
                    let mut a = Automaton::new(plan.clone(), sample.clone(), StreamId(0)).unwrap();
                    assert_eq!(a.step(), Step::Generate);
                    (a, reply.clone())
                },
                |(mut a, reply)| {
                    drop(a.request(RequestId(0), Sampling::default()));
                    a.reply(reply);
                    black_box(a.step() == Step::Generate);
                    a
                },
                BatchSize::LargeInput,
            )
        });
    }

    g.throughput(Throughput::Elements(replies.len() as u64));
    g.bench_function("replies", |b| {
        b.iter(|| drive(&plan, black_box(&sample), &replies))
    });

    let streams = if smoke { 100 } else { 10_000 };
    let samples: Vec<SampledWorkflow> = (0..streams)
        .map(|i| wf.sample_seeded(common::args(), i as u64).expect("sample"))
        .collect();
    let outputs: Vec<Output> = replies
        .iter()
        .map(|r| Output::from(r.text.as_str()))
        .collect();
    let runner = Runner::new(RunOptions {
        max_in_flight: streams,
        ..RunOptions::default()
    })
    .expect("options");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if smoke { 1 } else { 20 }));
    g.throughput(Throughput::Elements((streams * replies.len()) as u64));
    g.bench_function(BenchmarkId::new("run", streams), |b| {
        b.iter_batched(
            || {
                let g = Scripted::new((0..streams).map(|_| outputs.clone()));
                (g, samples.clone())
            },
            |(mut g, samples)| {
                let results = runner.run(&mut g, samples).expect("run");
                assert!(results.iter().all(Result::is_ok));
                results
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Peak RSS (`VmHWM`) of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `total` streams, `live` at a time, each result dropped as it arrives (a caller writing
/// them out); workflows sampled lazily.
fn memory_child(live: usize, total: usize) {
    let wf = workflow();
    let sample = wf.sample_seeded(common::args(), 1).expect("sample");
    let outputs: Vec<Output> = script(&sample)
        .iter()
        .map(|r| Output::from(r.text.as_str()))
        .collect();
    let mut g = Scripted::new((0..total).map(|_| outputs.clone()));
    let runner = Runner::new(RunOptions {
        max_in_flight: live,
        ..RunOptions::default()
    })
    .expect("options");
    let before = peak_rss();
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut done = 0usize;
    let lazy = (0..total).map(|i| wf.sample_seeded(common::args(), i as u64).expect("sample"));
    for result in runner.execute(&mut g, lazy) {
        bytes = bytes.max(result.expect("stream").text.len());
        done += 1;
    }
    assert_eq!(done, total);
    let grew = peak_rss().saturating_sub(before);
    println!(
        "live {live:>6}, total {total:>6}: peak RSS +{:.1} MiB ({:.1} KiB per live stream; \
         transcript {bytes} B; script {} B per stream) in {:.2} s",
        grew as f64 / 1048576.0,
        grew as f64 / 1024.0 / live as f64,
        outputs
            .iter()
            .map(|o| match o {
                Output::Chars(s) => s.len(),
                _ => 0,
            })
            .sum::<usize>()
            / 1024,
        t.elapsed().as_secs_f64()
    );
}

fn memory(cases: &[(usize, usize)]) {
    let exe = std::env::current_exe().expect("current exe");
    for &(live, total) in cases {
        let status = Command::new(&exe)
            .args(["--memory", &live.to_string(), &total.to_string()])
            .status()
            .expect("child");
        assert!(status.success());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--memory") {
        let n = |k: usize| args.get(i + k).and_then(|s| s.parse().ok());
        match (n(1), n(2)) {
            (Some(live), Some(total)) => memory_child(live, total),
            _ => memory(&[
                (1_000, 10_000),
                (1_000, 40_000),
                (10_000, 10_000),
                (10_000, 40_000),
            ]),
        }
        return;
    }
    let smoke = !args.iter().any(|a| a == "--bench");
    if smoke {
        memory_child(10, 100);
    } else {
        memory(&[
            (1_000, 10_000),
            (1_000, 40_000),
            (10_000, 10_000),
            (10_000, 40_000),
        ]);
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, smoke);
    c.final_summary();
}
