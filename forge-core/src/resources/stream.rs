//! Dataset streams: index-addressable draws for resources whose state spans the samples of a
//! dataset.
//!
//! A resource bound as an instance that says how many positions each of its fills takes
//! ([`Resource::stream_draws`](super::Resource::stream_draws), e.g. a list sampler drawing
//! `num_samples` items) gets a *stream* per compiled workflow. The number of positions one
//! sample takes from the stream, `K`, is fixed when the workflow is compiled (the fills are known
//! then), so sample `i` of a dataset takes positions `i·K … i·K+K−1`, and a fill takes the next
//! positions after the previous fills of the same sample. Nothing is shared between samples:
//! the draws of sample `i` are a function of the dataset seed, the stream and `i` alone, on any
//! thread, in any order.
//!
//! The stream is a sequence of *cycles*, each a pseudo-random permutation of the item indices
//! `0..n`, so every item appears once per cycle before any repeats, across the samples of the
//! dataset. A fill whose positions cross from one cycle into the next would repeat an item if the
//! next cycle began with one of the items just taken; the start of such a cycle is therefore
//! rearranged: the fill takes the first permuted items that are not among the items just taken,
//! and the items it skipped follow in their permuted order. The rest of the cycle is
//! untouched, so the items of a fill are always distinct and each cycle is still a permutation.
//!
//! Each cycle's permutation is a balanced Feistel network keyed by the dataset seed, the stream
//! and the cycle (cycle-walking into `0..n`): computing one position costs a few multiplications,
//! without materialising the permutation, and the values depend only on the arithmetic here
//! (never on a library version).

/// The fills of one stream in one sample of a workflow, in fill order: how many positions each
/// takes. The scheme is described at the top of its source file (`resources/stream.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLayout {
    /// Address of the resource object (identity only; never dereferenced).
    owner: usize,
    /// Positions per fill, in fill order (each ≥ 1).
    calls: Vec<u64>,
    /// `starts[j]` = sum of `calls[..j]`; one more entry than `calls`.
    starts: Vec<u64>,
}

impl StreamLayout {
    pub(crate) fn new(owner: usize) -> Self {
        StreamLayout {
            owner,
            calls: Vec::new(),
            starts: vec![0],
        }
    }

    pub(crate) fn owner(&self) -> usize {
        self.owner
    }

    pub(crate) fn push(&mut self, draws: u64) {
        if draws > 0 {
            let end = self.per_sample() + draws;
            self.calls.push(draws);
            self.starts.push(end);
        }
    }

    /// Positions taken by one sample (`K`).
    pub fn per_sample(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Positions taken by each fill of one sample, in fill order.
    pub fn fills(&self) -> &[u64] {
        &self.calls
    }

    /// The fill whose positions hold `offset` (an offset within a sample, `< K`): its start
    /// offset and size.
    fn fill_at(&self, offset: u64) -> (u64, u64) {
        // starts[j] <= offset < starts[j + 1]
        let j = self.starts.partition_point(|&s| s <= offset) - 1;
        (self.starts[j], self.calls[j])
    }
}

/// The position cursor of one stream within one sample, with the last cycle start computed.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// Positions taken so far in this sample.
    pub taken: u64,
    /// The stream's key in this sample's dataset, computed on the sample's first fill.
    key: Option<u64>,
    /// The cycle drawn from last, kept across the samples of a context (it depends on the
    /// stream key and the cycle only).
    current: Option<CycleCache>,
}

/// One cycle of one stream, ready to draw from.
#[derive(Debug)]
struct CycleCache {
    key: u64,
    cycle: u128,
    perm: Perm,
    /// Its rearranged start, when a fill straddles its beginning.
    head: Option<Vec<u64>>,
}

impl Cursor {
    pub(crate) fn reset(&mut self) {
        self.taken = 0;
        self.key = None;
    }

    /// The key of stream `id` in the dataset with `seed` ([`stream_key`]), computed once per
    /// sample (the cursor is [`reset`](Self::reset) for each sample).
    pub(crate) fn key(&mut self, seed: u64, id: u32) -> u64 {
        *self.key.get_or_insert_with(|| stream_key(seed, id))
    }
}

