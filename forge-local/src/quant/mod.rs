//! Weight matrices kept in their GGUF quantization, and their products with activations.
//!
//! [`QMatrix`] holds a `[rows, cols]` weight matrix as the file stores it (`Q4_0`, `Q4_1` and
//! `Q8_0` repacked with `f32` factors, the K-quants `Q4_K`, `Q5_K`, `Q6_K` as their bytes;
//! any other type is dequantized to `f32` at load). [`QMatrix::matmul`] multiplies it with
//! the activations of every token of a forward step at once: the weight rows are split
//! among the threads, and each row is read from memory once and dotted with every token
//! while it is in the cache.
//!
//! - 4- and 8-bit blocks: the activations are quantized to 8 bits per block of 32 (as
//!   llama.cpp does), and each block's dot product is an integer sum scaled by the two
//!   factors.
//! - K-quants and `f32`: the row is decoded to `f32` once per step and dotted in float.
//!
//! The kernels are chosen at run time ([`Kernels::detect`]): AVX2 + FMA on x86-64 CPUs that
//! have them, else portable code that the compiler vectorizes for the build's target (NEON on
//! aarch64). Both are tested against each other on random blocks.

mod formats;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor};
use rayon::prelude::*;

use crate::Error;
use formats::{KQuant, Q4Blocks, Q8Activations, Q8Blocks, Q8Row, QK, QK_K};

/// Which kernels run the matrix products of the in-process engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// Portable code, vectorized by the compiler for the build's target only.
    Portable,
    /// AVX2 and FMA (x86-64), detected at run time.
    Avx2,
}

impl Kernels {
    /// The fastest kernels the running CPU supports.
    pub fn detect() -> Kernels {
        if Isa::avx2().is_some() {
            Kernels::Avx2
        } else {
            Kernels::Portable
        }
    }

    /// Whether the running CPU can run these kernels.
    pub fn available(self) -> bool {
        self.isa().is_some()
    }

    pub(crate) fn isa(self) -> Option<Isa> {
        match self {
            Kernels::Portable => Some(Isa::Portable),
            Kernels::Avx2 => Isa::avx2(),
        }
    }
}

/// A set of kernels the running CPU has (made only through [`Kernels::isa`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::checked::Avx2),
}

