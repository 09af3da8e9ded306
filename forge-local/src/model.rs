//! The llama forward pass on quantized weights, batched over streams with a KV cache per stream.
//!
//! One call of [`Llama::forward`] takes a *segment* of tokens for each of several streams (a
//! single token when a stream decodes, many when it prefills) and runs them through the model
//! together: every matrix product (attention projections, feed-forward, output) sees all the
//! tokens of all the segments at once, while attention runs per segment against that stream's
//! own cache. Decoding 16 streams is therefore one pass over the weights, not 16.

use std::io::{Read, Seek};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use candle_core::Device;
use candle_core::quantized::{QTensor, gguf_file};
use rayon::prelude::*;

use crate::gguf::{optional as metadata, optional_f32, required_usize};
use crate::quant::{Input, Isa, QMatrix, transpose};
use crate::{Error, Kernels, KvCache, team};

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
    attn_norm: Vec<f32>,
    /// The query, key and value projections, stacked when they share a form.
    qkv: Linear,
    o: QMatrix,
    ffn_norm: Vec<f32>,
    /// The gate and up projections, stacked when they share a form.
    gate_up: Linear,
    down: QMatrix,
}

/// Projections of the same input: one matrix product when their matrices stack (one pass
/// over the threads instead of several), else one each.
enum Linear {
    Stacked(QMatrix, Vec<usize>),
    Separate(Vec<QMatrix>),
}

impl Linear {
    fn new(parts: Vec<QMatrix>) -> Linear {
        let rows: Vec<usize> = parts.iter().map(QMatrix::rows).collect();
        match QMatrix::stack(parts) {
            Ok(m) => Linear::Stacked(m, rows),
            Err(parts) => Linear::Separate(parts),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Linear::Stacked(m, _) => m.bytes(),
            Linear::Separate(parts) => parts.iter().map(QMatrix::bytes).sum(),
        }
    }

    /// Each projection of `x` (`n` rows), as `n` rows of its outputs; `steps` runs the
    /// products.
    fn forward<'m>(&'m self, steps: &impl Steps<'m>, x: &[f32]) -> Vec<Vec<f32>> {
        match self {
            Linear::Separate(parts) => parts.iter().map(|m| steps.matmul(m, x)).collect(),
            Linear::Stacked(m, rows) => {
                let y = steps.matmul(m, x);
                let mut outs: Vec<Vec<f32>> = rows
                    .iter()
                    .map(|r| Vec::with_capacity(r * y.len() / m.rows()))
                    .collect();
                for token in y.chunks_exact(m.rows()) {
                    let mut at = 0;
                    for (out, &r) in outs.iter_mut().zip(rows) {
                        out.extend_from_slice(&token[at..at + r]);
                        at += r;
                    }
                }
                outs
            }
        }
    }
}

/// A llama-architecture model loaded from GGUF: quantized weights, ready for batched forward
/// passes on the CPU.
///
/// The weight matrices stay in the file's quantization (see [`Kernels`] for the products);
/// [`weight_bytes`](Llama::weight_bytes) tells how much memory they take.
pub struct Llama {
    config: Config,
    embeddings: QMatrix,
    blocks: Vec<Block>,
    norm: Vec<f32>,
    /// `None`: tied to the embeddings.
    output: Option<QMatrix>,
    /// `cos` and `sin` of every position × frequency, `[context_length, head_dim / 2]`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    isa: Isa,
    team_tokens: usize,
}

