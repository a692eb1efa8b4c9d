//! Fitting the law: L-BFGS (argmin) from a multi-start grid, the two-stage protocol of SDC
//! (stage 1: Chinchilla terms on few-epoch runs; stage 2: R_D*, R_N*) and a joint mode.

use super::law::LawParams;
use super::objective::{
    ALPHA, BETA, Form, HuberProblem, LN_RD, LN_RN, N_THETA, ParamMap, Prepared, Reduction, THETA_NAMES, Theta,
    objective_full, params_from_theta, prepare, theta_from_params,
};
use super::runs::Runs;
use super::stage2::Stage2Kernel;
use super::spec::theta_entry;
use anyhow::{Result, bail};
use argmin::core::{Executor, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which start grid the multi-start uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GridKind {
    /// SDC's grid: stage 2 R_D*, R_N* in {0, 6.67, 13.33, 20} (the zeros give NaN and are skipped).
    Sdc,
    /// A wide grid in log space: R_D*, R_N* in 10^{-0.5, -0.25, ..., 4}.
    Wide,
}

impl std::str::FromStr for GridKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sdc" => Ok(GridKind::Sdc),
            "wide" => Ok(GridKind::Wide),
            _ => bail!("unknown grid `{s}` (expected `wide` or `sdc`)"),
        }
    }
}

/// Where stage 1's Chinchilla constants come from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Stage1 {
    /// Fit them on the runs of at most `max_epochs_stage1` epochs.
    Fit,
    /// Take them as given (e.g. SDC's published constants) and fit stage 2 only.
    Given(LawParams),
}

/// Two-stage (SDC's protocol) or all constants at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FitMode {
    /// Stage 1 then stage 2 with stage 1 fixed.
    TwoStage,
    /// All free constants together on all runs, started from the two-stage optimum and the
    /// stage-2 grid.
    Joint,
}

/// Everything that controls a fit; `Default` is the CLI's default.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitOptions {
    /// Start grid.
    pub grid: GridKind,
    /// Two-stage or joint.
    pub mode: FitMode,
    /// Source of the stage-1 constants (two-stage mode).
    pub stage1: Stage1,
    /// Stage 1 uses runs with D/U at most this many epochs.
    pub max_epochs_stage1: f64,
    /// Huber threshold on log-loss residuals (SDC: 1e-3).
    pub delta: f64,
    /// Sum (default) or mean of the Huber terms.
    pub reduction: Reduction,
    /// With `Reduction::Mean`, divide the stopping tolerances by the number of runs so L-BFGS
    /// does not stop early (the Chinchilla-replication pitfall).
    pub tighten_for_mean: bool,
    /// Tie beta to alpha (SDC).
    pub alpha_eq_beta: bool,
    /// Constants held fixed, by name (a, b, e, E, A, B, alpha, beta, R_D_star, R_N_star).
    pub fixed: Vec<(String, f64)>,
    /// L-BFGS stops when the gradient norm falls below this.
    pub tol_grad: f64,
    /// L-BFGS stops when the objective changes by less than this.
    pub tol_cost: f64,
    /// L-BFGS iteration cap per start.
    pub max_iters: u64,
    /// L-BFGS history length.
    pub memory: usize,
    /// Optimise R_D*, R_N* in natural units (SDC) rather than log units; `None`: natural for
    /// the `sdc` grid, log for `wide`.
    pub natural_r: Option<bool>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            grid: GridKind::Wide,
            mode: FitMode::TwoStage,
            stage1: Stage1::Fit,
            max_epochs_stage1: 1.0,
            delta: 1e-3,
            reduction: Reduction::Sum,
            tighten_for_mean: true,
            alpha_eq_beta: false,
            fixed: Vec::new(),
            tol_grad: f64::EPSILON.sqrt(),
            tol_cost: f64::EPSILON,
            max_iters: 1000,
            memory: 10,
            natural_r: None,
        }
    }
}

impl FitOptions {
    /// Fixed entries as (theta index, theta value), validated.
    pub fn fixed_theta(&self) -> Result<Vec<(usize, f64)>> {
        self.fixed.iter().map(|(k, v)| theta_entry(k, *v)).collect()
    }

    /// Whether R_D*, R_N* are optimised in natural units.
    pub fn natural_r(&self) -> bool {
        self.natural_r.unwrap_or(self.grid == GridKind::Sdc)
    }

    /// (tol_grad, tol_cost) actually handed to L-BFGS for `n_runs` runs.
    pub fn effective_tolerances(&self, n_runs: usize) -> (f64, f64) {
        if self.reduction == Reduction::Mean && self.tighten_for_mean {
            let n = n_runs.max(1) as f64;
            (self.tol_grad / n, self.tol_cost / n)
        } else {
            (self.tol_grad, self.tol_cost)
        }
    }
}

/// A distinct local minimum reached by one or more starts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Minimum {
    /// Objective at the minimum.
    pub objective: f64,
    /// Constants at the minimum.
    pub params: LawParams,
    /// How many starts ended here.
    pub count: usize,
}

