//! The llama forward pass on candle tensors, batched over streams with a KV cache per stream.
//!
//! One call of [`Llama::forward`] takes a *segment* of tokens for each of several streams (a
//! single token when a stream decodes, many when it prefills) and runs them through the model
//! together: every matrix product (attention projections, feed-forward, output) sees all the
//! tokens of all the segments at once, while attention runs per segment against that stream's
//! own cache. Decoding 16 streams is therefore one pass over the weights, not 16.

use std::io::{Read, Seek};

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{Device, Module, Tensor};

use crate::gguf::{optional as metadata, optional_f32, required_usize};
use crate::{Error, KvCache};

/// The shape of a llama model, read from the GGUF metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Width of the residual stream (`llama.embedding_length`).
    pub dim: usize,
    /// Number of transformer blocks (`llama.block_count`).
    pub layers: usize,
    /// Attention heads (`llama.attention.head_count`).
    pub heads: usize,
    /// Key/value heads (`llama.attention.head_count_kv`); a divisor of `heads`.
    pub kv_heads: usize,
    /// Hidden width of the feed-forward block (`llama.feed_forward_length`).
    pub ffn_dim: usize,
    /// The longest context the model takes, in tokens (`llama.context_length`).
    pub context_length: usize,
    /// RoPE base frequency (`llama.rope.freq_base`, 10000 when absent).
    pub rope_base: f32,
    /// RMS-norm epsilon (`llama.attention.layer_norm_rms_epsilon`, 1e-5 when absent).
    pub norm_eps: f32,
    /// Vocabulary size (rows of `token_embd.weight`).
    pub vocab: usize,
}

impl Config {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads
    }
}

struct Block {
    attn_norm: Tensor,
    q: QMatMul,
    k: QMatMul,
    v: QMatMul,
    o: QMatMul,
    ffn_norm: Tensor,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
}

/// A llama-architecture model loaded from GGUF: quantized weights, ready for batched forward
/// passes on the CPU.
pub struct Llama {
    config: Config,
    embeddings: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    output: QMatMul,
    cos: Tensor,
    sin: Tensor,
}

/// The tokens one stream adds in a forward pass, and its cache.
pub struct Segment<'a> {
    /// The stream's cache; the tokens are appended to it.
    pub cache: &'a mut KvCache,
    /// The tokens to process, at positions `cache.len()..`. Must not be empty.
    pub tokens: &'a [u32],
}

/// A weight matrix as dense f32 for candle's `gemm` kernels, which pick the CPU's vector
/// instructions at run time. candle's quantized dot products only use AVX2 when the whole
/// build targets it (`-C target-feature`), and without it they are several times slower than
/// the dense product even for one token, so the weights are dequantized once at load time
/// (SmolLM2-135M: about 540 MB instead of 98 MB).
fn dense(t: &QTensor, name: &str) -> Result<QMatMul, Error> {
    let w = t
        .dequantize(&Device::Cpu)
        .map_err(|e| tensor_error(name, e))?;
    Ok(QMatMul::Tensor(w))
}

fn tensor_error(name: &str, e: candle_core::Error) -> Error {
    Error::format(format!("tensor `{name}`: {}", crate::plain(&e)))
}

/// Reads named tensors of a GGUF file, checking their shapes.
struct Loader<'a, R> {
    content: &'a gguf_file::Content,
    reader: &'a mut R,
}

impl<R: Read + Seek> Loader<'_, R> {
    fn tensor(&mut self, name: &str) -> Result<QTensor, Error> {
        self.content
            .tensor(self.reader, name, &Device::Cpu)
            .map_err(|e| tensor_error(name, e))
    }

    fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<QMatMul, Error> {
        let t = self.tensor(name)?;
        if t.shape().dims() != [rows, cols] {
            return Err(Error::format(format!(
                "tensor `{name}` has shape {:?}, expected [{rows}, {cols}]",
                t.shape().dims()
            )));
        }
        dense(&t, name)
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Tensor, Error> {
        let v = self
            .tensor(name)?
            .dequantize(&Device::Cpu)
            .map_err(|e| tensor_error(name, e))?;
        if v.dims() != [len] {
            return Err(Error::format(format!(
                "tensor `{name}` has shape {:?}, expected [{len}]",
                v.dims()
            )));
        }
        Ok(v)
    }
}