/// The tokens one stream adds in a forward pass, and its cache.
pub struct Segment<'a> {
    /// The stream's cache; the tokens are appended to it.
    pub cache: &'a mut KvCache,
    /// The tokens to process, at positions `cache.len()..`. Must not be empty.
    pub tokens: &'a [u32],
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

    fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, Error> {
        let t = self.tensor(name)?;
        if t.shape().dims() != [rows, cols] {
            return Err(Error::format(format!(
                "tensor `{name}` has shape {:?}, expected [{rows}, {cols}]",
                t.shape().dims()
            )));
        }
        QMatrix::from_qtensor(&t, name)
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, Error> {
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
        v.to_vec1::<f32>().map_err(|e| tensor_error(name, e))
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
        let embeddings = QMatrix::from_qtensor(&token_embd, "token_embd.weight")?;
        drop(token_embd);
        let mut blocks = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = |s: &str| format!("blk.{i}.{s}.weight");
            blocks.push(Block {
                attn_norm: load.vector(&p("attn_norm"), dim)?,
                qkv: Linear::new(vec![
                    load.matrix(&p("attn_q"), dim, dim)?,
                    load.matrix(&p("attn_k"), kv, dim)?,
                    load.matrix(&p("attn_v"), kv, dim)?,
                ]),
                o: load.matrix(&p("attn_output"), dim, dim)?,
                ffn_norm: load.vector(&p("ffn_norm"), dim)?,
                gate_up: Linear::new(vec![
                    load.matrix(&p("ffn_gate"), ffn, dim)?,
                    load.matrix(&p("ffn_up"), ffn, dim)?,
                ]),
                down: load.matrix(&p("ffn_down"), dim, ffn)?,
            });
        }
        let norm = load.vector("output_norm.weight", dim)?;
        // Without `output.weight` the embeddings are tied: the output projection is the
        // embedding matrix.
        let output = if content.tensor_infos.contains_key("output.weight") {
            Some(load.matrix("output.weight", vocab, dim)?)
        } else {
            None
        };
        let (cos, sin) = rope_tables(&config);
        Ok(Llama {
            config,
            embeddings,
            blocks,
            norm,
            output,
            cos,
            sin,
            isa: Kernels::detect().isa().expect("detected kernels run"),
            team_tokens: TEAM_TOKENS,
        })
    }

    /// The model's shape.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The kernels that run the matrix products ([`Kernels::detect`] at load).
    pub fn kernels(&self) -> Kernels {
        self.isa.kernels()
    }

    /// Run the matrix products on `kernels` instead (to compare them, or to rule the SIMD
    /// kernels out). Fails when the running CPU does not have them.
    pub fn set_kernels(&mut self, kernels: Kernels) -> Result<(), Error> {
        self.isa = kernels.isa().ok_or_else(|| {
            Error::internal(format!("this CPU cannot run the {kernels:?} kernels"))
        })?;
        Ok(())
    }

    /// Run forward steps of at most `tokens` tokens (all segments together) on a team of
    /// threads that stay awake for the whole step, and larger steps on the rayon pool's work
    /// stealing (default: 64 tokens; 0 puts every step on the pool). Both give the same
    /// results bit for bit; a team is faster for the many short products of a decode step,
    /// the pool balances the long ones of a prefill. Both use the threads of the current
    /// rayon pool.
    pub fn set_team_tokens(&mut self, tokens: usize) {
        self.team_tokens = tokens;
    }

    /// The memory the weights take, in bytes (the matrices in their quantized form, plus the
    /// `f32` norm vectors).
    pub fn weight_bytes(&self) -> usize {
        let vectors = (2 * self.blocks.len() + 1) * self.config.dim * 4;
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| b.qkv.bytes() + b.o.bytes() + b.gate_up.bytes() + b.down.bytes())
            .sum();
        self.embeddings.bytes() + self.output.as_ref().map_or(0, QMatrix::bytes) + blocks + vectors
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
            s.cache.reserve(c, s.tokens.len());
        }
        let logits = self.run(segments, &ids, &positions, &last_rows);
        for s in segments.iter_mut() {
            s.cache.advance(s.tokens.len());
        }
        Ok(logits)
    }

    /// The layers, on rayon's pool or, for small steps, on a [`team`].
    fn run(
        &self,
        segments: &mut [Segment<'_>],
        ids: &[u32],
        positions: &[u32],
        last_rows: &[u32],
    ) -> Vec<Vec<f32>> {
        let layout = Layout::new(&self.config, segments);
        if ids.len() > self.team_tokens {
            let mut steps = OnPool {
                llama: self,
                segments,
                layout: &layout,
            };
            return self.layers(&mut steps, ids, positions, last_rows);
        }
        let input = RwLock::new(Input::default());
        let queries = RwLock::new(Vec::new());
        let segments = RwLock::new(segments);
        let results = Mutex::new(Vec::new());
        let isa = self.isa;
        let work = |job: &Job<'_>, i: usize| {
            let out = match *job {
                Job::Rows { m, chunk } => {
                    let input = read(&input);
                    let n = input.tokens();
                    let rows = i * chunk..((i + 1) * chunk).min(m.rows());
                    let mut by_row = vec![0f32; rows.len() * n];
                    m.product_rows(isa, &input, rows.clone(), &mut by_row);
                    if n == 1 {
                        by_row
                    } else {
                        let mut by_token = vec![0f32; by_row.len()];
                        transpose(&by_row, rows.len(), n, &mut by_token);
                        by_token
                    }
                }
                Job::Attention { layer } => {
                    let (segments, queries) = (read(&segments), read(&queries));
                    self.attend_head(layer, &segments, &layout, &queries, layout.tasks[i])
                }
            };
            lock(&results).push((i, out));
        };
        let threads = rayon::current_num_threads();
        team::run(threads, &work, |lead| {
            let mut steps = OnTeam {
                lead,
                isa,
                threads,
                input: &input,
                queries: &queries,
                segments: &segments,
                results: &results,
                layout: &layout,
            };
            self.layers(&mut steps, ids, positions, last_rows)
        })
    }

    fn layers<'m>(
        &'m self,
        steps: &mut impl Steps<'m>,
        ids: &[u32],
        positions: &[u32],
        last_rows: &[u32],
    ) -> Vec<Vec<f32>> {
        let c = &self.config;
        let (dim, total) = (c.dim, ids.len());
        let mut x = vec![0f32; total * dim];
        for (&id, row) in ids.iter().zip(x.chunks_exact_mut(dim)) {
            self.embeddings.row(id as usize, row);
        }
        let mut h = vec![0f32; total * dim];
        for (layer, b) in self.blocks.iter().enumerate() {
            rms_norm(&x, &b.attn_norm, c.norm_eps, &mut h);
            let mut qkv = b.qkv.forward(steps, &h).into_iter();
            let (mut q, mut k, v) = match (qkv.next(), qkv.next(), qkv.next()) {
                (Some(q), Some(k), Some(v)) => (q, k, v),
                _ => unreachable!("three projections"),
            };
            self.rope(&mut q, positions);
            self.rope(&mut k, positions);
            steps.write_kv(layer, &k, &v);
            let att = steps.attention(layer, q);
            add(&mut x, &steps.matmul(&b.o, &att));
            rms_norm(&x, &b.ffn_norm, c.norm_eps, &mut h);
            let mut gate_up = b.gate_up.forward(steps, &h).into_iter();
            let (mut gate, up) = match (gate_up.next(), gate_up.next()) {
                (Some(g), Some(u)) => (g, u),
                _ => unreachable!("two projections"),
            };
            for (g, u) in gate.iter_mut().zip(&up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            add(&mut x, &steps.matmul(&b.down, &gate));
        }
        let mut last = Vec::with_capacity(last_rows.len() * dim);
        for &r in last_rows {
            last.extend_from_slice(&x[r as usize * dim..(r as usize + 1) * dim]);
        }
        let mut normed = vec![0f32; last.len()];
        rms_norm(&last, &self.norm, c.norm_eps, &mut normed);
        let output = self.output.as_ref().unwrap_or(&self.embeddings);
        let logits = steps.matmul(output, &normed);
        logits.chunks_exact(c.vocab).map(<[f32]>::to_vec).collect()
    }

    /// Rotate every head of every row of `t` (rows of `heads × head_dim`) by its position:
    /// adjacent pairs, as GGUF llama weights expect.
    fn rope(&self, t: &mut [f32], positions: &[u32]) {
        let half = self.config.head_dim() / 2;
        let width = t.len() / positions.len();
        for (row, &p) in t.chunks_exact_mut(width).zip(positions) {
            let at = p as usize * half;
            let (cos, sin) = (&self.cos[at..at + half], &self.sin[at..at + half]);
            for head in row.chunks_exact_mut(2 * half) {
                for (i, pair) in head.chunks_exact_mut(2).enumerate() {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * cos[i] - b * sin[i];
                    pair[1] = a * sin[i] + b * cos[i];
                }
            }
        }
    }

    /// Attention of one segment's queries for one head (`task`: segment, head) to its
    /// stream's cache (which already holds the segment's own keys and values), causally:
    /// a row of `head_dim` values per token of the segment. Every query walks its positions
    /// in order, whatever the batch, so results do not depend on which streams share the
    /// step.
    fn attend_head(
        &self,
        layer: usize,
        segments: &[Segment<'_>],
        layout: &Layout,
        q: &[f32],
        (s, head): (usize, usize),
    ) -> Vec<f32> {
        let c = &self.config;
        let (hd, heads, group) = (c.head_dim(), c.heads, c.heads / c.kv_heads);
        let seg = &segments[s];
        let n = seg.tokens.len();
        // The cache's length before this step's tokens (already written, not counted).
        let held = seg.cache.len();
        let mut out = vec![0f32; n * hd];
        let mut scores = Vec::with_capacity(held + n);
        for (t, o) in out.chunks_exact_mut(hd).enumerate() {
            let row = (layout.starts[s] + t) * heads * hd + head * hd;
            seg.cache.attend(
                self.isa,
                layer,
                head / group,
                &q[row..row + hd],
                held + t + 1,
                &mut scores,
                o,
            );
        }
        out
    }
}

/// Where each segment's tokens are in a step, and the attention tasks.
struct Layout {
    /// The first token of each segment.
    starts: Vec<usize>,
    total: usize,
    /// (segment, head) pairs.
    tasks: Vec<(usize, usize)>,
    dim: usize,
    head_dim: usize,
}

impl Layout {
    fn new(c: &Config, segments: &[Segment<'_>]) -> Layout {
        let mut starts = Vec::with_capacity(segments.len());
        let mut total = 0;
        for s in segments {
            starts.push(total);
            total += s.tokens.len();
        }
        let heads = c.heads;
        Layout {
            starts,
            total,
            tasks: (0..segments.len())
                .flat_map(|s| (0..heads).map(move |h| (s, h)))
                .collect(),
            dim: c.dim,
            head_dim: c.head_dim(),
        }
    }

    /// The attention rows of all tokens from the tasks' outputs (in any order).
    fn place<'o>(&self, outs: impl IntoIterator<Item = (usize, &'o [f32])>) -> Vec<f32> {
        let hd = self.head_dim;
        let mut att = vec![0f32; self.total * self.dim];
        for (i, out) in outs {
            let (s, head) = self.tasks[i];
            for (t, o) in out.chunks_exact(hd).enumerate() {
                let row = (self.starts[s] + t) * self.dim + head * hd;
                att[row..row + hd].copy_from_slice(o);
            }
        }
        att
    }
}

