//! What a study concludes from its runs: one law per family, epoch trends, the best runs at
//! the largest common compute, critical compute; and the finished study as a reply.

use crate::crit::{CritReport, CrossoverStatus};
use crate::fit::Residual;
use crate::law::LawParams;
use crate::sweep::RunRow;
use serde::{Deserialize, Serialize};

/// One family's fitted law (or why it could not be fitted).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FamilyLaw {
    /// ar, diffusion, ar-orderings:N.
    pub family: String,
    /// Runs the fit saw.
    pub n_runs: usize,
    /// The constants, when the fit succeeded.
    pub params: Option<LawParams>,
    /// Why there is no fit.
    pub error: Option<String>,
    /// R^2 of the law on the runs.
    pub r2: f64,
    /// Root-mean-square log residual.
    pub rmse_log: f64,
    /// Per-run residuals.
    pub residuals: Vec<Residual>,
    /// Epochs at which a repeated token keeps half its value (R_D* ln 2 + 1).
    pub half_value_epochs: f64,
    /// Which loss of each run the law was fitted to: `final`, `best` (the early-stopped
    /// checkpoint) or `before-turn-up` (final losses of the runs up to each group's minimum).
    #[serde(default)]
    pub target: String,
    /// Stages that ran to a limit (their constants say nothing): `stage 1 (E, A, B)`,
    /// `stage 2 (R_D*, R_N*)`; empty when the fit is identified.
    #[serde(default)]
    pub not_identified: Vec<String>,
}

impl FamilyLaw {
    /// True when the fit succeeded and no stage ran to a limit.
    pub fn identified(&self) -> bool {
        self.params.is_some() && self.not_identified.is_empty()
    }
}

/// Why one family's law was fitted to the losses it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitChoice {
    /// The family.
    pub family: String,
    /// The target chosen (`final`, `best` or `before-turn-up`).
    pub target: String,
    /// The evidence, in words.
    pub reason: String,
    /// Every candidate fit, the chosen one among them.
    pub candidates: Vec<FamilyLaw>,
}

/// A family's best run at one U (over models, epochs and regularisation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FamilyBest {
    /// The family.
    pub family: String,
    /// The run.
    pub run_id: String,
    /// Its model.
    pub model: String,
    /// Its epochs.
    pub epochs: f64,
    /// Its dropout and weight decay.
    pub dropout: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Its training compute (6ND over the whole run).
    pub flops: f64,
    /// Its best loss (the precise estimate; an upper bound for diffusion).
    pub loss: f64,
    /// That loss's standard error.
    pub stderr: f64,
}

/// Who is ahead in Delta = diffusion - AR, with its standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Delta + 2 SE < 0.
    DiffusionWins,
    /// Delta - 2 SE > 0.
    ArWins,
    /// |Delta| within two standard errors.
    TooCloseToCall,
}

impl Verdict {
    /// The verdict as the report and its tables say it.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::DiffusionWins => "diffusion wins",
            Verdict::ArWins => "AR wins",
            Verdict::TooCloseToCall => "too close to call",
        }
    }
}

/// Delta with both families limited to runs of at most `flops`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeltaAt {
    /// The compute limit.
    pub flops: f64,
    /// Delta = diffusion - AR best losses within it.
    pub delta: f64,
    /// Its standard error.
    pub stderr: f64,
}

/// Best against best at one unique budget U.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frontier {
    /// Unique tokens U (packed).
    pub unique_tokens: usize,
    /// AR's best run at U.
    pub ar: FamilyBest,
    /// Diffusion's best run at U.
    pub diffusion: FamilyBest,
    /// Delta = diffusion - AR (nats/token; diffusion's side an upper bound).
    pub delta: f64,
    /// Its standard error, sqrt(SE_ar^2 + SE_diffusion^2).
    pub stderr: f64,
    /// Who wins.
    pub verdict: Verdict,
    /// Delta as compute grows: both families limited to runs of at most each compute.
    pub by_compute: Vec<DeltaAt>,
    /// DBA's extrapolated C_crit(U) (REFERENCE section 6), for where the grid sits.
    pub dba_c_crit: f64,
    /// The largest compute of any run at U.
    pub max_flops: f64,
    /// Where a straight line through the last three points of `by_compute` (Delta against
    /// log10 compute) reaches Delta = 0, when Delta is positive and falling: a trend, not a law.
    #[serde(default)]
    pub trend_zero_flops: Option<f64>,
}

/// How loss moved with epochs at one (family, model, U).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochTrend {
    /// The family (objective spec).
    pub family: String,
    /// The model preset.
    pub model: String,
    /// Unique tokens U of the group.
    pub unique_tokens: usize,
    /// Epochs with the lowest final validation loss.
    pub best_epochs: f64,
    /// The lowest final validation loss of the group.
    pub best_loss: f64,
    /// The most epochs trained, and its final validation loss.
    pub last_epochs: f64,
    /// Final validation loss at the most epochs.
    pub last_loss: f64,
    /// True when the loss at the most epochs is above the best by more than two standard errors
    /// and 0.005 nats.
    pub turned_up: bool,
}

/// A family's best run up to a compute.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BestAt {
    /// The family.
    pub family: String,
    /// Its best run.
    pub run_id: String,
    /// That run's training compute.
    pub flops: f64,
    /// That run's best validation loss.
    pub best_val_loss: f64,
}

/// Everything the summary states.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Analysis {
    /// One law per family.
    pub laws: Vec<FamilyLaw>,
    /// Epoch trends per (family, model, U) with at least two epoch values.
    pub trends: Vec<EpochTrend>,
    /// The largest compute every family reached.
    pub largest_common_flops: Option<f64>,
    /// Each family's best run within that compute, best first.
    pub best_at_largest: Vec<BestAt>,
    /// C_crit(U) from the AR and diffusion laws over a wide range of U (when both fitted).
    pub crit: Option<CritReport>,
    /// C_crit at the study's own budgets.
    pub crit_at_study: Option<CritReport>,
    /// Best against best per U (only U where both AR and diffusion ran).
    #[serde(default)]
    pub frontier: Vec<Frontier>,
    /// Per family, which losses its law was fitted to and why.
    #[serde(default)]
    pub fit_choices: Vec<FitChoice>,
}

impl Analysis {
    /// Whether `family`'s loss turned up with epochs in any (model, U) group (None: no group
    /// had two epoch values).
    pub fn turned_up(&self, family: &str) -> Option<(usize, usize)> {
        let t: Vec<&EpochTrend> = self.trends.iter().filter(|t| t.family == family).collect();
        (!t.is_empty()).then(|| (t.iter().filter(|t| t.turned_up).count(), t.len()))
    }

    /// The crossover status at a U of the study, in words.
    pub fn crossover_words(status: CrossoverStatus, c: Option<f64>) -> String {
        match (status, c) {
            (CrossoverStatus::Crossover, Some(c)) => {
                format!("diffusion overtakes AR above {c:.3e} FLOPs")
            }
            (CrossoverStatus::DiffusionAlwaysBetter, _) => {
                "diffusion is better at every compute searched (from 1e6 FLOPs)".into()
            }
            _ => {
                "AR stays better at every compute searched (up to 1e30 FLOPs): no crossover".into()
            }
        }
    }
}

/// A finished study as `dclab study --json` returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StudyReport {
    /// The study folder.
    pub dir: String,
    /// Every run of its sweep.
    pub rows: Vec<RunRow>,
    /// Fits and findings.
    pub analysis: Analysis,
    /// summary.md as text.
    pub summary: String,
    /// Where report.html was written.
    pub report: String,
    /// Seconds the call took.
    pub wall_seconds: f64,
}
