//! The GGUF block formats the engine keeps quantized, read from their bytes in the file.
//!
//! Every format splits a row into blocks. `Q4_0`, `Q4_1` and `Q8_0` blocks hold 32 weights
//! and one or two `f16` factors; they are *repacked* at load time into separate arrays of
//! factors (still `f16`: as many bytes as the file, which a decode step reads from memory)
//! and of quants (a `Q4_0` block becomes a `Q4_1` block with `m = −8·d`, exact in `f16`).
//! The K-quants (`Q4_K`, `Q5_K`, `Q6_K`) hold 256 weights in 8 or 16 sub-blocks with 6- or
//! 8-bit scales; they are kept as the file's bytes and decoded a row at a time (see
//! [`decode_k_row`]).

use half::f16;

/// Weights per block of `Q4_0`, `Q4_1` and `Q8_0`.
pub(crate) const QK: usize = 32;
/// Weights per block of the K-quants.
pub(crate) const QK_K: usize = 256;

/// The K-quant formats kept as the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KQuant {
    Q4K,
    Q5K,
    Q6K,
}

impl KQuant {
    /// Bytes of one block of 256 weights.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            KQuant::Q4K => 144,
            KQuant::Q5K => 176,
            KQuant::Q6K => 210,
        }
    }
}

fn half_at(bytes: &[u8], at: usize) -> f32 {
    f16_at(bytes, at).to_f32()
}

fn f16_at(bytes: &[u8], at: usize) -> f16 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

/// 4-bit blocks, `value = d·q + m` with `q` in `0..16`; `qs[i]` holds weight `i` in its low
/// nibble and weight `i + 16` in its high nibble. Rows are `per` blocks long; `d` and `qs`
/// are by row, `m` in row groups of eight (see [`group_rows`]), the layout in which the
/// kernels add the `m` terms of eight rows at once.
pub(crate) struct Q4Blocks {
    pub(crate) per: usize,
    pub(crate) d: Vec<f16>,
    pub(crate) m: Vec<f16>,
    pub(crate) qs: Vec<[u8; 16]>,
}

impl Q4Blocks {
    /// Repack `Q4_0` bytes (18 per block: `f16 d`, 16 bytes of quants; `value = d·(q − 8)`)
    /// of rows `per` blocks long.
    pub(crate) fn from_q4_0(bytes: &[u8], per: usize) -> Q4Blocks {
        let (mut d, mut m, mut qs) = (Vec::new(), Vec::new(), Vec::new());
        for block in bytes.chunks_exact(18) {
            let f = f16_at(block, 0);
            d.push(f);
            // Exact: a power of two times an `f16` factor (far from `f16`'s limits).
            m.push(f16::from_f32(-8.0 * f.to_f32()));
            qs.push(block[2..18].try_into().expect("16 bytes"));
        }
        Q4Blocks::new(per, d, &m, qs)
    }

    /// Repack `Q4_1` bytes (20 per block: `f16 d`, `f16 m`, 16 bytes of quants).
    pub(crate) fn from_q4_1(bytes: &[u8], per: usize) -> Q4Blocks {
        let (mut d, mut m, mut qs) = (Vec::new(), Vec::new(), Vec::new());
        for block in bytes.chunks_exact(20) {
            d.push(f16_at(block, 0));
            m.push(f16_at(block, 2));
            qs.push(block[4..20].try_into().expect("16 bytes"));
        }
        Q4Blocks::new(per, d, &m, qs)
    }

    /// From the factors and quants by row.
    pub(crate) fn new(per: usize, d: Vec<f16>, m: &[f16], qs: Vec<[u8; 16]>) -> Q4Blocks {
        Q4Blocks {
            per,
            d,
            m: group_rows(m, per),
            qs,
        }
    }

    /// The `m` factors by row.
    pub(crate) fn m_by_row(&self) -> Vec<f16> {
        (0..self.d.len())
            .map(|b| self.m_at(b / self.per, b % self.per))
            .collect()
    }

    /// The `m` factor of block `b` of row `r`.
    pub(crate) fn m_at(&self, r: usize, b: usize) -> f16 {
        self.m[grouped_at(r, b, self.per)]
    }