/// `fmix64` of MurmurHash3: a bijection on `u64` with `fmix64(0) == 0`.
pub(crate) fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The key of stream `id` in the dataset with `seed`.
pub(crate) fn stream_key(seed: u64, id: u32) -> u64 {
    fmix64(seed ^ fmix64(u64::from(id).wrapping_add(1).wrapping_mul(GOLDEN)))
}

fn cycle_key(stream: u64, cycle: u128) -> u64 {
    let lo = cycle as u64;
    let hi = (cycle >> 64) as u64;
    fmix64(stream ^ fmix64(lo.wrapping_add(GOLDEN)) ^ fmix64(hi).rotate_left(17))
}

const ROUNDS: usize = 4;
// `Perm::at` writes the four rounds out.
const _: () = assert!(ROUNDS == 4);

/// A pseudo-random permutation of `0..n` (see the module docs).
#[derive(Debug)]
struct Perm {
    n: u64,
    half: u32,
    mask: u64,
    /// `64 - half`: the shift taking a round product's top `half` bits.
    shift: u32,
    /// The round keys, and each round's multiplier `GOLDEN ^ key` (computed once per cycle).
    keys: [u64; ROUNDS],
    mults: [u64; ROUNDS],
}

impl Perm {
    fn new(key: u64, n: u64) -> Perm {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let half = bits.div_ceil(2);
        let mut keys = [0; ROUNDS];
        for (r, k) in keys.iter_mut().enumerate() {
            *k = fmix64(key ^ (r as u64 + 1).wrapping_mul(GOLDEN)) | 1;
        }
        Perm {
            n,
            half,
            mask: (1u64 << half) - 1,
            shift: 64 - half,
            keys,
            mults: keys.map(|k| GOLDEN ^ k),
        }
    }

    /// The item at position `q < n`.
    fn at(&self, q: u64) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        let mut x = q;
        // Cycle-walking: the network permutes 0..2^(2·half) ⊇ 0..n, so iterating from a point
        // of 0..n returns into it; fewer than 4 steps on average.
        // The rounds are written out (four, fixed) so the loop is not re-entered per round.
        let round = |r: usize, half: u64, other: u64| {
            half ^ ((other ^ self.keys[r]).wrapping_mul(self.mults[r]) >> self.shift)
        };
        loop {
            let (l, r) = (x >> self.half, x & self.mask);
            let l = round(0, l, r);
            let r = round(1, r, l);
            let l = round(2, l, r);
            let r = round(3, r, l);
            // Each line computes the next half from the two before it, as the swapping loop
            // `(l, r) = (r, l ^ f(r))` would: `l` ends with the left half, `r` the right.
            x = (l << self.half) | r;
            if x < self.n {
                return x;
            }
        }
    }
}

/// Draws of one fill: `k` positions from `position` of the stream `key` over `n` items.
pub(crate) struct Draw<'a> {
    pub key: u64,
    pub n: u64,
    pub layout: &'a StreamLayout,
    pub position: u128,
    pub k: u64,
}

