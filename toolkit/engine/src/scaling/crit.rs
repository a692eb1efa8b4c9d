//! Critical compute (DBA section 3.3): where a fitted diffusion law overtakes a fitted AR law.
//!
//! Each family is evaluated at its loss-minimising N for compute C with D = C/(6N);
//! Delta L(C, U) = L_diffusion - L_AR, and C_crit(U) solves Delta L = 0. U is always in tokens.

use super::law::LawParams;
use crate::flops::tokens_for;
pub use dclab_types::crit::{CritReport, CritRow, CrossoverStatus, OptimalPoint, PowerLaw};
use ndarray::{Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// DBA's published critical-compute line C_crit(U) = 2.12 * 10^1.956 * U^2.174 FLOPs (U in tokens).
///
/// ```
/// let c = dclab::scaling::crit::dba_c_crit(25e6);
/// assert!((c / 2.32e18 - 1.0).abs() < 0.01);
/// ```
pub fn dba_c_crit(u_tokens: f64) -> f64 {
    2.12 * 10f64.powf(1.956) * u_tokens.powf(2.174)
}

/// U below this many tokens is probably a value in millions by mistake.
pub const SUSPICIOUS_U: f64 = 1e5;

/// A warning when U looks like it is in millions of tokens rather than tokens.
pub fn unit_warning(u: f64) -> Option<String> {
    (u < SUSPICIOUS_U).then(|| {
        format!("U = {u} is below 1e5 tokens: U must be in raw tokens; if this is in millions, pass {:e}", u * 1e6)
    })
}

/// Minimises L(N, C/(6N), U) over N (log-spaced scan then golden-section refinement).
pub fn best_at_compute(law: &LawParams, c: f64, u: f64) -> OptimalPoint {
    let f = |ln_n: f64| {
        let n = ln_n.exp();
        law.loss(n, tokens_for(c, n), u)
    };
    let lo = 1e3f64.ln();
    let hi = tokens_for(c, 1e3).ln().max(lo + 1.0);
    let k = 160;
    let xs: Vec<f64> = (0..=k).map(|i| lo + (hi - lo) * i as f64 / k as f64).collect();
    let (ib, _) = xs
        .iter()
        .map(|&x| f(x))
        .enumerate()
        .fold((0, f64::INFINITY), |b, (i, v)| if v < b.1 { (i, v) } else { b });
    let (mut a, mut b) = (xs[ib.saturating_sub(1)], xs[(ib + 1).min(k)]);
    let gr = (5f64.sqrt() - 1.0) / 2.0;
    let (mut x1, mut x2) = (b - gr * (b - a), a + gr * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..100 {
        if b - a < 1e-10 {
            break;
        }
        if f1 < f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - gr * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + gr * (b - a);
            f2 = f(x2);
        }
    }
    let ln_n = 0.5 * (a + b);
    let n = ln_n.exp();
    OptimalPoint { n, d: tokens_for(c, n), loss: f(ln_n) }
}

/// Delta L(C, U) = L_diffusion - L_AR, each at its loss-minimising N.
pub fn delta_loss(ar: &LawParams, diffusion: &LawParams, c: f64, u: f64) -> f64 {
    best_at_compute(diffusion, c, u).loss - best_at_compute(ar, c, u).loss
}

/// Delta L over a grid: rows are U values, columns compute values (the heatmap's data).
pub fn delta_loss_grid(
    ar: &LawParams, diffusion: &LawParams, c: &Array1<f64>, u: &Array1<f64>,
) -> Array2<f64> {
    let cells: Vec<f64> = (0..u.len() * c.len())
        .into_par_iter()
        .map(|k| delta_loss(ar, diffusion, c[k % c.len()], u[k / c.len()]))
        .collect();
    Array2::from_shape_vec((u.len(), c.len()), cells).expect("grid shape")
}

/// Range of compute searched for C_crit.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct CritOptions {
    /// Smallest compute (FLOPs).
    pub c_min: f64,
    /// Largest compute (FLOPs).
    pub c_max: f64,
}

