//! The typed path end to end: the `run_scripted` example's `include_udpl!` program (loop,
//! `when`, capture/feed with the typed `Tool`, extractions) sampled for 8 streams and executed
//! with `Scripted`.

#[path = "../examples/run_scripted.rs"]
mod example;

use forge::exec::{RunOptions, Runner, Scripted, ZoneEnd};

#[test]
fn eight_streams_run_the_typed_program_to_the_expected_transcripts() {
    let results = example::run().unwrap();
    assert_eq!(results.len(), example::STREAMS);
    let t: Vec<_> = results.into_iter().map(Result::unwrap).collect();

    // Stream 3: no revision, no source; worked out by hand from the TOML and the script.
    assert_eq!(
        t[3].text,
        "[Prompt] Write a short note about salt. [Answer] Draft 3. [EOS]\
         [Prompt] Should the note be revised? Say [Escape][Jump][EndEscape] when it is good. \
         [Answer] Good. [Jump]\
         [Prompt] Does the note need a source? Say [Escape][Jump][EndEscape] if not. [Answer] \
         No. [Jump]\
         [Prompt] Write the final note. [Answer] Final note 3. [EOS]"
    );
    let ends: Vec<ZoneEnd> = t[3].visits.iter().map(|v| v.end).collect();
    use ZoneEnd::{Forced as F, Jump as J, Pattern as P};
    assert_eq!(ends, [F, F, P, F, F, J, F, F, J, F, F, P]);

    // Stream 2: two revisions, then a source looked up by the tool and fed back.
    assert_eq!(
        t[2].extraction("drafts").unwrap(),
        [
            " Draft 2. [EOS]",
            " Draft 2, revision 1. [EOS]",
            " Draft 2, revision 2. [EOS]"
        ]
    );
    assert_eq!(
        t[2].extraction("queries").unwrap(),
        [" origin of topic 2 [EOS]"]
    );
    assert_eq!(
        t[2].extraction("found").unwrap(),
        [" Found: a page about origin of topic 2.[EOS]"]
    );
    for (i, t) in t.iter().enumerate() {
        assert_eq!(
            t.extraction("drafts").unwrap().len(),
            1 + i % 3,
            "stream {i}"
        );
        assert_eq!(
            t.extraction("queries").unwrap().len(),
            usize::from(i.is_multiple_of(2))
        );
        // The final note's `[EOS]` arrives split over two tokens; the tail is never kept.
        assert_eq!(
            t.extraction("final").unwrap(),
            [format!(" Final note {i}. [EOS]")]
        );
        assert!(t.corrections.is_empty());
    }
}

#[test]
fn the_same_run_in_submission_order_and_one_at_a_time_gives_the_same_results() {
    let shuffled = example::run().unwrap();
    let workflow = example::workflow().unwrap();
    let mut generator = Scripted::new((0..example::STREAMS).map(example::script));
    let runner = Runner::new(RunOptions {
        max_in_flight: 1,
        ..RunOptions::default()
    })
    .unwrap()
    .with_tools(example::tools());
    let ordered = runner
        .run(&mut generator, example::samples(&workflow).unwrap())
        .unwrap();
    for (a, b) in shuffled.iter().zip(&ordered) {
        assert_eq!(a.as_ref().unwrap(), b.as_ref().unwrap());
    }
}
