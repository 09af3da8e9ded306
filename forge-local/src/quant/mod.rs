//! Weight matrices kept in their GGUF quantization, and their products with activations.
//!
//! [`QMatrix`] holds a `[rows, cols]` weight matrix as the file stores it: `Q4_0`, `Q4_1` and
//! `Q8_0` repacked into arrays of `f16` factors and of quants (as many bytes as the file, plus
//! the `m` factors of a `Q4_0` block), the K-quants `Q4_K`, `Q5_K`, `Q6_K` as their bytes; any
//! other type is dequantized to `f32` at load. [`QMatrix::matmul`] multiplies it with the
//! activations of every token of a forward step at once: the weight rows are split among the
//! threads, and each row is read from memory once and dotted with every token while it is in
//! the cache.
//!
//! - 4- and 8-bit blocks: the activations are quantized to 8 bits per block of 32 (as
//!   llama.cpp does), and each block's dot product is an integer sum scaled by the two
//!   factors; the SIMD kernels work on tiles of two weight rows by four tokens (four rows
//!   by one token for a single token).
//! - K-quants and `f32`: the row is decoded to `f32` once per step and dotted in float.
//!
//! Every (row, token) output is computed by the same operations in the same order whatever
//! the tile, the batch and the thread, so a token's results do not depend on the tokens it
//! is batched with (the tests check it bit for bit).
//!
//! The kernels are chosen at run time ([`Kernels::detect`]): AVX-512 VNNI (256-bit) or AVX2
//! (both with FMA and F16C) on x86-64 CPUs that have them, else portable code that the
//! compiler vectorizes for the build's target (NEON on aarch64). They are tested against
//! each other on random blocks.

mod formats;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor};
use rayon::prelude::*;

use crate::Error;
use formats::{KQuant, Part, Q4Blocks, Q8Activations, Q8Blocks, QK, QK_K};

/// Which kernels run the matrix products of the in-process engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kernels {
    /// Portable code, vectorized by the compiler for the build's target only.
    Portable,
    /// AVX2, FMA and F16C (x86-64), detected at run time.
    Avx2,
    /// [`Kernels::Avx2`] with AVX-512 VNNI's integer dot products on 256-bit vectors
    /// (x86-64), detected at run time. Its results are equal to [`Kernels::Avx2`]'s bit for bit.
    Avx512Vnni,
}

impl Kernels {
    /// The fastest kernels the running CPU supports.
    pub fn detect() -> Kernels {
        [Kernels::Avx512Vnni, Kernels::Avx2]
            .into_iter()
            .find(|k| k.available())
            .unwrap_or(Kernels::Portable)
    }

    /// Whether the running CPU can run these kernels.
    pub fn available(self) -> bool {
        self.isa().is_some()
    }

    pub(crate) fn isa(self) -> Option<Isa> {
        match self {
            Kernels::Portable => Some(Isa::Portable),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx2 => x86::checked::Avx2::detect().map(Isa::Avx2),
            #[cfg(target_arch = "x86_64")]
            Kernels::Avx512Vnni => x86::checked::Vnni::detect().map(Isa::Vnni),
            #[cfg(not(target_arch = "x86_64"))]
            Kernels::Avx2 | Kernels::Avx512Vnni => None,
        }
    }
}

/// A set of kernels the running CPU has (made only through [`Kernels::isa`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::checked::Avx2),
    #[cfg(target_arch = "x86_64")]
    Vnni(x86::checked::Vnni),
}

impl Isa {
    /// The kernels' name.
    pub(crate) fn kernels(self) -> Kernels {
        match self {
            Isa::Portable => Kernels::Portable,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(_) => Kernels::Avx2,
            #[cfg(target_arch = "x86_64")]
            Isa::Vnni(_) => Kernels::Avx512Vnni,
        }
    }

    /// Rows of 4- or 8-bit blocks against `n` tokens (see [`scalar::part`]). A (row, token)
    /// result does not depend on the other rows and tokens.
    fn part(self, w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
        match self {
            Isa::Portable => scalar::part(w, a, n, out),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.part(w, a, n, out),
            #[cfg(target_arch = "x86_64")]
            Isa::Vnni(k) => k.part(w, a, n, out),
        }
    }

    pub(crate) fn dot_f32(self, w: &[f32], x: &[f32]) -> f32 {
        match self {
            Isa::Portable => scalar::dot_f32(w, x),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.dot_f32(w, x),
            #[cfg(target_arch = "x86_64")]
            Isa::Vnni(k) => k.avx2().dot_f32(w, x),
        }
    }

