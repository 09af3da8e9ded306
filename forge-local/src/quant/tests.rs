use candle_core::{Device, Tensor};
use half::f16;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::*;

fn rng() -> Pcg64 {
    Pcg64::seed_from_u64(0x5eed)
}

fn isas() -> Vec<Isa> {
    let isas: Vec<Isa> = [Kernels::Portable, Kernels::Avx2, Kernels::Avx512Vnni]
        .into_iter()
        .filter_map(Kernels::isa)
        .collect();
    // On the x86-64 machines the project is tested on, the SIMD kernels the CPU has must be
    // among them.
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c");
        let vnni = avx2
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni");
        assert_eq!(isas.len(), 1 + usize::from(avx2) + usize::from(vnni));
        assert!(Kernels::detect().available());
    }
    isas
}

/// `isa`'s products of one row of blocks with one token.
fn dot_row(isa: Isa, part: Part<'_>, x: &[f32]) -> f32 {
    let acts = Q8Activations::quantize(x);
    let mut out = [0f32];
    isa.part(part, &acts, 1, &mut out);
    out[0]
}

fn random_a(rng: &mut Pcg64) -> [i8; 32] {
    std::array::from_fn(|_| rng.random_range(-127..=127))
}

#[test]
#[cfg(target_arch = "x86_64")]
fn integer_block_sums_are_exact() {
    let Some(Isa::Avx2(k)) = Kernels::Avx2.isa() else {
        return assert_eq!(Kernels::detect(), Kernels::Portable);
    };
    let mut rng = rng();
    for case in 0..5000 {
        let a = random_a(&mut rng);
        let w4: [u8; 16] = std::array::from_fn(|_| rng.random());
        let w8: [i8; 32] = match case {
            // The extremes: every weight at a bound.
            0 => [127; 32],
            1 => [-128; 32],
            _ => std::array::from_fn(|_| rng.random()),
        };
        assert_eq!(k.q4_isum(&w4, &a), scalar::q4_isum(&w4, &a), "{w4:?} {a:?}");
        assert_eq!(k.q8_isum(&w8, &a), scalar::q8_isum(&w8, &a), "{w8:?} {a:?}");
        if let Some(Isa::Vnni(v)) = Kernels::Avx512Vnni.isa() {
            assert_eq!(v.q4_isum(&w4, &a), scalar::q4_isum(&w4, &a), "{w4:?} {a:?}");
            assert_eq!(v.q8_isum(&w8, &a), scalar::q8_isum(&w8, &a), "{w8:?} {a:?}");
        }
    }
    let max = [127i8; 32];
    assert_eq!(k.q4_isum(&[0xFF; 16], &max), 15 * 127 * 32);
    assert_eq!(k.q8_isum(&[-128; 32], &[-127; 32]), 128 * 127 * 32);
    if let Some(Isa::Vnni(v)) = Kernels::Avx512Vnni.isa() {
        assert_eq!(v.q4_isum(&[0xFF; 16], &max), 15 * 127 * 32);
        assert_eq!(v.q8_isum(&[-128; 32], &[-127; 32]), 128 * 127 * 32);
    }
}

fn random_row(rng: &mut Pcg64, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-2.0..2.0)).collect()
}

/// `|a − b|` within `tol` of the sum of the magnitudes of the terms.
fn close(a: f32, b: f32, scale: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * scale.max(1e-6)
}

