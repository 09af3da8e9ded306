//! Key/value caches: a stream's own growing buffers, optionally behind a frozen prefix that
//! several streams share.
//!
//! A [`KvCache`] holds the attention keys and values of the positions a stream has processed.
//! Its first positions may come from a [`FrozenKv`]: the keys and values of a token prefix,
//! computed once, immutable and reference-counted, so that streams whose contexts start the
//! same way read the same memory. Positions after the shared part live in the stream's own
//! buffers. Attention walks the positions in order across both parts, so a forked cache
//! computes exactly (bit for bit) what a cache holding every position itself computes.

use std::sync::Arc;

use crate::Config;
use crate::quant::Isa;

/// Keys and values of one layer, `[kv_heads, capacity, head_dim]` each.
#[derive(Clone, Default)]
struct Layer {
    k: Vec<f32>,
    v: Vec<f32>,
}

/// The keys and values of a token prefix, frozen: shared by every cache forked from it.
///
/// Made by [`KvCache::freeze`]; a cache starts from one with [`KvCache::fork`].
pub struct FrozenKv {
    /// Per layer, with capacity `len`.
    layers: Vec<Layer>,
    len: usize,
    head_dim: usize,
}

impl FrozenKv {
    /// How many positions it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no position.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The memory its keys and values take, in bytes.
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| (l.k.len() + l.v.len()) * 4)
            .sum()
    }
}

/// The attention keys and values one stream has processed so far, per layer.
///
/// The first positions may be shared with other caches (see [`fork`](KvCache::fork)); the
/// rest are the stream's own. Own buffers grow by half and are written in place, so
/// appending a token costs the token, not the cache. [`truncate`](KvCache::truncate) rolls the
/// cache back to a shorter prefix (into the shared part too: a prefix of a prefix is valid).
#[derive(Default)]
pub struct KvCache {
    shared: Option<Arc<FrozenKv>>,
    /// Positions used from `shared` (at most its length).
    shared_len: usize,
    /// Per layer, own keys and values for the positions `shared_len..`.
    layers: Vec<Layer>,
    capacity: usize,
    own: usize,
    head_dim: usize,
}

