//! `exp`, `expm1` and `ln` in f64 written without calls or branches, so that a loop over columns
//! of runs compiles to SIMD (libm's scalar calls stop the vectoriser).
//!
//! Each takes `FMA`: `true` evaluates the polynomials with fused multiply-adds, which is fast
//! only where the CPU has FMA (elsewhere `mul_add` is a slow library call); results of the two
//! variants may differ in the last bit.
//!
//! Accuracy is within 2 ulp of libm over the whole range (tested against `std`), except that
//! `exp` of anything below -708 (results under 3.3e-308) is flushed to zero. NaN propagates;
//! infinities follow libm.

const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
const LOG2E: f64 = std::f64::consts::LOG2_E;
// fdlibm's published digits of the split, kept as written (they round to the same f64).
#[allow(clippy::excessive_precision)]
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1; // ln 2 split so k * LN2_HI is exact
#[allow(clippy::excessive_precision)]
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const EXP_MAX: f64 = 709.782_712_893_384; // ln(f64::MAX)
const EXP_MIN: f64 = -708.0; // below: results under 3.3e-308, flushed to zero

/// a * b + c, fused when FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Splits x into k ln 2 + r with |r| <= ln2/2; returns (r, 2^(k-1)) for |x| within range.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let t = x * LOG2E + SHIFT;
    let kf = t - SHIFT;
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let two_km1 = f64::from_bits(((k + 1022) as u64) << 52);
    (r, two_km1)
}

/// 1/2!, 1/3!, ..., 1/13! (each factorial exact in f64, so one rounding each).
const fn inverse_factorials() -> [f64; 12] {
    let (mut c, mut fact, mut i) = ([0.0; 12], 1.0, 0);
    while i < 12 {
        fact *= (i + 2) as f64;
        c[i] = 1.0 / fact;
        i += 1;
    }
    c
}

/// 1/3, 1/5, ..., 1/23.
const fn odd_reciprocals() -> [f64; 11] {
    let (mut c, mut i) = ([0.0; 11], 0);
    while i < 11 {
        c[i] = 1.0 / (2 * i + 3) as f64;
        i += 1;
    }
    c
}

/// expm1(r) - r for |r| <= ln2/2: Taylor series to r^13 (truncation below 1e-17 relative).
#[inline(always)]
fn expm1_tail<const FMA: bool>(r: f64) -> f64 {
    const C: [f64; 12] = inverse_factorials();
    let mut p = C[11];
    for &c in C[..11].iter().rev() {
        p = madd::<FMA>(p, r, c);
    }
    p * r * r
}

/// e^x = 2^k (1 + q) as (q, 2^(k-1), x too big, x too small); out-of-range x is evaluated at 0.
#[inline(always)]
fn exp_parts<const FMA: bool>(x: f64) -> (f64, f64, bool, bool) {
    let (big, small) = (x > EXP_MAX, x < EXP_MIN);
    let (r, two_km1) = reduce(if big || small { 0.0 } else { x });
    (r + expm1_tail::<FMA>(r), two_km1, big, small)
}

/// e^x.
#[inline(always)]
pub fn exp<const FMA: bool>(x: f64) -> f64 {
    let (q, two_km1, big, small) = exp_parts::<FMA>(x);
    let y = (1.0 + q) * two_km1 * 2.0;
    if big {
        f64::INFINITY
    } else if small {
        0.0
    } else {
        y
    }
}

/// e^x - 1, accurate near zero.
#[inline(always)]
pub fn expm1<const FMA: bool>(x: f64) -> f64 {
    let (q, two_km1, big, small) = exp_parts::<FMA>(x);
    let two_k = two_km1 * 2.0;
    // 2^k (1 + q) - 1 = 2^k q + (2^k - 1); exact q when k = 0. Near the top 2^k alone
    // overflows, and the -1 is lost anyway.
    let y = if x > 700.0 { two_km1 * (2.0 * (1.0 + q)) } else { two_k * q + (two_k - 1.0) };
    if big {
        f64::INFINITY
    } else if small {
        -1.0
    } else {
        y
    }
}

/// Natural logarithm (NaN for negative input, -inf at zero).
#[inline(always)]
pub fn ln<const FMA: bool>(x: f64) -> f64 {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * 18_014_398_509_481_984.0 } else { x }; // 2^54 lifts subnormals
    let bits = xs.to_bits();
    let e_raw = ((bits >> 52) & 0x7ff) as i64 - 1023 - if sub { 54 } else { 0 };
    let m0 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let hi = m0 > SQRT2;
    let m = if hi { m0 * 0.5 } else { m0 };
    let e = f64::from_bits(SHIFT.to_bits().wrapping_add((e_raw + hi as i64) as u64)) - SHIFT;
    // ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: odd series to s^23.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    const C: [f64; 11] = odd_reciprocals();
    let mut p = C[10];
    for &c in C[..10].iter().rev() {
        p = madd::<FMA>(p, z, c);
    }
    let hfsq = 0.5 * f * f; // 2s + 2s z p rewritten so the exact f leads (fdlibm's form)
    let ln_m = f - (hfsq - s * (hfsq + 2.0 * z * p));
    let y = e * LN2_HI + (e * LN2_LO + ln_m);
    if x == f64::INFINITY {
        x
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x < 0.0 || x.is_nan() {
        f64::NAN
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        let scale = b.abs().max(f64::MIN_POSITIVE) * f64::EPSILON;
        (a - b).abs() / scale
    }

    fn sweep() -> Vec<f64> {
        let mut v = Vec::new();
        let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            v.push(-750.0 + 1470.0 * u);
            v.push((u - 0.5) * 2.0);
            v.push((u - 0.5) * 1e-6);
        }
        v
    }

    #[test]
    fn exp_and_expm1_match_libm_within_2_ulp() {
        exp_and_expm1::<false>();
        exp_and_expm1::<true>();
    }

    fn exp_and_expm1<const FMA: bool>() {
        let (exp, expm1) = (exp::<FMA>, expm1::<FMA>);
        for x in sweep() {
            let (a, b) = (exp(x), x.exp());
            if x >= EXP_MIN {
                assert!(ulps(a, b) <= 2.0, "exp({x}) = {a}, libm {b}");
            } else {
                assert!(a == 0.0 && b < 3.3e-308, "exp({x}) = {a}, libm {b}");
            }
            let (a, b) = (expm1(x), x.exp_m1());
            assert!(ulps(a, b) <= 2.0, "expm1({x}) = {a}, libm {b}");
        }
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(expm1(f64::NEG_INFINITY), -1.0);
        assert_eq!(expm1(-0.0), 0.0);
        assert!(exp(f64::NAN).is_nan() && expm1(f64::NAN).is_nan());
    }

    #[test]
    fn ln_matches_libm_within_2_ulp() {
        ln_variant::<false>();
        ln_variant::<true>();
    }

    fn ln_variant<const FMA: bool>() {
        let ln = ln::<FMA>;
        for x in sweep() {
            let x = x.abs() * 1e3 + 1e-300;
            for v in [x, 1.0 + x * 1e-9, 1.0 / x, x * 1e300, 1e-310 * x] {
                let (a, b) = (ln(v), v.ln());
                assert!(ulps(a, b) <= 2.0, "ln({v}) = {a}, libm {b}");
            }
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f64::NAN).is_nan());
    }
}
