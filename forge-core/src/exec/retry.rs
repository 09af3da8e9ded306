//! The one retry rule: how often a failed request is tried again, and after which delay.

use std::time::{Duration, Instant};

/// How a failed request is retried: at most [`retries`](RetryPolicy::retries) more attempts,
/// retry `n` (from 0) after [`delay`](RetryPolicy::delay)`(n)` = `backoff · 2ⁿ`, capped at
/// `backoff_max`. A retried request keeps its seed.
///
/// The layer that sees a fault applies the policy: an engine that can tell a transient fault
/// from a lasting one (forge-http's `Config::retry`) retries with it, reports a failure only
/// once it gave up, and returns its policy from
/// [`Generator::retry_policy`](super::Generator::retry_policy); for any other generator the
/// runner applies [`RunOptions::retry`](super::RunOptions::retry) to every failed request.
///
/// ```
/// use std::time::Duration;
/// use forge::exec::RetryPolicy;
///
/// let policy = RetryPolicy::new(2, Duration::from_millis(100), Duration::from_millis(150));
/// assert_eq!(policy.delay(0), Duration::from_millis(100));
/// assert_eq!(policy.delay(1), Duration::from_millis(150)); // 200 ms, capped
/// assert_eq!(policy.after_failure(2), Some(Duration::from_millis(150)));
/// assert_eq!(policy.after_failure(3), None); // two retries spent: give up
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times a failed request is tried again before its failure stands.
    pub retries: u32,
    /// The delay before the first retry; it doubles for each further retry.
    pub backoff: Duration,
    /// The longest delay between two attempts.
    pub backoff_max: Duration,
}

impl RetryPolicy {
    /// No retry: a failed request fails at once.
    pub const NONE: RetryPolicy = RetryPolicy {
        retries: 0,
        backoff: Duration::ZERO,
        backoff_max: Duration::ZERO,
    };

    /// A policy; `backoff_max` is raised to `backoff` if below it.
    pub fn new(retries: u32, backoff: Duration, backoff_max: Duration) -> RetryPolicy {
        RetryPolicy {
            retries,
            backoff,
            backoff_max: backoff_max.max(backoff),
        }
    }

    /// The delay before retry `n` (from 0): `backoff · 2ⁿ`, at most `backoff_max`.
    pub fn delay(&self, n: u32) -> Duration {
        self.backoff
            .saturating_mul(1u32 << n.min(20))
            .min(self.backoff_max.max(self.backoff))
    }

    /// After the `failures`-th failed attempt of a request (from 1): the delay before trying
    /// it again, or `None` when the retries are spent.
    pub fn after_failure(&self, failures: u32) -> Option<Duration> {
        (failures >= 1 && failures <= self.retries).then(|| self.delay(failures - 1))
    }
}

impl Default for RetryPolicy {
    /// Two retries, after 200 ms and 400 ms (at most 30 s apart).
    fn default() -> Self {
        RetryPolicy::new(2, Duration::from_millis(200), Duration::from_secs(30))
    }
}

/// The retries a run is waiting for. It is told the time instead of reading a clock or
/// sleeping, so its schedule is tested without waiting; the runner reads the clock and sleeps
/// until [`RetryQueue::next_due`] when nothing else is in flight.
#[derive(Clone, Debug, Default)]
pub(crate) struct RetryQueue {
    /// When, and which stream.
    waiting: Vec<(Instant, u32)>,
}

impl RetryQueue {
    /// A request of `stream` failed for the `failures`-th time at `now`: schedule its retry
    /// by `policy` and return true, or return false when its retries are spent.
    pub(crate) fn failed(
        &mut self,
        policy: &RetryPolicy,
        stream: u32,
        failures: u32,
        now: Instant,
    ) -> bool {
        match policy.after_failure(failures) {
            Some(delay) => {
                self.waiting.push((now + delay, stream));
                true
            }
            None => false,
        }
    }

    /// Whether a retry of `stream` is waiting.
    pub(crate) fn holds(&self, stream: u32) -> bool {
        self.waiting.iter().any(|w| w.1 == stream)
    }

    /// Removes and returns the streams whose retry is due at `now`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<u32> {
        let mut due: Vec<(Instant, u32)> = Vec::new();
        self.waiting.retain(|&w| {
            let ready = w.0 <= now;
            if ready {
                due.push(w);
            }
            !ready
        });
        due.sort_unstable();
        due.into_iter().map(|w| w.1).collect()
    }

    /// When the earliest waiting retry is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.waiting.iter().map(|w| w.0).min()
    }

    /// Drops every waiting retry.
    pub(crate) fn clear(&mut self) {
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_up_to_the_cap_and_the_retries_run_out() {
        let policy = RetryPolicy::new(4, ms(250), ms(1000));
        let delays: Vec<_> = (1..=5).map(|f| policy.after_failure(f)).collect();
        assert_eq!(
            delays,
            [
                Some(ms(250)),
                Some(ms(500)),
                Some(ms(1000)),
                Some(ms(1000)),
                None
            ]
        );
        assert_eq!(policy.after_failure(0), None);
        assert_eq!(RetryPolicy::NONE.after_failure(1), None);
        // Huge retry numbers saturate instead of overflowing.
        assert_eq!(
            RetryPolicy::new(u32::MAX, ms(1), ms(50)).delay(u32::MAX),
            ms(50)
        );
        // A cap below the first delay is raised to it.
        assert_eq!(RetryPolicy::new(1, ms(300), ms(10)).backoff_max, ms(300));
    }

    #[test]
    fn the_queue_releases_retries_when_told_they_are_due() {
        let policy = RetryPolicy::new(2, ms(100), ms(1000));
        let t0 = Instant::now();
        let mut queue = RetryQueue::default();
        assert!(queue.failed(&policy, 7, 1, t0)); // due at +100
        assert!(queue.failed(&policy, 3, 2, t0)); // due at +200
        assert!(!queue.failed(&policy, 9, 3, t0)); // spent
        assert!(queue.holds(7) && queue.holds(3) && !queue.holds(9));
        assert_eq!(queue.next_due(), Some(t0 + ms(100)));
        assert_eq!(queue.take_due(t0 + ms(99)), Vec::<u32>::new());
        assert_eq!(queue.take_due(t0 + ms(100)), [7]);
        assert_eq!(queue.next_due(), Some(t0 + ms(200)));
        assert!(queue.failed(&policy, 7, 1, t0 + ms(100))); // due at +200 too
        assert_eq!(queue.take_due(t0 + ms(500)), [3, 7]);
        assert_eq!(queue.next_due(), None);
        assert!(queue.failed(&policy, 1, 1, t0));
        queue.clear();
        assert!(!queue.holds(1));
    }
}
