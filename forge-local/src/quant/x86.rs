//! AVX2 + FMA kernels (x86-64), chosen at run time when the CPU has both.
//!
//! The only `unsafe` code of the crate. Two kinds of `unsafe` appear: unaligned vector loads
//! from arrays whose length the types fix (`[u8; 16]`, `[i8; 32]`, slices of 8 floats), and the
//! calls into `#[target_feature]` functions from [`super`], which happen only after
//! [`super::Kernels::detect`] found AVX2 and FMA on the running CPU.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::formats::Q8Row;

/// Sum of the eight lanes.
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

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

/// 32 activation quants.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load_q8(a: &[i8; 32]) -> __m256i {
    // SAFETY: `a` is 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
}

/// `Σ q·a` of unpacked 4-bit weights and activations, as eight partial sums. Unsigned 4-bit
/// times signed 8-bit, pairs summed: at most 2·15·127, no saturation.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q4_products(q: __m256i, a: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1))
}

/// `Σ w·a` of 8-bit weights and activations, as eight partial sums; `abs` is `|w|`. The
/// unsigned×signed instruction multiplies `|w|` by `a` with `w`'s sign; pairs are at most
/// 2·128·127 in magnitude, no saturation. `a` must not hold −128 (the activation quantizer
/// clamps to ±127).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q8_products(w: __m256i, abs: __m256i, a: __m256i) -> __m256i {
    _mm256_madd_epi16(
        _mm256_maddubs_epi16(abs, _mm256_sign_epi8(a, w)),
        _mm256_set1_epi16(1),
    )
}

#[cfg(test)]
fn lanes_sum(v: __m256i) -> i32 {
    let mut out = [0i32; 8];
    // SAFETY: `out` is 32 writable bytes; unaligned store.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
    out.iter().sum()
}

/// [`super::scalar::q4_isum`] with AVX2 (for the tests).
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn q4_isum(w: &[u8; 16], a: &[i8; 32]) -> i32 {
    lanes_sum(q4_products(unpack_q4(w), load_q8(a)))
}

/// [`super::scalar::q8_isum`] with AVX2 (for the tests).
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn q8_isum(w: &[i8; 32], a: &[i8; 32]) -> i32 {
    let w = load_q8(w);
    lanes_sum(q8_products(w, _mm256_sign_epi8(w, w), load_q8(a)))
}

