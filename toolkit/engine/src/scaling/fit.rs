//! Fitting the law: L-BFGS (argmin) from a multi-start grid, the two-stage protocol of SDC
//! (stage 1: Chinchilla terms on few-epoch runs; stage 2: R_D*, R_N*) and a joint mode.

use super::constants::theta_entry;
use super::huber::{
    ALPHA, BETA, FastObjective, Form, HuberProblem, LN_RD, LN_RN, LogRun, N_THETA, ParamMap, Point,
    THETA_NAMES, Theta, log_runs, objective_full, params_from_theta, theta_from_params,
};
use super::law::LawParams;
use super::runs::Runs;
use super::stage2::Stage2Kernel;
use anyhow::{Result, bail};
use argmin::core::{Executor, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
pub use dclab_types::fit::{FitMode, FitOptions, GridKind, Minimum, Stage1, StageReport};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A fit's fixed entries as (theta index, theta value), validated.
pub fn fixed_theta(opts: &FitOptions) -> Result<Vec<(usize, f64)>> {
    opts.fixed.iter().map(|(k, v)| theta_entry(k, *v)).collect()
}

/// Result of [`fit_law`]: the best constants and how they were found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitOutcome {
    /// Best constants.
    pub params: LawParams,
    /// Objective of the data-constrained law on all runs at `params`.
    pub objective: f64,
    /// Runs fitted.
    pub n_runs: usize,
    /// Starts over all stages.
    pub starts: usize,
    /// Failed or NaN starts over all stages.
    pub starts_failed: usize,
    /// Per-stage details.
    pub stages: Vec<StageReport>,
}

/// Result of one multi-start run, in theta.
#[derive(Clone, Debug)]
pub struct MultiStart {
    /// Best theta (fixed entries included).
    pub theta: Theta,
    /// Best objective.
    pub objective: f64,
    /// Starts tried.
    pub starts: usize,
    /// Starts that failed.
    pub failed: usize,
    /// All successful end points (theta, objective), best first.
    pub ends: Vec<(Theta, f64)>,
    /// Objective evaluations over all starts.
    pub evaluations: u64,
}

/// Minimises the objective from one start: the minimum (`None` when the objective is not
/// finite at the start) and the number of objective evaluations it took, the start's included.
pub fn local_min(
    problem: HuberProblem<'_>, x0: Vec<f64>, tol_grad: f64, tol_cost: f64, max_iters: u64,
    memory: usize,
) -> (Option<Point>, u64) {
    let evals = problem.evaluations();
    let out = minimise(problem, x0, tol_grad, tol_cost, max_iters, memory);
    (out, evals.get())
}

fn minimise(
    problem: HuberProblem<'_>, x0: Vec<f64>, tol_grad: f64, tol_cost: f64, max_iters: u64,
    memory: usize,
) -> Option<Point> {
    let (f0, g0) = problem.eval(&x0);
    if !f0.is_finite() || g0.iter().any(|g| !g.is_finite()) {
        return None;
    }
    if x0.is_empty() {
        return Some((x0, f0));
    }
    let best = problem.best_seen();
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), memory)
        .with_tolerance_grad(tol_grad)
        .ok()?
        .with_tolerance_cost(tol_cost)
        .ok()?;
    let run = Executor::new(problem, solver)
        .configure(|s| s.param(x0).max_iters(max_iters))
        .timer(false)
        .run();
    let mut out: Option<Point> = best.borrow().clone();
    if let Ok(res) = run {
        let st = res.state();
        if let Some(p) = st.get_best_param() {
            let c = st.get_best_cost();
            if c.is_finite() && out.as_ref().is_none_or(|(_, f)| c <= *f) {
                out = Some((p.clone(), c));
            }
        }
    }
    out
}

