//! Runs (`forge::run`): byte-identical files for any concurrency, resume after a cut, the
//! retry pass, shards that merge into the single-process file, bad input refused untouched,
//! cancellation, lazy sampling, and stream `i` = dataset sample `i`.

#[path = "exec/common.rs"]
mod common;
#[path = "../examples/run_program.rs"]
mod run_program;

use std::path::{Path, PathBuf};

use common::*;
use forge::dataset::{self, DatasetReader, Header};
use forge::exec::{Output, RunOptions, Runner, Sampling, Scripted, SpanKind, StreamError, ZoneEnd};
use forge::program::Workflow;
use forge::resources::Bindings;
use forge::run::{Cancel, Progress, Run, RunFileError, RunHeader, RunReader, Summary, merge};

/// `loop(ctl, q)` then `capture(ask, upper)`, `feed(show)`: a loop, a tool, extractions.
fn mixed() -> Workflow {
    workflow(|p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
        p.capture("ask", "upper").unwrap();
        p.feed("show").unwrap();
    })
}

/// Stream `i` loops `i % 3` times; its replies come in chunks that split patterns.
fn script(i: usize) -> Vec<Output> {
    let mut out = Vec::new();
    for k in 0..i % 3 {
        out.push(Output::from(" go [A]"));
        out.push(Output::Tokens(vec![
            format!(" s{i}"),
            format!(" k{k} ["),
            "A".into(),
            "]".into(),
        ]));
    }
    out.push(" stop [J]".into());
    out.push(Output::Tokens(vec![format!(" ask{i} ["), "A]".into()]));
    out
}

fn scripts(n: usize) -> Vec<Vec<Output>> {
    (0..n).map(script).collect()
}

fn opts(max_in_flight: usize) -> RunOptions {
    RunOptions {
        max_in_flight,
        ..options()
    }
}

fn run<'w>(w: &'w Workflow, range: std::ops::Range<u64>, max_in_flight: usize) -> Run<'w> {
    Run::new(w, 7, range)
        .options(opts(max_in_flight))
        .tools(tools())
        .record("engine", serde_json::json!({ "kind": "scripted" }))
}

