//! Reproducible datasets: `sample_seeded` is a pure function for every built-in, sample `i` of
//! a dataset depends on `(seed, i)` only, list samplers cycle across the samples of a dataset,
//! the bulk API delivers in index order whatever the thread count, and the JSON Lines format
//! round-trips and rejects other datasets.

use std::collections::HashMap;
use std::sync::Arc;

use forge::dataset::{self, DatasetError, DatasetReader, Header, resume_point};
use forge::program::{Program, RangeError, SampleError, Workflow};
use forge::resources::{Binding, Bindings, ListSampler, LruBuffer};

forge::include_udpl!(mod prompts = "examples/representative.toml");

fn principles() -> Vec<String> {
    (0..50)
        .map(|i| format!("Principle {i}: be helpful, honest and harmless in situation {i}."))
        .collect()
}

/// The representative program (as in `examples/representative.rs`) with `constitution` bound
/// by `binding`: 69 zones, 8 `constitution` fills of 3 items per sample.
fn representative(constitution: Binding) -> Workflow {
    let mut program = prompts::builder()
        .constitution(constitution)
        .build()
        .unwrap();
    program.run(prompts::Setup).unwrap();
    program
        .loop_(prompts::LoopControl { min: 2, max: 5 }, |body| {
            body.run(prompts::Reason)?;
            Ok(())
        })
        .unwrap();
    program
        .when(
            prompts::Decide,
            |then| {
                then.run(prompts::Reason)?;
                Ok(())
            },
            |otherwise| {
                otherwise.run(prompts::Conclude)?;
                Ok(())
            },
        )
        .unwrap();
    program.run(prompts::Conclude).unwrap();
    program
        .extract("training", &[prompts::Tag::Training])
        .unwrap();
    program
        .extract("final", &[prompts::Tag::Final, prompts::Tag::Correct])
        .unwrap();
    program.compile().unwrap()
}

fn args(i: u64) -> prompts::Args {
    prompts::Args {
        prompt: format!("Question number {i}?").into(),
    }
}

fn instance() -> Workflow {
    representative(Binding::instance(ListSampler::new(principles()).unwrap()))
}

/// How often each principle appears in `text`.
fn count_principles(text: &str, counts: &mut HashMap<String, usize>) {
    for line in text.lines() {
        if line.starts_with("Principle ") {
            *counts.entry(line.to_owned()).or_default() += 1;
        }
    }
}