#[test]
fn row_kernels_agree_with_the_portable_ones() {
    let mut rng = rng();
    for isa in isas() {
        for blocks in [1usize, 3, 18, 48] {
            let x = random_row(&mut rng, blocks * 32);
            let acts = Q8Activations::quantize(&x);
            let a = acts.row(0, blocks);
            // Factors as the file stores them (`f16`), and their `f32` values for the reference.
            let d16: Vec<f16> = (0..blocks)
                .map(|_| f16::from_f32(rng.random_range(0.001..0.1)))
                .collect();
            let m16: Vec<f16> = (0..blocks)
                .map(|_| f16::from_f32(rng.random_range(-0.5..0.5)))
                .collect();
            let d: Vec<f32> = d16.iter().map(|v| v.to_f32()).collect();
            let m: Vec<f32> = m16.iter().map(|v| v.to_f32()).collect();
            let q4: Vec<[u8; 16]> = (0..blocks)
                .map(|_| std::array::from_fn(|_| rng.random()))
                .collect();
            let q8: Vec<[i8; 32]> = (0..blocks).map(|_| random_a(&mut rng)).collect();
            let scale: f32 = x.iter().map(|v| v.abs()).sum::<f32>() * 2.0;
            let grouped = formats::group_rows(&m16, blocks);
            let q4_part = Part {
                per: blocks,
                d: &d16,
                m: Some(&grouped),
                q4: &q4,
                q8: &[],
            };
            let (got, want) = (dot_row(isa, q4_part, &x), scalar::dot_q4(&d, &m, &q4, a));
            assert!(close(got, want, scale, 1e-5), "{isa:?} q4 {got} {want}");
            let q8_part = Part {
                per: blocks,
                d: &d16,
                m: None,
                q4: &[],
                q8: &q8,
            };
            let (got, want) = (dot_row(isa, q8_part, &x), scalar::dot_q8(&d, &q8, a));
            assert!(
                close(got, want, scale * 13.0, 1e-5),
                "{isa:?} q8 {got} {want}"
            );
            for len in [blocks * 32, blocks * 32 + 5, 7] {
                let (w, x) = (random_row(&mut rng, len), random_row(&mut rng, len));
                let scale: f32 = w.iter().zip(&x).map(|(w, x)| (w * x).abs()).sum();
                let (got, want) = (isa.dot_f32(&w, &x), scalar::dot_f32(&w, &x));
                let exact: f64 = w
                    .iter()
                    .zip(&x)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum();
                assert!(close(got, want, scale, 1e-5), "{isa:?} f32 {got} {want}");
                assert!(
                    close(got, exact as f32, scale, 1e-5),
                    "{isa:?} f32 {got} {exact}"
                );
            }
        }
    }
}

const FORMATS: [GgmlDType; 7] = [
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q8_0,
    GgmlDType::Q4K,
    GgmlDType::Q5K,
    GgmlDType::Q6K,
    GgmlDType::F16,
];

