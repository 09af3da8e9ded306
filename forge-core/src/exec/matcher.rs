//! Incremental pattern search over a growing text.
//!
//! The transcript is one contiguous string that only grows, so the matcher keeps no buffer of
//! its own: it remembers where the next match may start and searches only the text appended
//! since the last search, plus the `longest pattern − 1` bytes before it (a pattern may arrive
//! split over any number of tokens or replies). The cost of a search is proportional to the
//! new text plus the longest pattern, never to the transcript.
//!
//! Among the occurrences of a set of patterns, the one found is the one that *ends* first: the
//! one a generator that checks its output after every token sees first. Two occurrences ending
//! at the same byte are told apart by length (the longer one starts further left), then by
//! their order in the set.

use std::sync::Arc;

use memchr::memmem::Finder;

/// A set of non-empty patterns, searched together.
#[derive(Clone, Debug)]
pub(crate) struct PatternSet {
    finders: Vec<Finder<'static>>,
}

/// An occurrence of a pattern: its index in the set and its byte range in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub index: usize,
    pub start: usize,
    pub end: usize,
}

impl PatternSet {
    /// A set of patterns; empty patterns never match (callers reject them earlier).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> PatternSet {
        let finders = patterns
            .iter()
            .map(|p| Finder::new(p.as_ref().as_bytes()).into_owned())
            .collect();
        PatternSet { finders }
    }

    /// A set from a shared stop list.
    pub fn from_shared(patterns: &Arc<[Arc<str>]>) -> PatternSet {
        PatternSet::new(patterns)
    }

    /// The first-ending occurrence in `text` that starts at or after `from` and ends after
    /// `new_from` (the text before `new_from` was searched already). `from <= new_from`.
    pub fn find(&self, text: &[u8], from: usize, new_from: usize) -> Option<Hit> {
        let mut best: Option<Hit> = None;
        for (index, finder) in self.finders.iter().enumerate() {
            let len = finder.needle().len();
            if len == 0 {
                continue;
            }
            // The occurrence must end after `new_from`: it starts after `new_from - len`.
            let start = from.max((new_from + 1).saturating_sub(len));
            // With a candidate ending at `e`, only occurrences ending at or before `e` matter.
            let stop = match best {
                Some(b) => b.end.min(text.len()),
                None => text.len(),
            };
            if start + len > stop {
                continue;
            }
            if let Some(at) = finder.find(&text[start..stop]) {
                let hit = Hit {
                    index,
                    start: start + at,
                    end: start + at + len,
                };
                best = match best {
                    Some(b) if b.end < hit.end || (b.end == hit.end && b.start <= hit.start) => {
                        Some(b)
                    }
                    _ => Some(hit),
                };
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(set: &PatternSet, text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(h) = set.find(text.as_bytes(), from, from) {
            out.push((h.index, h.start));
            from = h.end;
        }
        out
    }

    #[test]
    fn the_first_ending_occurrence_wins_and_ties_go_to_the_longer() {
        let set = PatternSet::new(&["abcd", "bc", "[A]"]);
        assert_eq!(set.find(b"xxabcd", 0, 0).map(|h| h.index), Some(1));
        let set = PatternSet::new(&["c", "abc"]);
        assert_eq!(
            set.find(b"abc", 0, 0).map(|h| (h.index, h.start)),
            Some((1, 0))
        );
        assert_eq!(
            all(&PatternSet::new(&["[A]", "[J]"]), "a[J]b[A][A]"),
            [(1, 1), (0, 5), (0, 8)]
        );
    }

    #[test]
    fn a_search_only_reports_occurrences_ending_in_the_new_text() {
        let set = PatternSet::new(&["[Answer]"]);
        let text = b"[Answer] then [Ans";
        // Already searched up to byte 9: the first occurrence is old news.
        assert_eq!(set.find(text, 0, 9), None);
        let text = b"[Answer] then [Answer]";
        let h = set.find(text, 0, 18).unwrap();
        assert_eq!((h.start, h.end), (14, 22));
    }

    #[test]
    fn split_patterns_are_found_whatever_the_split() {
        let set = PatternSet::new(&["[Answer]", "[Jump]"]);
        let text = "some text [Answer] more";
        for cut in 0..=text.len() {
            let first = set.find(&text.as_bytes()[..cut], 0, 0);
            let second = set.find(text.as_bytes(), 0, cut);
            let found = first.or(second).unwrap();
            assert_eq!((found.start, found.end), (10, 18), "cut at {cut}");
        }
    }
}