#[test]
fn sample_seeded_is_identical_across_calls_for_every_builtin_binding() {
    let template = ListSampler::new(principles()).unwrap();
    let t2 = template.clone();
    let bindings: Vec<(&str, Binding)> = vec![
        ("instance (default)", Binding::instance(template.clone())),
        (
            "per_sample",
            Binding::instance(template.clone().per_sample()),
        ),
        (
            "cached factory",
            Binding::cached_factory(move || template.fresh()),
        ),
        (
            "uncached factory",
            Binding::uncached_factory(move || t2.fresh()),
        ),
    ];
    for (name, binding) in bindings {
        let w = representative(binding);
        // Other samples in between, on other threads, must not matter.
        let first = w.sample_seeded(args(0), 7).unwrap();
        std::thread::scope(|s| {
            for t in 0..2 {
                let w = &w;
                s.spawn(move || {
                    for seed in 0..50 {
                        w.sample_seeded(args(seed), seed + t).unwrap();
                    }
                });
            }
        });
        let second = w.sample_seeded(args(0), 7).unwrap();
        let third = w.sample_seeded(args(0), 7).unwrap();
        assert_eq!(first.text(), second.text(), "{name}");
        assert_eq!(first.text(), third.text(), "{name}");
        assert_ne!(
            first.text(),
            w.sample_seeded(args(0), 8).unwrap().text(),
            "{name}"
        );
    }
    // Static strings, plain values and an LRU buffer (whose contents are its input) too.
    let doc = forge::udpl::parse_str(
        r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = []
default_max_token_length = 10
sequences = ["s"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
[[s]]
text = "[P] {a} {b} {c} [A]"
tags = [[]]
[s.a]
name = "fixed"
[s.b]
name = "number"
[s.c]
name = "feedback"
arguments = { num_samples = 2 }
"#,
        "s.toml",
    )
    .unwrap()
    .document;
    let lru = LruBuffer::new(4).unwrap();
    for i in 0..6 {
        lru.push(format!("fb{i}"));
    }
    let mut standard = Bindings::new();
    standard
        .insert("fixed", "text")
        .insert("number", 3)
        .insert("feedback", lru.clone());
    let mut program = Program::new(doc, standard).unwrap();
    program.run("s").unwrap();
    let w = program.compile().unwrap();
    let runs: Vec<String> = (0..3)
        .map(|_| {
            w.sample_seeded(Bindings::new(), 5)
                .unwrap()
                .text()
                .to_owned()
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
    assert!(runs[0].starts_with("[P] text 3 fb"), "{}", runs[0]);
}

#[test]
fn list_sampler_instances_cycle_across_the_samples_of_a_dataset() {
    let w = instance();
    assert_eq!(w.streams().len(), 1);
    assert_eq!(w.streams()[0].per_sample(), 24, "8 fills of 3 principles");
    // 25 samples × 24 draws = 600 draws = 12 cycles of the 50 principles: each appears 12
    // times, whichever order the samples are drawn in.
    let mut counts = HashMap::new();
    for i in (0..25).rev() {
        count_principles(w.sample_at(args(i), 3, i).unwrap().text(), &mut counts);
    }
    assert_eq!(counts.len(), 50);
    assert!(counts.values().all(|&c| c == 12), "{counts:?}");
    // Every block's 3 principles are distinct, and no principle repeats within a cycle.
    let mut stream = Vec::new();
    for i in 0..25 {
        for line in w.sample_at(args(i), 3, i).unwrap().text().lines() {
            if line.starts_with("Principle ") {
                stream.push(line.to_owned());
            }
        }
    }
    for cycle in stream.chunks(50) {
        let distinct: std::collections::HashSet<&String> = cycle.iter().collect();
        assert_eq!(distinct.len(), 50);
    }
    // A per-sample binding starts over in every sample instead: sample 1 is not sample 0's
    // continuation, and each sample holds 24 distinct principles.
    let per_sample = representative(Binding::instance(
        ListSampler::new(principles()).unwrap().per_sample(),
    ));
    assert!(per_sample.streams().is_empty());
}

#[test]
fn a_sample_does_not_depend_on_threads_order_or_what_came_before() {
    let w = instance();
    let alone: Vec<String> = (0..40)
        .rev()
        .map(|i| w.sample_at(args(i), 11, i).unwrap().text().to_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    for threads in [1, 2, 7] {
        let mut got = Vec::new();
        w.sample_range(11, 0..40, threads, args, |i, s| {
            got.push((i, s.text().to_owned()));
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
        let indices: Vec<u64> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            indices,
            (0..40).collect::<Vec<_>>(),
            "{threads} threads: index order"
        );
        let texts: Vec<String> = got.into_iter().map(|(_, t)| t).collect();
        assert_eq!(texts, alone, "{threads} threads");
    }
    // A sub-range gives the same samples as the whole range.
    let mut tail = Vec::new();
    w.sample_range(11, 30..40, 2, args, |_, s| {
        tail.push(s.text().to_owned());
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap();
    assert_eq!(tail, alone[30..]);
}

#[test]
fn a_range_stops_at_the_first_failure_in_index_order() {
    let w = instance();
    // Index 13 gets no arguments: a sampling error; everything before it is delivered.
    let bad_args = |i: u64| {
        if i == 13 {
            Bindings::new()
        } else {
            args(i).into()
        }
    };
    for threads in [1, 3] {
        let mut delivered = Vec::new();
        let err = w
            .sample_range(1, 0..40, threads, bad_args, |i, _| {
                delivered.push(i);
                Ok::<(), String>(())
            })
            .unwrap_err();
        assert_eq!(err.index(), 13);
        assert!(matches!(
            err,
            RangeError::Sample {
                error: SampleError::Arguments(_),
                ..
            }
        ));
        assert_eq!(delivered, (0..13).collect::<Vec<_>>());
    }
    // A callback error stops it too.
    let err = w
        .sample_range(
            1,
            0..40,
            2,
            args,
            |i, _| if i == 5 { Err("full") } else { Ok(()) },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        RangeError::Callback {
            index: 5,
            error: "full"
        }
    ));
}

/// Buffers made by `sample_range_batched` (through `Default`).
static BUFFERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Batch(Vec<u64>);

impl Default for Batch {
    fn default() -> Self {
        BUFFERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Batch(Vec::new())
    }
}

/// Batches that finish out of order (some indices are slow to prepare) are delivered in index
/// order, each with its own indices, by whichever thread's turn it is, with a bounded number of
/// buffers; failures and panics stop the range without losing order or hanging.
#[test]
fn batches_arrive_in_index_order_whatever_finishes_first() {
    use std::sync::atomic::Ordering;
    let w = instance();
    let slow = |i: u64| {
        if i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61 == 0 {
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
    };
    for threads in [2, 5] {
        BUFFERS.store(0, Ordering::Relaxed);
        let mut seen = Vec::new();
        w.sample_range_batched(
            3,
            0..400,
            threads,
            4,
            args,
            |i, s, buf: &mut Batch| {
                slow(i);
                assert_eq!(s.text(), w.sample_at(args(i), 3, i).unwrap().text());
                buf.0.push(i);
                Ok::<(), ()>(())
            },
            |r, buf| {
                assert_eq!(buf.0, r.collect::<Vec<_>>());
                seen.append(&mut buf.0);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..400).collect::<Vec<_>>(), "{threads} threads");
        let made = BUFFERS.load(Ordering::Relaxed);
        assert!(
            made <= 3 * threads + 1,
            "{threads} threads made {made} buffers"
        );
    }
    // `prepare` fails at 57: the indices before it are delivered (56 in its own batch), not
    // one after it.
    let mut seen = Vec::new();
    let err = w
        .sample_range_batched(
            3,
            0..400,
            3,
            4,
            args,
            |i, _, buf: &mut Vec<u64>| {
                slow(i);
                if i == 57 {
                    return Err("bad");
                }
                buf.push(i);
                Ok(())
            },
            |_, buf| {
                seen.append(buf);
                Ok(())
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        RangeError::Callback {
            index: 57,
            error: "bad"
        }
    ));
    assert_eq!(seen, (0..57).collect::<Vec<_>>());
    // A panic while delivering reaches the caller; the other threads stop.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.sample_range_batched(
            3,
            0..400,
            3,
            4,
            args,
            |i, _, _: &mut ()| {
                slow(i);
                Ok::<(), ()>(())
            },
            |r, _| {
                assert!(r.start < 40, "boom");
                Ok(())
            },
        )
    }));
    assert!(panicked.is_err());
}

fn write(w: &Workflow, header: &Header, range: std::ops::Range<u64>, threads: usize) -> Vec<u8> {
    let mut out = Vec::new();
    dataset::write_range(w, header, range, threads, args, &mut out, |_| {}).unwrap();
    out
}

#[test]
fn dataset_files_are_byte_identical_for_any_thread_count_and_read_back() {
    let w = instance();
    let header = Header::new(&w, 9);
    let mut one = header.to_line().into_bytes();
    one.extend(write(&w, &header, 0..100, 1));
    for threads in [2, 7] {
        let mut other = header.to_line().into_bytes();
        other.extend(write(&w, &header, 0..100, threads));
        assert!(one == other, "{threads} threads wrote other bytes");
    }
    // Written in two parts (an interrupted run resumed) gives the same bytes.
    let mut parts = header.to_line().into_bytes();
    parts.extend(write(&w, &header, 0..37, 2));
    parts.extend(write(&w, &header, 37..100, 2));
    assert!(one == parts);

    let reader = DatasetReader::new(&one[..]).unwrap();
    reader.expect(&header).unwrap();
    assert_eq!(reader.header().workflow.zones.len(), 69);
    let mut n = 0;
    for (i, row) in reader.enumerate() {
        let row = row.unwrap();
        assert_eq!(row.index, i as u64);
        assert_eq!(
            row.sample,
            w.sample_at(args(row.index), 9, row.index).unwrap()
        );
        assert_eq!(
            row.sample.extraction_texts("final").unwrap(),
            w.sample_at(args(row.index), 9, row.index)
                .unwrap()
                .extraction_texts("final")
                .unwrap()
        );
        n += 1;
    }
    assert_eq!(n, 100);
    // One line per sample plus the header, no pretty-printing.
    assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 101);
}

#[test]
fn a_header_of_another_dataset_is_rejected_with_the_first_difference() {
    let w = instance();
    let file = Header::new(&w, 9).to_line().into_bytes();
    let reader = DatasetReader::new(&file[..]).unwrap();
    let err = reader.expect(&Header::new(&w, 10)).unwrap_err().to_string();
    assert_eq!(
        err,
        "line 1: this file belongs to another dataset: its `seed` is 9, the expected one 10"
    );
    // Another program over the same document: a different shape.
    let mut program = prompts::builder()
        .constitution(ListSampler::new(principles()).unwrap())
        .build()
        .unwrap();
    program.run(prompts::Setup).unwrap();
    let other = program.compile().unwrap();
    let err = reader
        .expect(&Header::new(&other, 9))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`workflow.extractions length` is 2, the expected one 0"),
        "{err}"
    );
    // Writing with another workflow's header is refused before anything is written.
    let mut out = Vec::new();
    let err = dataset::write_range(&w, &Header::new(&other, 9), 0..3, 2, args, &mut out, |_| {})
        .unwrap_err();
    assert!(
        matches!(&err, RangeError::Callback { index: 0, error }
            if error.kind() == std::io::ErrorKind::InvalidInput),
        "{err}"
    );
    assert!(out.is_empty());
    // Encoding a sample under a header whose extractions select zones it lacks does not panic:
    // the line stays JSON (and a reader rejects it).
    let mut line = Vec::new();
    let sample = other.sample_at(args(0), 9, 0).unwrap();
    dataset::encode_sample(
        &Header::new(&w, 9).with_extraction_texts(true),
        0,
        &sample,
        &mut line,
    );
    serde_json::from_slice::<serde_json::Value>(&line).unwrap();
    // Other formats and versions.
    let err = DatasetReader::new(&b"{\"format\":\"other\",\"version\":1}\n"[..])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not a forge dataset"), "{err}");
    let newer = String::from_utf8(file.clone())
        .unwrap()
        .replace("\"version\":2", "\"version\":3");
    let err = DatasetReader::new(newer.as_bytes())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "line 1: format version 3, but this forge reads versions 1 to 2: upgrade forge to read it"
    );
}

