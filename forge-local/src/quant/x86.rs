//! x86-64 kernels, chosen at run time: AVX2 + FMA + F16C, and AVX-512 VNNI (its 256-bit
//! form) where the CPU has it.
//!
//! The only `unsafe` code of the crate. Two kinds of `unsafe` appear: unaligned vector loads
//! and stores on arrays or slices whose bounds are checked just before, and the calls into
//! `#[target_feature]` functions from [`checked`], whose values exist only after detection
//! found the features on the running CPU.
//!
//! Both sets compute the same integers (AVX2 sums pairs of byte products into 16 bits, then
//! pairs of those into 32; VNNI sums the same four byte products into each 32-bit lane at
//! once) and then the same float operations in the same order, so their results are equal bit
//! for bit; the tests check it.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use half::f16;

use super::formats::{Part, Q8Activations};

/// The 32 weights of a 4-bit block as bytes: low nibbles (weights 0..16), then high nibbles
/// (weights 16..32), the activations' order.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn unpack_q4(w: &[u8; 16]) -> __m256i {
    // SAFETY: `w` is 16 readable bytes; unaligned load.
    let raw = unsafe { _mm_loadu_si128(w.as_ptr().cast()) };
    _mm256_and_si256(
        _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw),
        _mm256_set1_epi8(0x0F),
    )
}

/// 32 activation (or 8-bit weight) quants.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load_q8(a: &[i8; 32]) -> __m256i {
    // SAFETY: `a` is 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
}

/// `Σ q·a` of unpacked 4-bit weights and activations, as eight partial sums of four products
/// each. Unsigned 4-bit times signed 8-bit, pairs summed: at most 2·15·127, no saturation.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q4_products(q: __m256i, a: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1))
}

/// `Σ w·a` of 8-bit weights and activations, as eight partial sums of four products; `abs`
/// is `|w|`. The unsigned×signed instruction multiplies `|w|` by `a` with `w`'s sign; pairs
/// are at most 2·128·127 in magnitude, no saturation. `a` must not hold −128 (the activation
/// quantizer clamps to ±127).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q8_products(abs: __m256i, w: __m256i, a: __m256i) -> __m256i {
    _mm256_madd_epi16(
        _mm256_maddubs_epi16(abs, _mm256_sign_epi8(a, w)),
        _mm256_set1_epi16(1),
    )
}

/// [`q4_products`] in one VNNI instruction (the same four products per lane).
#[inline]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
fn q4_products_vnni(q: __m256i, a: __m256i) -> __m256i {
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, a)
}

/// [`q8_products`] in one VNNI instruction.
#[inline]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
fn q8_products_vnni(abs: __m256i, w: __m256i, a: __m256i) -> __m256i {
    _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs, _mm256_sign_epi8(a, w))
}

/// The lane sums of accumulators, four at a time with horizontal adds; fewer than four are
/// padded with zeros, so that an accumulator's sum is added in the same order whatever its
/// neighbours.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lane_sums<const N: usize>(acc: &[__m256; N]) -> [f32; N] {
    let mut out = [0f32; N];
    let mut t = 0;
    while t < N {
        let mut v = [_mm256_setzero_ps(); 4];
        for (i, v) in v.iter_mut().enumerate() {
            if t + i < N {
                *v = acc[t + i];
            }
        }
        let s = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
        let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        let mut four = [0f32; 4];
        // SAFETY: `four` is 16 writable bytes; unaligned store.
        unsafe { _mm_storeu_ps(four.as_mut_ptr(), s) };
        for (i, &f) in four.iter().enumerate() {
            if t + i < N {
                out[t + i] = f;
            }
        }
        t += 4;
    }
    out
}