    /// The weights of blocks `range`, in order.
    pub(crate) fn decode(&self, blocks: std::ops::Range<usize>, out: &mut [f32]) {
        for (b, y) in blocks.zip(out.chunks_exact_mut(QK)) {
            let (d, m) = (
                self.d[b].to_f32(),
                self.m_at(b / self.per, b % self.per).to_f32(),
            );
            let qs = &self.qs[b];
            for i in 0..16 {
                y[i] = d * f32::from(qs[i] & 0x0F) + m;
                y[i + 16] = d * f32::from(qs[i] >> 4) + m;
            }
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        (self.d.len() + self.m.len()) * 2 + self.qs.len() * 16
    }
}

/// Per-block values of rows `per` blocks long (`by_row`), regrouped for the kernels: rows in
/// groups of eight, each group block by block with the eight rows' values side by side
/// (zeros past the last row).
pub(crate) fn group_rows<T: Copy + Default>(by_row: &[T], per: usize) -> Vec<T> {
    let rows = by_row.len() / per;
    let mut out = vec![T::default(); rows.div_ceil(8) * per * 8];
    for (i, &v) in by_row.iter().enumerate() {
        out[grouped_at(i / per, i % per, per)] = v;
    }
    out
}

/// Where [`group_rows`] puts block `b` of row `r`.
fn grouped_at(r: usize, b: usize, per: usize) -> usize {
    ((r / 8) * per + b) * 8 + r % 8
}

/// 8-bit blocks, `value = d·q`.
#[derive(Default)]
pub(crate) struct Q8Blocks {
    pub(crate) d: Vec<f16>,
    pub(crate) qs: Vec<[i8; 32]>,
}

impl Q8Blocks {
    /// Repack `Q8_0` bytes (34 per block: `f16 d`, 32 signed quants).
    pub(crate) fn from_q8_0(bytes: &[u8]) -> Q8Blocks {
        let mut out = Q8Blocks::default();
        for block in bytes.chunks_exact(34) {
            out.d.push(f16_at(block, 0));
            out.qs.push(std::array::from_fn(|i| block[2 + i] as i8));
        }
        out
    }

    /// The weights of blocks `range`, in order.
    pub(crate) fn decode(&self, blocks: std::ops::Range<usize>, out: &mut [f32]) {
        for (b, y) in blocks.zip(out.chunks_exact_mut(QK)) {
            let d = self.d[b].to_f32();
            for (y, &q) in y.iter_mut().zip(&self.qs[b]) {
                *y = d * f32::from(q);
            }
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.qs.len() * (32 + 2)
    }
}

/// Activations quantized to 8 bits per block of 32, as the integer kernels read them:
/// `value ≈ d·q`, and `s = d·Σq` (for the `m` term of 4-bit weights).
#[derive(Default)]
pub(crate) struct Q8Activations {
    pub(crate) d: Vec<f32>,
    pub(crate) s: Vec<f32>,
    pub(crate) qs: Vec<[i8; 32]>,
}

impl Q8Activations {
    /// Quantize `rows` rows of `x` (row-major, the row length a multiple of 32): per block,
    /// `d = max|x| / 127` and `q = x / d` rounded to the nearest integer, ties to even (what
    /// the vector rounding instructions do, so that the compiler can use them).
    pub(crate) fn quantize(x: &[f32]) -> Q8Activations {
        let blocks = x.len() / QK;
        let mut out = Q8Activations {
            d: Vec::with_capacity(blocks),
            s: Vec::with_capacity(blocks),
            qs: Vec::with_capacity(blocks),
        };
        for chunk in x.chunks_exact(QK) {
            let amax = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            let q: [i8; 32] = std::array::from_fn(|i| {
                (chunk[i] * inv).round_ties_even().clamp(-127.0, 127.0) as i8
            });
            let sum: i32 = q.iter().map(|&v| i32::from(v)).sum();
            out.d.push(Q8Activations::stored(d));
            out.s.push(Q8Activations::stored(d * sum as f32));
            out.qs.push(q);
        }
        out
    }

    /// A block's factor as llama.cpp keeps it in its 8-bit activation blocks: rounded to
    /// `f16` (the quants are computed with the unrounded one, as there). Matching this keeps
    /// the engine's greedy tokens closer to llama.cpp's.
    pub(crate) fn stored(v: f32) -> f32 {
        f16::from_f32(v).to_f32()
    }

    /// The blocks of row `row` when rows are `per_row` blocks long.
    pub(crate) fn row(&self, row: usize, per_row: usize) -> Q8Row<'_> {
        let r = row * per_row..(row + 1) * per_row;
        Q8Row {
            d: &self.d[r.clone()],
            s: &self.s[r.clone()],
            qs: &self.qs[r],
        }
    }
}

/// Consecutive rows of a 4-bit (`m` and `q4` set, `q8` empty) or 8-bit (`q8` set) matrix, as
/// the kernels read them. `m` is in row groups of eight ([`group_rows`]).
#[derive(Clone, Copy)]
pub(crate) struct Part<'a> {
    /// Blocks per row.
    pub(crate) per: usize,
    pub(crate) d: &'a [f16],
    pub(crate) m: Option<&'a [f16]>,
    pub(crate) q4: &'a [[u8; 16]],
    pub(crate) q8: &'a [[i8; 32]],
}

impl<'a> Part<'a> {
    pub(crate) fn rows(&self) -> usize {
        self.d.len() / self.per
    }

    fn blocks(&self, r: usize) -> std::ops::Range<usize> {
        r * self.per..(r + 1) * self.per
    }

