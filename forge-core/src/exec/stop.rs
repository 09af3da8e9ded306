//! Stop patterns: the one place where forge decides which pattern a text stops at.
//!
//! A [`StopSet`] is a list of patterns with its search state built once; the
//! [`Plan`](super::Plan) builds one per zone stop set and every [`Request`](super::Request)
//! carries it, so the automaton and every engine search the same way without rebuilding
//! anything. A [`StopScanner`] searches a text that grows in chunks (generated tokens, streamed
//! events, appended spans) and finds a pattern whatever chunks it arrives split over.
//!
//! The rule is stated once, on [`StopScanner`].

use std::sync::Arc;

use memchr::memmem::Finder;

/// A set of stop patterns, with the search state for them built once.
///
/// Cheap to share: the [`Plan`](super::Plan) builds one per stop set and hands out
/// `Arc<StopSet>`s in its [`Request`](super::Request)s. A [`StopScanner`] searches with it.
#[derive(Debug)]
pub struct StopSet {
    patterns: Arc<[Arc<str>]>,
    finders: Vec<Finder<'static>>,
    longest: usize,
}

/// An occurrence of a stop pattern: the pattern's index in its [`StopSet`] and the byte range
/// of the occurrence in the scanned text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StopMatch {
    /// The index of the pattern in [`StopSet::patterns`].
    pub index: usize,
    /// Where the occurrence starts.
    pub start: usize,
    /// Where the occurrence ends (exclusive): the reply is cut here.
    pub end: usize,
}

impl StopSet {
    /// The search state for `patterns` (empty patterns are kept in the list, so indices stay
    /// those of the list, but never match).
    pub fn new(patterns: Arc<[Arc<str>]>) -> StopSet {
        let finders = patterns
            .iter()
            .map(|p| Finder::new(p.as_bytes()).into_owned())
            .collect();
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        StopSet {
            patterns,
            finders,
            longest,
        }
    }

    /// The patterns, in the order their indices refer to.
    pub fn patterns(&self) -> &[Arc<str>] {
        &self.patterns
    }

    /// The shared list of patterns.
    pub fn shared_patterns(&self) -> &Arc<[Arc<str>]> {
        &self.patterns
    }

    /// The length in bytes of the longest pattern (0 for an empty set): an occurrence ending in
    /// new text starts at most `longest() - 1` bytes before it.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// The first occurrence (by the rule, see [`StopScanner`]) in `text` that starts at or after `from` and
    /// ends after `searched`.
    fn find(&self, text: &[u8], from: usize, searched: usize) -> Option<StopMatch> {
        let mut best: Option<StopMatch> = None;
        for (index, finder) in self.finders.iter().enumerate() {
            let len = finder.needle().len();
            if len == 0 {
                continue;
            }
            // The occurrence must end after `searched`: it starts after `searched - len`.
            let start = from.max((searched + 1).saturating_sub(len));
            // With a candidate ending at `e`, only occurrences ending at or before `e` matter.
            let stop = best.map_or(text.len(), |b| b.end.min(text.len()));
            if start + len > stop {
                continue;
            }
            if let Some(at) = finder.find(&text[start..stop]) {
                let hit = StopMatch {
                    index,
                    start: start + at,
                    end: start + at + len,
                };
                // An earlier pattern keeps a tie only if it is at least as long.
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

impl From<Arc<[Arc<str>]>> for StopSet {
    fn from(patterns: Arc<[Arc<str>]>) -> StopSet {
        StopSet::new(patterns)
    }
}

impl From<Vec<Arc<str>>> for StopSet {
    fn from(patterns: Vec<Arc<str>>) -> StopSet {
        StopSet::new(patterns.into())
    }
}

/// Where a search of a growing text stands.
///
/// The caller keeps the text (it needs it anyway, to cut the reply at a match) and passes all
/// of it to [`scan`](StopScanner::scan) after appending each chunk; the scanner remembers what
/// it has searched, so a scan costs the new text plus the longest pattern, never the whole
/// text, and finds a pattern whatever chunks it arrived split over. Feeding a text whole or in
/// any chunks gives the same matches.
///
/// # The rule
///
/// Among the occurrences of a set's patterns, the one found is the one that **ends first**: the
/// one a generator that checks its output after every token sees first. Occurrences ending at
/// the same byte go to the **longer** pattern (it starts further left), then to the pattern
/// listed **first** in the set. Empty patterns never match. Matching is on bytes, so a pattern
/// is found across token and chunk boundaries, also inside multibyte UTF-8 text (a pattern is
/// valid UTF-8, so it can only match at character boundaries of valid text).
///
/// After an occurrence, the next one is searched from its end: occurrences do not overlap.
///
/// ```
/// # use std::sync::Arc;
/// use forge::exec::{StopScanner, StopSet};
///
/// let set = StopSet::from(vec![Arc::<str>::from("[Next]"), Arc::from("xt")]);
/// let mut text = String::new();
/// let mut scanner = StopScanner::new();
/// text.push_str("a [Ne");
/// assert_eq!(scanner.scan(&set, text.as_bytes()), None);
/// text.push_str("xt] b");
/// // "xt" and "[Next]" end at bytes 7 and 8: the first to end wins.
/// let hit = scanner.scan(&set, text.as_bytes()).unwrap();
/// assert_eq!((hit.index, hit.start, hit.end), (1, 5, 7));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopScanner {
    /// Where the next occurrence may start.
    from: usize,
    /// Text before this offset holds no occurrence starting at or after `from`.
    searched: usize,
}

impl StopScanner {
    /// A scanner that has seen nothing yet.
    pub fn new() -> StopScanner {
        StopScanner::default()
    }

    /// A scanner for a text whose first `len` bytes hold no match but may hold the start of
    /// one (e.g. the end of a context that a reply continues: a pattern may start in the
    /// context and end in the reply).
    pub fn seen(len: usize) -> StopScanner {
        StopScanner {
            from: 0,
            searched: len,
        }
    }

    /// Search afresh from `at`: occurrences start at or after it, and the text before it has
    /// been dealt with (e.g. right after the pattern that ended a zone).
    pub fn restart_at(&mut self, at: usize) {
        self.from = at;
        self.searched = at;
    }

    /// The next occurrence in `text`: all the text so far, which extends the text of the
    /// previous call. Call again after a match to find the next one (it starts at or after
    /// the match's end); after `None`, append more text and call again.
    ///
    /// The set may change between calls (the automaton switches sets when an escape opens);
    /// the new set then searches the text after the previous match.
    pub fn scan(&mut self, set: &StopSet, text: &[u8]) -> Option<StopMatch> {
        match set.find(text, self.from, self.searched) {
            Some(hit) => {
                self.from = hit.end;
                Some(hit)
            }
            None => {
                self.searched = self.searched.max(text.len());
                None
            }
        }
    }
}