/// Steps of at most this many tokens run on a [`team`] by default; larger ones on rayon's
/// pool, whose work stealing balances the long products of a prefill
/// ([`Llama::set_team_tokens`]).
const TEAM_TOKENS: usize = 64;

/// How a forward pass runs its parallel parts: the matrix products, writing keys and values
/// and attention.
trait Steps<'m> {
    /// `x · Wᵀ` for `n` rows of `x`: `n` rows of outputs.
    fn matmul(&self, m: &'m QMatrix, x: &[f32]) -> Vec<f32>;
    /// Append this step's keys and values (rows of `kv_heads × head_dim` per token) to the
    /// segments' caches.
    fn write_kv(&mut self, layer: usize, k: &[f32], v: &[f32]);
    /// Every segment's attention, a row of `dim` values per token.
    fn attention(&self, layer: usize, q: Vec<f32>) -> Vec<f32>;
}

fn write_segments(
    layout: &Layout,
    segments: &mut [Segment<'_>],
    layer: usize,
    k: &[f32],
    v: &[f32],
) {
    let kv = k.len() / layout.total;
    for (s, &start) in segments.iter_mut().zip(&layout.starts) {
        let n = s.tokens.len();
        let rows = start * kv..(start + n) * kv;
        s.cache.write(layer, &k[rows.clone()], &v[rows], n);
    }
}

/// Steps on the current rayon pool.
struct OnPool<'l, 's, 'a> {
    llama: &'l Llama,
    segments: &'s mut [Segment<'a>],
    layout: &'l Layout,
}

