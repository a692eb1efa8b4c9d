//! `dclab fit`, `dclab law eval`, `dclab crit`: thin shells over `dclab::scaling`.

use super::out::Out;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use dclab::fsio::write_json_atomic;
use dclab::scaling::constants::{parse_assignment, parse_params, theta_entry};
use dclab::scaling::crit::{CritOptions, critical_compute};
use dclab::scaling::fit::{FitMode, FitOptions, GridKind, Stage1};
use dclab::scaling::huber::Reduction;
use dclab::scaling::report::{ReportOptions, evaluate, fit_report, load_params};
use dclab::scaling::runs::Runs;
use std::path::PathBuf;

/// Arguments of `dclab fit`.
#[derive(Args)]
pub struct FitArgs {
    /// Runs table (CSV or Parquet) with columns params, tokens, unique_tokens, val_loss; or a
    /// sweep or study folder (its runs.parquet), with --family.
    runs: PathBuf,
    /// In a sweep folder: the family whose runs are fitted (ar, diffusion, ar-orderings:N).
    #[arg(long)]
    family: Option<String>,
    /// In a sweep folder: fit each run's `final` or `best` validation loss.
    #[arg(long, default_value = "final")]
    loss: String,
    /// Where to write fit.json (written atomically).
    #[arg(long, default_value = "fit.json")]
    out: PathBuf,
    /// Stage-1 constants: `fit`, `sdc-c4` (SDC's published constants; fits stage 2 only) or
    /// `a=..,b=..,e=..,alpha=..,beta=..`.
    #[arg(long, default_value = "fit")]
    stage1: String,
    /// Start grid: `wide` (log-spaced R_D*, R_N*) or `sdc` (SDC's own grid).
    #[arg(long, default_value = "wide")]
    grid: GridKind,
    /// Hold a constant fixed, e.g. `--fix R_N_star=5.3` (repeatable; a, b, e, E, A, B, alpha,
    /// beta, R_D_star, R_N_star).
    #[arg(long = "fix", value_name = "NAME=VALUE")]
    fix: Vec<String>,
    /// Bootstrap replicates over runs for percentile intervals (0: none).
    #[arg(long, default_value_t = 0)]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Interval coverage.
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Stage 1 uses runs of at most this many epochs (D/U).
    #[arg(long, default_value_t = 1.0)]
    max_epochs_stage1: f64,
    /// Fit all constants jointly after the two stages.
    #[arg(long)]
    joint: bool,
    /// Tie beta to alpha (SDC).
    #[arg(long)]
    alpha_eq_beta: bool,
    /// Huber threshold on log-loss residuals.
    #[arg(long, default_value_t = 1e-3)]
    delta: f64,
    /// Average the Huber terms instead of summing them (tolerances are tightened by 1/n).
    #[arg(long)]
    mean: bool,
    /// Skip the objective profiles over R_D* and R_N*.
    #[arg(long)]
    no_profile: bool,
}

/// Subcommands of `dclab law`.
#[derive(Subcommand)]
pub enum LawCommand {
    /// Print R-squared and the Huber objective at given constants.
    Eval {
        /// Runs table (CSV or Parquet).
        runs: PathBuf,
        /// Constants: `sdc-c4`, a fit.json, or `a=..,b=..,e=..,alpha=..,beta=..[,R_D_star=..,R_N_star=..]`.
        #[arg(long, default_value = "sdc-c4")]
        params: String,
        /// Huber threshold.
        #[arg(long, default_value_t = 1e-3)]
        delta: f64,
        /// Also print per-run residuals.
        #[arg(long)]
        residuals: bool,
    },
    /// D'/D, the share of repeated tokens' value left after E epochs, for given R_D*.
    ValueLeft {
        /// NAME=R_D* (repeatable), e.g. `--curve "AR (SDC)=15.39"`.
        #[arg(long = "curve", value_name = "NAME=R_D*", required = true)]
        curves: Vec<String>,
    },
    /// Delta L = L_diffusion - L_AR over a grid of compute and unique data (a heat map).
    Map {
        /// AR law: a fit.json, `sdc-c4`, or `a=..,b=..,...`.
        #[arg(long)]
        ar: String,
        /// Diffusion law: a fit.json or constants.
        #[arg(long)]
        diffusion: String,
        /// log10 range of compute (FLOPs): LO,HI.
        #[arg(long, value_delimiter = ',', default_values_t = vec![8.0, 18.0])]
        log10_c: Vec<f64>,
        /// log10 range of unique tokens: LO,HI.
        #[arg(long, value_delimiter = ',', default_values_t = vec![3.0, 9.0])]
        log10_u: Vec<f64>,
    },
}

