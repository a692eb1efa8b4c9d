//! How sure a fit is: goodness of fit (R^2, Huber objective, RMSE of log loss, residuals),
//! bootstrap percentile intervals over runs, and profiles of the objective over R_D* and R_N*
//! with the flatness around the minimum.

use super::fit::{
    FitMode, FitOptions, FitOutcome, Stage1, Starts, fit_law_from, multi_start, param_map,
};
use super::huber::{
    ALPHA, BETA, Form, LN_RD, LN_RN, Reduction, THETA_NAMES, Theta, huber, log_runs,
    theta_from_params,
};
use super::law::LawParams;
use super::runs::Runs;
use anyhow::{Result, bail};
pub use dclab_types::fit::{Bootstrap, FlatRegion, Goodness, Residual};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// R^2, summed Huber objective (threshold `delta`), RMSE of log loss and residuals at `p`.
pub fn goodness(runs: &Runs, p: &LawParams, delta: f64) -> Goodness {
    let n = runs.len();
    let residuals: Vec<Residual> = (0..n)
        .map(|i| {
            let predicted = p.loss(runs.params[i], runs.tokens[i], runs.unique_tokens[i]);
            Residual {
                params: runs.params[i],
                tokens: runs.tokens[i],
                unique_tokens: runs.unique_tokens[i],
                val_loss: runs.val_loss[i],
                predicted,
                log_residual: predicted.ln() - runs.val_loss[i].ln(),
            }
        })
        .collect();
    let mean = runs.val_loss.iter().sum::<f64>() / n as f64;
    let ss_tot: f64 = runs.val_loss.iter().map(|y| (y - mean).powi(2)).sum();
    let ss_res: f64 = residuals.iter().map(|r| (r.predicted - r.val_loss).powi(2)).sum();
    Goodness {
        n_runs: n,
        r2: 1.0 - ss_res / ss_tot,
        huber_objective: residuals.iter().map(|r| huber(r.log_residual, delta)).sum(),
        rmse_log: (residuals.iter().map(|r| r.log_residual.powi(2)).sum::<f64>() / n as f64).sqrt(),
        residuals,
    }
}

/// Names of the reported constants and their values in a parameter set.
pub fn named_values(p: &LawParams) -> Vec<(&'static str, f64)> {
    vec![
        ("E", p.big_e()),
        ("A", p.big_a()),
        ("B", p.big_b()),
        ("a", p.a),
        ("b", p.b),
        ("e", p.e),
        ("alpha", p.alpha),
        ("beta", p.beta),
        ("R_D_star", p.r_d_star),
        ("R_N_star", p.r_n_star),
    ]
}

/// Which reported names vary in a fit with these options (fixed constants are left out).
fn fitted_names(opts: &FitOptions) -> Result<Vec<&'static str>> {
    let fixed = crate::scaling::fit::fixed_theta(opts)?;
    let mut theta_free: Vec<usize> = vec![LN_RD, LN_RN];
    if opts.stage1 == Stage1::Fit || opts.mode == FitMode::Joint {
        theta_free.extend([0, 1, 2, ALPHA, BETA]);
    }
    theta_free.retain(|k| !fixed.iter().any(|(f, _)| f == k));
    if opts.alpha_eq_beta && theta_free.contains(&ALPHA) && !theta_free.contains(&BETA) {
        theta_free.push(BETA);
    }
    let upper = |k: usize| match k {
        0 => vec!["a", "A"],
        1 => vec!["b", "B"],
        2 => vec!["e", "E"],
        _ => vec![THETA_NAMES[k]],
    };
    Ok(theta_free.into_iter().flat_map(upper).collect())
}

/// Linear-interpolation quantile of sorted data (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Starts for a refit near a known fit: its stage-1 constants, and its R pair with the other
/// minima it found and a spread of 3x around it (the objective has several minima in R_D*).
pub fn refit_starts(best: &FitOutcome) -> Starts {
    let p = best.params;
    let mut stage2 = vec![(p.r_d_star, p.r_n_star)];
    for f in [1.0 / 3.0, 3.0] {
        stage2.push((p.r_d_star * f, p.r_n_star));
        stage2.push((p.r_d_star, p.r_n_star * f));
    }
    if let Some(s) = best.stages.iter().find(|s| s.name == "stage2") {
        for m in s.minima.iter().skip(1).take(2) {
            stage2.push((m.params.r_d_star, m.params.r_n_star));
        }
    }
    let t = theta_from_params(&p);
    let mut stage1 = vec![t];
    if let Some(s) = best.stages.iter().find(|s| s.name == "stage1") {
        stage1.extend(s.minima.iter().skip(1).take(1).map(|m| theta_from_params(&m.params)));
    }
    Starts { stage1, stage2 }
}

