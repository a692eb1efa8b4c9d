//! Vectorisable f32 maths for the fused CPU kernels: a branch-free exp (libm's `expf` is a
//! scalar call and was 12% of a CPU training step), sums with several accumulators, and
//! [`multiversion`], which compiles a loop for the widest vector unit the CPU has.

use std::mem::MaybeUninit;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75; // ln 2 split so n * LN2_HI is exact for |n| <= 128
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5 * 2^23: adding it rounds an f32 to the nearest integer, which then sits in the low bits.
const ROUNDER: f32 = 12_582_912.0;

/// e^x within 2e-7 relative for x in [-87, 88]; inputs outside are clamped (e^-87 ~ 1.6e-38).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // t = ROUNDER + n with n = round(x / ln 2): n sits in t's low mantissa bits, so 2^n is built
    // with integer adds and a shift (a float-to-int conversion would not vectorise).
    let t = x * LOG2E + ROUNDER;
    let n = t - ROUNDER;
    let two_n = f32::from_bits(t.to_bits().wrapping_sub(ROUNDER.to_bits()).wrapping_add(127) << 23);
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor to degree 7 on |r| <= ln2/2: truncation error below 1e-8 relative.
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    p * two_n
}

/// 1 / (1 + e^-x), the logistic sigmoid, through the same vectorisable exp.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Sum of a slice with eight accumulators, so the compiler can keep them in one vector register.
#[inline(always)]
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

/// Largest element (-inf for an empty slice), eight lanes at a time (see [`sum`]).
#[inline(always)]
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    acc.iter().chain(tail).fold(f32::NEG_INFINITY, |a, &x| if x > a { x } else { a })
}

/// Dot product with eight accumulators (see [`sum`]).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// n floats written in parallel, chunk i (`chunk` elements, the last one shorter) by
/// `fill(i, chunk)`, which also returns that chunk's result; the chunks are fresh memory,
/// written once: zeroing outputs first (`vec![0.0; n]`) cost 3% of a `10m` training step.
///
/// # Safety
/// `fill` must write every element of each chunk it is given.
pub unsafe fn par_written<R: Send>(
    n: usize, chunk: usize, fill: impl Fn(usize, &mut [MaybeUninit<f32>]) -> R + Sync,
) -> (Vec<f32>, Vec<R>) {
    use rayon::prelude::*;
    let mut v = Vec::with_capacity(n);
    let results = v.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .map(|(i, c)| fill(i, c))
        .collect();
    // SAFETY: the caller's `fill` wrote every chunk of the n elements.
    unsafe { v.set_len(n) };
    (v, results)
}

/// Defines a function whose body is compiled for AVX-512, for AVX2 and for the baseline, the
/// variant chosen at run time. No FMA is enabled, so every variant rounds alike and results do
/// not depend on the machine.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            // The variants take exactly the outer function's arguments: any lint on their number
            // is the outer function's to answer.
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features `avx512` is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_2e7_of_libm() {
        let mut worst = 0.0f64;
        for i in 0..=1_750_000 {
            let x = -87.0 + i as f32 * 1e-4;
            let want = (x as f64).exp();
            let rel = ((super::exp(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert_eq!(super::exp(0.0), 1.0);
        assert!(super::exp(-1e4) < 2e-38 && super::exp(-1e4) >= 0.0);
        assert!(super::exp(f32::NEG_INFINITY) < 2e-38);
    }

    #[test]
    fn sum_max_and_dot_match_naive() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        assert!((super::sum(&a) - a.iter().sum::<f32>()).abs() < 1e-4);
        assert_eq!(super::max(&a), 15.0);
        assert_eq!(super::max(&a[..3]), -2.0);
        assert_eq!(super::max(&[]), f32::NEG_INFINITY);
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((super::dot(&a, &b) - naive).abs() < 1e-3);
        for n in [0, 1, 100_003] {
            // SAFETY: every element of each chunk is written.
            let (v, firsts) = unsafe {
                super::par_written(n, 1000, |i, c| {
                    c.iter_mut()
                        .enumerate()
                        .for_each(|(j, x)| *x = std::mem::MaybeUninit::new((i * 1000 + j) as f32));
                    i * 1000
                })
            };
            assert!(v.iter().enumerate().all(|(j, &x)| x == j as f32));
            assert_eq!(firsts, (0..n.div_ceil(1000)).map(|i| i * 1000).collect::<Vec<_>>());
        }
    }
}