/// Copy positions `0..len` of every head from `from` (capacity `from_cap`) into `to`
/// (capacity `to_cap`) at position `at`.
fn copy_heads(
    from: &[f32],
    from_cap: usize,
    len: usize,
    to: &mut [f32],
    to_cap: usize,
    at: usize,
    hd: usize,
) {
    if len == 0 {
        return;
    }
    for (head, src) in from.chunks_exact(from_cap * hd).enumerate() {
        let dst = (head * to_cap + at) * hd;
        to[dst..dst + len * hd].copy_from_slice(&src[..len * hd]);
    }
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> KvCache {
        KvCache::default()
    }

    /// A cache holding the first `len` positions of `prefix` (all of it when `len` is
    /// larger), shared, not copied.
    pub fn fork(prefix: Arc<FrozenKv>, len: usize) -> KvCache {
        let shared_len = len.min(prefix.len);
        KvCache {
            head_dim: prefix.head_dim,
            shared: (shared_len > 0).then_some(prefix),
            shared_len,
            ..KvCache::default()
        }
    }

    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        self.shared_len + self.own
    }

    /// Whether the cache holds no position.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the positions are shared with other caches (read from a [`FrozenKv`]).
    pub fn shared_len(&self) -> usize {
        self.shared_len
    }

    /// Forget every position from `len` on.
    pub fn truncate(&mut self, len: usize) {
        if len <= self.shared_len {
            self.shared_len = len;
            self.own = 0;
            if len == 0 {
                self.shared = None;
            }
        } else {
            self.own = self.own.min(len - self.shared_len);
        }
    }

    /// The keys and values of every position, copied into one frozen block that caches can
    /// [`fork`](KvCache::fork) from.
    pub fn freeze(&self) -> FrozenKv {
        let shared = self.shared.as_ref().filter(|_| self.shared_len > 0);
        let count = match shared {
            _ if self.own > 0 => self.layers.len(),
            Some(s) => s.layers.len(),
            None => 0,
        };
        let (len, hd) = (self.len(), self.head_dim);
        let layers = (0..count)
            .map(|layer| {
                let heads = match (shared, self.layers.get(layer)) {
                    (_, Some(own)) if self.capacity > 0 => own.k.len() / (self.capacity * hd),
                    (Some(s), _) => s.layers[layer].k.len() / (s.len * hd),
                    _ => 0,
                };
                let mut out = Layer {
                    k: vec![0f32; heads * len * hd],
                    v: vec![0f32; heads * len * hd],
                };
                if let Some(s) = shared {
                    let l = &s.layers[layer];
                    copy_heads(&l.k, s.len, self.shared_len, &mut out.k, len, 0, hd);
                    copy_heads(&l.v, s.len, self.shared_len, &mut out.v, len, 0, hd);
                }
                if self.own > 0 {
                    let l = &self.layers[layer];
                    let (cap, at) = (self.capacity, self.shared_len);
                    copy_heads(&l.k, cap, self.own, &mut out.k, len, at, hd);
                    copy_heads(&l.v, cap, self.own, &mut out.v, len, at, hd);
                }
                out
            })
            .collect();
        FrozenKv {
            layers,
            len,
            head_dim: hd,
        }
    }

    /// Make room for `extra` more own positions.
    pub(crate) fn reserve(&mut self, config: &Config, extra: usize) {
        let hd = config.head_dim();
        self.head_dim = hd;
        let needed = self.own + extra;
        if needed <= self.capacity && self.layers.len() == config.layers {
            return;
        }
        // Grow by half (not doubling): at most a third of the buffers unused, and appending
        // still costs a constant per position on average.
        let capacity = needed
            .max(self.capacity + self.capacity / 2)
            .next_multiple_of(64);
        let size = config.kv_heads * capacity * hd;
        let mut layers = Vec::with_capacity(config.layers);
        for layer in 0..config.layers {
            let mut new = Layer {
                k: vec![0f32; size],
                v: vec![0f32; size],
            };
            if let Some(old) = self.layers.get(layer) {
                copy_heads(&old.k, self.capacity, self.own, &mut new.k, capacity, 0, hd);
                copy_heads(&old.v, self.capacity, self.own, &mut new.v, capacity, 0, hd);
            }
            layers.push(new);
        }
        self.layers = layers;
        self.capacity = capacity;
    }

    /// Count `n` positions written by [`write`](KvCache::write) as held.
    pub(crate) fn advance(&mut self, n: usize) {
        self.own += n;
    }

    /// Write the keys and values of `n` new positions of `layer` after the held ones (room
    /// reserved): `k` and `v` hold `n` rows of `[kv_heads, head_dim]`.
    pub(crate) fn write(&mut self, layer: usize, k: &[f32], v: &[f32], n: usize) {
        let (hd, cap, own) = (self.head_dim, self.capacity, self.own);
        let l = &mut self.layers[layer];
        let heads = k.len() / (n * hd);
        for t in 0..n {
            for head in 0..heads {
                let src = (t * heads + head) * hd;
                let dst = (head * cap + own + t) * hd;
                l.k[dst..dst + hd].copy_from_slice(&k[src..src + hd]);
                l.v[dst..dst + hd].copy_from_slice(&v[src..src + hd]);
            }
        }
    }

    /// Attention of one query (`q`, one head's `head_dim` values) of key/value head `head` to
    /// the first `upto` positions (shared, then own, written ones included), written to `out`.
    /// `scores` is scratch space.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attend(
        &self,
        isa: Isa,
        layer: usize,
        head: usize,
        q: &[f32],
        upto: usize,
        scores: &mut Vec<f32>,
        out: &mut [f32],
    ) {
        let hd = self.head_dim;
        let scale = 1.0 / (hd as f32).sqrt();
        let shared = self
            .shared
            .as_ref()
            .filter(|_| self.shared_len > 0)
            .map(|s| (&s.layers[layer], s.len));
        let in_shared = upto.min(self.shared_len);
        let in_own = upto - in_shared;
        let parts = [
            shared.map(|(l, len)| (l, len, in_shared)),
            self.layers.get(layer).map(|l| (l, self.capacity, in_own)),
        ];
        scores.clear();
        for (l, cap, count) in parts.iter().flatten() {
            let keys = &l.k[head * cap * hd..];
            for p in 0..*count {
                scores.push(isa.dot_f32(q, &keys[p * hd..(p + 1) * hd]) * scale);
            }
        }
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        out.fill(0.0);
        let mut weights = scores.iter();
        for (l, cap, count) in parts.iter().flatten() {
            let values = &l.v[head * cap * hd..];
            for p in 0..*count {
                let w = weights.next().expect("one weight per position");
                for (o, v) in out.iter_mut().zip(&values[p * hd..(p + 1) * hd]) {
                    *o += w * v;
                }
            }
        }
        let inv = 1.0 / sum;
        for o in out.iter_mut() {
            *o *= inv;
        }
    }
}
