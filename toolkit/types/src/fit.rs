//! A fit of the law as `dclab fit` writes it (fit.json): options, per-stage minima, residuals,
//! bootstrap intervals, profiles; and the law's curves the notebooks draw.

use crate::law::LawParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which law the objective evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Form {
    /// E + A/N^alpha + B/D^beta: stage 1, on (near) single-epoch runs.
    Chinchilla,
    /// The data-constrained law with N', D'.
    DataConstrained,
}

/// How per-run Huber terms are combined. SUM is the default; MEAN needs tighter tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reduction {
    /// Sum over runs (SDC, Hoffmann et al.).
    Sum,
    /// Mean over runs: 1/n times the sum, which makes default stopping tolerances 1/n too loose.
    Mean,
}

/// Which start grid the multi-start uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GridKind {
    /// SDC's grid: stage 2 R_D*, R_N* in {0, 6.67, 13.33, 20} (the zeros give NaN and are skipped).
    Sdc,
    /// A wide grid in log space: R_D*, R_N* in 10^{-0.5, -0.25, ..., 4}.
    Wide,
}

impl std::str::FromStr for GridKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sdc" => Ok(GridKind::Sdc),
            "wide" => Ok(GridKind::Wide),
            _ => Err(format!("unknown grid `{s}` (expected `wide` or `sdc`)")),
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

/// One run's fit: observed and predicted loss and the log residual.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Residual {
    /// N.
    pub params: f64,
    /// D.
    pub tokens: f64,
    /// U.
    pub unique_tokens: f64,
    /// Observed loss.
    pub val_loss: f64,
    /// Predicted loss.
    pub predicted: f64,
    /// ln(predicted) - ln(observed).
    pub log_residual: f64,
}

/// Goodness of fit of constants on runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Goodness {
    /// Runs evaluated.
    pub n_runs: usize,
    /// R^2 of the loss (not log loss), as SDC reports it.
    pub r2: f64,
    /// Summed Huber objective on log loss.
    pub huber_objective: f64,
    /// Root mean square of the log residuals.
    pub rmse_log: f64,
    /// Per-run residuals, in table order.
    pub residuals: Vec<Residual>,
}

/// Bootstrap percentile intervals.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Bootstrap {
    /// Replicates attempted.
    pub n: usize,
    /// Replicates whose refit failed (e.g. too few stage-1 runs drawn).
    pub n_failed: usize,
    /// Coverage of the intervals (e.g. 0.95).
    pub level: f64,
    /// Parameter name -> [lo, hi] percentile interval.
    pub ci: BTreeMap<String, [f64; 2]>,
    /// Parameter name -> bootstrap median.
    pub median: BTreeMap<String, f64>,
}

/// Width of the flat region of a profile: values whose objective is within `tol` of the fit's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlatRegion {
    /// Objective tolerance above the objective at the fitted value.
    pub tol: f64,
    /// Smallest value of the contiguous region around the fitted value.
    pub lo: f64,
    /// Largest value of that region.
    pub hi: f64,
}

/// Flat regions of the profiles around the minimum.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flatness {
    /// Over R_D*.
    #[serde(rename = "R_D_star")]
    pub r_d_star: Vec<FlatRegion>,
    /// Over R_N*.
    #[serde(rename = "R_N_star")]
    pub r_n_star: Vec<FlatRegion>,
}

/// Everything `dclab fit` writes to fit.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitReport {
    /// Irreducible loss E.
    #[serde(rename = "E")]
    pub big_e: f64,
    /// A.
    #[serde(rename = "A")]
    pub big_a: f64,
    /// B.
    #[serde(rename = "B")]
    pub big_b: f64,
    /// Log-space constants, exponents and decay constants.
    #[serde(flatten)]
    pub params: LawParams,
    /// R^2 of the loss over all runs.
    pub r2: f64,
    /// Summed Huber objective on log loss (delta as fitted).
    pub huber_objective: f64,
    /// RMSE of log loss.
    pub rmse_log: f64,
    /// Runs in the table.
    pub n_runs: usize,
    /// Starts tried over all stages.
    pub starts: usize,
    /// NaN or failed starts over all stages.
    pub starts_failed: usize,
    /// Bootstrap percentile intervals: constant -> [lo, hi] (empty without bootstrap).
    pub ci: BTreeMap<String, [f64; 2]>,
    /// Bootstrap details.
    pub bootstrap: Bootstrap,
    /// [[R_D*, objective minimised over the others], ...].
    #[serde(rename = "profile_R_D_star")]
    pub profile_r_d_star: Vec<[f64; 2]>,
    /// [[R_N*, objective minimised over the others], ...].
    #[serde(rename = "profile_R_N_star")]
    pub profile_r_n_star: Vec<[f64; 2]>,
    /// How flat the objective is around its minimum.
    pub flatness: Flatness,
    /// Per-stage multi-start details, including the distinct minima found.
    pub stages: Vec<StageReport>,
    /// Per-run residuals.
    pub residuals: Vec<Residual>,
    /// Options used.
    pub options: FitOptions,
}

/// D'/D against epochs for one decay constant (`dclab law value-left --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueCurve {
    /// Legend name.
    pub name: String,
    /// R_D*.
    pub r_d_star: f64,
    /// Epochs E.
    pub epochs: Vec<f64>,
    /// D'/D at each E.
    pub value_left: Vec<f64>,
}

/// Delta L = L_diffusion - L_AR over a grid of compute and unique data (`dclab law map --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeltaMap {
    /// log10 of compute C (FLOPs), the columns.
    pub log10_c: Vec<f64>,
    /// log10 of unique tokens U, the rows.
    pub log10_u: Vec<f64>,
    /// Delta L per (U, C): positive where AR is better.
    pub delta: Vec<Vec<f64>>,
}
