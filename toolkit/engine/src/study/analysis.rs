//! What a study concludes from its runs: one law per family, critical compute, and the plain
//! findings (did loss turn up with epochs, who wins at the largest compute, where the laws
//! cross), computed from the table so the summary never states more than the runs show.

use crate::scaling::crit::{critical_compute, CritOptions};
use crate::scaling::fit::{fit_law, FitOptions};
use crate::scaling::law::half_value_repetition;
use crate::scaling::runs::Runs;
use crate::scaling::uncertainty::goodness;
use crate::sweep::RunRow;
use crate::viz::figures::families;
use std::collections::BTreeMap;
pub use dclab_types::study::{Analysis, BestAt, EpochTrend, FamilyLaw};

/// Fits and findings from a sweep's rows.
pub fn analyze(rows: &[RunRow]) -> Analysis {
    let laws: Vec<FamilyLaw> = families(rows).into_iter().map(|f| fit_family(rows, &f)).collect();
    let trends = epoch_trends(rows);
    let fams = families(rows);
    let largest_common_flops = fams
        .iter()
        .map(|f| rows.iter().filter(|r| &r.point.family == f).map(|r| r.summary.flops).fold(f64::NEG_INFINITY, f64::max))
        .fold(None, |acc: Option<f64>, m| Some(acc.map_or(m, |a| a.min(m))));
    let mut best_at_largest: Vec<BestAt> = match largest_common_flops {
        Some(c) => fams
            .iter()
            .filter_map(|f| {
                rows.iter()
                    .filter(|r| &r.point.family == f && r.summary.flops <= c * 1.01)
                    .min_by(|a, b| a.summary.best_val_loss.total_cmp(&b.summary.best_val_loss))
                    .map(|r| BestAt { family: f.clone(), run_id: r.point.run_id.clone(), flops: r.summary.flops, best_val_loss: r.summary.best_val_loss })
            })
            .collect(),
        None => vec![],
    };
    best_at_largest.sort_by(|a, b| a.best_val_loss.total_cmp(&b.best_val_loss));
    let law = |name: &str| laws.iter().find(|l| l.family == name).and_then(|l| l.params);
    let (crit, crit_at_study) = match (law("ar"), law("diffusion")) {
        (Some(ar), Some(diff)) => {
            let opts = CritOptions { c_min: 1e6, c_max: 1e30 };
            let wide: Vec<f64> = (0..=24).map(|i| 10f64.powf(3.0 + i as f64 * 0.375)).collect();
            let mut own: Vec<f64> = rows.iter().map(|r| r.summary.unique_tokens as f64).collect();
            own.sort_by(f64::total_cmp);
            own.dedup();
            (Some(critical_compute(&ar, &diff, &wide, &opts)), Some(critical_compute(&ar, &diff, &own, &opts)))
        }
        _ => (None, None),
    };
    Analysis { laws, trends, largest_common_flops, best_at_largest, crit, crit_at_study }
}

/// The runs of one family as a scaling-law table (N total, D = tokens seen, U, final loss).
pub fn family_runs(rows: &[RunRow], family: &str) -> anyhow::Result<Runs> {
    let f: Vec<&RunRow> = rows.iter().filter(|r| r.point.family == family).collect();
    Runs::new(
        f.iter().map(|r| r.summary.params_total as f64).collect(),
        f.iter().map(|r| r.summary.tokens_seen as f64).collect(),
        f.iter().map(|r| r.summary.unique_tokens as f64).collect(),
        f.iter().map(|r| r.summary.final_val_loss).collect(),
    )
}

fn fit_family(rows: &[RunRow], family: &str) -> FamilyLaw {
    let mut out = FamilyLaw {
        family: family.into(),
        n_runs: 0,
        params: None,
        error: None,
        r2: f64::NAN,
        rmse_log: f64::NAN,
        residuals: vec![],
        half_value_epochs: f64::NAN,
    };
    let runs = match family_runs(rows, family) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(format!("{e:#}"));
            return out;
        }
    };
    out.n_runs = runs.len();
    // alpha = beta (SDC) keeps stage 1 identifiable on a small grid.
    let opts = FitOptions { alpha_eq_beta: true, ..FitOptions::default() };
    match fit_law(&runs, &opts) {
        Ok(fit) => {
            let g = goodness(&runs, &fit.params, opts.delta);
            out.r2 = g.r2;
            out.rmse_log = g.rmse_log;
            out.residuals = g.residuals;
            out.half_value_epochs = half_value_repetition(fit.params.r_d_star) + 1.0;
            out.params = Some(fit.params);
        }
        Err(e) => out.error = Some(format!("{e:#}")),
    }
    out
}

fn epoch_trends(rows: &[RunRow]) -> Vec<EpochTrend> {
    let mut groups: BTreeMap<(String, String, usize), Vec<&RunRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.point.kind == "grid") {
        groups.entry((r.point.family.clone(), r.point.model_spec.clone(), r.summary.unique_tokens)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((family, model, unique_tokens), g) in groups {
        let mut epochs: Vec<f64> = g.iter().map(|r| r.summary.epochs).collect();
        epochs.sort_by(f64::total_cmp);
        epochs.dedup();
        if epochs.len() < 2 {
            continue;
        }
        // Seeds average at each epoch count.
        let at = |e: f64| {
            let v: Vec<&&RunRow> = g.iter().filter(|r| r.summary.epochs == e).collect();
            let n = v.len() as f64;
            let loss = v.iter().map(|r| r.summary.final_val_loss).sum::<f64>() / n;
            let se = (v.iter().map(|r| r.summary.final_val_loss_stderr.powi(2)).sum::<f64>()).sqrt() / n;
            (loss, se)
        };
        let (best_epochs, (best_loss, best_se)) = epochs.iter().map(|&e| (e, at(e))).min_by(|a, b| a.1 .0.total_cmp(&b.1 .0)).expect("two epochs");
        let last_epochs = *epochs.last().expect("two epochs");
        let (last_loss, last_se) = at(last_epochs);
        // AR's validation loss is exact (standard error 0): demand at least 0.005 nats as well.
        let turned_up = last_epochs > best_epochs && last_loss - best_loss > (2.0 * (best_se.powi(2) + last_se.powi(2)).sqrt()).max(0.005);
        out.push(EpochTrend { family, model, unique_tokens, best_epochs, best_loss, last_epochs, last_loss, turned_up });
    }
    out
}
