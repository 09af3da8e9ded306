//! `forge::run::RunStats`: the figures of a scripted run with known end reasons, a torn file,
//! an empty run, and a dataset given instead of a run.

#[path = "exec/common.rs"]
mod common;

use common::*;
use forge::exec::{Output, RunOptions, Scripted};
use forge::program::Workflow;
use forge::run::{Run, RunStats};

/// `loop(ctl, q)`, then `when(ctl, then tight, otherwise q)`.
fn looped() -> Workflow {
    workflow(|p| {
        p.loop_("ctl", |b| {
            b.run("q")?;
            Ok(())
        })
        .unwrap();
        p.when(
            "ctl",
            |t| {
                t.run("tight")?;
                Ok(())
            },
            |o| {
                o.run("q")?;
                Ok(())
            },
        )
        .unwrap();
    })
}

/// Stream `i` loops `i % 3` times, then takes `then` (even `i`: the 5-token zone `tight`
/// runs out of tokens) or `otherwise` (odd `i`). Stream 5's first request fails.
fn script(i: usize) -> Vec<Output> {
    if i == 5 {
        return vec![Output::Fail("the server is down".into())];
    }
    let mut out = Vec::new();
    for _ in 0..i % 3 {
        out.push(" go [A]".into());
        out.push(" x [A]".into());
    }
    out.push(" stop [J]".into());
    if i.is_multiple_of(2) {
        out.push(" yes [A]".into());
        out.push("abcdefghij".into());
    } else {
        out.push(" no [J]".into());
        out.push(" y [A]".into());
    }
    out
}

fn run_file(n: usize) -> Vec<u8> {
    let w = looped();
    let mut g = Scripted::new((0..n).map(script).collect::<Vec<_>>());
    let mut out = Vec::new();
    Run::new(&w, 7, 0..n as u64)
        .options(RunOptions {
            max_in_flight: 2,
            ..options()
        })
        .tools(tools())
        .record("engine", serde_json::json!({ "kind": "scripted" }))
        .write(&mut g, &mut out)
        .unwrap();
    out
}

fn zone<'s>(stats: &'s RunStats, label: &str) -> &'s forge::run::ZoneStats {
    stats
        .zones
        .iter()
        .find(|z| z.label.ends_with(label))
        .unwrap_or_else(|| panic!("no zone {label}: {:?}", stats.zones))
}

#[test]
fn the_figures_of_a_scripted_run_match_its_script() {
    let stats = RunStats::read(&run_file(6)[..]).unwrap();
    assert_eq!((stats.streams, stats.finished, stats.failed), (6, 5, 1));
    assert!(stats.stopped.is_none());
    assert_eq!(stats.header.generator["engine"]["kind"], "scripted");

    // The loop's control zone: 0+1+2+0+1 body runs and 5 exits by a jump; stream 5 failed
    // in it at its first visit.
    assert_eq!(stats.loops.len(), 1);
    let l = &stats.loops[0];
    let ctl = &stats.zones[l.control as usize];
    assert!(ctl.label.contains("ctl b0 z1"), "{}", ctl.label);
    assert_eq!(ctl.ended("pattern"), 4);
    assert_eq!(ctl.ended("jump"), 5);
    assert_eq!(ctl.ended("unfinished"), 1);
    assert_eq!(l.iterations.count, 6);
    assert_eq!(l.iterations.sum, 4);
    assert_eq!((l.iterations.min, l.iterations.max), (0, 2));
    // Histogram: streams 0, 3, 5 ran the body 0 times; 1, 4 once; 2 twice.
    assert_eq!(l.iterations.buckets, [3, 2, 1]);

    // The `when`: even streams took `then`, odd ones `otherwise`.
    assert_eq!(stats.whens.len(), 1);
    let wh = &stats.whens[0];
    assert_eq!((wh.then, wh.otherwise), (3, 2));
    assert_ne!(wh.control, l.control);

    // `tight` (5 tokens) always ran out: flagged, naming its advance pattern.
    let tight = zone(&stats, "tight b0 z1");
    assert_eq!((tight.visits, tight.ended("limit")), (3, 3));
    assert_eq!(tight.tokens.sum, 15);
    assert!(tight.mostly_limit());
    assert_eq!(tight.limit_rate(), 1.0);
    let warnings = stats.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("3 of 3 visits") && warnings[0].contains("not writing `[A]`"),
        "{}",
        warnings[0]
    );
    // No other zone is flagged; forced zones end `forced`.
    assert!(stats.zones.iter().filter(|z| z.mostly_limit()).count() == 1);
    // (Zone 0 is `[P]` of the loop's control: once per stream and once per body run.)
    assert_eq!(stats.zones[0].ended("forced"), 6 + 4);

    // Tokens: chars of every generated reply (the scripted generator gives one per char).
    let per_stream: Vec<u64> = (0..5)
        .map(|i| {
            script(i)
                .iter()
                .map(|o| match o {
                    Output::Chars(s) if s.starts_with('a') => 5,
                    Output::Chars(s) => s.chars().count() as u64,
                    _ => 0,
                })
                .sum()
        })
        .collect();
    assert_eq!(stats.tokens, per_stream.iter().sum::<u64>());
    assert_eq!(stats.tokens_per_stream.count, 6);
    assert_eq!(stats.tokens_per_stream.min, 0);

    // Failures: one generator failure, with its located message.
    assert_eq!(stats.failures.len(), 1);
    let f = &stats.failures[0];
    assert_eq!((f.kind.as_str(), f.count, f.index), ("generator", 1, 5));
    assert!(
        f.example.contains("stream 5") && f.example.contains("the server is down"),
        "{}",
        f.example
    );

    // The JSON the report page embeds carries the same figures.
    let j = stats.to_json();
    assert_eq!(j["finished"], 5);
    assert_eq!(j["zones"][tight.zone as usize]["ends"]["limit"], 3);
    assert_eq!(j["zones"][tight.zone as usize]["limit_rate"], 1.0);
    assert_eq!(j["whens"][0]["otherwise"], 2);
    assert_eq!(
        j["loops"][0]["iterations"]["buckets"],
        serde_json::json!([3, 2, 1])
    );
    assert_eq!(j["failures"][0]["kind"], "generator");
    assert_eq!(j["header"]["range"], serde_json::json!([0, 6]));
}