/// Lines hold the zone texts; extraction texts only when the header asks for them, and then
/// they are the texts of the zones the header lists. A reader holds a file to what its header
/// says.
#[test]
fn extraction_texts_are_on_lines_only_when_the_header_says_so() {
    let w = instance();
    let plain = Header::new(&w, 9);
    let texts = Header::new(&w, 9).with_extraction_texts(true);
    let mut a = plain.to_line().into_bytes();
    a.extend(write(&w, &plain, 0..20, 2));
    let mut b = texts.to_line().into_bytes();
    b.extend(write(&w, &texts, 0..20, 2));
    let lines = |f: &[u8]| -> Vec<serde_json::Value> {
        f.split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    };
    let (la, lb) = (lines(&a), lines(&b));
    assert_eq!(la[0]["extraction_texts"], false);
    assert_eq!(lb[0]["extraction_texts"], true);
    // The header lists each extraction's zones, so the texts can be found without workflow logic.
    let final_zones = la[0]["workflow"]["extractions"][1]["zones"].clone();
    assert_eq!(la[0]["workflow"]["extractions"][1]["name"], "final");
    for (i, (x, y)) in la[1..].iter().zip(&lb[1..]).enumerate() {
        assert!(x.get("extractions").is_none(), "line {i}: {x}");
        assert_eq!(x["zones"], y["zones"]);
        let from_zones: Vec<&serde_json::Value> = final_zones
            .as_array()
            .unwrap()
            .iter()
            .map(|z| &x["zones"][z.as_u64().unwrap() as usize])
            .collect();
        let listed: Vec<&serde_json::Value> = y["extractions"]["final"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(from_zones, listed, "line {i}");
        assert!(!listed.is_empty());
    }
    assert!(a.len() < b.len());
    // Both read back to the same samples, with their extractions.
    for (x, y) in DatasetReader::new(&a[..])
        .unwrap()
        .zip(DatasetReader::new(&b[..]).unwrap())
    {
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x, y);
        assert_eq!(
            x.sample.extraction_texts("final"),
            w.sample_at(args(x.index), 9, x.index)
                .unwrap()
                .extraction_texts("final")
        );
    }
    // A line that does not match its header's promise is rejected.
    let line_of = |f: &[u8], n: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for (i, l) in f.split_inclusive(|&c| c == b'\n').enumerate() {
            if i == 0 || i == n {
                out.extend_from_slice(l);
            }
        }
        out
    };
    // The first sample line of `file` (written with `written`) under the header `claimed`.
    let read_under = |claimed: &Header, file: &[u8], written: &Header| {
        let mut mixed = claimed.to_line().into_bytes();
        mixed.extend_from_slice(&line_of(file, 1)[written.to_line().len()..]);
        let reader = DatasetReader::new(&mixed[..]).unwrap();
        reader.into_iter().next().unwrap().unwrap_err().to_string()
    };
    assert_eq!(
        read_under(&plain, &b, &texts),
        "line 2: `extractions` on a line, but the header says lines do not carry them"
    );
    assert_eq!(
        read_under(&texts, &a, &plain),
        "line 2: no `extractions`, but the header says every line carries them"
    );
}