/// Arguments of `dclab crit`.
#[derive(Args)]
pub struct CritArgs {
    /// AR law: a fit.json, `sdc-c4`, or `a=..,b=..,...`.
    #[arg(long)]
    ar: String,
    /// Diffusion law: a fit.json or constants.
    #[arg(long)]
    diffusion: String,
    /// Unique-token budgets in raw tokens (comma-separated or repeated).
    #[arg(long = "unique-tokens", value_delimiter = ',', default_values_t = vec![25e6, 50e6, 100e6, 500e6])]
    unique_tokens: Vec<f64>,
    /// Smallest compute searched (FLOPs).
    #[arg(long, default_value_t = 1e12)]
    c_min: f64,
    /// Largest compute searched (FLOPs).
    #[arg(long, default_value_t = 1e28)]
    c_max: f64,
    /// Also write the table as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The runs a fit sees: a runs table, or one family of a sweep folder's table.
fn fit_runs(a: &FitArgs) -> Result<Runs> {
    if !a.runs.is_dir() {
        if a.family.is_some() {
            bail!("--family picks runs from a sweep folder; {} is a table", a.runs.display());
        }
        return Runs::read(&a.runs);
    }
    let rows = dclab::sweep::table::read(&a.runs)?;
    if rows.is_empty() {
        bail!(
            "{} holds no sweep table (runs.parquet): give a sweep or study folder, or a runs table",
            a.runs.display()
        );
    }
    let families = dclab::viz::figures::families(&rows);
    let Some(family) = &a.family else {
        bail!(
            "{} is a sweep folder: name the family to fit with --family ({})",
            a.runs.display(),
            families.join(", ")
        );
    };
    if !families.contains(family) {
        bail!(
            "{} has no runs of family `{family}` (it has {})",
            a.runs.display(),
            families.join(", ")
        );
    }
    let rows: Vec<_> = rows.into_iter().filter(|r| &r.point.family == family).collect();
    let loss = |r: &dclab::sweep::RunRow| match a.loss.as_str() {
        "best" => Ok(r.summary.best_val_loss),
        "final" => Ok(r.summary.final_val_loss),
        l => bail!("--loss is `final` or `best`, not `{l}`"),
    };
    Runs::new(
        rows.iter().map(|r| r.summary.params_total as f64).collect(),
        rows.iter().map(|r| r.summary.tokens_seen as f64).collect(),
        rows.iter().map(|r| r.summary.unique_tokens as f64).collect(),
        rows.iter().map(loss).collect::<Result<_>>()?,
    )
}

pub fn fit(a: FitArgs, o: Out) -> Result<()> {
    let runs = fit_runs(&a)?;
    let stage1 = match a.stage1.as_str() {
        "fit" => Stage1::Fit,
        s => Stage1::Given(parse_params(s)?),
    };
    let mut fixed = Vec::new();
    for f in &a.fix {
        let (k, v) = parse_assignment(f)?;
        theta_entry(&k, v)?;
        fixed.push((k, v));
    }
    if !(a.level > 0.0 && a.level < 1.0) {
        bail!("--level must be in (0, 1), got {}", a.level);
    }
    let opts = ReportOptions {
        fit: FitOptions {
            grid: a.grid,
            mode: if a.joint { FitMode::Joint } else { FitMode::TwoStage },
            stage1,
            max_epochs_stage1: a.max_epochs_stage1,
            delta: a.delta,
            reduction: if a.mean { Reduction::Mean } else { Reduction::Sum },
            alpha_eq_beta: a.alpha_eq_beta,
            fixed,
            ..FitOptions::default()
        },
        bootstrap: a.bootstrap,
        seed: a.seed,
        level: a.level,
        profile: !a.no_profile,
    };
    let rep = fit_report(&runs, &opts)?;
    write_json_atomic(&a.out, &rep)?;
    let p = rep.params;
    o.line(&format!("runs {}  starts {} (failed {})", rep.n_runs, rep.starts, rep.starts_failed));
    o.line(&format!(
        "E {:.6}  A {:.4}  B {:.4}  alpha {:.6}  beta {:.6}",
        rep.big_e, rep.big_a, rep.big_b, p.alpha, p.beta
    ));
    o.line(&format!("R_D* {:.6}  R_N* {:.6}", p.r_d_star, p.r_n_star));
    o.line(&format!(
        "R^2 {:.6}  Huber objective {:.8}  RMSE(log) {:.6}",
        rep.r2, rep.huber_objective, rep.rmse_log
    ));
    for (k, [lo, hi]) in &rep.ci {
        o.line(&format!("  {:.0}% CI {k}: [{lo:.6}, {hi:.6}]", rep.bootstrap.level * 100.0));
    }
    if let Some(f) = rep.flatness.r_d_star.iter().find(|f| f.tol == 1e-6) {
        o.line(&format!(
            "objective within 1e-6 of the fit's for R_D* in [{:.4}, {:.4}] (R_N* re-minimised)",
            f.lo, f.hi
        ));
    }
    if let Some([v, obj]) =
        rep.profile_r_d_star.iter().copied().min_by(|a, b| a[1].total_cmp(&b[1]))
        && obj < rep.huber_objective - 1e-12
    {
        o.line(&format!("the profile over R_D* goes lower: objective {obj:.8} at R_D* = {v:.4} (this fit is a local minimum)"));
    }
    o.line(&format!("wrote {}", a.out.display()));
    o.reply(&rep, || dclab::viz::views::fit(&rep))
}

pub fn law(c: LawCommand, o: Out) -> Result<()> {
    match c {
        LawCommand::ValueLeft { curves } => {
            let epochs: Vec<f64> = (0..=60).map(|i| 10f64.powf(i as f64 / 20.0)).collect();
            let mut out = vec![];
            for c in &curves {
                let (name, r) = parse_assignment(c)
                    .map_err(|e| anyhow::anyhow!("--curve {c}: {e:#} (expected NAME=R_D*)"))?;
                if r.is_nan() || r <= 0.0 {
                    bail!("--curve {c}: R_D* must be positive");
                }
                let value_left =
                    epochs.iter().map(|&e| dclab::scaling::law::value_left(e, r)).collect();
                out.push(dclab_types::ValueCurve {
                    name,
                    r_d_star: r,
                    epochs: epochs.clone(),
                    value_left,
                });
            }
            for c in &out {
                o.line(&format!(
                    "{}: D'/D = {:.3} at E = 16",
                    c.name,
                    dclab::scaling::law::value_left(16.0, c.r_d_star)
                ));
            }
            o.reply(&out, || dclab::viz::views::value_left(&out))
        }
        LawCommand::Map { ar, diffusion, log10_c, log10_u } => {
            let (ar, diffusion) = (load_params(&ar)?, load_params(&diffusion)?);
            let steps = |r: &[f64], n: usize| -> Result<Vec<f64>> {
                if r.len() != 2 || r[0].partial_cmp(&r[1]) != Some(std::cmp::Ordering::Less) {
                    bail!("a log10 range is LO,HI with LO < HI, got {r:?}");
                }
                Ok((0..=n).map(|i| r[0] + (r[1] - r[0]) * i as f64 / n as f64).collect())
            };
            let (lc, lu) = (steps(&log10_c, 40)?, steps(&log10_u, 24)?);
            let pow = |v: &[f64]| {
                ndarray::Array1::from(v.iter().map(|x| 10f64.powf(*x)).collect::<Vec<_>>())
            };
            let grid = dclab::scaling::crit::delta_loss_grid(&ar, &diffusion, &pow(&lc), &pow(&lu));
            let map = dclab_types::DeltaMap {
                log10_c: lc,
                log10_u: lu,
                delta: grid.outer_iter().map(|r| r.to_vec()).collect(),
            };
            let v = dclab::viz::views::delta_map(&map);
            if !o.json {
                o.line(&v.text); // the reply carries it otherwise
            }
            o.reply(&map, || v)
        }
        LawCommand::Eval { runs, params, delta, residuals } => {
            let runs = Runs::read(&runs)?;
            let p = load_params(&params)?;
            let g = evaluate(&runs, &p, delta);
            o.line(&format!("runs {}", g.n_runs));
            o.line(&format!("R^2 {:.6}", g.r2));
            o.line(&format!("Huber objective (sum, delta {delta}) {:.8}", g.huber_objective));
            o.line(&format!("RMSE(log loss) {:.6}", g.rmse_log));
            if residuals {
                o.line("params,tokens,unique_tokens,val_loss,predicted,log_residual");
                for r in &g.residuals {
                    o.line(&format!(
                        "{},{},{},{},{:.6},{:.6}",
                        r.params,
                        r.tokens,
                        r.unique_tokens,
                        r.val_loss,
                        r.predicted,
                        r.log_residual
                    ));
                }
            }
            o.reply(&g, || {
                let rows = [
                    ("runs", g.n_runs.to_string()),
                    ("R^2", format!("{:.6}", g.r2)),
                    ("Huber objective", format!("{:.8}", g.huber_objective)),
                    ("RMSE(log)", format!("{:.6}", g.rmse_log)),
                ];
                let body: Vec<Vec<String>> =
                    rows.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect();
                dclab::viz::views::view(
                    None,
                    dclab::viz::table("law-eval", &["", "value"], &body),
                    format!("R^2 {:.6} on {} runs", g.r2, g.n_runs),
                )
            })
        }
    }
}

pub fn crit(a: CritArgs, o: Out) -> Result<()> {
    let ar = load_params(&a.ar)?;
    let diffusion = load_params(&a.diffusion)?;
    if !(a.c_min > 0.0 && a.c_max > a.c_min) {
        bail!("need 0 < --c-min < --c-max");
    }
    if let Some(u) = a.unique_tokens.iter().find(|u| !(u.is_finite() && **u > 0.0)) {
        bail!("unique tokens must be positive, got {u}");
    }
    let rep = critical_compute(
        &ar,
        &diffusion,
        &a.unique_tokens,
        &CritOptions { c_min: a.c_min, c_max: a.c_max },
    );
    for w in &rep.warnings {
        eprintln!("warning: {w}");
    }
    o.line(&format!(
        "{:>14}  {:>12}  {:>12}  {:>10}  {:>10}  status",
        "U (tokens)", "C_crit", "DBA line", "N_AR", "N_diff"
    ));
    for r in &rep.rows {
        let c = r.c_crit.map_or("-".to_string(), |c| format!("{c:.3e}"));
        let na = r.ar.map_or("-".to_string(), |p| format!("{:.3e}", p.n));
        let nd = r.diffusion.map_or("-".to_string(), |p| format!("{:.3e}", p.n));
        o.line(&format!(
            "{:>14.4e}  {c:>12}  {:>12.3e}  {na:>10}  {nd:>10}  {:?}",
            r.unique_tokens, r.dba_c_crit, r.status
        ));
    }
    match rep.power_law {
        Some(p) => o.line(&format!(
            "fit: C_crit = {:.3e} * U^{:.3}  (log10 U = {:.3} log10 C {:+.3}); DBA: log10 U = 0.460 log10 C - 1.050",
            p.coef, p.exponent, p.log10_u_slope, p.log10_u_intercept
        )),
        None => o.line("no power-law fit: fewer than two U values have a crossover in range"),
    }
    if let Some(out) = &a.out {
        write_json_atomic(out, &rep)?;
    }
    o.reply(&rep, || dclab::viz::views::crit(&rep))
}