impl Llama {
    /// Read the model's weights from GGUF `content` (the tensors are read from `reader`).
    ///
    /// Fails, naming the key or tensor, when the architecture is not `llama`, a required
    /// metadata key or tensor is missing, or a tensor has the wrong shape.
    pub fn load<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
    ) -> Result<Llama, Error> {
        let arch = match metadata(content, "general.architecture") {
            Some(v) => v
                .to_string()
                .map_err(|e| {
                    Error::format(format!("`general.architecture`: {}", crate::plain(&e)))
                })?
                .clone(),
            None => "llama".to_owned(),
        };
        if arch != "llama" {
            return Err(Error::format(format!(
                "the model's architecture is `{arch}`; only `llama` is supported"
            )));
        }
        let dim = required_usize(content, "llama.embedding_length")?;
        let heads = required_usize(content, "llama.attention.head_count")?;
        let kv_heads = match metadata(content, "llama.attention.head_count_kv") {
            Some(_) => required_usize(content, "llama.attention.head_count_kv")?,
            None => heads,
        };
        if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
            return Err(Error::format(format!(
                "inconsistent attention shape: width {dim}, {heads} heads, {kv_heads} key/value heads"
            )));
        }
        if (dim / heads) % 2 != 0 {
            return Err(Error::format(format!(
                "the head width {} is odd; RoPE needs an even width",
                dim / heads
            )));
        }
        let mut load = Loader { content, reader };
        let token_embd = load.tensor("token_embd.weight")?;
        let (vocab, embd_dim) = token_embd.shape().dims2().map_err(|e| {
            Error::format(format!("tensor `token_embd.weight`: {}", crate::plain(&e)))
        })?;
        if embd_dim != dim {
            return Err(Error::format(format!(
                "tensor `token_embd.weight` has width {embd_dim}, the metadata says {dim}"
            )));
        }
        let config = Config {
            dim,
            layers: required_usize(content, "llama.block_count")?,
            heads,
            kv_heads,
            ffn_dim: required_usize(content, "llama.feed_forward_length")?,
            context_length: required_usize(content, "llama.context_length")?,
            rope_base: optional_f32(content, "llama.rope.freq_base", 10_000.0)?,
            norm_eps: optional_f32(content, "llama.attention.layer_norm_rms_epsilon", 1e-5)?,
            vocab,
        };
        let (kv, ffn) = (kv_heads * config.head_dim(), config.ffn_dim);
        let embeddings = token_embd
            .dequantize(&Device::Cpu)
            .map_err(|e| tensor_error("token_embd.weight", e))?;
        let mut blocks = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = |s: &str| format!("blk.{i}.{s}.weight");
            blocks.push(Block {
                attn_norm: load.vector(&p("attn_norm"), dim)?,
                q: load.matrix(&p("attn_q"), dim, dim)?,
                k: load.matrix(&p("attn_k"), kv, dim)?,
                v: load.matrix(&p("attn_v"), kv, dim)?,
                o: load.matrix(&p("attn_output"), dim, dim)?,
                ffn_norm: load.vector(&p("ffn_norm"), dim)?,
                gate: load.matrix(&p("ffn_gate"), ffn, dim)?,
                up: load.matrix(&p("ffn_up"), ffn, dim)?,
                down: load.matrix(&p("ffn_down"), dim, ffn)?,
            });
        }
        let norm = load.vector("output_norm.weight", dim)?;
        let output = if content.tensor_infos.contains_key("output.weight") {
            load.matrix("output.weight", vocab, dim)?
        } else {
            // Tied embeddings: the output projection is the embedding matrix.
            QMatMul::Tensor(embeddings.clone())
        };
        let (cos, sin) = rope_tables(&config)?;
        Ok(Llama {
            config,
            embeddings,
            blocks,
            norm,
            output,
            cos,
            sin,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Run every segment's tokens through the model, append them to the segments' caches and
    /// return, per segment, the next-token logits after its last token (`vocab` values).
    ///
    /// Fails when a segment is empty, a token is outside the vocabulary or a position would
    /// pass the model's context length (the caches are then left as they were).
    pub fn forward(&self, segments: &mut [Segment<'_>]) -> Result<Vec<Vec<f32>>, Error> {
        let c = &self.config;
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        let mut last_rows = Vec::with_capacity(segments.len());
        for s in segments.iter() {
            if s.tokens.is_empty() {
                return Err(Error::internal("a forward segment holds no token"));
            }
            if s.cache.len() + s.tokens.len() > c.context_length {
                return Err(Error::context(
                    s.cache.len() + s.tokens.len(),
                    c.context_length,
                ));
            }
            if let Some(&t) = s.tokens.iter().find(|&&t| t as usize >= c.vocab) {
                return Err(Error::internal(format!(
                    "token {t} is outside the vocabulary of {} tokens",
                    c.vocab
                )));
            }
            ids.extend_from_slice(s.tokens);
            positions.extend((s.cache.len()..s.cache.len() + s.tokens.len()).map(|p| p as u32));
            last_rows.push((ids.len() - 1) as u32);
        }
        for s in segments.iter_mut() {
            s.cache.reserve(c, s.tokens.len())?;
        }
        let logits = self.run(segments, &ids, &positions, &last_rows)?;
        for s in segments.iter_mut() {
            s.cache.advance(s.tokens.len());
        }
        Ok(logits)
    }

    fn run(
        &self,
        segments: &[Segment<'_>],
        ids: &[u32],
        positions: &[u32],
        last_rows: &[u32],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let c = &self.config;
        let (hd, total) = (c.head_dim(), ids.len());
        let ids = Tensor::new(ids, &Device::Cpu)?;
        let positions = Tensor::new(positions, &Device::Cpu)?;
        let cos = self.cos.index_select(&positions, 0)?;
        let sin = self.sin.index_select(&positions, 0)?;
        let mut x = self.embeddings.index_select(&ids, 0)?;
        let rope = |t: Tensor, heads: usize| -> candle_core::Result<Tensor> {
            let t = t
                .reshape((total, heads, hd))?
                .transpose(0, 1)?
                .contiguous()?;
            candle_nn::rotary_emb::rope_i(&t.unsqueeze(0)?, &cos, &sin)?.squeeze(0)
        };
        for (layer, b) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &b.attn_norm, c.norm_eps)?;
            let q = rope(b.q.forward(&h)?, c.heads)?;
            let k = rope(b.k.forward(&h)?, c.kv_heads)?;
            let v =
                b.v.forward(&h)?
                    .reshape((total, c.kv_heads, hd))?
                    .transpose(0, 1)?;
            let mut outs = Vec::with_capacity(segments.len());
            let mut start = 0;
            for s in segments {
                let n = s.tokens.len();
                outs.push(self.attend(layer, s.cache, &q, &k, &v, start, n)?);
                start += n;
            }
            let att = Tensor::cat(&outs, 1)?
                .transpose(0, 1)?
                .reshape((total, c.dim))?;
            x = (x + b.o.forward(&att)?)?;
            let h = candle_nn::ops::rms_norm(&x, &b.ffn_norm, c.norm_eps)?;
            let ff = (candle_nn::ops::silu(&b.gate.forward(&h)?)? * b.up.forward(&h)?)?;
            x = (x + b.down.forward(&ff)?)?;
        }
        let last = Tensor::new(last_rows, &Device::Cpu)?;
        let x = candle_nn::ops::rms_norm(&x.index_select(&last, 0)?, &self.norm, c.norm_eps)?;
        self.output.forward(&x)?.to_vec2()
    }

    /// Attention of one segment (`n` tokens from row `start`) against its stream's cache,
    /// after writing the segment's keys and values into the cache. Returns `[heads, n, hd]`.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        layer: usize,
        cache: &KvCache,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        start: usize,
        n: usize,
    ) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let group = c.heads / c.kv_heads;
        // Heads sharing a key/value head are consecutive: fold them into the rows.
        let q =
            q.narrow(1, start, n)?
                .contiguous()?
                .reshape((c.kv_heads, group * n, c.head_dim()))?;
        let k = k.narrow(1, start, n)?.contiguous()?;
        let v = v.narrow(1, start, n)?.contiguous()?;
        cache
            .attend(layer, &q, &k, &v, n)?
            .reshape((c.heads, n, c.head_dim()))
    }
}

fn rope_tables(c: &Config) -> Result<(Tensor, Tensor), Error> {
    let half = c.head_dim() / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| 1.0 / c.rope_base.powf(2.0 * i as f32 / c.head_dim() as f32))
        .collect();
    let mut cos = Vec::with_capacity(c.context_length * half);
    let mut sin = Vec::with_capacity(c.context_length * half);
    for p in 0..c.context_length {
        for f in &freqs {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    Ok((
        Tensor::from_vec(cos, (c.context_length, half), &Device::Cpu)?,
        Tensor::from_vec(sin, (c.context_length, half), &Device::Cpu)?,
    ))
}