/// Add the `m` term of 4-bit rows to their outputs: for row `r` and token `t`,
/// `Σ_b m[r][b]·s[t][b]`, one fused multiply-add per block in block order, rows in the eight
/// lanes of a vector (`m` in row groups of eight, see [`super::formats::group_rows`]). A
/// (row, token) chain is the same whatever the neighbouring rows and tokens, so the term does
/// not depend on the batch. `s` holds `n` tokens' sums (`per` each), `out` the rows × `n`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn add_m_terms(m: &[f16], per: usize, rows: usize, s: &[f32], n: usize, out: &mut [f32]) {
    let groups = rows.div_ceil(8);
    assert!(m.len() == groups * per * 8 && s.len() == n * per && out.len() == rows * n);
    for g in 0..groups {
        let mg = &m[g * per * 8..(g + 1) * per * 8];
        let lanes = (rows - 8 * g).min(8);
        let mut t = 0;
        while t < n {
            let k = if n - t >= 4 { 4 } else { 1 };
            let sums = if k == 4 {
                m_chains::<4>(mg, &s[t * per..(t + 4) * per])
            } else {
                let [one] = m_chains::<1>(mg, &s[t * per..(t + 1) * per]);
                [one, [0.0; 8], [0.0; 8], [0.0; 8]]
            };
            for (i, v) in sums.iter().take(k).enumerate() {
                for (l, v) in v.iter().take(lanes).enumerate() {
                    out[(8 * g + l) * n + t + i] += v;
                }
            }
            t += k;
        }
    }
}

/// The `m` chains of one row group (`mg`: `per × 8`) for `K` tokens (`s`: `K × per`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn m_chains<const K: usize>(mg: &[f16], s: &[f32]) -> [[f32; 8]; K] {
    let per = mg.len() / 8;
    assert!(mg.len() == per * 8 && s.len() == K * per);
    let mut acc = [_mm256_setzero_ps(); K];
    for b in 0..per {
        // SAFETY: `b < per` and `mg` holds `per × 8` values (16 bytes per eight).
        let mv = _mm256_cvtph_ps(unsafe { _mm_loadu_si128(mg.as_ptr().add(b * 8).cast()) });
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `i < K` and `b < per`: inside `s` (`K × per` values).
            let sv = unsafe { _mm256_broadcast_ss(&*s.as_ptr().add(i * per + b)) };
            *acc = _mm256_fmadd_ps(mv, sv, *acc);
        }
    }
    let mut out = [[0f32; 8]; K];
    for (o, acc) in out.iter_mut().zip(acc) {
        // SAFETY: `o` is 32 writable bytes; unaligned store.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), acc) };
    }
    out
}