impl Draw<'_> {
    /// Calls `emit` with the item index of each position, in order.
    #[inline]
    pub(crate) fn run(&self, cursor: &mut Cursor, mut emit: impl FnMut(usize)) {
        let mut p = self.position;
        let end = p + u128::from(self.k);
        while p < end {
            // 64-bit division when the position fits (128-bit division is a library call).
            let (cycle, q) = match u64::try_from(p) {
                Ok(p) => (u128::from(p / self.n), p % self.n),
                Err(_) => (p / u128::from(self.n), (p % u128::from(self.n)) as u64),
            };
            let count = (end - p).min(u128::from(self.n - q)) as u64;
            let fresh = match &cursor.current {
                Some(c) => c.key != self.key || c.cycle != cycle,
                None => true,
            };
            if fresh {
                let known = cursor
                    .current
                    .take()
                    .filter(|c| c.key == self.key)
                    .and_then(|c| c.head.map(|h| (c.cycle, h)));
                let head = self
                    .straddle(cycle)
                    .map(|_| self.compute_head(cycle, known));
                cursor.current = Some(CycleCache {
                    key: self.key,
                    cycle,
                    perm: Perm::new(cycle_key(self.key, cycle), self.n),
                    head,
                });
            }
            if let Some(c) = &cursor.current {
                for q in q..q + count {
                    emit(item(c.head.as_deref(), &c.perm, q) as usize);
                }
            }
            p += u128::from(count);
        }
    }

    /// The fill straddling the start of `cycle`, if any: `(positions in the previous cycle,
    /// positions in this one, its size)`.
    fn straddle(&self, cycle: u128) -> Option<(u64, u64, u64)> {
        if cycle == 0 {
            return None;
        }
        let k = u128::from(self.layout.per_sample());
        let start = cycle * u128::from(self.n);
        let offset = (start % k) as u64;
        let (fill_start, size) = self.layout.fill_at(offset);
        if fill_start == offset {
            return None;
        }
        let before = offset - fill_start;
        Some((before, size - before, size))
    }

    /// The rearranged start of `cycle` (the items of positions `0..h+s`) when a fill straddles
    /// its beginning; `known` is a previously computed `(cycle, start)`, used if it is the
    /// previous cycle's.
    fn compute_head(&self, cycle: u128, known: Option<(u128, Vec<u64>)>) -> Vec<u64> {
        let n = self.n;
        // Walk back while a cycle's start depends on a previous cycle's rearranged start (only
        // with lists shorter than about twice a fill); it ends at a cycle starting on a fill
        // boundary, at most K / gcd(n, K) cycles back.
        let mut chain: Vec<(u128, u64, u64)> = Vec::new();
        let mut c = cycle;
        let mut prev_head: Option<Vec<u64>> = None;
        while let Some((before, h, _)) = self.straddle(c) {
            chain.push((c, before, h));
            match &known {
                Some((kc, _)) if *kc == c - 1 => {
                    prev_head = known.map(|(_, items)| items);
                    break;
                }
                _ => {}
            }
            match self.straddle(c - 1) {
                Some((_, _, size)) if n - before < size => c -= 1,
                _ => break,
            }
        }
        for &(c, before, h) in chain.iter().rev() {
            let prev = Perm::new(cycle_key(self.key, c - 1), n);
            let taken: Vec<u64> = (n - before..n)
                .map(|q| item(prev_head.as_deref(), &prev, q))
                .collect();
            let perm = Perm::new(cycle_key(self.key, c), n);
            let mut head = Vec::with_capacity((h + before) as usize);
            let mut skipped = Vec::new();
            let mut q = 0;
            while (head.len() as u64) < h {
                let it = perm.at(q);
                if taken.contains(&it) {
                    skipped.push(it);
                } else {
                    head.push(it);
                }
                q += 1;
            }
            head.extend(skipped);
            prev_head = Some(head);
        }
        prev_head.unwrap_or_default()
    }
}