/// A random `[rows, cols]` matrix quantized by candle, with candle's dequantization of it.
fn quantized(rng: &mut Pcg64, dtype: GgmlDType, rows: usize, cols: usize) -> (QTensor, Vec<f32>) {
    let w = Tensor::from_vec(random_row(rng, rows * cols), (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&w, dtype).unwrap();
    let reference = q
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    (q, reference)
}

#[test]
fn decoded_rows_match_an_independent_dequantizer() {
    let mut rng = rng();
    let (rows, cols) = (6, 512);
    for dtype in FORMATS {
        let (q, reference) = quantized(&mut rng, dtype, rows, cols);
        let m = QMatrix::from_qtensor(&q, "w").unwrap();
        assert_eq!((m.rows(), m.cols()), (rows, cols));
        let mut row = vec![0f32; cols];
        for r in 0..rows {
            m.row(r, &mut row);
            for (c, (&got, &want)) in row.iter().zip(&reference[r * cols..]).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{dtype:?} [{r}, {c}]: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn weights_stay_quantized() {
    let mut rng = rng();
    for (dtype, per_weight) in [
        (GgmlDType::Q4_0, 20.0 / 32.0),
        (GgmlDType::Q4_1, 20.0 / 32.0),
        (GgmlDType::Q8_0, 34.0 / 32.0),
        (GgmlDType::Q4K, 144.0 / 256.0),
        (GgmlDType::Q5K, 176.0 / 256.0),
        (GgmlDType::Q6K, 210.0 / 256.0),
    ] {
        // (Eight rows: the 4-bit forms keep their `m` factors in groups of eight rows.)
        let (q, _) = quantized(&mut rng, dtype, 8, 256);
        let m = QMatrix::from_qtensor(&q, "w").unwrap();
        assert_eq!(m.bytes() as f64, per_weight * 2048.0, "{dtype:?}");
        // At most 1.5× the file's bytes.
        assert!(
            m.bytes() as f64 <= 1.5 * q.storage_size_in_bytes() as f64,
            "{dtype:?}"
        );
    }
}

/// `x · Wᵀ` in f64 from the decoded weights, with the activations the kernels see (8-bit
/// quantized for 4- and 8-bit weights; for 4-bit weights, the `m` term uses the activation
/// sums as stored, rounded as llama.cpp rounds them, not the sums of the quantized values).
fn reference_matmul(m: &QMatrix, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (rows, cols) = (m.rows(), m.cols());
    let (y, scale) = decoded_matmul(m, x);
    let Data::Q4(b) = &m.data else {
        return (y, scale);
    };
    let a = Q8Activations::quantize(x);
    let per = cols / QK;
    let y = y
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let (t, r) = (i / rows, i % rows);
            let stored_minus_exact: f64 = (0..per)
                .map(|j| {
                    let k = t * per + j;
                    let exact =
                        f64::from(a.d[k]) * a.qs[k].iter().map(|&q| f64::from(q)).sum::<f64>();
                    f64::from(b.m_at(r, j).to_f32()) * (f64::from(a.s[k]) - exact)
                })
                .sum();
            (f64::from(y) + stored_minus_exact) as f32
        })
        .collect();
    (y, scale)
}

/// `x · Wᵀ` in f64 from the decoded weights and the activations the kernels see.
fn decoded_matmul(m: &QMatrix, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (rows, cols) = (m.rows(), m.cols());
    let seen: Vec<f32> = match m.data {
        Data::Q4(_) | Data::Q8(_) => {
            let a = Q8Activations::quantize(x);
            a.qs.iter()
                .zip(&a.d)
                .flat_map(|(q, d)| q.iter().map(move |&q| d * f32::from(q)))
                .collect()
        }
        _ => x.to_vec(),
    };
    let mut w = vec![0f32; cols];
    let (mut y, mut scale) = (Vec::new(), Vec::new());
    for xr in seen.chunks_exact(cols) {
        for r in 0..rows {
            m.row(r, &mut w);
            y.push(
                w.iter()
                    .zip(xr)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum::<f64>() as f32,
            );
            scale.push(w.iter().zip(xr).map(|(w, x)| (w * x).abs()).sum());
        }
    }
    (y, scale)
}

#[test]
fn batched_products_match_the_reference_and_single_rows() {
    let mut rng = rng();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let (rows, cols) = (37, 512);
    for (dtype, n) in FORMATS.into_iter().flat_map(|d| [(d, 5), (d, 37)]) {
        let (q, _) = quantized(&mut rng, dtype, rows, cols);
        let m = QMatrix::from_qtensor(&q, "w").unwrap();
        let x = random_row(&mut rng, n * cols);
        let (want, scale) = reference_matmul(&m, &x);
        for isa in isas() {
            let got = pool.install(|| m.matmul(isa, &x));
            assert_eq!(got.len(), n * rows);
            for (i, ((&g, &w), &s)) in got.iter().zip(&want).zip(&scale).enumerate() {
                assert!(
                    close(g, w, s, 1e-5),
                    "{dtype:?} {isa:?} [{}, {}]: {g} vs {w}",
                    i / rows,
                    i % rows
                );
            }
            // Batched = unbatched, bit for bit: a token's outputs do not depend on the others.
            // (37 tokens: tiles of four, a tile boundary, and the rest one by one.)
            for j in 0..n {
                let alone = m.matmul(isa, &x[j * cols..(j + 1) * cols]);
                assert_eq!(
                    alone,
                    got[j * rows..(j + 1) * rows],
                    "{dtype:?} {isa:?} token {j}"
                );
            }
        }
    }
}

#[test]
fn stacked_matrices_compute_their_parts() {
    let mut rng = rng();
    let isa = Kernels::detect().isa().unwrap();
    let cols = 256;
    let parts: Vec<(QTensor, usize)> = [9usize, 3, 4]
        .into_iter()
        .map(|rows| (quantized(&mut rng, GgmlDType::Q4_1, rows, cols).0, rows))
        .collect();
    let x = random_row(&mut rng, 2 * cols);
    let separate: Vec<Vec<f32>> = parts
        .iter()
        .map(|(q, _)| QMatrix::from_qtensor(q, "w").unwrap().matmul(isa, &x))
        .collect();
    let stacked = QMatrix::stack(
        parts
            .iter()
            .map(|(q, _)| QMatrix::from_qtensor(q, "w").unwrap())
            .collect(),
    )
    .unwrap_or_else(|_| panic!("same form"));
    assert_eq!(stacked.rows(), 16);
    let y = stacked.matmul(isa, &x);
    for j in 0..2 {
        let joined: Vec<f32> = separate
            .iter()
            .zip(&parts)
            .flat_map(|(s, (_, rows))| s[j * rows..(j + 1) * rows].to_vec())
            .collect();
        assert_eq!(y[j * 16..(j + 1) * 16], joined[..]);
    }
    // Different forms do not stack.
    let mixed = vec![
        QMatrix::from_qtensor(&parts[0].0, "a").unwrap(),
        QMatrix::from_qtensor(&quantized(&mut rng, GgmlDType::Q8_0, 2, cols).0, "b").unwrap(),
    ];
    assert_eq!(QMatrix::stack(mixed).err().map(|p| p.len()), Some(2));
}

/// The AVX2 quantizer performs the portable one's operations: equal results.
#[test]
#[cfg(target_arch = "x86_64")]
fn the_simd_quantizer_equals_the_portable_one() {
    let Some(Isa::Avx2(k)) = Kernels::Avx2.isa() else {
        return assert_eq!(Kernels::detect(), Kernels::Portable);
    };
    let mut rng = rng();
    let mut x = random_row(&mut rng, 64 * 32);
    // A zero block, a ramp, and a block of one value.
    x[..32].fill(0.0);
    for (i, v) in x[32..64].iter_mut().enumerate() {
        *v = (i as f32 - 16.0) * 0.5;
    }
    x[64..96].fill(-3.0);
    let (want, got) = (Q8Activations::quantize(&x), k.quantize(&x));
    assert_eq!((got.d, got.s, got.qs), (want.d, want.s, want.qs));
}

/// The VNNI kernels compute the same integers and then the same float operations as the AVX2
/// ones: equal results, bit for bit.
#[test]
#[cfg(target_arch = "x86_64")]
fn vnni_products_equal_the_avx2_ones() {
    let (Some(avx2), Some(vnni)) = (Kernels::Avx2.isa(), Kernels::Avx512Vnni.isa()) else {
        return assert_ne!(Kernels::detect(), Kernels::Avx512Vnni);
    };
    let mut rng = rng();
    for dtype in [GgmlDType::Q4_0, GgmlDType::Q4_1, GgmlDType::Q8_0] {
        let (q, _) = quantized(&mut rng, dtype, 23, 576);
        let m = QMatrix::from_qtensor(&q, "w").unwrap();
        for n in [1, 3, 4, 9] {
            let x = random_row(&mut rng, n * 576);
            assert_eq!(
                m.matmul(avx2, &x),
                m.matmul(vnni, &x),
                "{dtype:?} {n} tokens"
            );
        }
    }
}