/// Stamps out the integer-block kernels for one instruction set: `$products4` and
/// `$products8` give the 32-bit partial sums of one block (see [`q4_products`]).
macro_rules! block_kernels {
    ($features:literal, $products4:ident, $products8:ident) => {
        /// `R` rows × `T` tokens of 4-bit (`Q4`) or 8-bit blocks (`d`, `q4` or `q8`: the `R`
        /// rows' blocks one after the other; `a_d`, `a_qs`: the `T` tokens'). Each output is
        /// one accumulator over the blocks in order (`acc += scale·Σ`), then its lane sum, so
        /// a (row, token) result is the same for every tile shape. Returns `out[r][t]`.
        #[inline]
        #[target_feature(enable = $features)]
        fn tile<const Q4: bool, const R: usize, const T: usize>(
            per: usize,
            d: &[f32],
            q4: &[[u8; 16]],
            q8: &[[i8; 32]],
            a_d: &[f32],
            a_qs: &[[i8; 32]],
            scales: &mut Vec<f32>,
        ) -> [[f32; T]; R] {
            assert!(d.len() == R * per && a_d.len() == T * per && a_qs.len() == T * per);
            assert!(if Q4 {
                q4.len() == R * per
            } else {
                q8.len() == R * per
            });
            // The factor of every (row, token, block), computed in one pass that vectorizes.
            scales.resize(R * T * per, 0.0);
            for (i, out) in scales.chunks_exact_mut(per).enumerate() {
                let (w, a) = (&d[i / T * per..][..per], &a_d[i % T * per..][..per]);
                for ((o, w), a) in out.iter_mut().zip(w).zip(a) {
                    *o = w * a;
                }
            }
            let mut acc = [[_mm256_setzero_ps(); T]; R];
            for b in 0..per {
                let mut w = [_mm256_setzero_si256(); R];
                let mut abs = [_mm256_setzero_si256(); R];
                for r in 0..R {
                    // SAFETY: `r < R` and `b < per`: inside `q4` or `q8` (`R × per`, checked).
                    unsafe {
                        if Q4 {
                            w[r] = unpack_q4(q4.get_unchecked(r * per + b));
                        } else {
                            w[r] = load_q8(q8.get_unchecked(r * per + b));
                            abs[r] = _mm256_sign_epi8(w[r], w[r]);
                        }
                    }
                }
                for t in 0..T {
                    // SAFETY: `t < T` and `b < per`: inside `a_qs` (`T × per`, checked).
                    let a = load_q8(unsafe { a_qs.get_unchecked(t * per + b) });
                    for r in 0..R {
                        let p = if Q4 {
                            $products4(w[r], a)
                        } else {
                            $products8(abs[r], w[r], a)
                        };
                        // SAFETY: inside `scales` (resized to `R × T × per` above).
                        let scale = _mm256_broadcast_ss(unsafe {
                            scales.get_unchecked((r * T + t) * per + b)
                        });
                        acc[r][t] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[r][t]);
                    }
                }
            }
            let mut out = [[0f32; T]; R];
            for r in 0..R {
                out[r] = lane_sums(&acc[r]);
            }
            out
        }

        /// Rows `r0..r0 + R` of a part against tokens `t0..t1`, into `out` (the part's
        /// rows × `n`, by row).
        #[inline]
        #[target_feature(enable = $features)]
        fn rows<const Q4: bool, const R: usize>(
            w: Part<'_>,
            r0: usize,
            a: &Q8Activations,
            (n, t0, t1): (usize, usize, usize),
            out: &mut [f32],
            (d, scales): (&mut Vec<f32>, &mut Vec<f32>),
        ) {
            let per = w.per;
            let wr = r0 * per..(r0 + R) * per;
            // The rows' factors in `f32`, once for all the tokens.
            d.resize(R * per, 0.0);
            widen(&w.d[wr.clone()], d);
            let d = &d[..];
            let q4 = if Q4 { &w.q4[wr.clone()] } else { &[] };
            let q8 = if Q4 { &[] } else { &w.q8[wr] };
            let mut t = t0;
            while t + 4 <= t1 {
                let at = t * per..(t + 4) * per;
                let y = tile::<Q4, R, 4>(per, d, q4, q8, &a.d[at.clone()], &a.qs[at], scales);
                for r in 0..R {
                    out[(r0 + r) * n + t..][..4].copy_from_slice(&y[r]);
                }
                t += 4;
            }
            while t < t1 {
                let at = t * per..(t + 1) * per;
                let y = tile::<Q4, R, 1>(per, d, q4, q8, &a.d[at.clone()], &a.qs[at], scales);
                for r in 0..R {
                    out[(r0 + r) * n + t] = y[r][0];
                }
                t += 1;
            }
        }

        /// Every row of a part of a 4-bit or 8-bit matrix against `n` tokens of activations;
        /// `out` holds the part's rows × `n` tokens.
        #[target_feature(enable = $features)]
        pub(crate) fn part(w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
            if w.m.is_some() {
                products::<true>(w, a, n, out);
            } else {
                products::<false>(w, a, n, out);
            }
            if let Some(m) = w.m {
                add_m_terms(m, w.per, w.rows(), &a.s[..n * w.per], n, out);
            }
        }

        /// The integer-block part of [`part`].
        #[inline]
        #[target_feature(enable = $features)]
        fn products<const Q4: bool>(w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
            let count = w.rows();
            let (mut d, mut scales) = (Vec::with_capacity(4 * w.per), Vec::new());
            // One token: four rows at a time (four independent accumulators); a batch: two
            // rows by four tokens, in tiles of tokens whose activations stay in the cache.
            let group = if n < 4 { 4 } else { 2 };
            for t0 in (0..n).step_by(TOKEN_TILE) {
                let t1 = (t0 + TOKEN_TILE).min(n);
                let tokens = (n, t0, t1);
                let mut r = 0;
                while r + group <= count {
                    if group == 4 {
                        rows::<Q4, 4>(w, r, a, tokens, out, (&mut d, &mut scales));
                    } else {
                        rows::<Q4, 2>(w, r, a, tokens, out, (&mut d, &mut scales));
                    }
                    r += group;
                }
                while r < count {
                    rows::<Q4, 1>(w, r, a, tokens, out, (&mut d, &mut scales));
                    r += 1;
                }
            }
        }
    };
}

