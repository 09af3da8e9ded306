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

/// `Σ q4·q8` over one block, as eight partial sums.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q4_lanes(w: &[u8; 16], a: &[i8; 32]) -> __m256i {
    // SAFETY: `w` is 16 readable bytes and `a` 32; both loads are unaligned loads.
    let (raw, a) = unsafe {
        (
            _mm_loadu_si128(w.as_ptr().cast()),
            _mm256_loadu_si256(a.as_ptr().cast()),
        )
    };
    let low = _mm256_set1_epi8(0x0F);
    // Low nibbles are weights 0..16, high nibbles weights 16..32: the same order as `a`.
    let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), low);
    // Unsigned 4-bit times signed 8-bit, pairs summed: at most 2·15·127, no saturation.
    let pairs = _mm256_maddubs_epi16(q, a);
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// `Σ w·a` over one block of 8-bit weights, as eight partial sums. `a` must not hold −128
/// (the activation quantizer clamps to ±127).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn q8_lanes(w: &[i8; 32], a: &[i8; 32]) -> __m256i {
    // SAFETY: both arrays are 32 readable bytes; unaligned loads.
    let (w, a) = unsafe {
        (
            _mm256_loadu_si256(w.as_ptr().cast()),
            _mm256_loadu_si256(a.as_ptr().cast()),
        )
    };
    // |w| (unsigned) times a with w's sign: the signed product, through the unsigned×signed
    // instruction. Pairs are at most 2·128·127 in magnitude, no saturation.
    let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
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
    lanes_sum(q4_lanes(w, a))
}

/// [`super::scalar::q8_isum`] with AVX2 (for the tests).
#[cfg(test)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn q8_isum(w: &[i8; 32], a: &[i8; 32]) -> i32 {
    lanes_sum(q8_lanes(w, a))
}

/// [`super::scalar::dot_q4`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_q4(d: &[f32], m: &[f32], qs: &[[u8; 16]], a: Q8Row<'_>) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut mins = 0f32;
    for b in 0..qs.len() {
        let p = _mm256_cvtepi32_ps(q4_lanes(&qs[b], &a.qs[b]));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * a.d[b]), p, acc);
        mins += m[b] * a.s[b];
    }
    hsum(acc) + mins
}

/// [`super::scalar::dot_q8`] with AVX2.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_q8(d: &[f32], qs: &[[i8; 32]], a: Q8Row<'_>) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for b in 0..qs.len() {
        let p = _mm256_cvtepi32_ps(q8_lanes(&qs[b], &a.qs[b]));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d[b] * a.d[b]), p, acc);
    }
    hsum(acc)
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

        pub(crate) fn dot_q4(self, d: &[f32], m: &[f32], qs: &[[u8; 16]], a: Q8Row<'_>) -> f32 {
            // SAFETY: an `Avx2` exists only when the CPU has AVX2 and FMA.
            unsafe { dot_q4(d, m, qs, a) }
        }

        pub(crate) fn dot_q8(self, d: &[f32], qs: &[[i8; 32]], a: Q8Row<'_>) -> f32 {
            // SAFETY: as above.
            unsafe { dot_q8(d, qs, a) }
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
