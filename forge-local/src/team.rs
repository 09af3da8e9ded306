//! A team of threads that runs one forward pass in phases, for small steps.
//!
//! A decode step is about five short parallel regions per layer (150 for SmolLM2), each a few
//! tens of microseconds of work. On rayon's pool every region wakes the other workers, which
//! went to sleep between regions, and a wake-up costs about as much as the region's work: on
//! two cores one stream decoded only 1.55× faster on two threads than on one. A team keeps its
//! helpers spinning for the length of one pass instead. The leader (the calling thread) runs
//! the sequential parts and publishes each phase: a job and a number of tasks. Every member,
//! the leader included, claims tasks from one atomic counter until none is left; the leader
//! then waits for the tasks the others claimed, and the phase is over.
//!
//! A team cannot deadlock, whatever else its pool runs: the leader waits only for tasks a
//! helper has claimed and is running, never for a helper to show up. Helpers are rayon tasks
//! of the current pool; when no thread is free to start one, the leader does every task
//! itself, and a helper that starts after the pass only sees that the team has finished.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// What a member runs for task `index` of a phase whose job is `job`.
pub(crate) type Work<'w, J> = dyn Fn(&J, usize) + Sync + 'w;

struct Phase<J> {
    number: u32,
    /// `None`: the pass is over, helpers leave.
    job: Option<J>,
    tasks: usize,
}

/// The state the members share.
struct Shared<J> {
    phase: Mutex<Phase<J>>,
    /// The number of the latest phase, which helpers watch.
    latest: AtomicU32,
    /// The phase's number (high 32 bits) and its next unclaimed task (low 32 bits): a claim
    /// made with a stale phase number fails instead of taking a task of the next phase.
    claim: AtomicU64,
    /// Tasks of the current phase finished.
    done: AtomicUsize,
    /// A member's task panicked: the leader stops waiting and panics too.
    failed: AtomicBool,
}

impl<J: Clone> Shared<J> {
    fn new() -> Shared<J> {
        Shared {
            phase: Mutex::new(Phase {
                number: 0,
                job: None,
                tasks: 0,
            }),
            latest: AtomicU32::new(0),
            claim: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        }
    }

    fn publish(&self, number: u32, job: Option<J>, tasks: usize) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = Phase { number, job, tasks };
        self.done.store(0, Ordering::Relaxed);
        self.claim.store(u64::from(number) << 32, Ordering::Release);
        self.latest.store(number, Ordering::Release);
    }

    fn claim(&self, number: u32, tasks: usize) -> Option<usize> {
        let mut v = self.claim.load(Ordering::Acquire);
        loop {
            let index = (v & u64::from(u32::MAX)) as usize;
            if (v >> 32) as u32 != number || index >= tasks {
                return None;
            }
            match self
                .claim
                .compare_exchange_weak(v, v + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(index),
                Err(now) => v = now,
            }
        }
    }

    /// Claim and run tasks of phase `number` until none is left.
    fn work(&self, number: u32, job: &J, tasks: usize, work: &Work<'_, J>) {
        while let Some(index) = self.claim(number, tasks) {
            let finished = Finished(self);
            work(job, index);
            drop(finished);
        }
    }

    /// A helper: join each phase as it is published, until the pass is over.
    fn help(&self, work: &Work<'_, J>) {
        let mut seen = 0;
        loop {
            let mut spins = 0u32;
            while self.latest.load(Ordering::Acquire) == seen {
                spin(&mut spins);
            }
            let (number, job, tasks) = {
                let p = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
                (p.number, p.job.clone(), p.tasks)
            };
            seen = number;
            match job {
                Some(job) => self.work(number, &job, tasks, work),
                None => return,
            }
        }
    }
}

/// Counts a claimed task as finished when dropped, also when the task panicked.
struct Finished<'a, J>(&'a Shared<J>);

impl<J> Drop for Finished<'_, J> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.failed.store(true, Ordering::Release);
        }
        self.0.done.fetch_add(1, Ordering::Release);
    }
}