/// Files of the first format version (always with extraction texts, no `extraction_texts`
/// field) are still read; resuming one asks for a new file.
#[test]
fn version_1_files_are_read_and_not_appended_to() {
    let w = instance();
    let texts = Header::new(&w, 9).with_extraction_texts(true);
    let mut v2 = texts.to_line().into_bytes();
    v2.extend(write(&w, &texts, 0..5, 1));
    let v1 = String::from_utf8(v2).unwrap().replacen(
        "\"version\":2,\"seed\":9,\"extraction_texts\":true,",
        "\"version\":1,\"seed\":9,",
        1,
    );
    assert!(v1.starts_with("{\"format\":\"forge-dataset\",\"version\":1,\"seed\":9,\"workflow\""));
    let reader = DatasetReader::new(v1.as_bytes()).unwrap();
    assert_eq!(reader.header().version(), 1);
    assert!(reader.header().extraction_texts);
    let rows: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[3].sample, w.sample_at(args(3), 9, 3).unwrap());
    // Its header round-trips byte for byte.
    let header = DatasetReader::new(v1.as_bytes()).unwrap().header().clone();
    assert_eq!(
        header.to_line(),
        v1.lines().next().unwrap().to_owned() + "\n"
    );
    let err = resume_point(v1.as_bytes(), &texts).unwrap_err().to_string();
    assert_eq!(
        err,
        "line 1: this file is in dataset format version 1, and version 2 is expected: write the \
         dataset again into a new file"
    );
    // A version 1 header with the version 2 field is malformed.
    let bad = v1.replacen("\"seed\":9,", "\"seed\":9,\"extraction_texts\":false,", 1);
    let err = DatasetReader::new(bad.as_bytes())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("`extraction_texts` is a version 2 field"),
        "{err}"
    );
}