impl<'m> Steps<'m> for OnPool<'_, '_, '_> {
    fn matmul(&self, m: &'m QMatrix, x: &[f32]) -> Vec<f32> {
        m.matmul(self.llama.isa, x)
    }

    fn write_kv(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        write_segments(self.layout, self.segments, layer, k, v);
    }

    fn attention(&self, layer: usize, q: Vec<f32>) -> Vec<f32> {
        let segments = &*self.segments;
        let outs: Vec<Vec<f32>> = self
            .layout
            .tasks
            .par_iter()
            .map(|&task| {
                self.llama
                    .attend_head(layer, segments, self.layout, &q, task)
            })
            .collect();
        self.layout
            .place(outs.iter().enumerate().map(|(i, o)| (i, o.as_slice())))
    }
}

/// A job of a [`team`] phase.
#[derive(Clone, Copy)]
enum Job<'m> {
    /// Rows `i·chunk..` of the product with the prepared input, per task `i`.
    Rows { m: &'m QMatrix, chunk: usize },
    /// Attention task `i` of the layout.
    Attention { layer: usize },
}

/// Steps on a team: the leader prepares each phase's input, the members run its tasks, and
/// each task leaves its output in `results`.
struct OnTeam<'t, 'm, 's, 'a> {
    lead: &'t team::Lead<'t, 't, Job<'m>>,
    isa: Isa,
    threads: usize,
    input: &'t RwLock<Input>,
    queries: &'t RwLock<Vec<f32>>,
    segments: &'t RwLock<&'s mut [Segment<'a>]>,
    results: &'t Mutex<Vec<(usize, Vec<f32>)>>,
    layout: &'t Layout,
}

impl<'m> OnTeam<'_, 'm, '_, '_> {
    /// Run a phase of `tasks` tasks and take their outputs (task index, output).
    fn phase(&self, job: Job<'m>, tasks: usize) -> Vec<(usize, Vec<f32>)> {
        self.lead.phase(job, tasks);
        std::mem::take(&mut *lock(self.results))
    }
}

