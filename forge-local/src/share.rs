//! Sharing context prefixes between streams.
//!
//! Before each step, every request that has not started yet (*fresh*) is matched against
//! the prefix jobs in flight and the prefix cache: it waits for a job that is computing a
//! longer prefix of its context than its stream holds, or forks its cache from the longest
//! cached prefix. Then fresh requests whose contexts share at least [`MIN_SHARED_PREFIX`]
//! tokens that nothing holds yet are grouped: one *prefix job* processes those tokens once,
//! like a stream of its own, while the group waits. When the job is done its keys and values
//! are frozen, kept in the prefix cache (within its budget) and every waiting request forks
//! from them, becoming fresh again, so a subgroup sharing a longer prefix forms the next job.

use std::sync::Arc;

use crate::prefix::PrefixCache;
use crate::scheduler::{StreamState, Wait};
use crate::{FrozenKv, KvCache, LocalGenerator};

/// The fewest tokens that waiting requests must share, beyond what is already cached, for
/// the engine to process them once for all (a shorter prefix is not worth a step of delay).
pub const MIN_SHARED_PREFIX: usize = 32;

/// A prefix that several waiting requests share, being processed once.
pub(crate) struct PrefixJob {
    pub(crate) id: u64,
    /// The prefix; `cache` holds its first `cache.len()` positions.
    pub(crate) tokens: Vec<u32>,
    pub(crate) cache: KvCache,
}

impl PrefixJob {
    /// The tokens still to process.
    pub(crate) fn pending(&self) -> &[u32] {
        &self.tokens[self.cache.len()..]
    }
}

fn common(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The prefix cache's values: frozen keys and values.
pub(crate) type Prefixes = PrefixCache<Arc<FrozenKv>>;

impl LocalGenerator {
    /// The part of request `i`'s context that a fork may cover (its last token is always fed,
    /// for the logits of the next one).
    fn usable(&self, i: usize) -> &[u32] {
        let c = &self.active[i].context;
        &c[..c.len() - 1]
    }

    /// Where request `i` starts: the positions of its context its stream already holds.
    fn start_of(&self, i: usize) -> usize {
        let a = &self.active[i];
        a.context.len() - a.pending.len()
    }

    /// Match fresh requests with jobs and cached prefixes, then start jobs for the prefixes
    /// that fresh requests share.
    pub(crate) fn share(&mut self) {
        for a in &mut self.active {
            if let Wait::Job(id) = a.wait
                && !self.jobs.iter().any(|j| j.id == id)
            {
                a.wait = Wait::Fresh;
            }
        }
        let mut fresh = Vec::new();
        for i in 0..self.active.len() {
            if self.active[i].wait != Wait::Fresh {
                continue;
            }
            let start = self.start_of(i);
            let context = &self.active[i].context;
            let usable = &context[..context.len() - 1];
            if let Some(job) = self
                .jobs
                .iter()
                .find(|j| j.tokens.len() > start && usable.starts_with(&j.tokens))
            {
                self.active[i].wait = Wait::Job(job.id);
                continue;
            }
            if let Some((len, prefix)) = self.prefixes.lookup(usable)
                && len > start
            {
                self.adopt(i, prefix, len);
            }
            fresh.push(i);
        }
        // Sorted contexts: neighbours share the longest prefixes. A run of neighbours that
        // each share at least `MIN_SHARED_PREFIX` tokens more than both of them hold shares
        // the least of its neighbours' common prefixes.
        fresh.sort_by(|&x, &y| self.usable(x).cmp(self.usable(y)));
        let mut run = 0;
        let mut shared = usize::MAX;
        for k in 1..=fresh.len() {
            let gain = fresh.get(k).map(|&y| {
                let x = fresh[k - 1];
                let both = common(self.usable(x), self.usable(y));
                (
                    both,
                    both.saturating_sub(self.start_of(x).max(self.start_of(y))),
                )
            });
            if let Some((both, gain)) = gain
                && gain >= MIN_SHARED_PREFIX
            {
                shared = shared.min(both);
                continue;
            }
            if k - run >= 2 {
                self.start_job(&fresh[run..k], shared);
            }
            run = k;
            shared = usize::MAX;
        }
    }

    /// Start a job for the first `len` context tokens of `group` when at least two of its
    /// requests need them and they are worth it.
    fn start_job(&mut self, group: &[usize], len: usize) {
        let members: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| self.start_of(i) < len)
            .collect();
        if members.len() < 2 {
            return;
        }
        let tokens = self.usable(members[0])[..len].to_vec();
        let cache = match self.prefixes.lookup(&tokens) {
            Some((base, prefix)) => KvCache::fork(prefix, base),
            None => KvCache::new(),
        };
        if len - cache.len() < MIN_SHARED_PREFIX {
            return;
        }
        self.prefix_stats.jobs += 1;
        let id = self.prefix_stats.jobs;
        for i in members {
            self.active[i].wait = Wait::Job(id);
        }
        self.jobs.push(PrefixJob { id, tokens, cache });
    }

    /// Request `i`'s stream continues from the first `len` positions of `prefix`.
    fn adopt(&mut self, i: usize, prefix: Arc<FrozenKv>, len: usize) {
        let a = &mut self.active[i];
        self.streams.insert(
            a.stream,
            StreamState {
                cache: KvCache::fork(prefix, len),
                tokens: a.context[..len].to_vec(),
            },
        );
        self.prefix_stats.forked_tokens += (len - (a.context.len() - a.pending.len())) as u64;
        a.pending = a.context[len..].to_vec();
    }

    /// Job `job` has processed its whole prefix: freeze it, keep it in the prefix cache and
    /// fork its waiting requests from it.
    pub(crate) fn finish_job(&mut self, job: PrefixJob) {
        let waiting: Vec<usize> = (0..self.active.len())
            .filter(|&i| self.active[i].wait == Wait::Job(job.id))
            .collect();
        let frozen = Arc::new(job.cache.freeze());
        let len = job.tokens.len();
        let bytes = frozen.bytes();
        self.prefixes.insert(job.tokens, Arc::clone(&frozen), bytes);
        for i in waiting {
            self.adopt(i, Arc::clone(&frozen), len);
            self.active[i].wait = Wait::Fresh;
        }
    }

    /// What prefix sharing has done so far.
    pub fn prefix_stats(&self) -> PrefixStats {
        PrefixStats {
            cached_bytes: self.prefixes.bytes(),
            cached_prefixes: self.prefixes.len(),
            ..self.prefix_stats
        }
    }
}

/// What prefix sharing has done in a [`LocalGenerator`] (see
/// [`LocalGenerator::prefix_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// The memory the prefix cache keeps now, in bytes (at most
    /// [`Options::prefix_cache_bytes`](crate::Options::prefix_cache_bytes)).
    pub cached_bytes: usize,
    /// How many prefixes the cache keeps now.
    pub cached_prefixes: usize,
    /// Prefix jobs run: prefixes processed once for several waiting requests.
    pub jobs: u64,
    /// Context tokens that requests took from a shared prefix instead of processing them.
    pub forked_tokens: u64,
}