/// What one multi-start optimisation did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    /// "stage1", "stage2" or "joint".
    pub name: String,
    /// Law form fitted.
    pub form: Form,
    /// Runs used.
    pub n_runs: usize,
    /// Names of the free constants.
    pub free: Vec<String>,
    /// Starts tried (after removing duplicates).
    pub starts: usize,
    /// Starts skipped because the objective or gradient was not finite there, or that failed.
    pub starts_failed: usize,
    /// Objective evaluations over all starts (what a comparison with another optimiser counts).
    #[serde(default)]
    pub evaluations: u64,
    /// Best objective.
    pub objective: f64,
    /// Distinct minima, best first (at most 10).
    pub minima: Vec<Minimum>,
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
pub fn local_min(problem: HuberProblem<'_>, x0: Vec<f64>, tol_grad: f64, tol_cost: f64, max_iters: u64, memory: usize) -> (Option<(Vec<f64>, f64)>, u64) {
    let evals = problem.evaluations();
    let out = minimise(problem, x0, tol_grad, tol_cost, max_iters, memory);
    (out, evals.get())
}

fn minimise(problem: HuberProblem<'_>, x0: Vec<f64>, tol_grad: f64, tol_cost: f64, max_iters: u64, memory: usize) -> Option<(Vec<f64>, f64)> {
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
    let mut out: Option<(Vec<f64>, f64)> = best.borrow().clone();
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
pub fn multi_start(data: &[Prepared], form: Form, map: &ParamMap, starts: &[Theta], opts: &FitOptions) -> MultiStart {
    let mut xs: Vec<Vec<f64>> = starts.iter().map(|s| map.reduce(s)).collect();
    xs.sort_by(|a, b| a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal));
    xs.dedup_by(|a, b| a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
    let (tg, tc) = opts.effective_tolerances(data.len());
    let kernel = Stage2Kernel::for_map(data, form, map);
    let (ends, counts): (Vec<Option<(Vec<f64>, f64)>>, Vec<u64>) = xs
        .par_iter()
        .map(|x0| {
            let p = HuberProblem::new(data, form, opts.delta, opts.reduction, map.clone()).with_kernel(kernel.as_ref());
            local_min(p, x0.clone(), tg, tc, opts.max_iters, opts.memory)
        })
        .unzip();
    let failed = ends.iter().filter(|e| e.is_none()).count();
    let mut ends: Vec<(Theta, f64)> = ends.into_iter().flatten().map(|(x, f)| (map.expand(&x), f)).collect();
    ends.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (theta, objective) = ends.first().cloned().unwrap_or((map.base, f64::NAN));
    MultiStart { theta, objective, starts: xs.len(), failed, ends, evaluations: counts.iter().sum() }
}

/// Groups end points into distinct minima (free entries within 1e-3 relative), best first.
pub fn distinct_minima(ends: &[(Theta, f64)], free: &[usize], max: usize) -> Vec<Minimum> {
    let mut out: Vec<(Theta, f64, usize)> = Vec::new();
    for (t, f) in ends {
        let same = out.iter_mut().find(|(u, _, _)| free.iter().all(|&k| (t[k] - u[k]).abs() <= 1e-3 * (1.0 + u[k].abs())));
        match same {
            Some(m) => m.2 += 1,
            None => out.push((*t, *f, 1)),
        }
    }
    out.into_iter().take(max).map(|(t, f, c)| Minimum { objective: f, params: params_from_theta(&t), count: c }).collect()
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
pub fn param_map(candidates: &[usize], base: Theta, fixed: &[(usize, f64)], alpha_eq_beta: bool, natural_r: bool) -> ParamMap {
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
    let free = candidates.iter().copied().filter(|&k| !is_fixed(k) && !(alpha_eq_beta && k == BETA)).collect();
    ParamMap { base, free, tie_beta: tie, natural_r }
}

fn names(free: &[usize]) -> Vec<String> {
    free.iter().map(|&k| THETA_NAMES[k].to_string()).collect()
}

fn stage_report(name: &str, form: Form, data: &[Prepared], map: &ParamMap, ms: &MultiStart) -> StageReport {
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
        bail!("{what}: {n_runs} runs for {n_free} free constants; need at least as many runs as free constants");
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
    if !(opts.delta > 0.0) {
        bail!("Huber delta must be > 0, got {}", opts.delta);
    }
    let fixed = opts.fixed_theta()?;
    let all = prepare(runs);
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
            let d1 = prepare(&r1);
            let base = starts.stage1.first().copied().unwrap_or([0.0; N_THETA]);
            let map = param_map(&[0, 1, 2, ALPHA, BETA], base, &fixed, opts.alpha_eq_beta, false);
            check_enough(d1.len(), map.free.len(), &format!("stage 1 (runs of at most {} epochs)", opts.max_epochs_stage1))?;
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
        let mapj = param_map(&[0, 1, 2, ALPHA, BETA, LN_RD, LN_RN], best, &fixed, opts.alpha_eq_beta, opts.natural_r());
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

    let (objective, _) = objective_full(&best, &all, Form::DataConstrained, opts.delta, opts.reduction);
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
    let fixed = opts.fixed_theta()?;
    let d = prepare(runs);
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