impl<'m> Steps<'m> for OnTeam<'_, 'm, '_, '_> {
    fn matmul(&self, m: &'m QMatrix, x: &[f32]) -> Vec<f32> {
        let input = m.prepare(self.isa, x);
        let (n, rows) = (input.tokens(), m.rows());
        if n == 0 {
            return Vec::new();
        }
        *write(self.input) = input;
        let chunk = m.chunk_rows(self.threads);
        let parts = self.phase(Job::Rows { m, chunk }, rows.div_ceil(chunk));
        // Each task's output is its rows by token: copy them into place, token by token.
        let mut y = vec![0f32; n * rows];
        for (i, part) in parts {
            let len = part.len() / n;
            for (t, run) in part.chunks_exact(len).enumerate() {
                y[t * rows + i * chunk..][..len].copy_from_slice(run);
            }
        }
        y
    }

    fn write_kv(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        write_segments(self.layout, &mut write(self.segments), layer, k, v);
    }

    fn attention(&self, layer: usize, q: Vec<f32>) -> Vec<f32> {
        *write(self.queries) = q;
        let parts = self.phase(Job::Attention { layer }, self.layout.tasks.len());
        self.layout
            .place(parts.iter().map(|(i, o)| (*i, o.as_slice())))
    }
}

/// The locks of a team's shared state: a task that panicked poisons them, and the pass then
/// panics anyway (see [`team`]), so the data behind a poisoned lock is never used for results.
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `y = x / rms(x) · w`, row by row (rows of `w.len()` values); the mean of squares is
/// summed in `f64`, as llama.cpp does.
fn rms_norm(x: &[f32], w: &[f32], eps: f32, y: &mut [f32]) {
    for (x, y) in x.chunks_exact(w.len()).zip(y.chunks_exact_mut(w.len())) {
        let sum: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let scale = 1.0 / ((sum / w.len() as f64) as f32 + eps).sqrt();
        for ((y, &x), &w) in y.iter_mut().zip(x).zip(w) {
            *y = x * scale * w;
        }
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (x, y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

fn rope_tables(c: &Config) -> (Vec<f32>, Vec<f32>) {
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
    (cos, sin)
}