impl Isa {
    fn avx2() -> Option<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            x86::checked::Avx2::detect().map(Isa::Avx2)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }

    /// One row of 4-bit blocks dotted with `N` rows of activations. A token's result is the
    /// same whatever `N`.
    fn dot_q4<const N: usize>(
        self,
        d: &[f32],
        m: &[f32],
        qs: &[[u8; 16]],
        a: &[Q8Row<'_>; N],
    ) -> [f32; N] {
        match self {
            Isa::Portable => std::array::from_fn(|t| scalar::dot_q4(d, m, qs, a[t])),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.dot_q4(d, m, qs, a),
        }
    }

    /// One row of 8-bit blocks dotted with `N` rows of activations (see `dot_q4`).
    fn dot_q8<const N: usize>(self, d: &[f32], qs: &[[i8; 32]], a: &[Q8Row<'_>; N]) -> [f32; N] {
        match self {
            Isa::Portable => std::array::from_fn(|t| scalar::dot_q8(d, qs, a[t])),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.dot_q8(d, qs, a),
        }
    }

    pub(crate) fn dot_f32(self, w: &[f32], x: &[f32]) -> f32 {
        match self {
            Isa::Portable => scalar::dot_f32(w, x),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.dot_f32(w, x),
        }
    }
}

enum Data {
    Q4(Q4Blocks),
    Q8(Q8Blocks),
    K(KQuant, Vec<u8>),
    F32(Vec<f32>),
}

/// A `[rows, cols]` weight matrix in its quantized form.
pub(crate) struct QMatrix {
    rows: usize,
    cols: usize,
    data: Data,
}

impl QMatrix {
    /// The matrix of a GGUF tensor of shape `[rows, cols]`; `name` is for errors.
    pub(crate) fn from_qtensor(t: &QTensor, name: &str) -> Result<QMatrix, Error> {
        let fail =
            |e: candle_core::Error| Error::format(format!("tensor `{name}`: {}", crate::plain(&e)));
        let (rows, cols) = t.shape().dims2().map_err(fail)?;
        let dtype = t.dtype();
        let block = dtype.block_size();
        if cols % block != 0 {
            return Err(Error::format(format!(
                "tensor `{name}`: rows of {cols} weights are not whole blocks of {block}"
            )));
        }
        let bytes = || t.data().map_err(fail);
        let data = match dtype {
            GgmlDType::Q4_0 => Data::Q4(Q4Blocks::from_q4_0(&bytes()?)),
            GgmlDType::Q4_1 => Data::Q4(Q4Blocks::from_q4_1(&bytes()?)),
            GgmlDType::Q8_0 => Data::Q8(Q8Blocks::from_q8_0(&bytes()?)),
            GgmlDType::Q4K => Data::K(KQuant::Q4K, bytes()?.into_owned()),
            GgmlDType::Q5K => Data::K(KQuant::Q5K, bytes()?.into_owned()),
            GgmlDType::Q6K => Data::K(KQuant::Q6K, bytes()?.into_owned()),
            _ => Data::F32(
                t.dequantize(&Device::Cpu)
                    .and_then(|w| w.flatten_all()?.to_vec1::<f32>())
                    .map_err(fail)?,
            ),
        };
        let m = QMatrix { rows, cols, data };
        if m.blocks() != rows * (cols / m.block_len()) {
            return Err(Error::format(format!(
                "tensor `{name}`: {} blocks of data for a [{rows}, {cols}] matrix",
                m.blocks()
            )));
        }
        Ok(m)
    }

    fn block_len(&self) -> usize {
        match &self.data {
            Data::Q4(_) | Data::Q8(_) => QK,
            Data::K(..) => QK_K,
            Data::F32(_) => 1,
        }
    }

    fn blocks(&self) -> usize {
        match &self.data {
            Data::Q4(b) => b.qs.len(),
            Data::Q8(b) => b.qs.len(),
            Data::K(kind, bytes) => bytes.len() / kind.block_bytes(),
            Data::F32(w) => w.len(),
        }
    }

    /// Rows (outputs).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (inputs).
    #[cfg(test)]
    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// The memory the weights take, in bytes.
    pub(crate) fn bytes(&self) -> usize {
        match &self.data {
            Data::Q4(b) => b.bytes(),
            Data::Q8(b) => b.bytes(),
            Data::K(_, bytes) => bytes.len(),
            Data::F32(w) => w.len() * 4,
        }
    }

    /// The matrices stacked on top of each other (rows of the first, then the second, …), when
    /// they have the same width and form; `None` otherwise.
    pub(crate) fn stack(parts: Vec<QMatrix>) -> Result<QMatrix, Vec<QMatrix>> {
        let same = parts.windows(2).all(|w| {
            w[0].cols == w[1].cols
                && std::mem::discriminant(&w[0].data) == std::mem::discriminant(&w[1].data)
                && match (&w[0].data, &w[1].data) {
                    (Data::K(a, _), Data::K(b, _)) => a == b,
                    _ => true,
                }
        });
        if parts.is_empty() || !same {
            return Err(parts);
        }
        let (cols, rows) = (parts[0].cols, parts.iter().map(|p| p.rows).sum());
        let mut iter = parts.into_iter();
        let mut data = iter.next().expect("not empty").data;
        for part in iter {
            match (&mut data, part.data) {
                (Data::Q4(a), Data::Q4(b)) => {
                    a.d.extend(b.d);
                    a.m.extend(b.m);
                    a.qs.extend(b.qs);
                }
                (Data::Q8(a), Data::Q8(b)) => {
                    a.d.extend(b.d);
                    a.qs.extend(b.qs);
                }
                (Data::K(_, a), Data::K(_, b)) => a.extend(b),
                (Data::F32(a), Data::F32(b)) => a.extend(b),
                _ => unreachable!("forms checked above"),
            }
        }
        Ok(QMatrix { rows, cols, data })
    }

    /// Decode row `row` into `out` (`cols` values).
    pub(crate) fn row(&self, row: usize, out: &mut [f32]) {
        let per = self.cols / self.block_len();
        let blocks = row * per..(row + 1) * per;
        match &self.data {
            Data::Q4(b) => b.decode(blocks, out),
            Data::Q8(b) => b.decode(blocks, out),
            Data::K(kind, bytes) => {
                let size = kind.block_bytes();
                formats::decode_k_row(*kind, &bytes[blocks.start * size..blocks.end * size], out);
            }
            Data::F32(w) => out.copy_from_slice(&w[blocks]),
        }
    }

    /// `x · Wᵀ`: `x` holds `n` rows of `cols` activations; the result `n` rows of `rows`
    /// outputs. Runs on the current rayon pool.
    pub(crate) fn matmul(&self, isa: Isa, x: &[f32]) -> Vec<f32> {
        let (rows, cols) = (self.rows, self.cols);
        assert_eq!(x.len() % cols, 0, "activations are whole rows");
        let n = x.len() / cols;
        if n == 0 {
            return Vec::new();
        }
        let acts = match &self.data {
            Data::Q4(_) | Data::Q8(_) => Some(quantize(x, cols)),
            _ => None,
        };
        let per = cols / self.block_len();
        let threads = rayon::current_num_threads().max(1);
        let chunk = rows.div_ceil(threads * 4).max(1);
        // By weight row: each row is read once and dotted with every token.
        let mut by_row = vec![0f32; rows * n];
        by_row
            .par_chunks_mut(chunk * n)
            .enumerate()
            .for_each(|(c, part)| {
                let mut decoded = match &self.data {
                    Data::K(..) => vec![0f32; cols],
                    _ => Vec::new(),
                };
                // Tokens in tiles whose activations stay in the cache while the chunk's
                // rows pass over them.
                for t0 in (0..n).step_by(TOKEN_TILE) {
                    let t1 = (t0 + TOKEN_TILE).min(n);
                    for (i, row_out) in part.chunks_mut(n).enumerate() {
                        let out = &mut row_out[t0..t1];
                        let r = c * chunk + i;
                        let blocks = r * per..(r + 1) * per;
                        match &self.data {
                            Data::Q4(b) => {
                                let acts = acts.as_ref().expect("quantized activations");
                                let (d, m, qs) =
                                    (&b.d[blocks.clone()], &b.m[blocks.clone()], &b.qs[blocks]);
                                let row = |j| acts.row(t0 + j, per);
                                for_tokens(
                                    out,
                                    |j, o: &mut [f32; 4]| {
                                        let rows = [row(j), row(j + 1), row(j + 2), row(j + 3)];
                                        *o = isa.dot_q4(d, m, qs, &rows);
                                    },
                                    |j| isa.dot_q4(d, m, qs, &[row(j)])[0],
                                );
                            }
                            Data::Q8(b) => {
                                let acts = acts.as_ref().expect("quantized activations");
                                let (d, qs) = (&b.d[blocks.clone()], &b.qs[blocks]);
                                let row = |j| acts.row(t0 + j, per);
                                for_tokens(
                                    out,
                                    |j, o: &mut [f32; 4]| {
                                        *o = isa.dot_q8(
                                            d,
                                            qs,
                                            &[row(j), row(j + 1), row(j + 2), row(j + 3)],
                                        );
                                    },
                                    |j| isa.dot_q8(d, qs, &[row(j)])[0],
                                );
                            }
                            Data::K(..) => {
                                self.row(r, &mut decoded);
                                for (j, o) in out.iter_mut().enumerate() {
                                    let j = t0 + j;
                                    *o = isa.dot_f32(&decoded, &x[j * cols..(j + 1) * cols]);
                                }
                            }
                            Data::F32(w) => {
                                let w = &w[r * cols..(r + 1) * cols];
                                for (j, o) in out.iter_mut().enumerate() {
                                    let j = t0 + j;
                                    *o = isa.dot_f32(w, &x[j * cols..(j + 1) * cols]);
                                }
                            }
                        }
                    }
                }
            });
        if n == 1 {
            return by_row;
        }
        // Back to token-major, in tiles that stay in the cache.
        const TILE: usize = 32;
        let mut y = vec![0f32; n * rows];
        for r0 in (0..rows).step_by(TILE) {
            for j0 in (0..n).step_by(TILE) {
                for r in r0..(r0 + TILE).min(rows) {
                    for j in j0..(j0 + TILE).min(n) {
                        y[j * rows + r] = by_row[r * n + j];
                    }
                }
            }
        }
        y
    }
}

/// Tokens per tile of a matrix product (their 8-bit activations: 64 × `cols` bytes).
const TOKEN_TILE: usize = 64;

/// Fill one weight row's outputs (one per token): groups of four tokens with `four`, the
/// rest one by one with `one`.
#[inline(always)]
fn for_tokens(
    out: &mut [f32],
    mut four: impl FnMut(usize, &mut [f32; 4]),
    mut one: impl FnMut(usize) -> f32,
) {
    let mut groups = out.chunks_exact_mut(4);
    let mut j = 0;
    for group in &mut groups {
        four(j, group.try_into().expect("four outputs"));
        j += 4;
    }
    for o in groups.into_remainder() {
        *o = one(j);
        j += 1;
    }
}

/// Quantize activations to 8 bits, in parallel when there are many rows.
fn quantize(x: &[f32], cols: usize) -> Q8Activations {
    const ROWS_PER_TASK: usize = 32;
    if x.len() <= cols * ROWS_PER_TASK {
        return Q8Activations::quantize(x);
    }
    let parts: Vec<Q8Activations> = x
        .par_chunks(cols * ROWS_PER_TASK)
        .map(Q8Activations::quantize)
        .collect();
    let mut all = Q8Activations::default();
    for p in parts {
        all.d.extend(p.d);
        all.s.extend(p.s);
        all.qs.extend(p.qs);
    }
    all
}

#[cfg(test)]
mod tests;