    fn quantize(self, x: &[f32]) -> Q8Activations {
        match self {
            Isa::Portable => Q8Activations::quantize(x),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2(k) => k.quantize(x),
            #[cfg(target_arch = "x86_64")]
            Isa::Vnni(k) => k.avx2().quantize(x),
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
            GgmlDType::Q4_0 => Data::Q4(Q4Blocks::from_q4_0(&bytes()?, cols / QK)),
            GgmlDType::Q4_1 => Data::Q4(Q4Blocks::from_q4_1(&bytes()?, cols / QK)),
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
                    let mut m = a.m_by_row();
                    m.extend(b.m_by_row());
                    let (mut d, mut qs) = (std::mem::take(&mut a.d), std::mem::take(&mut a.qs));
                    d.extend(b.d);
                    qs.extend(b.qs);
                    *a = Q4Blocks::new(a.per, d, &m, qs);
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
    /// outputs. Runs on the current rayon pool: the weight rows are split among the tasks,
    /// and each task reads its rows once for all the tokens.
    pub(crate) fn matmul(&self, isa: Isa, x: &[f32]) -> Vec<f32> {
        let rows = self.rows;
        let input = self.prepare(isa, x);
        let n = input.tokens();
        if n == 0 {
            return Vec::new();
        }
        let chunk = self.chunk_rows(rayon::current_num_threads());
        let mut by_row = vec![0f32; rows * n];
        by_row
            .par_chunks_mut(chunk * n)
            .enumerate()
            .for_each(|(c, out)| {
                let r0 = c * chunk;
                self.product_rows(isa, &input, r0..r0 + out.len() / n, out);
            });
        if n == 1 {
            return by_row;
        }
        let mut y = vec![0f32; n * rows];
        transpose(&by_row, rows, n, &mut y);
        y
    }

    /// How many rows one task of a product takes on `threads` threads: whole groups of eight
    /// rows, about four tasks per thread.
    pub(crate) fn chunk_rows(&self, threads: usize) -> usize {
        self.rows.div_ceil(threads.max(1) * 4).next_multiple_of(8)
    }

    /// The activations `x` (`n` rows of `cols`) in the form this matrix's kernels take:
    /// quantized to 8 bits for 4- and 8-bit blocks.
    pub(crate) fn prepare(&self, isa: Isa, x: &[f32]) -> Input {
        let cols = self.cols;
        assert_eq!(x.len() % cols, 0, "activations are whole rows");
        match &self.data {
            Data::Q4(_) | Data::Q8(_) => Input {
                n: x.len() / cols,
                q8: quantize(isa, x, cols),
                f32: Vec::new(),
            },
            Data::K(..) | Data::F32(_) => Input {
                n: x.len() / cols,
                q8: Q8Activations::default(),
                f32: x.to_vec(),
            },
        }
    }

    /// Rows `rows` of the product with `input` (`rows.start` a multiple of eight), by row:
    /// `out` holds `rows.len()` rows of `n` outputs. A (row, token) output does not depend on
    /// the range it is computed in.
    pub(crate) fn product_rows(
        &self,
        isa: Isa,
        input: &Input,
        rows: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let (cols, n) = (self.cols, input.n);
        let per = cols / self.block_len();
        let (r0, r1) = (rows.start, rows.end);
        assert!(r0 % 8 == 0 && r1 <= self.rows && out.len() == (r1 - r0) * n);
        let blocks = r0 * per..r1 * per;
        let part = match &self.data {
            // `r0` is a multiple of eight: the part's rows are whole groups of `m` (the last
            // one padded).
            Data::Q4(b) => Part {
                per,
                d: &b.d[blocks.clone()],
                m: Some(&b.m[r0 * per..r1.next_multiple_of(8) * per]),
                q4: &b.qs[blocks],
                q8: &[],
            },
            Data::Q8(b) => Part {
                per,
                d: &b.d[blocks.clone()],
                m: None,
                q4: &[],
                q8: &b.qs[blocks],
            },
            Data::K(..) | Data::F32(_) => {
                let x = &input.f32;
                let mut decoded = vec![0f32; cols];
                for (r, out) in rows.zip(out.chunks_mut(n)) {
                    let w = match &self.data {
                        Data::F32(w) => &w[r * cols..(r + 1) * cols],
                        _ => {
                            self.row(r, &mut decoded);
                            &decoded
                        }
                    };
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = isa.dot_f32(w, &x[j * cols..(j + 1) * cols]);
                    }
                }
                return;
            }
        };
        isa.part(part, &input.q8, n, out);
    }
}

/// The activations of a matrix product, prepared once for all its row ranges
/// ([`QMatrix::prepare`]).
#[derive(Default)]
pub(crate) struct Input {
    n: usize,
    q8: Q8Activations,
    f32: Vec<f32>,
}

impl Input {
    /// How many tokens (rows of activations) it holds.
    pub(crate) fn tokens(&self) -> usize {
        self.n
    }
}

/// `y = xᵀ` for `x` of `rows × n` values (by row), in tiles that stay in the cache.
pub(crate) fn transpose(x: &[f32], rows: usize, n: usize, y: &mut [f32]) {
    const TILE: usize = 32;
    assert!(x.len() == rows * n && y.len() == rows * n);
    for r0 in (0..rows).step_by(TILE) {
        for j0 in (0..n).step_by(TILE) {
            for j in j0..(j0 + TILE).min(n) {
                for r in r0..(r0 + TILE).min(rows) {
                    y[j * rows + r] = x[r * n + j];
                }
            }
        }
    }
}

/// Quantize activations to 8 bits, in parallel when there are many rows.
fn quantize(isa: Isa, x: &[f32], cols: usize) -> Q8Activations {
    const ROWS_PER_TASK: usize = 32;
    if x.len() <= cols * ROWS_PER_TASK {
        return isa.quantize(x);
    }
    let parts: Vec<Q8Activations> = x
        .par_chunks(cols * ROWS_PER_TASK)
        .map(|x| isa.quantize(x))
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