/// Tokens per tile of a matrix product: their 8-bit activations stay in the cache while the
/// part's rows pass over them.
const TOKEN_TILE: usize = 32;

/// `out = w` widened to `f32`, eight at a time.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn widen(w: &[f16], out: &mut [f32]) {
    assert_eq!(w.len(), out.len());
    let mut wc = w.chunks_exact(8);
    let mut oc = out.chunks_exact_mut(8);
    for (w, o) in (&mut wc).zip(&mut oc) {
        // SAFETY: `w` is eight `f16` (16 readable bytes), `o` eight floats (32 writable).
        unsafe {
            let v = _mm256_cvtph_ps(_mm_loadu_si128(w.as_ptr().cast()));
            _mm256_storeu_ps(o.as_mut_ptr(), v);
        }
    }
    for (w, o) in wc.remainder().iter().zip(oc.into_remainder()) {
        *o = w.to_f32();
    }
}

mod avx2 {
    use super::*;
    block_kernels!("avx2,fma,f16c", q4_products, q8_products);
}

mod vnni {
    use super::*;
    block_kernels!(
        "avx2,fma,f16c,avx512f,avx512vl,avx512vnni",
        q4_products_vnni,
        q8_products_vnni
    );
}

/// Sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// [`super::scalar::dot_f32`] with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: `i + 8k + 8 <= n`, so both loads read inside the slices.
            let (wv, xv) = unsafe {
                (
                    _mm256_loadu_ps(w.as_ptr().add(i + 8 * k)),
                    _mm256_loadu_ps(x.as_ptr().add(i + 8 * k)),
                )
            };
            *acc = _mm256_fmadd_ps(wv, xv, *acc);
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let tail: f32 = w[i..n].iter().zip(&x[i..n]).map(|(w, x)| w * x).sum();
    hsum(sum) + tail
}

/// [`Q8Activations::quantize`] with AVX2: the same operations (the largest magnitude, one
/// division, products rounded to the nearest integer with ties to even, clamped to ±127), so
/// the results are equal.
#[target_feature(enable = "avx2,fma")]
fn quantize(x: &[f32]) -> Q8Activations {
    let blocks = x.len() / 32;
    let mut out = Q8Activations {
        d: Vec::with_capacity(blocks),
        s: Vec::with_capacity(blocks),
        qs: Vec::with_capacity(blocks),
    };
    let sign = _mm256_set1_ps(-0.0);
    for chunk in x.chunks_exact(32) {
        // SAFETY: `chunk` holds 32 floats; four unaligned loads of eight.
        let v: [__m256; 4] =
            std::array::from_fn(|i| unsafe { _mm256_loadu_ps(chunk.as_ptr().add(8 * i)) });
        let abs = v.map(|v| _mm256_andnot_ps(sign, v));
        let max = _mm256_max_ps(_mm256_max_ps(abs[0], abs[1]), _mm256_max_ps(abs[2], abs[3]));
        let max = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
        let max = _mm_max_ps(max, _mm_movehl_ps(max, max));
        let amax = _mm_cvtss_f32(_mm_max_ss(max, _mm_movehdup_ps(max)));
        let d = amax / 127.0;
        let inv = _mm256_set1_ps(if d > 0.0 { 1.0 / d } else { 0.0 });
        let (lo, hi) = (_mm256_set1_ps(-127.0), _mm256_set1_ps(127.0));
        let q = v.map(|v| {
            let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm256_mul_ps(v, inv),
            );
            _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi))
        });
        let total = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        let total = _mm_add_epi32(
            _mm256_castsi256_si128(total),
            _mm256_extracti128_si256(total, 1),
        );
        let total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0b01_00_11_10));
        let total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0b10_11_00_01));
        let sum = _mm_cvtsi128_si32(total);
        // Narrow to bytes; the packs interleave 128-bit lanes, the permutation restores order.
        let bytes = _mm256_packs_epi16(
            _mm256_packs_epi32(q[0], q[1]),
            _mm256_packs_epi32(q[2], q[3]),
        );
        let bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        let mut qs = [0i8; 32];
        // SAFETY: `qs` is 32 writable bytes; unaligned store.
        unsafe { _mm256_storeu_si256(qs.as_mut_ptr().cast(), bytes) };
        out.d.push(Q8Activations::stored(d));
        out.s.push(Q8Activations::stored(d * sum as f32));
        out.qs.push(qs);
    }
    out
}