#[test]
fn a_torn_file_gives_the_figures_before_the_cut_and_says_it_is_torn() {
    let file = run_file(6);
    let cut = &file[..file.len() - 10];
    let stats = RunStats::read(cut).unwrap();
    assert_eq!(stats.streams, 5);
    let stopped = stats.stopped.as_ref().unwrap();
    assert!(stopped.torn, "{stopped:?}");
    assert_eq!(stopped.line, 7);
    assert!(
        stopped.message.contains("incomplete"),
        "{}",
        stopped.message
    );
    assert_eq!(stats.to_json()["stopped"]["torn"], true);

    // A bad line (not a cut) stops the figures there too, without calling it torn.
    let text = String::from_utf8(file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"index\":2,\"oops\":true}";
    let bad = lines.join("\n") + "\n";
    let stats = RunStats::read(bad.as_bytes()).unwrap();
    assert_eq!(stats.streams, 2);
    let stopped = stats.stopped.unwrap();
    assert_eq!((stopped.line, stopped.torn), (4, false));

    // An end this forge does not know (a newer file): the figures before it, and a hint.
    lines[3] = text.lines().nth(3).unwrap();
    let newer = lines[3].replacen("\"end\":\"pattern\"", "\"end\":\"teleport\"", 1);
    assert_ne!(newer, lines[3]);
    lines[3] = &newer;
    let stats = RunStats::read((lines.join("\n") + "\n").as_bytes()).unwrap();
    assert_eq!(stats.streams, 2);
    let stopped = stats.stopped.unwrap();
    assert!(
        stopped.message.contains("unknown variant `teleport`")
            && stopped.message.contains("upgrade forge"),
        "{}",
        stopped.message
    );
}

#[test]
fn an_empty_run_and_an_empty_file_and_a_dataset() {
    // A header and no streams: zeros, no warnings.
    let file = run_file(0);
    let stats = RunStats::read(&file[..]).unwrap();
    assert_eq!((stats.streams, stats.tokens), (0, 0));
    assert!(stats.warnings().is_empty() && stats.stopped.is_none());
    assert_eq!(stats.loops[0].iterations.count, 0);
    assert_eq!(
        stats.to_json()["tokens_per_stream"]["buckets"],
        serde_json::json!([])
    );

    let err = RunStats::read(&b""[..]).unwrap_err().to_string();
    assert!(err.contains("the file is empty"), "{err}");

    let w = looped();
    let header = forge::dataset::Header::new(&w, 3);
    let mut dataset = header.to_line().into_bytes();
    forge::dataset::write_range(
        &w,
        &header,
        0..2,
        1,
        |_| forge::resources::Bindings::new(),
        &mut dataset,
        |_| {},
    )
    .unwrap();
    let err = RunStats::read(&dataset[..]).unwrap_err().to_string();
    assert!(err.contains("this is a dataset"), "{err}");
}