/// The lines `write_range` fills directly (literal text escaped once, list items escaped once
/// per list) are the bytes `encode_sample` makes of each `SampledWorkflow`, whatever the text
/// holds and however the resources are bound.
#[test]
fn written_lines_are_the_encoded_samples_for_every_kind_of_fill() {
    let doc = forge::udpl::parse_str(
        r#"
[config]
zone_patterns = ["[P]", "[A]"]
required_patterns = ["[P]"]
valid_tags = ["T"]
default_max_token_length = 10
sequences = ["s", "t"]
control_pattern = "[J]"
escape_patterns = ["[E]", "[/E]"]
[[s]]
text = """[P] "quoted" \\ back\tslash é ∑ 🦀 {pick} and {pick} again, {every}
{fixed} {arg} {none} {pool} {factory} {{braces}}[A]"""
tags = [["T"]]
[s.pick]
name = "items"
arguments = { num_samples = 2 }
[s.every]
name = "items"
arguments = { num_samples = "all" }
[s.fixed]
name = "fixed"
[s.arg]
name = "question"
type = "argument"
[s.none]
name = "items"
arguments = { num_samples = 0 }
[s.pool]
name = "pooled"
arguments = { num_samples = 3 }
[s.factory]
name = "made"
arguments = { num_samples = 1 }
[[t]]
text = "[P]{pick}"
tags = [[]]
[t.pick]
name = "items"
arguments = { num_samples = 1 }
"#,
        "s.toml",
    )
    .unwrap()
    .document;
    let items = [
        "plain",
        "a \"quote\"",
        "new\nline",
        "back\\slash",
        "\u{1}ctl\t",
        "🦀 crab",
        "long item that is longer than eight bytes",
    ];
    let mut standard = Bindings::new();
    standard
        .insert("items", ListSampler::new(items).unwrap())
        .insert("fixed", "fix \"ed\"\n")
        .insert("pooled", ListSampler::new(items).unwrap().per_sample())
        .insert(
            "made",
            Binding::cached_factory(move || ListSampler::new(items).unwrap()),
        );
    let mut program = Program::new(doc, standard).unwrap();
    program.run("s").unwrap();
    program.run("t").unwrap();
    program.run("s").unwrap();
    program.extract("tagged", &["T"]).unwrap();
    let w = program.compile().unwrap();
    let question = |i: u64| {
        let mut b = Bindings::new();
        b.insert("question", format!("q{i} \"why\"?\n\\"));
        b
    };
    for header in [
        Header::new(&w, 3),
        Header::new(&w, 3).with_extraction_texts(true),
    ] {
        for threads in [1, 3] {
            let mut written = Vec::new();
            dataset::write_range(&w, &header, 5..60, threads, question, &mut written, |_| {})
                .unwrap();
            let mut encoded = Vec::new();
            for i in 5..60 {
                let sample = w.sample_at(question(i), 3, i).unwrap();
                dataset::encode_sample(&header, i, &sample, &mut encoded);
            }
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(encoded).unwrap()
            );
        }
    }
    // And the lines parse back to the samples.
    let header = Header::new(&w, 3);
    let mut file = header.to_line().into_bytes();
    dataset::write_range(&w, &header, 0..10, 2, question, &mut file, |_| {}).unwrap();
    for row in DatasetReader::new(&file[..]).unwrap() {
        let row = row.unwrap();
        assert_eq!(
            row.sample,
            w.sample_at(question(row.index), 3, row.index).unwrap()
        );
    }
}