impl Default for CritOptions {
    fn default() -> Self {
        CritOptions { c_min: 1e12, c_max: 1e28 }
    }
}

/// C_crit(U): the first compute where Delta L turns from positive to non-positive (bisection on
/// log C after a log-spaced scan), with the status when there is no crossover in range.
pub fn c_crit(
    ar: &LawParams, diffusion: &LawParams, u: f64, opts: &CritOptions,
) -> (Option<f64>, CrossoverStatus) {
    let (l0, l1) = (opts.c_min.ln(), opts.c_max.ln());
    let k = 200;
    let g = |lc: f64| delta_loss(ar, diffusion, lc.exp(), u);
    let mut prev = (l0, g(l0));
    if prev.1 <= 0.0 {
        return (None, CrossoverStatus::DiffusionAlwaysBetter);
    }
    for i in 1..=k {
        let x = l0 + (l1 - l0) * i as f64 / k as f64;
        let v = g(x);
        if v <= 0.0 {
            let (mut a, mut b) = (prev.0, x);
            for _ in 0..200 {
                if b - a < 1e-12 {
                    break;
                }
                let m = 0.5 * (a + b);
                if g(m) > 0.0 { a = m } else { b = m }
            }
            return (Some((0.5 * (a + b)).exp()), CrossoverStatus::Crossover);
        }
        prev = (x, v);
    }
    (None, CrossoverStatus::ArAlwaysBetter)
}

/// Least-squares fit of log10 C on log10 U; `None` with fewer than two distinct points.
pub fn fit_power_law(u: &[f64], c: &[f64]) -> Option<PowerLaw> {
    let pts: Vec<(f64, f64)> = u
        .iter()
        .zip(c)
        .filter(|(u, c)| **u > 0.0 && **c > 0.0)
        .map(|(u, c)| (u.log10(), c.log10()))
        .collect();
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let (mx, my) =
        (pts.iter().map(|p| p.0).sum::<f64>() / n, pts.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let exponent = sxy / sxx;
    let log_coef = my - exponent * mx;
    Some(PowerLaw {
        coef: 10f64.powf(log_coef),
        exponent,
        log10_u_slope: 1.0 / exponent,
        log10_u_intercept: -log_coef / exponent,
    })
}

/// Computes C_crit for every U: the library's one-call critical-compute analysis.
///
/// ```
/// use dclab::scaling::{crit::{critical_compute, CritOptions}, law::LawParams};
/// let ar = LawParams::SDC_C4;
/// let diffusion = LawParams { e: ar.e - 0.05, a: ar.a + 0.3, b: ar.b + 0.3, r_d_star: 500.0, ..ar };
/// let rep = critical_compute(&ar, &diffusion, &[1e8, 1e9], &CritOptions::default());
/// assert_eq!(rep.rows.len(), 2);
/// ```
pub fn critical_compute(
    ar: &LawParams, diffusion: &LawParams, unique_tokens: &[f64], opts: &CritOptions,
) -> CritReport {
    let rows: Vec<CritRow> = unique_tokens
        .par_iter()
        .map(|&u| {
            let (c, status) = c_crit(ar, diffusion, u, opts);
            CritRow {
                unique_tokens: u,
                c_crit: c,
                status,
                ar: c.map(|c| best_at_compute(ar, c, u)),
                diffusion: c.map(|c| best_at_compute(diffusion, c, u)),
                dba_c_crit: dba_c_crit(u),
            }
        })
        .collect();
    let (us, cs): (Vec<f64>, Vec<f64>) =
        rows.iter().filter_map(|r| r.c_crit.map(|c| (r.unique_tokens, c))).unzip();
    let dba_coef = 2.12 * 10f64.powf(1.956);
    CritReport {
        power_law: fit_power_law(&us, &cs),
        dba: PowerLaw {
            coef: dba_coef,
            exponent: 2.174,
            log10_u_slope: 1.0 / 2.174,
            log10_u_intercept: -dba_coef.log10() / 2.174,
        },
        warnings: unique_tokens.iter().filter_map(|&u| unit_warning(u)).collect(),
        rows,
    }
}
