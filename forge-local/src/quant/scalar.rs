//! Portable kernels: the reference the SIMD kernels are tested against, and the kernels of
//! CPUs without them. Written so that the compiler can vectorize them for the build's target
//! (on aarch64, whose baseline includes NEON, they run as NEON code).

use super::formats::{Part, Q8Activations, Q8Row};

/// `Σ q4·q8` over one block: `w[i]`'s low nibble pairs with `a[i]`, its high nibble with
/// `a[i + 16]`.
pub(crate) fn q4_isum(w: &[u8; 16], a: &[i8; 32]) -> i32 {
    (0..16)
        .map(|i| {
            i32::from(w[i] & 0x0F) * i32::from(a[i]) + i32::from(w[i] >> 4) * i32::from(a[i + 16])
        })
        .sum()
}

/// `Σ w·a` over one block of 8-bit weights.
pub(crate) fn q8_isum(w: &[i8; 32], a: &[i8; 32]) -> i32 {
    w.iter()
        .zip(a)
        .map(|(&w, &a)| i32::from(w) * i32::from(a))
        .sum()
}

/// Dot product of a row of 4-bit blocks (`value = d·q + m`) with quantized activations.
pub(crate) fn dot_q4(d: &[f32], m: &[f32], qs: &[[u8; 16]], a: Q8Row<'_>) -> f32 {
    let mut acc = 0f32;
    for b in 0..qs.len() {
        acc += d[b] * a.d[b] * q4_isum(&qs[b], &a.qs[b]) as f32 + m[b] * a.s[b];
    }
    acc
}

/// Dot product of a row of 8-bit blocks with quantized activations.
pub(crate) fn dot_q8(d: &[f32], qs: &[[i8; 32]], a: Q8Row<'_>) -> f32 {
    let mut acc = 0f32;
    for b in 0..qs.len() {
        acc += d[b] * a.d[b] * q8_isum(&qs[b], &a.qs[b]) as f32;
    }
    acc
}

/// Dot product of two float rows (eight partial sums, so that it vectorizes).
pub(crate) fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (wc, xc) = (w.chunks_exact(8), x.chunks_exact(8));
    let tail: f32 = wc
        .remainder()
        .iter()
        .zip(xc.remainder())
        .map(|(w, x)| w * x)
        .sum();
    for (w, x) in wc.zip(xc) {
        for i in 0..8 {
            acc[i] += w[i] * x[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Every row of a part of a 4-bit or 8-bit matrix against `n` tokens of activations, into
/// `out` (the part's rows × `n` tokens): the portable form of the SIMD kernels' `part`.
pub(crate) fn part(w: Part<'_>, a: &Q8Activations, n: usize, out: &mut [f32]) {
    let per = w.per;
    for (r, out) in out.chunks_exact_mut(n).enumerate() {
        let (d, m): (Vec<f32>, _) = (w.d_of(r).iter().map(|d| d.to_f32()).collect(), w.m_of(r));
        for (t, o) in out.iter_mut().enumerate() {
            let a = a.row(t, per);
            *o = match w.m {
                Some(_) => dot_q4(&d, &m, w.q4_of(r), a),
                None => dot_q8(&d, w.q8_of(r), a),
            };
        }
    }
}