#[test]
fn torn_and_foreign_lines_are_reported_and_resume_points_found() {
    let w = instance();
    let header = Header::new(&w, 4);
    let mut file = header.to_line().into_bytes();
    file.extend(write(&w, &header, 0..10, 2));
    let full = file.len() as u64;
    let point = resume_point(&file[..], &header).unwrap();
    assert_eq!((point.samples, point.keep, point.torn), (10, full, false));
    // Cut in the middle of sample 10's line.
    let mut torn = file.clone();
    let line10 = write(&w, &header, 10..11, 1);
    torn.extend(&line10[..line10.len() / 2]);
    let point = resume_point(&torn[..], &header).unwrap();
    assert_eq!((point.samples, point.keep, point.torn), (10, full, true));
    let err = DatasetReader::new(&torn[..])
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert!(
        matches!(&err, DatasetError::Invalid { line: 12, message } if message.contains("incomplete")),
        "{err}"
    );
    // A torn header: start over.
    let point = resume_point(&file[..20], &header).unwrap();
    assert_eq!((point.samples, point.keep, point.torn), (0, 0, true));
    // Another dataset's file, or a line that is not the next sample: refused.
    assert!(resume_point(&file[..], &Header::new(&w, 5)).is_err());
    let mut skipped = header.to_line().into_bytes();
    skipped.extend(write(&w, &header, 1..3, 1));
    let err = resume_point(&skipped[..], &header).unwrap_err().to_string();
    assert!(err.starts_with("line 2: expected sample 0"), "{err}");
    let err = DatasetReader::new(&skipped[..])
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(err.contains("should be 0"), "{err}");
}