/// The whole run 0..n written in memory, completions shuffled with `shuffle`.
fn bytes(w: &Workflow, n: u64, max_in_flight: usize, shuffle: u64) -> Vec<u8> {
    let mut g = Scripted::new(scripts(n as usize)).shuffled(shuffle);
    let mut out = Vec::new();
    let summary = run(w, 0..n, max_in_flight).write(&mut g, &mut out).unwrap();
    assert_eq!((summary.finished, summary.failed), (n, 0));
    out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("forge-runs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn the_bytes_do_not_depend_on_concurrency_or_completion_order() {
    let w = mixed();
    let base = bytes(&w, 64, 1, 1);
    for (max, shuffle) in [(7, 2), (64, 3), (64, 4)] {
        assert!(bytes(&w, 64, max, shuffle) == base, "max_in_flight {max}");
    }
    // A window smaller than the concurrency holds streams back; same bytes.
    let mut g = Scripted::new(scripts(64)).shuffled(5);
    let mut out = Vec::new();
    run(&w, 0..64, 64)
        .window(3)
        .write(&mut g, &mut out)
        .unwrap();
    assert!(out == base);
    // Scripts made as each stream starts (and dropped as it ends) play the same.
    let mut g = Scripted::from_fn(|stream| script(stream.0 as usize)).shuffled(6);
    let mut out = Vec::new();
    run(&w, 0..64, 16).write(&mut g, &mut out).unwrap();
    assert!(out == base);
    assert_eq!(g.remaining(forge::exec::StreamId(3)), 0);
    let text = String::from_utf8(base).unwrap();
    assert_eq!(text.lines().count(), 65);
    assert!(
        text.starts_with("{\"format\":\"forge-run\",\"version\":1,\"seed\":7,\"range\":[0,64],")
    );
    let line2 = text.lines().nth(3).unwrap();
    assert!(
        line2.starts_with("{\"index\":2,\"seed\":7,\"status\":\"finished\",\"visits\":[{\"zone\":"),
        "{line2}"
    );
}

#[test]
fn the_reader_gives_back_the_transcripts_the_runner_makes() {
    let w = mixed();
    let file = bytes(&w, 24, 5, 9);
    let samples: Vec<_> = (0..24)
        .map(|i| w.sample_at(Bindings::new(), 7, i).unwrap())
        .collect();
    let runner = Runner::new(RunOptions {
        sampling: Sampling {
            seed: 7,
            ..Sampling::default()
        },
        ..options()
    })
    .unwrap()
    .with_tools(tools());
    let direct = runner
        .run(&mut Scripted::new(scripts(24)), samples)
        .unwrap();
    let reader = RunReader::new(&file[..]).unwrap();
    assert_eq!(reader.header().seed, 7);
    assert_eq!(*reader.header().workflow, *w.meta());
    let mut n = 0;
    for (line, expected) in reader.zip(&direct) {
        let line = line.unwrap();
        assert_eq!(line.index, n);
        assert_eq!(line.seed, 7);
        assert_eq!(&line.outcome.unwrap(), expected.as_ref().unwrap());
        n += 1;
    }
    assert_eq!(n, 24);
}

#[test]
fn failed_streams_are_lines_with_their_error_and_a_retry_pass_completes_them() {
    let w = mixed();
    let expected = bytes(&w, 12, 4, 1);
    // Every stream's first request fails: all 12 written as failed.
    let path = scratch("retry.jsonl");
    let failing: Vec<Vec<Output>> = (0..12)
        .map(|_| vec![Output::Fail("server down".into())])
        .collect();
    let summary = run(&w, 0..12, 4)
        .create(&path, &mut Scripted::new(failing))
        .unwrap();
    assert_eq!((summary.finished, summary.failed), (0, 12));
    let lines: Vec<_> = RunReader::new(
        std::fs::File::open(&path)
            .map(std::io::BufReader::new)
            .unwrap(),
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    let failed = lines[3].outcome.as_ref().unwrap_err();
    assert!(failed.message.contains("stream 3"), "{}", failed.message);
    assert!(failed.message.contains("server down"), "{}", failed.message);
    assert!(failed.partial.is_some());
    // Resuming finds nothing to run: the file is complete.
    let again = run(&w, 0..12, 4)
        .resume(&path, &mut Scripted::new(scripts(12)))
        .unwrap();
    assert_eq!(again.total, 0);
    // The retry pass runs the failed ones; the result is the uninterrupted file.
    let summary = run(&w, 0..12, 4)
        .retry_failed(&path, &mut Scripted::new(scripts(12)).shuffled(3))
        .unwrap();
    assert_eq!(
        (summary.total, summary.finished, summary.failed),
        (12, 12, 0)
    );
    assert!(std::fs::read(&path).unwrap() == expected);
}

#[test]
fn a_retry_pass_keeps_every_other_line_byte_for_byte() {
    let w = mixed();
    let path = scratch("retry-some.jsonl");
    // Streams 2, 5 and 9 fail; the others finish with another script than the retry's.
    let first: Vec<Vec<Output>> = (0..12)
        .map(|i| {
            if [2, 5, 9].contains(&i) {
                vec![Output::Fail("flaky".into())]
            } else {
                script(i + 1)
            }
        })
        .collect();
    run(&w, 0..12, 3)
        .create(&path, &mut Scripted::new(first))
        .unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let summary = run(&w, 0..12, 3)
        .retry_failed(&path, &mut Scripted::new(scripts(12)))
        .unwrap();
    assert_eq!((summary.total, summary.finished), (3, 3));
    let after = std::fs::read_to_string(&path).unwrap();
    let fresh = String::from_utf8(bytes(&w, 12, 1, 1)).unwrap();
    for (i, ((b, a), f)) in before
        .lines()
        .zip(after.lines())
        .zip(fresh.lines())
        .enumerate()
    {
        if [3, 6, 10].contains(&i) {
            assert!(b.contains("\"status\":\"failed\""));
            assert_eq!(a, f, "line {i} is the retried stream");
        } else {
            assert_eq!(a, b, "line {i} is unchanged");
        }
    }
    assert!(!scratch_exists(&path));
}

fn scratch_exists(path: &Path) -> bool {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(".retry");
    path.with_file_name(name).exists()
}

#[test]
fn a_cut_file_resumed_gives_the_uninterrupted_bytes() {
    let w = mixed();
    let full = bytes(&w, 20, 6, 2);
    let header_len = full.iter().position(|&b| b == b'\n').unwrap() + 1;
    let path = scratch("cut.jsonl");
    // Cut anywhere: inside the header, at a line end, inside a line.
    let line_end = header_len + full[header_len..].iter().position(|&b| b == b'\n').unwrap() + 1;
    for cut in [0, header_len, line_end, line_end + 17, full.len() - 3] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let mut g = Scripted::new(scripts(20)).shuffled(cut as u64);
        run(&w, 0..20, 6).resume(&path, &mut g).unwrap();
        assert!(std::fs::read(&path).unwrap() == full, "cut at byte {cut}");
    }
}

#[test]
fn resume_refuses_another_run_and_changes_nothing() {
    let w = mixed();
    let path = scratch("other.jsonl");
    let full = bytes(&w, 8, 2, 1);
    let cut = &full[..full.len() - 40];
    let other_workflow = workflow(|p| {
        p.run("q").unwrap();
    });
    let cases: Vec<(Run<'_>, &str)> = vec![
        (
            Run::new(&w, 8, 0..8)
                .options(opts(2))
                .tools(tools())
                .record("engine", serde_json::json!({ "kind": "scripted" })),
            "`seed` is 7, the expected one 8",
        ),
        (run(&w, 0..9, 2), "`range[1]` is 8, the expected one 9"),
        (
            run(&w, 0..8, 2).options(RunOptions {
                sampling: Sampling {
                    temperature: 0.5,
                    ..Sampling::default()
                },
                ..opts(2)
            }),
            "`generator.sampling.temperature` is 0.0, the expected one 0.5",
        ),
        (
            run(&w, 0..8, 2).record("engine", serde_json::json!({ "kind": "http" })),
            "`generator.engine.kind` is \"scripted\", the expected one \"http\"",
        ),
        (run(&other_workflow, 0..8, 2), "`workflow."),
    ];
    for (mut r, message) in cases {
        std::fs::write(&path, cut).unwrap();
        let error = r
            .resume(&path, &mut Scripted::new(scripts(9)))
            .unwrap_err()
            .to_string();
        assert!(error.contains("belongs to another run"), "{error}");
        assert!(error.contains(message), "{error}");
        assert!(error.contains("line 1"), "{error}");
        assert!(std::fs::read(&path).unwrap() == cut);
    }
}

#[test]
fn bad_files_are_refused_with_a_clear_error_and_left_untouched() {
    let w = mixed();
    let full = String::from_utf8(bytes(&w, 4, 2, 1)).unwrap();
    let path = scratch("bad.jsonl");
    let newer = full.replacen("\"version\":1", "\"version\":9", 1);
    let dataset_file = Header::new(&w, 7).to_line();
    let cases = [
        (
            newer.as_str(),
            "run format version 9, but this forge reads versions 1 to 1: upgrade forge",
        ),
        (
            dataset_file.as_str(),
            "this is a dataset (`forge-dataset`), not a run file",
        ),
        ("hello\nworld\n", "the header is not JSON"),
        ("{\"a\":1}\n", "no `format` field"),
    ];
    for (contents, message) in cases {
        std::fs::write(&path, contents).unwrap();
        let error = run(&w, 0..4, 2)
            .resume(&path, &mut Scripted::new(scripts(4)))
            .unwrap_err()
            .to_string();
        assert!(error.contains(message), "{error}");
        assert!(std::fs::read_to_string(&path).unwrap() == contents);
        let read = RunReader::new(contents.as_bytes())
            .err()
            .unwrap()
            .to_string();
        assert!(read.contains(message), "{read}");
    }
    // A truncated header: the reader says so; resume rewrites it (nothing was complete).
    let truncated = &full[..30];
    let read = RunReader::new(truncated.as_bytes())
        .err()
        .unwrap()
        .to_string();
    assert!(read.contains("the header line is incomplete"), "{read}");
    // Lines that are not this run's.
    let mut lines: Vec<&str> = full.lines().collect();
    lines.swap(1, 2);
    let swapped = lines.join("\n") + "\n";
    std::fs::write(&path, &swapped).unwrap();
    let error = run(&w, 0..4, 2)
        .resume(&path, &mut Scripted::new(scripts(4)))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("line 2: expected stream 0 of this file"),
        "{error}"
    );
    assert!(std::fs::read_to_string(&path).unwrap() == swapped);
    let read: Result<Vec<_>, _> = RunReader::new(swapped.as_bytes()).unwrap().collect();
    assert!(
        read.unwrap_err()
            .to_string()
            .contains("line 2: expected stream 0")
    );
    // An output path in a missing directory; an existing file is not overwritten.
    let missing = scratch("no-such-dir").join("out.jsonl");
    let error = run(&w, 0..4, 2)
        .create(&missing, &mut Scripted::new(scripts(4)))
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot create"), "{error}");
    assert!(error.contains("does not exist"), "{error}");
    std::fs::write(&path, "keep me\n").unwrap();
    let error = run(&w, 0..4, 2)
        .create(&path, &mut Scripted::new(scripts(4)))
        .unwrap_err()
        .to_string();
    assert!(error.contains("exists"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
}

#[test]
fn shards_merge_into_the_single_process_file() {
    let w = mixed();
    let single = bytes(&w, 64, 8, 1);
    let shards: Vec<PathBuf> = (0..4)
        .map(|k| {
            let path = scratch(&format!("shard-{k}.jsonl"));
            let mut g = Scripted::new(scripts(64)).shuffled(k);
            run(&w, k * 16..(k + 1) * 16, 8)
                .create(&path, &mut g)
                .unwrap();
            path
        })
        .collect();
    let out = scratch("merged.jsonl");
    let merged = merge(&out, &shards).unwrap();
    assert_eq!(merged.range, 0..64);
    assert!(merged.runs);
    assert!(std::fs::read(&out).unwrap() == single);

    // Refusals write nothing: a gap, an overlap, another seed, another workflow.
    let refused = |shards: &[PathBuf], message: &str| {
        let out = scratch("refused.jsonl");
        let error = merge(&out, shards).unwrap_err().to_string();
        assert!(error.contains(message), "{error}");
        assert!(!out.exists());
    };
    refused(
        &[shards[0].clone(), shards[2].clone()],
        "indices 16..32 are missing (a gap)",
    );
    let overlap = scratch("overlap.jsonl");
    run(&w, 8..16, 8)
        .create(&overlap, &mut Scripted::new(scripts(64)))
        .unwrap();
    refused(
        &[shards[0].clone(), overlap, shards[1].clone()],
        "the shards overlap on 8..16",
    );
    let seeded = scratch("seeded.jsonl");
    Run::new(&w, 8, 16..32)
        .options(opts(8))
        .tools(tools())
        .record("engine", serde_json::json!({ "kind": "scripted" }))
        .create(&seeded, &mut Scripted::new(scripts(64)))
        .unwrap();
    refused(
        &[shards[0].clone(), seeded],
        "`seed` is 8, the expected one 7",
    );
    let other = workflow(|p| {
        p.run("q").unwrap();
    });
    let foreign = scratch("foreign.jsonl");
    run(&other, 16..32, 8)
        .create(&foreign, &mut Scripted::new(scripts(64)))
        .unwrap();
    refused(&[shards[0].clone(), foreign], "`workflow.");
}

#[test]
fn dataset_shards_merge_into_the_single_process_file() {
    let w = mixed();
    let header = Header::new(&w, 3);
    let mut single = header.to_line().into_bytes();
    dataset::write_range(
        &w,
        &header,
        0..10_000,
        2,
        |_| Bindings::new(),
        &mut single,
        |_| {},
    )
    .unwrap();
    let shards: Vec<PathBuf> = (0..4u64)
        .map(|k| {
            let path = scratch(&format!("dshard-{k}.jsonl"));
            let mut file = header.to_line().into_bytes();
            dataset::write_range(
                &w,
                &header,
                k * 2500..(k + 1) * 2500,
                1,
                |_| Bindings::new(),
                &mut file,
                |_| {},
            )
            .unwrap();
            std::fs::write(&path, file).unwrap();
            path
        })
        .collect();
    let out = scratch("dmerged.jsonl");
    let merged = merge(&out, &shards).unwrap();
    assert_eq!(merged.range, 0..10_000);
    assert!(!merged.runs);
    assert!(std::fs::read(&out).unwrap() == single);
    let _ = std::fs::remove_file(&out);
    let error = merge(&out, &[shards[0].clone(), shards[3].clone()])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("indices 2500..7500 are missing (a gap)"),
        "{error}"
    );
    assert!(!out.exists());
    // Reading the merged file back: every sample is the dataset's.
    let reader = DatasetReader::new(&single[..]).unwrap();
    assert_eq!(reader.count(), 10_000);
}

/// Stops the run after `after` lines.
struct StopAfter {
    cancel: Cancel,
    after: u64,
    peak_in_flight: u64,
}

impl Progress for &mut StopAfter {
    fn update(&mut self, s: &Summary) {
        self.peak_in_flight = self.peak_in_flight.max(s.in_flight);
        if s.written() >= self.after {
            self.cancel.stop();
        }
    }
}

#[test]
fn a_stopped_run_drains_its_streams_and_resumes_to_the_same_bytes() {
    let w = mixed();
    let full = bytes(&w, 40, 5, 1);
    let path = scratch("stopped.jsonl");
    let cancel = Cancel::new();
    let mut stop = StopAfter {
        cancel: cancel.clone(),
        after: 10,
        peak_in_flight: 0,
    };
    let summary = run(&w, 0..40, 5)
        .cancel(cancel)
        .progress(&mut stop)
        .create(&path, &mut Scripted::new(scripts(40)).shuffled(4))
        .unwrap();
    assert!(summary.stopped);
    assert_eq!(
        summary.in_flight, 0,
        "every started stream drained and written"
    );
    assert!(
        summary.written() >= 10 && summary.written() < 40,
        "{summary:?}"
    );
    assert_eq!(summary.written() + summary.not_started, 40);
    let summary = run(&w, 0..40, 5)
        .resume(&path, &mut Scripted::new(scripts(40)).shuffled(5))
        .unwrap();
    assert!(!summary.stopped);
    assert!(std::fs::read(&path).unwrap() == full);
}

#[test]
fn a_failing_writer_stops_the_run_with_its_error() {
    // A disk that fills up a third of the way: the run stops (no hang, no panic) with the
    // writer's error, and what was written is a prefix of the full file.
    struct Full {
        out: Vec<u8>,
        room: usize,
    }
    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no space left on the device",
                ));
            }
            let n = buf.len().min(self.room);
            self.out.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let w = mixed();
    let full = bytes(&w, 200, 1, 1);
    let mut out = Full {
        out: Vec::new(),
        room: full.len() / 3,
    };
    let error = run(&w, 0..200, 8)
        .write(&mut Scripted::new(scripts(200)).shuffled(3), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            &error,
            RunFileError::Io {
                path: None,
                action: "write",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("cannot write the run: no space left on the device"),
        "{error}"
    );
    assert_eq!(out.out.len(), full.len() / 3);
    assert!(full.starts_with(&out.out));
}