/// L-BFGS from every start (in parallel), keeping the best; NaN starts are counted as failed.
pub fn multi_start(
    data: &[LogRun], form: Form, map: &ParamMap, starts: &[Theta], opts: &FitOptions,
) -> MultiStart {
    let mut xs: Vec<Vec<f64>> = starts.iter().map(|s| map.reduce(s)).collect();
    xs.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    xs.dedup_by(|a, b| a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
    let (tg, tc) = opts.effective_tolerances(data.len());
    let kernel = Stage2Kernel::for_map(data, form, map);
    let (ends, counts): (Vec<Option<Point>>, Vec<u64>) = xs
        .par_iter()
        .map(|x0| {
            let p = HuberProblem::new(data, form, opts.delta, opts.reduction, map.clone())
                .with_fast(kernel.as_ref().map(|k| k as &dyn FastObjective));
            local_min(p, x0.clone(), tg, tc, opts.max_iters, opts.memory)
        })
        .unzip();
    let failed = ends.iter().filter(|e| e.is_none()).count();
    let mut ends: Vec<(Theta, f64)> =
        ends.into_iter().flatten().map(|(x, f)| (map.expand(&x), f)).collect();
    ends.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (theta, objective) = ends.first().cloned().unwrap_or((map.base, f64::NAN));
    MultiStart {
        theta,
        objective,
        starts: xs.len(),
        failed,
        ends,
        evaluations: counts.iter().sum(),
    }
}

/// Groups end points into distinct minima (free entries within 1e-3 relative), best first.
pub fn distinct_minima(ends: &[(Theta, f64)], free: &[usize], max: usize) -> Vec<Minimum> {
    let mut out: Vec<(Theta, f64, usize)> = Vec::new();
    for (t, f) in ends {
        let same = out.iter_mut().find(|(u, _, _)| {
            free.iter().all(|&k| (t[k] - u[k]).abs() <= 1e-3 * (1.0 + u[k].abs()))
        });
        match same {
            Some(m) => m.2 += 1,
            None => out.push((*t, *f, 1)),
        }
    }
    out.into_iter()
        .take(max)
        .map(|(t, f, c)| Minimum { objective: f, params: params_from_theta(&t), count: c })
        .collect()
}

/// Stage-1 start grid (Hoffmann et al.): a, b in {0,5,..,25}, e in {-1,..,1}, alpha, beta in {0,..,2}.
pub fn stage1_grid(_kind: GridKind) -> Vec<Theta> {
    let mut v = Vec::new();
    for a in (0..6).map(|i| 5.0 * i as f64) {
        for b in (0..6).map(|i| 5.0 * i as f64) {
            for e in (0..5).map(|i| -1.0 + 0.5 * i as f64) {
                for al in (0..5).map(|i| 0.5 * i as f64) {
                    for be in (0..5).map(|i| 0.5 * i as f64) {
                        v.push([a, b, e, al, be, f64::INFINITY, f64::INFINITY]);
                    }
                }
            }
        }
    }
    v
}

/// Stage-2 start values of R_D* and R_N* (natural units) for a grid kind.
pub fn stage2_values(kind: GridKind) -> Vec<f64> {
    match kind {
        GridKind::Sdc => vec![0.0, 20.0 / 3.0, 40.0 / 3.0, 20.0],
        GridKind::Wide => (0..19).map(|i| 10f64.powf(-0.5 + 0.25 * i as f64)).collect(),
    }
}

/// Stage-2 starts: `base` with every (R_D*, R_N*) pair of the grid.
pub fn stage2_grid(kind: GridKind, base: &Theta) -> Vec<Theta> {
    let vals = stage2_values(kind);
    let mut v = Vec::new();
    for &rd in &vals {
        for &rn in &vals {
            let mut t = *base;
            t[LN_RD] = rd.ln();
            t[LN_RN] = rn.ln();
            v.push(t);
        }
    }
    v
}

/// Builds the free/fixed layout for a set of candidate free entries.
pub fn param_map(
    candidates: &[usize], base: Theta, fixed: &[(usize, f64)], alpha_eq_beta: bool, natural_r: bool,
) -> ParamMap {
    let mut base = base;
    for &(k, v) in fixed {
        base[k] = v;
    }
    let is_fixed = |k: usize| fixed.iter().any(|&(f, _)| f == k);
    // With alpha = beta, beta follows alpha; if alpha is fixed, beta is fixed to it too.
    let tie = alpha_eq_beta && candidates.contains(&ALPHA) && !is_fixed(ALPHA);
    if alpha_eq_beta {
        base[BETA] = base[ALPHA];
    }
    let free = candidates
        .iter()
        .copied()
        .filter(|&k| !(is_fixed(k) || (alpha_eq_beta && k == BETA)))
        .collect();
    ParamMap { base, free, tie_beta: tie, natural_r }
}

fn names(free: &[usize]) -> Vec<String> {
    free.iter().map(|&k| THETA_NAMES[k].to_string()).collect()
}

fn stage_report(
    name: &str, form: Form, data: &[LogRun], map: &ParamMap, ms: &MultiStart,
) -> StageReport {
    StageReport {
        name: name.into(),
        form,
        n_runs: data.len(),
        free: names(&map.free),
        starts: ms.starts,
        starts_failed: ms.failed,
        evaluations: ms.evaluations,
        objective: ms.objective,
        minima: distinct_minima(&ms.ends, &map.free, 10),
    }
}

fn check_enough(n_runs: usize, n_free: usize, what: &str) -> Result<()> {
    if n_runs < n_free.max(1) {
        bail!(
            "{what}: {n_runs} runs for {n_free} free constants; need at least as many runs as free constants"
        );
    }
    Ok(())
}

/// Explicit starts for a fit, used by [`fit_law`] (grids) and by refits (bootstrap, profile).
#[derive(Clone, Debug)]
pub struct Starts {
    /// Stage-1 starts (Chinchilla constants; decay entries ignored).
    pub stage1: Vec<Theta>,
    /// Stage-2 (R_D*, R_N*) start pairs in natural units.
    pub stage2: Vec<(f64, f64)>,
}

impl Starts {
    /// The grids of a [`GridKind`].
    pub fn grid(kind: GridKind) -> Starts {
        let vals = stage2_values(kind);
        let stage2 = vals.iter().flat_map(|&a| vals.iter().map(move |&b| (a, b))).collect();
        Starts { stage1: stage1_grid(kind), stage2 }
    }
}

/// Fits the law to runs with the options' protocol and grid: the library's one-call fit.
///
/// ```
/// use dclab::scaling::{fit::{fit_law, FitOptions, Stage1}, law::LawParams, runs::Runs};
/// let p = LawParams::SDC_C4;
/// let (mut n, mut d, mut u, mut l) = (vec![], vec![], vec![], vec![]);
/// for &ni in &[1e8, 3e8, 1e9] { for &ep in &[1.0, 4.0, 16.0, 60.0] { for &ui in &[1e9, 1e10] {
///     n.push(ni); d.push(ui * ep); u.push(ui); l.push(p.loss(ni, ui * ep, ui));
/// }}}
/// let runs = Runs::new(n, d, u, l).unwrap();
/// let opts = FitOptions { stage1: Stage1::Given(p), ..Default::default() };
/// let fit = fit_law(&runs, &opts).unwrap();
/// assert!((fit.params.r_d_star / p.r_d_star - 1.0).abs() < 1e-3);
/// ```
pub fn fit_law(runs: &Runs, opts: &FitOptions) -> Result<FitOutcome> {
    fit_law_from(runs, opts, &Starts::grid(opts.grid))
}

/// [`fit_law`] with explicit starts.
pub fn fit_law_from(runs: &Runs, opts: &FitOptions, starts: &Starts) -> Result<FitOutcome> {
    runs.validate()?;
    if opts.delta.is_nan() || opts.delta <= 0.0 {
        bail!("Huber delta must be > 0, got {}", opts.delta);
    }
    let fixed = crate::scaling::fit::fixed_theta(opts)?;
    let all = log_runs(runs);
    let mut stages = Vec::new();

    // Stage 1: Chinchilla constants.
    let theta1: Theta = match opts.stage1 {
        Stage1::Given(p) => {
            let mut t = theta_from_params(&p);
            for &(k, v) in &fixed {
                t[k] = v;
            }
            t
        }
        Stage1::Fit => {
            let r1 = runs.with_max_epochs(opts.max_epochs_stage1);
            let d1 = log_runs(&r1);
            let base = starts.stage1.first().copied().unwrap_or([0.0; N_THETA]);
            let map = param_map(&[0, 1, 2, ALPHA, BETA], base, &fixed, opts.alpha_eq_beta, false);
            check_enough(
                d1.len(),
                map.free.len(),
                &format!("stage 1 (runs of at most {} epochs)", opts.max_epochs_stage1),
            )?;
            let ms = multi_start(&d1, Form::Chinchilla, &map, &starts.stage1, opts);
            if !ms.objective.is_finite() {
                bail!("stage 1: every one of {} starts failed (objective not finite)", ms.starts);
            }
            stages.push(stage_report("stage1", Form::Chinchilla, &d1, &map, &ms));
            ms.theta
        }
    };

    // Stage 2: decay constants with stage 1 fixed.
    let mut base2 = theta1;
    base2[LN_RD] = 0.0;
    base2[LN_RN] = 0.0;
    let map2 = param_map(&[LN_RD, LN_RN], base2, &fixed, false, opts.natural_r());
    check_enough(all.len(), map2.free.len(), "stage 2")?;
    let grid2: Vec<Theta> = starts
        .stage2
        .iter()
        .map(|&(rd, rn)| {
            let mut t = base2;
            t[LN_RD] = rd.ln();
            t[LN_RN] = rn.ln();
            t
        })
        .collect();
    let ms2 = multi_start(&all, Form::DataConstrained, &map2, &grid2, opts);
    if !ms2.objective.is_finite() {
        bail!("stage 2: every one of {} starts failed (objective not finite)", ms2.starts);
    }
    stages.push(stage_report("stage2", Form::DataConstrained, &all, &map2, &ms2));
    let mut best = ms2.theta;

    if opts.mode == FitMode::Joint {
        let mapj = param_map(
            &[0, 1, 2, ALPHA, BETA, LN_RD, LN_RN],
            best,
            &fixed,
            opts.alpha_eq_beta,
            opts.natural_r(),
        );
        check_enough(all.len(), mapj.free.len(), "joint fit")?;
        let mut gridj: Vec<Theta> = vec![best];
        for m in stages.last().unwrap().minima.iter() {
            gridj.push(theta_from_params(&m.params));
        }
        gridj.extend(grid2.iter().map(|t| {
            let mut t = *t;
            t[..5].copy_from_slice(&best[..5]);
            t
        }));
        let msj = multi_start(&all, Form::DataConstrained, &mapj, &gridj, opts);
        if msj.objective.is_finite() && msj.objective <= ms2.objective {
            best = msj.theta;
        }
        stages.push(stage_report("joint", Form::DataConstrained, &all, &mapj, &msj));
    }

    let (objective, _) =
        objective_full(&best, &all, Form::DataConstrained, opts.delta, opts.reduction);
    Ok(FitOutcome {
        params: params_from_theta(&best),
        objective,
        n_runs: runs.len(),
        starts: stages.iter().map(|s| s.starts).sum(),
        starts_failed: stages.iter().map(|s| s.starts_failed).sum(),
        stages,
    })
}

/// Fits only the Chinchilla form (stage 1 alone) on the given runs, e.g. single-epoch data.
pub fn fit_chinchilla(runs: &Runs, opts: &FitOptions) -> Result<(LawParams, StageReport)> {
    runs.validate()?;
    let fixed = crate::scaling::fit::fixed_theta(opts)?;
    let d = log_runs(runs);
    let starts = stage1_grid(opts.grid);
    let map = param_map(&[0, 1, 2, ALPHA, BETA], starts[0], &fixed, opts.alpha_eq_beta, false);
    check_enough(d.len(), map.free.len(), "Chinchilla fit")?;
    let ms = multi_start(&d, Form::Chinchilla, &map, &starts, opts);
    if !ms.objective.is_finite() {
        bail!("Chinchilla fit: every one of {} starts failed", ms.starts);
    }
    let rep = stage_report("chinchilla", Form::Chinchilla, &d, &map, &ms);
    Ok((params_from_theta(&ms.theta).without_decay(), rep))
}
