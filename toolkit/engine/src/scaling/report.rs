//! The one-call fit with its uncertainty, as written to `fit.json`, and law evaluation.

use super::fit::{FitOptions, FitOutcome, fit_law};
use super::law::LawParams;
use super::runs::Runs;
use super::uncertainty::{
    Bootstrap, Goodness, Profiled, bootstrap, flatness, goodness, profile, profile_grid,
};
use anyhow::{Context, Result};
pub use dclab_types::fit::{FitReport, Flatness};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What to compute besides the best fit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportOptions {
    /// The fit itself.
    pub fit: FitOptions,
    /// Bootstrap replicates (0: no intervals).
    pub bootstrap: usize,
    /// Seed of the bootstrap resampling.
    pub seed: u64,
    /// Interval coverage.
    pub level: f64,
    /// Profile the objective over R_D* and R_N*.
    pub profile: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            fit: FitOptions::default(),
            bootstrap: 0,
            seed: 0,
            level: 0.95,
            profile: true,
        }
    }
}

/// Tolerances above the profile minimum at which flat regions are reported.
pub const FLAT_TOLS: [f64; 4] = [1e-7, 1e-6, 1e-5, 1e-4];

/// Fits, measures the fit and its uncertainty: the library call behind `dclab fit`.
pub fn fit_report(runs: &Runs, opts: &ReportOptions) -> Result<FitReport> {
    let fit: FitOutcome = fit_law(runs, &opts.fit)?;
    let g: Goodness = goodness(runs, &fit.params, opts.fit.delta);
    let boot = if opts.bootstrap > 0 {
        bootstrap(runs, &opts.fit, &fit, opts.bootstrap, opts.seed, opts.level)?
    } else {
        Bootstrap { level: opts.level, ..Default::default() }
    };
    let (mut prd, mut prn) = (Vec::new(), Vec::new());
    let mut flat = Flatness::default();
    if opts.profile {
        prd = profile(runs, &opts.fit, &fit, Profiled::RDStar, &profile_grid(fit.params.r_d_star))?;
        prn = profile(runs, &opts.fit, &fit, Profiled::RNStar, &profile_grid(fit.params.r_n_star))?;
        flat = Flatness {
            r_d_star: flatness(&prd, fit.params.r_d_star, &FLAT_TOLS),
            r_n_star: flatness(&prn, fit.params.r_n_star, &FLAT_TOLS),
        };
    }
    let p = fit.params;
    Ok(FitReport {
        big_e: p.big_e(),
        big_a: p.big_a(),
        big_b: p.big_b(),
        params: p,
        r2: g.r2,
        huber_objective: g.huber_objective,
        rmse_log: g.rmse_log,
        n_runs: runs.len(),
        starts: fit.starts,
        starts_failed: fit.starts_failed,
        ci: boot.ci.clone(),
        bootstrap: boot,
        profile_r_d_star: prd,
        profile_r_n_star: prn,
        flatness: flat,
        stages: fit.stages,
        residuals: g.residuals,
        options: opts.fit.clone(),
    })
}

/// Goodness of fit at given constants: the library call behind `dclab law eval`.
pub fn evaluate(runs: &Runs, params: &LawParams, delta: f64) -> Goodness {
    goodness(runs, params, delta)
}

/// Reads law constants from a fit.json (or any JSON with a, b, e, alpha, beta, R_D_star,
/// R_N_star) or parses a spec such as `sdc-c4` or `a=..,b=..`.
pub fn load_params(arg: &str) -> Result<LawParams> {
    let path = Path::new(arg);
    if path.is_file() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not a fit.json with a, b, e, alpha, beta, R_D_star, R_N_star",
                path.display()
            )
        })
    } else {
        super::constants::parse_params(arg)
            .with_context(|| format!("`{arg}` is neither a fit.json file nor law constants"))
    }
}
