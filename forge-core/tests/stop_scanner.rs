//! The stop scanner (`exec::StopScanner`): the one implementation of the stop rule that the
//! automaton and every engine use, checked against a brute-force oracle.
//!
//! The rule: among the occurrences, the one that ends first wins; occurrences ending at the
//! same byte go to the longer pattern, then to the pattern listed first; empty patterns never
//! match; after a match the search goes on from its end.

use std::sync::Arc;

use forge_core::exec::{StopMatch, StopScanner, StopSet};
use proptest::prelude::*;

fn set(patterns: &[&str]) -> StopSet {
    StopSet::from(
        patterns
            .iter()
            .map(|p| Arc::<str>::from(*p))
            .collect::<Vec<_>>(),
    )
}

/// The first match in `text` starting at or after `from`, by brute force: try every
/// (end, start) position in order and take the first pattern that occurs there.
fn first(patterns: &[&str], text: &[u8], from: usize) -> Option<StopMatch> {
    (from + 1..=text.len()).find_map(|end| {
        (from..end).find_map(|start| {
            let index = patterns
                .iter()
                .position(|p| !p.is_empty() && &text[start..end] == p.as_bytes())?;
            Some(StopMatch { index, start, end })
        })
    })
}

/// Every match of `text`, in order: each search goes on from the end of the previous match.
fn oracle(patterns: &[&str], text: &[u8]) -> Vec<StopMatch> {
    let mut out: Vec<StopMatch> = Vec::new();
    while let Some(m) = first(patterns, text, out.last().map_or(0, |m| m.end)) {
        out.push(m);
    }
    out
}

/// Every match when `text` arrives in pieces ending at `cuts` (sorted, in range): the
/// scanner is called after each piece, as an engine does after each token or event.
fn scanned(set: &StopSet, text: &[u8], cuts: &[usize]) -> Vec<StopMatch> {
    let mut scanner = StopScanner::new();
    let mut out = Vec::new();
    for &cut in cuts.iter().chain([&text.len()]) {
        while let Some(m) = scanner.scan(set, &text[..cut]) {
            out.push(m);
        }
    }
    out
}

#[test]
fn the_first_ending_occurrence_wins_and_ties_go_to_the_longer() {
    let found = |patterns: &[&str], text: &str| {
        StopScanner::new()
            .scan(&set(patterns), text.as_bytes())
            .map(|m| (m.index, m.start, m.end))
    };
    // "bc" ends before "abcd" although it starts later.
    assert_eq!(found(&["abcd", "bc", "[A]"], "xxabcd"), Some((1, 3, 5)));
    // Same end: the longer pattern.
    assert_eq!(found(&["c", "abc"], "abc"), Some((1, 0, 3)));
    // Same pattern twice: the first listed.
    assert_eq!(found(&["ab", "ab"], "xab"), Some((0, 1, 3)));
    // Empty patterns never match, and keep the indices of the others.
    assert_eq!(found(&["", "b"], "ab"), Some((1, 1, 2)));
    assert_eq!(found(&[], "ab"), None);
    let all = scanned(&set(&["[A]", "[J]"]), b"a[J]b[A][A]", &[]);
    let all: Vec<_> = all.iter().map(|m| (m.index, m.start)).collect();
    assert_eq!(all, [(1, 1), (0, 5), (0, 8)]);
}

#[test]
fn a_scan_only_reports_occurrences_ending_in_new_text() {
    let stops = set(&["[Answer]"]);
    // The first occurrence was seen by the caller already.
    let mut scanner = StopScanner::seen(9);
    assert_eq!(scanner.scan(&stops, b"[Answer] then [Ans"), None);
    let m = scanner.scan(&stops, b"[Answer] then [Answer]").unwrap();
    assert_eq!((m.start, m.end), (14, 22));
    // A restarted scanner finds nothing that starts before the restart.
    let mut scanner = StopScanner::new();
    scanner.restart_at(3);
    assert_eq!(scanner.scan(&stops, b"[Answer]"), None);
}

#[test]
fn a_pattern_may_start_in_text_seen_before() {
    // An engine's reply continues a context: a stop may begin in the context's tail.
    let stops = set(&["xt] [An", "[Next]"]);
    let mut scanner = StopScanner::seen(4);
    let m = scanner.scan(&stops, b"[Next] [Answer]").unwrap();
    assert_eq!((m.index, m.start, m.end), (1, 0, 6));
    let m = scanner.scan(&stops, b"[Next] [Answer]");
    assert_eq!(m, None, "occurrences do not overlap");
}

#[test]
fn split_patterns_are_found_whatever_the_split() {
    let stops = set(&["[Answer]", "[Jump]"]);
    let text = "some text [Answer] more";
    for cut in 0..=text.len() {
        let all = scanned(&stops, text.as_bytes(), &[cut]);
        let all: Vec<_> = all.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(all, [(10, 18)], "cut at {cut}");
    }
}

#[test]
fn the_set_may_change_between_scans() {
    // As the automaton does when an escape opens: the next set searches after the match.
    let outer = set(&["[Next]", "[Esc]"]);
    let inner = set(&["[/Esc]"]);
    let text = b"a [Esc] [Next] [/Esc] [Next]";
    let mut scanner = StopScanner::new();
    assert_eq!(scanner.scan(&outer, text).map(|m| m.index), Some(1));
    assert_eq!(scanner.scan(&inner, text).map(|m| m.start), Some(15));
    assert_eq!(scanner.scan(&outer, text).map(|m| m.start), Some(22));
    assert_eq!(scanner.scan(&outer, text), None);
}

/// Patterns from a small alphabet (so they overlap and recur), with multibyte characters.
fn pattern() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just("é"), Just("😀"), Just("[")],
        0..4,
    )
    .prop_map(|p| p.concat())
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("é"),
            Just("😀"),
            Just("["),
            Just(" ")
        ],
        0..40,
    )
    .prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whole or in random chunks (cut anywhere, also inside a multibyte character, as tokens
    /// may be): the same matches as the oracle.
    #[test]
    fn chunks_or_whole_give_the_oracles_matches(
        patterns in proptest::collection::vec(pattern(), 0..5),
        text in text(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let stops = set(&patterns);
        let bytes = text.as_bytes();
        let expected = oracle(&patterns, bytes);
        prop_assert_eq!(&scanned(&stops, bytes, &[]), &expected);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(&scanned(&stops, bytes, &cuts), &expected);
        // One byte at a time.
        let every: Vec<usize> = (0..=bytes.len()).collect();
        prop_assert_eq!(&scanned(&stops, bytes, &every), &expected);
    }

    /// Overlapping pattern pairs: the first to end wins, the longer on a tie.
    #[test]
    fn overlapping_pairs_follow_the_rule(
        text in proptest::collection::vec(prop_oneof![Just("a"), Just("b")], 0..30),
        pair in prop_oneof![
            Just(["ab", "b"]),
            Just(["b", "ab"]),
            Just(["aa", "aaa"]),
            Just(["aaa", "aa"]),
            Just(["aba", "ba"]),
        ],
        cut in any::<proptest::sample::Index>(),
    ) {
        let text = text.concat();
        let bytes = text.as_bytes();
        let stops = set(&pair);
        let expected = oracle(&pair, bytes);
        prop_assert_eq!(&scanned(&stops, bytes, &[cut.index(bytes.len() + 1)]), &expected);
        for m in &expected {
            prop_assert_eq!(&bytes[m.start..m.end], pair[m.index].as_bytes());
        }
    }
}
