//! Bounds of a loop, enforced by the runtime (docs/programs.md §2).

use std::fmt;

use serde::{Deserialize, Serialize};

/// How often a loop's body runs at least and at most, whatever the model writes.
///
/// Visits of the loop's control sequence are counted per entry into the loop (a loop nested in
/// another loop's body counts afresh each time the outer body reaches it):
///
/// - during the first [`at_least`](Self::at_least) visits, the control pattern is plain text in
///   the zone carrying the loop's jump edge (it is not a stop), so the model cannot leave;
/// - on visit [`at_most`](Self::at_most)` + 1`, that zone is not sent to the model: its text
///   is fed, the runtime appends the control pattern as a forced close and the visit ends by
///   [`ZoneEnd::ForcedJump`](crate::exec::ZoneEnd::ForcedJump).
///
/// `at_least ≤ at_most`, else [`Program::loop_bounded`](super::Program::loop_bounded) fails.
///
/// ```
/// use forge::program::LoopBounds;
/// let b = LoopBounds::new().at_least(2).at_most(5);
/// assert_eq!((b.min(), b.max()), (2, Some(5)));
/// assert_eq!(b.to_string(), "at least 2, at most 5");
/// assert!(LoopBounds::new().is_unbounded());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoopBounds {
    at_least: u32,
    at_most: Option<u32>,
}

impl LoopBounds {
    /// No bounds: the model alone decides when the loop ends.
    pub const fn new() -> Self {
        LoopBounds {
            at_least: 0,
            at_most: None,
        }
    }

    /// These bounds with the body running at least `n` times.
    #[must_use]
    pub const fn at_least(mut self, n: u32) -> Self {
        self.at_least = n;
        self
    }

    /// These bounds with the body running at most `m` times.
    #[must_use]
    pub const fn at_most(mut self, m: u32) -> Self {
        self.at_most = Some(m);
        self
    }

    /// The least number of body runs (0: none required).
    pub const fn min(&self) -> u32 {
        self.at_least
    }

    /// The most body runs, if bounded.
    pub const fn max(&self) -> Option<u32> {
        self.at_most
    }

    /// Whether these bounds constrain nothing (today's unbounded loop).
    pub const fn is_unbounded(&self) -> bool {
        self.at_least == 0 && self.at_most.is_none()
    }

    /// Whether `at_least ≤ at_most` (always true without `at_most`).
    pub const fn is_ordered(&self) -> bool {
        match self.at_most {
            Some(m) => self.at_least <= m,
            None => true,
        }
    }

    /// Whether the `visit`-th visit (from 1) of the control sequence in one entry into the
    /// loop keeps the control pattern out of the stop set.
    pub(crate) const fn holds(&self, visit: u32) -> bool {
        visit <= self.at_least
    }

    /// Whether the `visit`-th visit (from 1) is a forced jump.
    pub(crate) const fn forces(&self, visit: u32) -> bool {
        match self.at_most {
            Some(m) => visit > m,
            None => false,
        }
    }
}

impl fmt::Display for LoopBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.at_least, self.at_most) {
            (0, None) => f.write_str("unbounded"),
            (n, None) => write!(f, "at least {n}"),
            (0, Some(m)) => write!(f, "at most {m}"),
            (n, Some(m)) => write!(f, "at least {n}, at most {m}"),
        }
    }
}