#[test]
fn an_aborted_run_leaves_a_prefix_and_counts_what_it_lost() {
    let w = mixed();
    let cancel = Cancel::new();
    struct Abort(Cancel);
    impl Progress for Abort {
        fn update(&mut self, s: &Summary) {
            if s.written() >= 3 {
                self.0.abort();
            }
        }
    }
    let mut out = Vec::new();
    let summary = run(&w, 0..40, 8)
        .cancel(cancel.clone())
        .progress(Abort(cancel))
        .write(&mut Scripted::new(scripts(40)).shuffled(2), &mut out)
        .unwrap();
    assert!(summary.stopped);
    assert!(summary.in_flight > 0, "{summary:?}");
    assert_eq!(
        summary.written() + summary.in_flight + summary.not_started,
        40
    );
    let full = bytes(&w, 40, 1, 1);
    assert!(full.starts_with(&out));
}

#[test]
fn memory_follows_the_window_not_the_range() {
    // 100,000 streams (every reply an empty end of sequence): never more than the window
    // started and unwritten.
    let w = workflow(|p| {
        p.run("q").unwrap();
    });
    let cancel = Cancel::new();
    let mut watch = StopAfter {
        cancel: cancel.clone(),
        after: u64::MAX,
        peak_in_flight: 0,
    };
    let mut sink = std::io::sink();
    let summary = Run::new(&w, 1, 0..100_000)
        .options(opts(64))
        .window(100)
        .progress(&mut watch)
        .write(
            &mut Scripted::new(Vec::<Vec<Output>>::new()).shuffled(1),
            &mut sink,
        )
        .unwrap();
    assert_eq!(summary.finished, 100_000);
    assert!(watch.peak_in_flight <= 100, "{}", watch.peak_in_flight);
    assert!(summary.ended(1, ZoneEnd::Eos) > 0 || summary.ended_anywhere(ZoneEnd::Eos) == 100_000);
    // The widest range a run can number starts at once and stops when asked (lazy sampling:
    // nothing is allocated per stream up front).
    let mut stop = StopAfter {
        cancel: cancel.clone(),
        after: 50,
        peak_in_flight: 0,
    };
    let summary = Run::new(&w, 1, 0..u64::from(u32::MAX) + 1)
        .options(opts(16))
        .cancel(cancel)
        .progress(&mut stop)
        .write(
            &mut Scripted::new(Vec::<Vec<Output>>::new()),
            &mut std::io::sink(),
        )
        .unwrap();
    assert!(summary.written() >= 50 && summary.not_started > 4_000_000_000);
    let error = Run::new(&w, 1, 0..u64::from(u32::MAX) + 2)
        .write(
            &mut Scripted::new(Vec::<Vec<Output>>::new()),
            &mut std::io::sink(),
        )
        .unwrap_err();
    assert!(matches!(error, RunFileError::Range(_)), "{error}");
}