    pub(crate) fn d_of(&self, r: usize) -> &'a [f16] {
        &self.d[self.blocks(r)]
    }

    /// The `m` factors of row `r`.
    pub(crate) fn m_of(&self, r: usize) -> Vec<f32> {
        self.m.map_or(Vec::new(), |m| {
            (0..self.per)
                .map(|b| m[grouped_at(r, b, self.per)].to_f32())
                .collect()
        })
    }

    pub(crate) fn q4_of(&self, r: usize) -> &'a [[u8; 16]] {
        if self.q4.is_empty() {
            &[]
        } else {
            &self.q4[self.blocks(r)]
        }
    }

    pub(crate) fn q8_of(&self, r: usize) -> &'a [[i8; 32]] {
        if self.q8.is_empty() {
            &[]
        } else {
            &self.q8[self.blocks(r)]
        }
    }
}

/// One row of [`Q8Activations`].
#[derive(Clone, Copy)]
pub(crate) struct Q8Row<'a> {
    pub(crate) d: &'a [f32],
    pub(crate) s: &'a [f32],
    pub(crate) qs: &'a [[i8; 32]],
}

/// The 6-bit scale and minimum of sub-block `j` of a `Q4_K`/`Q5_K` block (`scales`: its 12
/// packed bytes).
fn scale_min(j: usize, scales: &[u8]) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    }
}

/// Decode one K-quant block (`bytes`: `kind.block_bytes()` bytes) into 256 weights.
pub(crate) fn decode_k_block(kind: KQuant, bytes: &[u8], y: &mut [f32]) {
    match kind {
        KQuant::Q4K => {
            let (d, dmin) = (half_at(bytes, 0), half_at(bytes, 2));
            let scales = &bytes[4..16];
            let qs = &bytes[16..144];
            for (j, (q, y)) in qs.chunks_exact(32).zip(y.chunks_exact_mut(64)).enumerate() {
                let (s1, m1) = scale_min(2 * j, scales);
                let (s2, m2) = scale_min(2 * j + 1, scales);
                let (d1, m1) = (d * f32::from(s1), dmin * f32::from(m1));
                let (d2, m2) = (d * f32::from(s2), dmin * f32::from(m2));
                for l in 0..32 {
                    y[l] = d1 * f32::from(q[l] & 0x0F) - m1;
                    y[l + 32] = d2 * f32::from(q[l] >> 4) - m2;
                }
            }
        }
        KQuant::Q5K => {
            let (d, dmin) = (half_at(bytes, 0), half_at(bytes, 2));
            let scales = &bytes[4..16];
            let qh = &bytes[16..48];
            let qs = &bytes[48..176];
            for (j, (q, y)) in qs.chunks_exact(32).zip(y.chunks_exact_mut(64)).enumerate() {
                let (s1, m1) = scale_min(2 * j, scales);
                let (s2, m2) = scale_min(2 * j + 1, scales);
                let (d1, m1) = (d * f32::from(s1), dmin * f32::from(m1));
                let (d2, m2) = (d * f32::from(s2), dmin * f32::from(m2));
                let (u1, u2) = (1u8 << (2 * j), 2u8 << (2 * j));
                for l in 0..32 {
                    let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                    let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
                    y[l] = d1 * f32::from((q[l] & 0x0F) + h1) - m1;
                    y[l + 32] = d2 * f32::from((q[l] >> 4) + h2) - m2;
                }
            }
        }
        KQuant::Q6K => {
            let ql = &bytes[0..128];
            let qh = &bytes[128..192];
            let sc = &bytes[192..208];
            let d = half_at(bytes, 208);
            for half in 0..2 {
                let (ql, qh) = (&ql[64 * half..], &qh[32 * half..]);
                let sc = &sc[8 * half..];
                let y = &mut y[128 * half..];
                for l in 0..32 {
                    let is = l / 16;
                    let q = |low: u8, shift: u32| {
                        f32::from(((low | (((qh[l] >> shift) & 3) << 4)) as i8) - 32)
                    };
                    let s = |i: usize| d * f32::from(sc[is + i] as i8);
                    y[l] = s(0) * q(ql[l] & 0x0F, 0);
                    y[l + 32] = s(2) * q(ql[l + 32] & 0x0F, 2);
                    y[l + 64] = s(4) * q(ql[l] >> 4, 4);
                    y[l + 96] = s(6) * q(ql[l + 32] >> 4, 6);
                }
            }
        }
    }
}

/// Decode a row of K-quant blocks into `y` (`256 × blocks` weights).
pub(crate) fn decode_k_row(kind: KQuant, bytes: &[u8], y: &mut [f32]) {
    for (block, y) in bytes
        .chunks_exact(kind.block_bytes())
        .zip(y.chunks_exact_mut(QK_K))
    {
        decode_k_block(kind, block, y);
    }
}