#[cfg(test)]
fn lanes_sum(v: __m256i) -> i32 {
    let mut out = [0i32; 8];
    // SAFETY: `out` is 32 writable bytes; unaligned store.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
    out.iter().sum()
}

/// The dispatch from [`super`]: safe wrappers that may only be built after detection.
pub(crate) mod checked {
    use super::*;

    /// Proof that the running CPU has AVX2, FMA and F16C.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2(());

    /// Proof that the running CPU has AVX2, FMA, F16C and AVX-512 VNNI with 256-bit vectors.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Vnni(());

    impl Avx2 {
        pub(crate) fn detect() -> Option<Avx2> {
            (is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c"))
            .then_some(Avx2(()))
        }

        pub(crate) fn part(self, w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
            // SAFETY: an `Avx2` exists only when the CPU has AVX2, FMA and F16C.
            unsafe { avx2::part(w, a, n, out) }
        }

        pub(crate) fn dot_f32(self, w: &[f32], x: &[f32]) -> f32 {
            // SAFETY: as above.
            unsafe { dot_f32(w, x) }
        }

        pub(crate) fn quantize(self, x: &[f32]) -> Q8Activations {
            // SAFETY: as above.
            unsafe { quantize(x) }
        }

        #[cfg(test)]
        pub(crate) fn q4_isum(self, w: &[u8; 16], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe { lanes_sum(q4_products(unpack_q4(w), load_q8(a))) }
        }

        #[cfg(test)]
        pub(crate) fn q8_isum(self, w: &[i8; 32], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe {
                let w = load_q8(w);
                lanes_sum(q8_products(_mm256_sign_epi8(w, w), w, load_q8(a)))
            }
        }
    }

    impl Vnni {
        pub(crate) fn detect() -> Option<Vnni> {
            (Avx2::detect().is_some()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni"))
            .then_some(Vnni(()))
        }

        /// The AVX2 kernels, for what VNNI does not change.
        pub(crate) fn avx2(self) -> Avx2 {
            Avx2(())
        }

        pub(crate) fn part(self, w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
            // SAFETY: a `Vnni` exists only when the CPU has every feature its kernels use.
            unsafe { vnni::part(w, a, n, out) }
        }

        #[cfg(test)]
        pub(crate) fn q4_isum(self, w: &[u8; 16], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe { lanes_sum(q4_products_vnni(unpack_q4(w), load_q8(a))) }
        }

        #[cfg(test)]
        pub(crate) fn q8_isum(self, w: &[i8; 32], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe {
                let w = load_q8(w);
                lanes_sum(q8_products_vnni(_mm256_sign_epi8(w, w), w, load_q8(a)))
            }
        }
    }
}