/// Busy-wait a little, then give the core away between checks.
fn spin(spins: &mut u32) {
    *spins = spins.saturating_add(1);
    if *spins < 4096 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The leader's handle: runs phases.
pub(crate) struct Lead<'t, 'w, J> {
    shared: &'t Shared<J>,
    work: &'t Work<'w, J>,
    number: std::cell::Cell<u32>,
}

impl<J: Clone> Lead<'_, '_, J> {
    /// Run `tasks` tasks of `job` on the team; returns when every one has finished.
    pub(crate) fn phase(&self, job: J, tasks: usize) {
        let number = self.number.get() + 1;
        self.number.set(number);
        self.shared.publish(number, Some(job.clone()), tasks);
        self.shared.work(number, &job, tasks, self.work);
        let mut spins = 0u32;
        while self.shared.done.load(Ordering::Acquire) < tasks {
            spin(&mut spins);
        }
        assert!(
            !self.shared.failed.load(Ordering::Acquire),
            "a task of the forward pass panicked"
        );
    }
}

/// Sends the helpers home when the leader is done, also when it panicked.
struct Dismiss<'l, 't, 'w, J: Clone>(&'l Lead<'t, 'w, J>);

impl<J: Clone> Drop for Dismiss<'_, '_, '_, J> {
    fn drop(&mut self) {
        let lead = self.0;
        lead.shared.publish(lead.number.get() + 1, None, 0);
    }
}

/// Run `lead` with a team of `threads` members (the calling thread and `threads − 1` helpers
/// of the current rayon pool) that run `work` for the tasks of its phases.
pub(crate) fn run<J, R>(
    threads: usize,
    work: &Work<'_, J>,
    lead: impl FnOnce(&Lead<'_, '_, J>) -> R + Send,
) -> R
where
    J: Clone + Send + Sync,
    R: Send,
{
    let shared = Shared::new();
    rayon::scope(|s| {
        for _ in 1..threads {
            s.spawn(|_| shared.help(work));
        }
        let lead_handle = Lead {
            shared: &shared,
            work,
            number: std::cell::Cell::new(0),
        };
        let _dismiss = Dismiss(&lead_handle);
        lead(&lead_handle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_of_every_phase_runs_once() {
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let counts: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            let work = |&(offset, _): &(usize, usize), i: usize| {
                counts[offset + i].fetch_add(1, Ordering::Relaxed);
            };
            let phases = pool.install(|| {
                run(threads, &work, |lead| {
                    let mut offset = 0;
                    for tasks in [0, 1, 7, 100, 3, 250] {
                        lead.phase((offset, tasks), tasks);
                        // Every task of the phase has finished when `phase` returns.
                        let ran = counts[offset..offset + tasks]
                            .iter()
                            .filter(|c| c.load(Ordering::Relaxed) == 1)
                            .count();
                        assert_eq!(ran, tasks);
                        offset += tasks;
                    }
                    offset
                })
            });
            assert!(
                counts[..phases]
                    .iter()
                    .all(|c| c.load(Ordering::Relaxed) == 1)
            );
            assert!(
                counts[phases..]
                    .iter()
                    .all(|c| c.load(Ordering::Relaxed) == 0)
            );
        }
    }

    #[test]
    fn teams_on_a_busy_pool_finish() {
        // More teams at once than the pool has threads: members that never start must not
        // hold anything up.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let total: usize = pool.install(|| {
            use rayon::prelude::*;
            (0..8usize)
                .into_par_iter()
                .map(|t| {
                    let sum = AtomicUsize::new(0);
                    let work = |&k: &usize, i: usize| {
                        sum.fetch_add(k * i, Ordering::Relaxed);
                    };
                    run(2, &work, |lead| {
                        for k in 1..=20 {
                            lead.phase(k + t, 10);
                        }
                    });
                    sum.into_inner()
                })
                .sum()
        });
        let expected: usize = (0..8)
            .map(|t| (1..=20).map(|k| (k + t) * 45).sum::<usize>())
            .sum();
        assert_eq!(total, expected);
    }

    #[test]
    fn a_panicking_task_does_not_hang_the_team() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for bad in 0..8 {
            let work = |_: &(), i: usize| {
                if i == bad {
                    panic!("task {i} fails");
                }
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| run(2, &work, |lead| lead.phase((), 8)))
            }));
            assert!(outcome.is_err(), "task {bad}'s panic reaches the caller");
        }
    }
}