fn item(head: Option<&[u64]>, perm: &Perm, q: u64) -> u64 {
    match head {
        Some(h) if (q as usize) < h.len() => h[q as usize],
        _ => perm.at(q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(fills: &[u64]) -> StreamLayout {
        let mut l = StreamLayout::new(0);
        for &f in fills {
            l.push(f);
        }
        l
    }

    /// Every fill of samples `0..samples`, each drawn on its own (fresh cursor per sample).
    fn fills(n: u64, fills: &[u64], samples: u64, seed: u64) -> Vec<Vec<u64>> {
        let l = layout(fills);
        let key = stream_key(seed, 0);
        let mut out = Vec::new();
        for i in 0..samples {
            let mut cursor = Cursor::default();
            let mut offset = 0;
            for &k in fills {
                let mut items = Vec::new();
                Draw {
                    key,
                    n,
                    layout: &l,
                    position: u128::from(i) * u128::from(l.per_sample()) + u128::from(offset),
                    k,
                }
                .run(&mut cursor, |x| items.push(x as u64));
                offset += k;
                out.push(items);
            }
        }
        out
    }

    /// The Feistel network as a loop over the rounds, swapping the halves after each: the
    /// definition `Perm::at` unrolls (the values of every dataset depend on it).
    fn at_by_rounds(p: &Perm, q: u64) -> u64 {
        let mut x = q;
        loop {
            let (mut l, mut r) = (x >> p.half, x & p.mask);
            for &k in &p.keys {
                let f = (r ^ k).wrapping_mul(GOLDEN ^ k) >> (64 - p.half);
                (l, r) = (r, l ^ f);
            }
            x = (l << p.half) | r;
            if x < p.n {
                return x;
            }
        }
    }

    #[test]
    fn unrolled_rounds_equal_the_round_loop() {
        for n in [2u64, 3, 50, 64, 65, 1000, 1 << 20, u64::MAX / 3] {
            for key in [0u64, 7, 0xdead_beef, u64::MAX] {
                let p = Perm::new(key, n);
                for q in (0..200u64).map(|i| i.wrapping_mul(0x9e37_79b9) % n) {
                    assert_eq!(p.at(q), at_by_rounds(&p, q), "n={n} key={key} q={q}");
                }
            }
        }
    }

    #[test]
    fn permutations_are_bijections() {
        for n in [1u64, 2, 3, 5, 7, 50, 64, 65, 1000] {
            for key in [0u64, 1, 0xdead_beef] {
                let p = Perm::new(key, n);
                let mut seen = vec![false; n as usize];
                for q in 0..n {
                    let x = p.at(q);
                    assert!(x < n);
                    assert!(!seen[x as usize], "n={n}: {x} twice");
                    seen[x as usize] = true;
                }
            }
        }
    }

    #[test]
    fn fills_are_distinct_and_cycles_cover_every_item() {
        // Small lists against large fills exercise the rearranged cycle starts and their chains.
        for n in 1..=9u64 {
            for pattern in [
                &[1u64][..],
                &[2],
                &[3],
                &[2, 3],
                &[3, 1, 2],
                &[4, 4, 1],
                &[5, 2],
            ] {
                let sizes: Vec<u64> = pattern.iter().map(|&k| k.min(n)).collect();
                let all = fills(n, &sizes, 40, 7);
                for f in &all {
                    let mut s = f.clone();
                    s.sort_unstable();
                    s.dedup();
                    assert_eq!(s.len(), f.len(), "n={n} {sizes:?}: a fill repeats: {f:?}");
                }
                let flat: Vec<u64> = all.concat();
                for (c, cycle) in flat.chunks_exact(n as usize).enumerate() {
                    let mut s = cycle.to_vec();
                    s.sort_unstable();
                    let want: Vec<u64> = (0..n).collect();
                    assert_eq!(s, want, "n={n} {sizes:?}: cycle {c} is not a permutation");
                }
            }
        }
    }

    #[test]
    fn any_sample_alone_equals_the_sequence() {
        // Drawing sample i with a cursor that saw other samples before gives the same items.
        let (n, sizes) = (4u64, [3u64, 2]);
        let l = layout(&sizes);
        let key = stream_key(3, 0);
        let draw_sample = |i: u64, cursor: &mut Cursor| {
            let mut items = Vec::new();
            let mut offset = 0;
            for &k in &sizes {
                Draw {
                    key,
                    n,
                    layout: &l,
                    position: u128::from(i) * 5 + u128::from(offset),
                    k,
                }
                .run(cursor, |x| items.push(x));
                offset += k;
            }
            items
        };
        let mut shared = Cursor::default();
        let forward: Vec<_> = (0..30).map(|i| draw_sample(i, &mut shared)).collect();
        for i in (0..30).rev() {
            assert_eq!(draw_sample(i, &mut Cursor::default()), forward[i as usize]);
        }
    }

    #[test]
    fn seeds_and_streams_give_different_orders() {
        let a = fills(50, &[3], 5, 1).concat();
        let b = fills(50, &[3], 5, 2).concat();
        assert_ne!(a, b);
        assert_ne!(stream_key(1, 0), stream_key(1, 1));
    }
}