#[test]
fn a_shared_workflow_is_send_and_sync_and_range_errors_are_errors() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Workflow>();
    assert_send_sync::<Header>();
    assert_send_sync::<Arc<dataset::DatasetSample>>();
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<DatasetError>();
    assert_error::<RangeError<std::io::Error>>();
}

#[test]
fn a_reused_sampler_gives_the_samples_of_fresh_ones_across_seeds_and_indices() {
    let w = instance();
    let mut sampler = w.sampler();
    // Jumping between seeds, forwards and backwards, with a reused context.
    for (seed, i) in [
        (1, 0),
        (1, 1),
        (2, 1),
        (1, 2),
        (2, 0),
        (1, 40),
        (1, 3),
        (9, 1 << 40),
    ] {
        let reused = sampler.sample_at(args(i), seed, i).unwrap().clone();
        assert_eq!(
            reused,
            w.sample_at(args(i), seed, i).unwrap(),
            "seed {seed} index {i}"
        );
    }
}

/// `write_range_to_file` writes the bytes `write_range` writes, after what the file holds, and
/// releases the space it reserved ahead of the writes.
#[test]
fn files_get_the_bytes_of_write_range_and_no_space_is_left_reserved() {
    let w = instance();
    let header = Header::new(&w, 9);
    let mut expected = header.to_line().into_bytes();
    expected.extend(write(&w, &header, 0..300, 1));
    let path =
        std::env::temp_dir().join(format!("forge-test-dataset-{}.jsonl", std::process::id()));
    // Written whole on 1 thread, and in two calls on 2 threads (a resumed run).
    for (threads, cut) in [(1, 300), (2, 120)] {
        let mut file = std::fs::File::create(&path).unwrap();
        std::io::Write::write_all(&mut file, header.to_line().as_bytes()).unwrap();
        for part in [0..cut, cut..300] {
            dataset::write_range_to_file(&w, &header, part, threads, args, &file, |_| {}).unwrap();
        }
        drop(file);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes == expected, "{threads} threads");
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            // 512-byte blocks in use: the data (rounded to the file system's blocks), not the
            // 64 MiB reserved while writing.
            let used = std::fs::metadata(&path).unwrap().blocks() * 512;
            assert!(
                used < bytes.len() as u64 + 1024 * 1024,
                "{used} bytes in use for a {}-byte file",
                bytes.len()
            );
        }
    }
    std::fs::remove_file(&path).unwrap();
}
