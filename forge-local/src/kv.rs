//! Key/value caches: a stream's own growing buffers, optionally behind a frozen prefix that
//! several streams share.
//!
//! A [`KvCache`] holds the attention keys and values of the positions a stream has processed.
//! Its first positions may come from a [`FrozenKv`]: the keys and values of a token prefix,
//! computed once, immutable and reference-counted, so that streams whose contexts start the
//! same way read the same memory. Positions after the shared part live in the stream's own
//! buffers. Attention runs over both parts without copying either (the scores are joined,
//! the weighted sums added), so a forked cache costs no copy of the prefix.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};

use crate::Config;

/// The keys and values of a token prefix, frozen: shared by every cache forked from it.
///
/// Made by [`KvCache::freeze`]; a cache starts from one with [`KvCache::fork`].
pub struct FrozenKv {
    /// Per layer, keys and values `[kv_heads, len, head_dim]`, contiguous.
    layers: Vec<(Tensor, Tensor)>,
    len: usize,
    bytes: usize,
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
        self.bytes
    }
}

/// The attention keys and values one stream has processed so far, per layer.
///
/// The first positions may be shared with other caches (see [`fork`](KvCache::fork)); the
/// rest are the stream's own. Own buffers grow by doubling and are written in place, so
/// appending a token costs the token, not the cache. [`truncate`](KvCache::truncate) rolls the
/// cache back to a shorter prefix (into the shared part too: a prefix of a prefix is valid).
#[derive(Default)]
pub struct KvCache {
    shared: Option<Arc<FrozenKv>>,
    /// Positions used from `shared` (at most its length).
    shared_len: usize,
    /// Per layer, own keys and values `[kv_heads, capacity, head_dim]` for the positions
    /// `shared_len..`.
    layers: Vec<(Tensor, Tensor)>,
    capacity: usize,
    own: usize,
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
    /// [`fork`](KvCache::fork) from. Fails only when a tensor operation fails.
    pub fn freeze(&self) -> candle_core::Result<FrozenKv> {
        let count = match &self.shared {
            _ if self.own > 0 => self.layers.len(),
            Some(s) if self.shared_len > 0 => s.layers.len(),
            _ => 0,
        };
        let mut layers = Vec::with_capacity(count);
        let mut bytes = 0;
        for layer in 0..count {
            let mut ks = Vec::with_capacity(2);
            let mut vs = Vec::with_capacity(2);
            if let Some(s) = self.shared.as_ref().filter(|_| self.shared_len > 0) {
                let (k, v) = &s.layers[layer];
                ks.push(k.narrow(1, 0, self.shared_len)?);
                vs.push(v.narrow(1, 0, self.shared_len)?);
            }
            if self.own > 0 {
                let (k, v) = &self.layers[layer];
                ks.push(k.narrow(1, 0, self.own)?);
                vs.push(v.narrow(1, 0, self.own)?);
            }
            let k = Tensor::cat(&ks, 1)?.contiguous()?;
            let v = Tensor::cat(&vs, 1)?.contiguous()?;
            bytes += (k.elem_count() + v.elem_count()) * DType::F32.size_in_bytes();
            layers.push((k, v));
        }
        Ok(FrozenKv {
            layers,
            len: self.len(),
            bytes,
        })
    }

    /// Make room for `extra` more own positions.
    pub(crate) fn reserve(&mut self, config: &Config, extra: usize) -> candle_core::Result<()> {
        let needed = self.own + extra;
        if needed <= self.capacity {
            return Ok(());
        }
        let capacity = needed.next_power_of_two().max(64);
        let shape = (config.kv_heads, capacity, config.head_dim());
        let mut layers = Vec::with_capacity(config.layers);
        for layer in 0..config.layers {
            let k = Tensor::zeros(shape, DType::F32, &Device::Cpu)?;
            let v = Tensor::zeros(shape, DType::F32, &Device::Cpu)?;
            if self.own > 0 {
                let (old_k, old_v) = &self.layers[layer];
                k.slice_set(&old_k.narrow(1, 0, self.own)?.contiguous()?, 1, 0)?;
                v.slice_set(&old_v.narrow(1, 0, self.own)?.contiguous()?, 1, 0)?;
            }
            layers.push((k, v));
        }
        self.layers = layers;
        self.capacity = capacity;
        Ok(())
    }

    /// Count `n` positions written by [`attend`](KvCache::attend) as held.
    pub(crate) fn advance(&mut self, n: usize) {
        self.own += n;
    }

    /// Attention of `n` new positions: writes their keys and values (`k`, `v`:
    /// `[kv_heads, n, head_dim]`) after the held positions of `layer` (room reserved), then
    /// attends the queries `q` (`[kv_heads, group * n, head_dim]`, the heads sharing a
    /// key/value head folded into the rows) to every held position and causally to the new
    /// ones. Returns `[kv_heads, group * n, head_dim]`.
    pub(crate) fn attend(
        &self,
        layer: usize,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        n: usize,
    ) -> candle_core::Result<Tensor> {
        let (cache_k, cache_v) = &self.layers[layer];
        cache_k.slice_set(k, 1, self.own)?;
        cache_v.slice_set(v, 1, self.own)?;
        let own = self.own + n;
        let hd = q.dim(2)?;
        let rows = q.dim(1)?;
        let scale = 1.0 / (hd as f64).sqrt();
        let keys = cache_k.narrow(1, 0, own)?;
        let values = cache_v.narrow(1, 0, own)?;
        let scores = (q.matmul(&keys.t()?)? * scale)?;
        let scores = if n > 1 {
            // Row `r` is the query of new position `r % n`: it sees own positions up to its own.
            let mut mask = vec![0f32; rows * own];
            for row in 0..rows {
                let i = row % n;
                for cell in &mut mask[row * own + self.own + i + 1..(row + 1) * own] {
                    *cell = f32::NEG_INFINITY;
                }
            }
            let mask = Tensor::from_vec(mask, (rows, own), &Device::Cpu)?;
            scores.broadcast_add(&mask)?
        } else {
            scores
        };
        let shared = match &self.shared {
            Some(s) if self.shared_len > 0 => s,
            _ => {
                let probs = candle_nn::ops::softmax_last_dim(&scores)?;
                return probs.matmul(&values);
            }
        };
        // Every new position sees the whole shared prefix: join the scores, split the weights.
        let (shared_k, shared_v) = &shared.layers[layer];
        let sl = self.shared_len;
        let shared_scores = (q.matmul(&shared_k.narrow(1, 0, sl)?.t()?)? * scale)?;
        let probs = candle_nn::ops::softmax_last_dim(&Tensor::cat(&[&shared_scores, &scores], 2)?)?;
        let from_shared = probs
            .narrow(2, 0, sl)?
            .contiguous()?
            .matmul(&shared_v.narrow(1, 0, sl)?)?;
        let from_own = probs.narrow(2, sl, own)?.contiguous()?.matmul(&values)?;
        from_shared + from_own
    }
}