/// Bootstrap over runs: `n` resamples with replacement, each refitted with the same protocol
/// from [`refit_starts`]; percentile intervals at `level` for every fitted constant.
pub fn bootstrap(
    runs: &Runs, opts: &FitOptions, best: &FitOutcome, n: usize, seed: u64, level: f64,
) -> Result<Bootstrap> {
    if !(level > 0.0 && level < 1.0) {
        bail!("interval level must be in (0, 1), got {level}");
    }
    let names = fitted_names(opts)?;
    let starts = refit_starts(best);
    let m = runs.len();
    let fits: Vec<Option<LawParams>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64),
            );
            let idx: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
            fit_law_from(&runs.select(&idx), opts, &starts).ok().map(|f| f.params)
        })
        .collect();
    let ok: Vec<LawParams> = fits.iter().flatten().copied().collect();
    let mut out = Bootstrap { n, n_failed: n - ok.len(), level, ..Default::default() };
    for name in names {
        let mut v: Vec<f64> = ok
            .iter()
            .map(|p| {
                named_values(p)
                    .into_iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v)
                    .unwrap_or(f64::NAN)
            })
            .filter(|v| v.is_finite())
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let tail = (1.0 - level) / 2.0;
        out.ci.insert(name.to_string(), [quantile(&v, tail), quantile(&v, 1.0 - tail)]);
        out.median.insert(name.to_string(), quantile(&v, 0.5));
    }
    Ok(out)
}

/// Which decay constant a profile runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Profiled {
    /// R_D*.
    RDStar,
    /// R_N*.
    RNStar,
}

/// Profile grid around `best`: wide log-spaced values plus dense points near the optimum.
pub fn profile_grid(best: f64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..25).map(|i| 10f64.powf(-0.5 + 4.5 * i as f64 / 24.0)).collect();
    v.extend((0..31).map(|i| best * 10f64.powf(-0.3 + 0.02 * i as f64)));
    v.extend(
        (1..=5).flat_map(|k| [best * (1.0 - 0.01 * k as f64), best * (1.0 + 0.01 * k as f64)]),
    );
    v.push(best);
    v.retain(|x| x.is_finite() && *x > 0.0);
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a / *b - 1.0).abs() < 1e-9);
    v
}

/// Objective minimised over the other free constants with one decay constant held at each
/// value: `[[value, objective], ...]` (two-stage: stage 1 stays fixed; joint: all others free).
pub fn profile(
    runs: &Runs, opts: &FitOptions, best: &FitOutcome, which: Profiled, values: &[f64],
) -> Result<Vec<[f64; 2]>> {
    let data = log_runs(runs);
    let mut fixed = crate::scaling::fit::fixed_theta(opts)?;
    let (k, other) = match which {
        Profiled::RDStar => (LN_RD, LN_RN),
        Profiled::RNStar => (LN_RN, LN_RD),
    };
    let mut candidates = vec![LN_RD, LN_RN];
    if opts.mode == FitMode::Joint {
        candidates.extend([0, 1, 2, ALPHA, BETA]);
    }
    fixed.retain(|(f, _)| *f != k);
    let best_t: Theta = theta_from_params(&best.params);
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        let mut fx = fixed.clone();
        fx.push((k, v.ln()));
        let map = param_map(&candidates, best_t, &fx, opts.alpha_eq_beta, opts.natural_r());
        let mut starts: Vec<Theta> = [1.0, 5.0, 20.0, 100.0, 1000.0]
            .iter()
            .map(|&o| {
                let mut t = map.base;
                t[other] = f64::ln(o);
                t
            })
            .collect();
        starts.push(map.base);
        let ms = multi_start(&data, Form::DataConstrained, &map, &starts, opts);
        out.push([v, ms.objective]);
    }
    Ok(out)
}

/// Flat regions of a profile around the point nearest `center` (the fitted value): the
/// contiguous values whose objective is within each tolerance of the objective there.
pub fn flatness(profile: &[[f64; 2]], center: f64, tols: &[f64]) -> Vec<FlatRegion> {
    let distance = |v: f64| (v / center).ln().abs();
    let Some((imin, _)) = profile
        .iter()
        .enumerate()
        .filter(|(_, p)| p[1].is_finite())
        .min_by(|a, b| distance(a.1[0]).total_cmp(&distance(b.1[0])))
    else {
        return Vec::new();
    };
    let fmin = profile[imin][1];
    tols.iter()
        .map(|&tol| {
            let within = |i: usize| profile[i][1] <= fmin + tol;
            let mut lo = imin;
            while lo > 0 && within(lo - 1) {
                lo -= 1;
            }
            let mut hi = imin;
            while hi + 1 < profile.len() && within(hi + 1) {
                hi += 1;
            }
            FlatRegion { tol, lo: profile[lo][0], hi: profile[hi][0] }
        })
        .collect()
}

/// Objective of the law at `p` on `runs`, matching the fit's reduction.
pub fn objective_at(runs: &Runs, p: &LawParams, delta: f64, reduction: Reduction) -> f64 {
    let g = goodness(runs, p, delta);
    match reduction {
        Reduction::Sum => g.huber_objective,
        Reduction::Mean => g.huber_objective / g.n_runs as f64,
    }
}