#[test]
fn the_summary_counts_how_zone_visits_ended() {
    let w = mixed();
    let mut g = Scripted::new(scripts(9));
    let summary = run(&w, 0..9, 3)
        .write(&mut g, &mut std::io::sink())
        .unwrap();
    // Streams loop 0, 1, 2 times: the control zone ends by a pattern (go on) or a jump.
    let jumps = summary.ended_anywhere(ZoneEnd::Jump);
    let patterns = summary.ended_anywhere(ZoneEnd::Pattern);
    assert_eq!(jumps, 9);
    assert!(patterns >= 9 + 2 * 3, "{summary:?}");
    assert!(summary.tokens > 0 && summary.tokens_per_second() > 0.0);
}

#[test]
fn stream_i_executes_dataset_sample_i() {
    let doc = forge::udpl::parse_str(
        r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["Out"]
default_max_token_length = 10
sequences = ["s"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
[[s]]
text = "[P] {pick} [A]"
tags = [["Out"]]
[s.pick]
name = "letters"
arguments = { num_samples = 1 }
"#,
        "s.toml",
    )
    .unwrap()
    .document;
    let mut standard = Bindings::new();
    standard.insert(
        "letters",
        forge::resources::ListSampler::new(["a", "b", "c", "d", "e"]).unwrap(),
    );
    let mut program = forge::program::Program::new(doc, standard).unwrap();
    program.run("s").unwrap();
    program.extract("out", &["Out"]).unwrap();
    let w = program.compile().unwrap();
    let header = Header::new(&w, 11);
    let mut data = header.to_line().into_bytes();
    dataset::write_range(
        &w,
        &header,
        0..10,
        1,
        |_| Bindings::new(),
        &mut data,
        |_| {},
    )
    .unwrap();
    let mut out = Vec::new();
    Run::new(&w, 11, 0..10)
        .write(&mut Scripted::new(Vec::<Vec<Output>>::new()), &mut out)
        .unwrap();
    let samples = DatasetReader::new(&data[..]).unwrap();
    let lines = RunReader::new(&out[..]).unwrap();
    let mut letters = Vec::new();
    for (sample, line) in samples.zip(lines) {
        let (sample, line) = (sample.unwrap(), line.unwrap());
        assert_eq!(sample.index, line.index);
        let t = line.outcome.unwrap();
        let forced: String = t
            .spans()
            .filter(|s| s.kind == SpanKind::Forced)
            .map(|s| s.text)
            .collect();
        assert_eq!(forced, sample.sample.text(), "stream {}", line.index);
        letters.push(sample.sample.zone(1).text().to_owned());
    }
    // List-sampler cycles span the run's streams: the first five draw all five letters.
    let mut first: Vec<_> = letters[..5].to_vec();
    first.sort();
    first.dedup();
    assert_eq!(first.len(), 5, "{letters:?}");
}

#[allow(dead_code)]
fn _assert_progress_object_safe(_: &dyn Progress, _: &StreamError, _: RunHeader) {}

#[test]
fn the_typed_example_stops_resumes_and_matches_an_uninterrupted_run() {
    let resumed = scratch("example-resumed.jsonl");
    let (first, rest) = run_program::stop_then_resume(&resumed).unwrap();
    assert!(first.stopped && first.written() >= 5 && first.written() < 16);
    assert_eq!(rest.already, first.written());
    assert_eq!(rest.finished, 16 - first.written());
    let whole = scratch("example-whole.jsonl");
    run_program::uninterrupted(&whole).unwrap();
    assert!(std::fs::read(&resumed).unwrap() == std::fs::read(&whole).unwrap());
    let lines: Vec<_> = RunReader::new(std::io::BufReader::new(
        std::fs::File::open(&whole).unwrap(),
    ))
    .unwrap()
    .map(Result::unwrap)
    .collect();
    let t = lines[5].outcome.as_ref().unwrap();
    // Stream 5 revises twice (a loop), skips the source (a `when`), and ends with its note.
    assert_eq!(t.extraction("drafts").unwrap().len(), 3);
    assert!(t.extraction("final").unwrap()[0].contains("Final note 5."));
}