/// The lane sums of each token's two accumulators, four tokens at a time with horizontal adds.
/// Fewer than four are padded with zeros, so a token's sum is added in the same order
/// whatever `N`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sums<const N: usize>(acc: &[[__m256; 2]; N]) -> [f32; N] {
    let mut out = [0f32; N];
    let mut t = 0;
    while t < N {
        let mut v = [_mm256_setzero_ps(); 4];
        for (i, v) in v.iter_mut().enumerate() {
            if t + i < N {
                *v = _mm256_add_ps(acc[t + i][0], acc[t + i][1]);
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

/// `Σ x·y` for the short per-block vectors (the `m·s` term): eight lanes, then the tail.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn dot_short(x: &[f32], y: &[f32]) -> f32 {
    let n = x.len().min(y.len());
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n`: both loads read inside the slices.
        let (xv, yv) = unsafe {
            (
                _mm256_loadu_ps(x.as_ptr().add(i)),
                _mm256_loadu_ps(y.as_ptr().add(i)),
            )
        };
        acc = _mm256_fmadd_ps(xv, yv, acc);
        i += 8;
    }
    let mut tail = 0f32;
    for j in i..n {
        tail += x[j] * y[j];
    }
    hsum(acc) + tail
}

/// Dot products of one row of 4-bit blocks with `N` rows of activations, each weight block
/// unpacked once for the `N` tokens. Each token's arithmetic is the same whatever `N` (two
/// accumulators, even and odd blocks, then the `m` term), so a token's result does not depend
/// on the batch it is in.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_q4_n<const N: usize>(
    d: &[f32],
    m: &[f32],
    qs: &[[u8; 16]],
    a: &[Q8Row<'_>; N],
) -> [f32; N] {
    let nb = qs.len();
    assert!(d.len() == nb && a.iter().all(|a| a.d.len() == nb && a.qs.len() == nb));
    let mut acc = [[_mm256_setzero_ps(); 2]; N];
    // A macro, not a closure: closures do not inherit `target_feature`, and the intrinsics
    // would be calls.
    macro_rules! step {
        ($b:expr, $slot:literal) => {{
            let b = $b;
            let q = unpack_q4(&qs[b]);
            for t in 0..N {
                let p = q4_products(q, load_q8(&a[t].qs[b]));
                let scale = _mm256_set1_ps(d[b] * a[t].d[b]);
                acc[t][$slot] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[t][$slot]);
            }
        }};
    }
    // Even blocks into one accumulator, odd blocks into the other (constant slots, so that
    // the accumulators stay in registers).
    let mut b = 0;
    while b + 2 <= nb {
        step!(b, 0);
        step!(b + 1, 1);
        b += 2;
    }
    if b < nb {
        step!(b, 0);
    }
    let mut out = sums(&acc);
    for t in 0..N {
        out[t] += dot_short(m, a[t].s);
    }
    out
}

/// Dot products of one row of 8-bit blocks with `N` rows of activations (see [`dot_q4_n`]).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_q8_n<const N: usize>(d: &[f32], qs: &[[i8; 32]], a: &[Q8Row<'_>; N]) -> [f32; N] {
    let nb = qs.len();
    assert!(d.len() == nb && a.iter().all(|a| a.d.len() == nb && a.qs.len() == nb));
    let mut acc = [[_mm256_setzero_ps(); 2]; N];
    macro_rules! step {
        ($b:expr, $slot:literal) => {{
            let b = $b;
            let w = load_q8(&qs[b]);
            let abs = _mm256_sign_epi8(w, w);
            for t in 0..N {
                let p = q8_products(w, abs, load_q8(&a[t].qs[b]));
                let scale = _mm256_set1_ps(d[b] * a[t].d[b]);
                acc[t][$slot] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[t][$slot]);
            }
        }};
    }
    let mut b = 0;
    while b + 2 <= nb {
        step!(b, 0);
        step!(b + 1, 1);
        b += 2;
    }
    if b < nb {
        step!(b, 0);
    }
    sums(&acc)
}

/// [`super::scalar::dot_f32`] with AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
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

/// The dispatch from [`super`]: safe wrappers that may only be built after detection.
pub(crate) mod checked {
    use super::*;

    /// Proof that the running CPU has AVX2 and FMA.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2(());

    impl Avx2 {
        pub(crate) fn detect() -> Option<Avx2> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
                .then_some(Avx2(()))
        }

        pub(crate) fn dot_q4<const N: usize>(
            self,
            d: &[f32],
            m: &[f32],
            qs: &[[u8; 16]],
            a: &[Q8Row<'_>; N],
        ) -> [f32; N] {
            // SAFETY: an `Avx2` exists only when the CPU has AVX2 and FMA.
            unsafe { dot_q4_n(d, m, qs, a) }
        }

        pub(crate) fn dot_q8<const N: usize>(
            self,
            d: &[f32],
            qs: &[[i8; 32]],
            a: &[Q8Row<'_>; N],
        ) -> [f32; N] {
            // SAFETY: as above.
            unsafe { dot_q8_n(d, qs, a) }
        }

        pub(crate) fn dot_f32(self, w: &[f32], x: &[f32]) -> f32 {
            // SAFETY: as above.
            unsafe { dot_f32(w, x) }
        }

        #[cfg(test)]
        pub(crate) fn q4_isum(self, w: &[u8; 16], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe { q4_isum(w, a) }
        }

        #[cfg(test)]
        pub(crate) fn q8_isum(self, w: &[i8; 32], a: &[i8; 32]) -> i32 {
            // SAFETY: as above.
            unsafe { q8_isum(w, a) }
        }
    }
}
