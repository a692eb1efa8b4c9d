//! What a study concludes from its runs: each family's best against the other's at every U
//! (with standard errors), one law per family fitted to the losses it can express, critical
//! compute, and the plain findings (did loss turn up with epochs), computed from the table so
//! the summary never states more than the runs show.

use crate::scaling::crit::{CritOptions, critical_compute, dba_c_crit};
use crate::scaling::fit::{FitOptions, fit_law};
use crate::scaling::law::half_value_repetition;
use crate::scaling::runs::Runs;
use crate::scaling::uncertainty::goodness;
use crate::sweep::RunRow;
use crate::viz::figures::families;
pub use dclab_types::study::{
    Analysis, BestAt, DeltaAt, EpochTrend, FamilyBest, FamilyLaw, FitChoice, Frontier, Verdict,
};
use std::collections::BTreeMap;

/// The loss targets a law can be fitted to, in the order they are tried.
pub const FIT_TARGETS: [&str; 3] = ["final", "best", "before-turn-up"];

/// Fits and findings from a sweep's rows.
pub fn analyze(rows: &[RunRow]) -> Analysis {
    let fams = families(rows);
    let trends = epoch_trends(rows);
    let fit_choices: Vec<FitChoice> = fams.iter().map(|f| choose_fit(rows, f, &trends)).collect();
    let laws: Vec<FamilyLaw> = fit_choices
        .iter()
        .map(|c| {
            c.candidates
                .iter()
                .find(|l| l.target == c.target)
                .expect("the chosen candidate")
                .clone()
        })
        .collect();
    let largest_common_flops = fams
        .iter()
        .map(|f| {
            rows.iter()
                .filter(|r| &r.point.family == f)
                .map(|r| r.summary.flops)
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .fold(None, |acc: Option<f64>, m| Some(acc.map_or(m, |a| a.min(m))));
    let mut best_at_largest: Vec<BestAt> = match largest_common_flops {
        Some(c) => fams
            .iter()
            .filter_map(|f| {
                // Within 1% of the largest compute both families reached.
                best_of(&rows.iter().collect::<Vec<_>>(), f, c * 1.01).map(|r| BestAt {
                    family: f.clone(),
                    run_id: r.point.run_id.clone(),
                    flops: r.summary.flops,
                    best_val_loss: r.summary.best_loss().0,
                })
            })
            .collect(),
        None => vec![],
    };
    best_at_largest.sort_by(|a, b| a.best_val_loss.total_cmp(&b.best_val_loss));
    let law = |name: &str| {
        laws.iter().find(|l| l.family == name && l.identified()).and_then(|l| l.params)
    };
    let (crit, crit_at_study) = match (law("ar"), law("diffusion")) {
        (Some(ar), Some(diff)) => {
            let opts = CritOptions { c_min: 1e6, c_max: 1e30 };
            let wide: Vec<f64> = (0..=24).map(|i| 10f64.powf(3.0 + i as f64 * 0.375)).collect();
            let mut own: Vec<f64> = rows.iter().map(|r| r.summary.unique_tokens as f64).collect();
            own.sort_by(f64::total_cmp);
            own.dedup();
            (
                Some(critical_compute(&ar, &diff, &wide, &opts)),
                Some(critical_compute(&ar, &diff, &own, &opts)),
            )
        }
        _ => (None, None),
    };
    Analysis {
        laws,
        trends,
        largest_common_flops,
        best_at_largest,
        crit,
        crit_at_study,
        frontier: frontier(rows),
        fit_choices,
    }
}

/// Delta = diffusion - AR is a win for diffusion only when Delta + 2 SE < 0, a loss when
/// Delta - 2 SE > 0, and too close to call otherwise.
///
/// ```
/// use dclab::study::analysis::{verdict, Verdict};
/// assert_eq!(verdict(-0.10, 0.02), Verdict::DiffusionWins);
/// assert_eq!(verdict(-0.03, 0.02), Verdict::TooCloseToCall);
/// ```
pub fn verdict(delta: f64, stderr: f64) -> Verdict {
    let se = se0(stderr);
    if delta + 2.0 * se < 0.0 {
        Verdict::DiffusionWins
    } else if delta - 2.0 * se > 0.0 {
        Verdict::ArWins
    } else {
        Verdict::TooCloseToCall
    }
}

/// A standard error for combining: an unknown one (NaN, a run without the precise estimate) counts as 0.
fn se0(se: f64) -> f64 {
    if se.is_finite() { se } else { 0.0 }
}

/// The standard error of a difference of two independent estimates.
fn combined(a: f64, b: f64) -> f64 {
    (se0(a).powi(2) + se0(b).powi(2)).sqrt()
}

fn family_best(r: &RunRow) -> FamilyBest {
    let (loss, stderr) = r.summary.best_loss();
    FamilyBest {
        family: r.point.family.clone(),
        run_id: r.point.run_id.clone(),
        model: r.point.model_spec.clone(),
        epochs: r.summary.epochs,
        dropout: r.summary.dropout,
        weight_decay: r.summary.weight_decay,
        flops: r.summary.flops,
        loss,
        stderr,
    }
}

/// The lowest-loss row among `rows` of `family` with compute at most `max_flops`.
fn best_of<'a>(rows: &[&'a RunRow], family: &str, max_flops: f64) -> Option<&'a RunRow> {
    rows.iter()
        .filter(|r| r.point.family == family && r.summary.flops <= max_flops * (1.0 + 1e-9))
        .min_by(|a, b| a.summary.best_loss().0.total_cmp(&b.summary.best_loss().0))
        .copied()
}

/// Best against best at every U where both AR and diffusion ran, and Delta as compute grows
/// (at every half-decade of compute both families reached).
pub fn frontier(rows: &[RunRow]) -> Vec<Frontier> {
    let mut by_u: BTreeMap<usize, Vec<&RunRow>> = BTreeMap::new();
    for r in rows {
        by_u.entry(r.summary.unique_tokens).or_default().push(r);
    }
    let mut out = Vec::new();
    for (u, rs) in by_u {
        let (Some(a), Some(d)) =
            (best_of(&rs, "ar", f64::INFINITY), best_of(&rs, "diffusion", f64::INFINITY))
        else {
            continue;
        };
        let (ar, diffusion) = (family_best(a), family_best(d));
        let delta = diffusion.loss - ar.loss;
        let stderr = combined(ar.stderr, diffusion.stderr);
        let min_flops = |f: &str| {
            rs.iter()
                .filter(|r| r.point.family == f)
                .map(|r| r.summary.flops)
                .fold(f64::INFINITY, f64::min)
        };
        let max_flops = rs.iter().map(|r| r.summary.flops).fold(0.0, f64::max);
        let start = min_flops("ar").max(min_flops("diffusion"));
        let mut by_compute = Vec::new();
        let mut k = (start.log10() * 2.0).ceil() as i32;
        loop {
            let c = 10f64.powf(k as f64 / 2.0);
            let c = c.min(max_flops);
            if let (Some(a), Some(d)) = (best_of(&rs, "ar", c), best_of(&rs, "diffusion", c)) {
                let (la, sa) = a.summary.best_loss();
                let (ld, sd) = d.summary.best_loss();
                by_compute.push(DeltaAt { flops: c, delta: ld - la, stderr: combined(sa, sd) });
            }
            if c >= max_flops {
                break;
            }
            k += 1;
        }
        let trend_zero_flops = trend_zero(&by_compute);
        out.push(Frontier {
            unique_tokens: u,
            verdict: verdict(delta, stderr),
            ar,
            diffusion,
            delta,
            stderr,
            by_compute,
            dba_c_crit: dba_c_crit(u as f64),
            max_flops,
            trend_zero_flops,
        });
    }
    out
}

/// Where the least-squares line through the last three (log10 C, Delta) points reaches 0, when
/// the last Delta is positive and the line falls; None otherwise.
///
/// ```
/// use dclab::study::analysis::{trend_zero, DeltaAt};
/// let pts: Vec<DeltaAt> = [(1e10, 0.3), (1e11, 0.2), (1e12, 0.1)].iter().map(|&(flops, delta)| DeltaAt { flops, delta, stderr: 0.0 }).collect();
/// assert!((trend_zero(&pts).unwrap() / 1e13 - 1.0).abs() < 1e-9);
/// ```
pub fn trend_zero(points: &[DeltaAt]) -> Option<f64> {
    let last = &points[points.len().saturating_sub(3)..];
    if last.len() < 3 || last[2].delta <= 0.0 {
        return None;
    }
    let xs: Vec<f64> = last.iter().map(|p| p.flops.log10()).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / 3.0, last.iter().map(|p| p.delta).sum::<f64>() / 3.0);
    let sxy: f64 = xs.iter().zip(last).map(|(x, p)| (x - mx) * (p.delta - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope < 0.0).then(|| 10f64.powf(mx - my / slope))
}

/// A family's runs reduced to one per (model, U, epochs, seed): the best regularisation of
/// each cell (the law has no term for dropout or weight decay).
fn best_regularised<'a>(rows: &'a [RunRow], family: &str) -> Vec<&'a RunRow> {
    let mut cells: BTreeMap<(String, usize, u64, u64, String), &RunRow> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.point.family == family) {
        let key = (
            r.point.model_spec.clone(),
            r.summary.unique_tokens,
            r.summary.epochs.to_bits(),
            r.point.point_seed,
            r.point.kind.clone(),
        );
        let e = cells.entry(key).or_insert(r);
        if r.summary.final_loss().0 < e.summary.final_loss().0 {
            *e = r;
        }
    }
    cells.into_values().collect()
}

/// The runs of one family as a scaling-law table (N total, D = tokens seen, U) with the loss
/// `target` picks: `final`, `best` (D then the tokens seen at the best checkpoint) or
/// `before-turn-up` (final losses, runs after their group's lowest final loss left out).
pub fn family_runs(rows: &[RunRow], family: &str, target: &str) -> anyhow::Result<Runs> {
    let cells = best_regularised(rows, family);
    let kept: Vec<&RunRow> = match target {
        "before-turn-up" => {
            let mut groups: BTreeMap<(String, usize, u64, String), Vec<&RunRow>> = BTreeMap::new();
            for r in &cells {
                groups
                    .entry((
                        r.point.model_spec.clone(),
                        r.summary.unique_tokens,
                        r.point.point_seed,
                        r.point.kind.clone(),
                    ))
                    .or_default()
                    .push(r);
            }
            groups
                .into_values()
                .flat_map(|mut g| {
                    g.sort_by(|a, b| a.summary.epochs.total_cmp(&b.summary.epochs));
                    let lowest = g
                        .iter()
                        .enumerate()
                        .min_by(|a, b| {
                            a.1.summary.final_loss().0.total_cmp(&b.1.summary.final_loss().0)
                        })
                        .map_or(0, |(i, _)| i);
                    g.truncate(lowest + 1);
                    g
                })
                .collect()
        }
        _ => cells,
    };
    let best = target == "best";
    Runs::new(
        kept.iter().map(|r| r.summary.params_total as f64).collect(),
        kept.iter()
            .map(|r| {
                let s = &r.summary;
                if best && s.steps > 0 {
                    s.tokens_seen as f64 * s.best_val_step as f64 / s.steps as f64
                } else {
                    s.tokens_seen as f64
                }
            })
            .collect(),
        kept.iter().map(|r| r.summary.unique_tokens as f64).collect(),
        kept.iter()
            .map(|r| if best { r.summary.best_loss().0 } else { r.summary.final_loss().0 })
            .collect(),
    )
}

/// The stages of a fit that ran to a limit.
pub fn not_identified(p: &crate::scaling::law::LawParams) -> Vec<String> {
    let mut out = Vec::new();
    if p.big_e() < 0.05 || p.big_a() < 1e-6 || p.big_b() < 1e-6 {
        out.push("stage 1 (E, A, B)".to_string());
    }
    if p.r_d_star > 1e4 || p.r_n_star > 1e4 {
        out.push("stage 2 (R_D*, R_N*)".to_string());
    }
    out
}

fn fit_family(rows: &[RunRow], family: &str, target: &str) -> FamilyLaw {
    let mut out = FamilyLaw {
        family: family.into(),
        n_runs: 0,
        params: None,
        error: None,
        r2: f64::NAN,
        rmse_log: f64::NAN,
        residuals: vec![],
        half_value_epochs: f64::NAN,
        target: target.into(),
        not_identified: vec![],
    };
    let runs = match family_runs(rows, family, target) {
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
            out.not_identified = not_identified(&fit.params);
            out.params = Some(fit.params);
        }
        Err(e) => out.error = Some(format!("{e:#}")),
    }
    out
}

/// Fits the law to each target and keeps the one the evidence favours: identified fits before
/// unidentified ones, then the lowest RMS log residual (the law's error on the losses it
/// claims to describe); the reason names every candidate's numbers and how often the family's
/// final losses turn up (from `trends`, [`epoch_trends`] of the same rows), which the law
/// (monotone in epochs) cannot express.
pub fn choose_fit(rows: &[RunRow], family: &str, trends: &[EpochTrend]) -> FitChoice {
    let candidates: Vec<FamilyLaw> =
        FIT_TARGETS.iter().map(|t| fit_family(rows, family, t)).collect();
    let rank = |l: &FamilyLaw| {
        (
            l.params.is_none(),
            !l.identified(),
            if l.rmse_log.is_finite() { l.rmse_log } else { f64::INFINITY },
        )
    };
    let chosen = candidates
        .iter()
        .min_by(|a, b| {
            let (x, y) = (rank(a), rank(b));
            x.0.cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.total_cmp(&y.2))
        })
        .expect("three candidates");
    let turned = trends
        .iter()
        .filter(|t| t.family == family)
        .fold((0, 0), |(k, n), t| (k + t.turned_up as usize, n + 1));
    let words: Vec<String> = candidates
        .iter()
        .map(|l| match (&l.params, &l.error) {
            (Some(_), _) => format!(
                "{} ({} runs): R^2 {:.3}, RMS log residual {:.4}{}",
                l.target,
                l.n_runs,
                l.r2,
                l.rmse_log,
                if l.not_identified.is_empty() {
                    String::new()
                } else {
                    format!(", not identified: {}", l.not_identified.join(", "))
                }
            ),
            (None, e) => format!("{}: no fit ({})", l.target, e.as_deref().unwrap_or("?")),
        })
        .collect();
    let reason = format!(
        "{} Chosen: {} ({}). Final losses turn up with epochs in {} of {} (model, U) groups; the law is monotone in epochs, so it cannot express a rise.",
        words.join("; ") + ".",
        chosen.target,
        if chosen.identified() {
            "identified, with the lowest residual among identified fits"
        } else {
            "no candidate is identified; the lowest residual is kept and its constants are not reported"
        },
        turned.0,
        turned.1
    );
    FitChoice { family: family.into(), target: chosen.target.clone(), reason, candidates }
}

/// How the final loss moved with epochs in each (family, model, U) group (the best
/// regularisation of each epoch count, seeds averaged).
pub fn epoch_trends(rows: &[RunRow]) -> Vec<EpochTrend> {
    let mut groups: BTreeMap<(String, String, usize), Vec<&RunRow>> = BTreeMap::new();
    for f in families(rows) {
        for r in best_regularised(rows, &f)
            .into_iter()
            .filter(|r| r.point.kind == "grid" || r.point.kind == "doubling")
        {
            groups
                .entry((
                    r.point.family.clone(),
                    r.point.model_spec.clone(),
                    r.summary.unique_tokens,
                ))
                .or_default()
                .push(r);
        }
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
            let loss = v.iter().map(|r| r.summary.final_loss().0).sum::<f64>() / n;
            let se =
                (v.iter().map(|r| se0(r.summary.final_loss().1).powi(2)).sum::<f64>()).sqrt() / n;
            (loss, se)
        };
        let (best_epochs, (best_loss, best_se)) = epochs
            .iter()
            .map(|&e| (e, at(e)))
            .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
            .expect("two epochs");
        let last_epochs = *epochs.last().expect("two epochs");
        let (last_loss, last_se) = at(last_epochs);
        // AR's validation loss is exact (standard error 0): demand at least 0.005 nats as well.
        let turned_up = last_epochs > best_epochs
            && last_loss - best_loss > (2.0 * combined(best_se, last_se)).max(0.005);
        out.push(EpochTrend {
            family,
            model,
            unique_tokens,
            best_epochs,
            best_loss,
            last_epochs,
            last_loss,
            turned_up,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic finished run: `family` at U = 10,000 with the given precise best loss and SE.
    fn row(family: &str, model: &str, epochs: f64, flops: f64, loss: f64, se: f64) -> RunRow {
        let id = format!("{family}_{model}_E{epochs}");
        let mut v = serde_json::json!({
            "run_id": id, "kind": "doubling", "family": family, "model_spec": model,
            "requested_unique_tokens": 10000, "requested_epochs": epochs, "unique_fraction": null, "point_seed": 0,
            "curve": "c.csv", "settings": "{}",
            "objective": family, "model": model, "params_total": 1000, "params_non_embedding": 900, "seq_len": 16,
            "batch_size": 4, "corpus": "x", "tokenizer": "char", "vocab_size": 10, "unique_tokens": 10000,
        });
        let rest = serde_json::json!({
            "epochs": epochs, "steps": 10, "tokens_seen": (10000.0 * epochs) as u64, "flops": flops,
            "flops_with_attention": flops, "best_val_loss": loss - 0.05, "best_val_step": 10, "final_val_loss": loss,
            "final_val_loss_stderr": 0.1, "best_val_loss_precise": loss, "best_val_loss_precise_stderr": se,
            "final_val_loss_precise": loss, "final_val_loss_precise_stderr": se,
        });
        let tail = serde_json::json!({
            "best_val_bits_per_byte": 1.0, "heldout_loss": 1.0, "heldout_bits_per_byte": 1.0,
            "tokens_per_second": 1.0, "wall_seconds": 1.0, "stopped_early": false, "dropout": 0.1,
            "weight_decay": 0.1, "device": "cpu", "seed": 0, "config": {}
        });
        for extra in [rest, tail] {
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn verdict_needs_delta_beyond_two_standard_errors() {
        assert_eq!(verdict(-0.05, 0.02), Verdict::DiffusionWins);
        assert_eq!(verdict(0.05, 0.02), Verdict::ArWins);
        assert_eq!(verdict(-0.039, 0.02), Verdict::TooCloseToCall);
        assert_eq!(verdict(0.039, 0.02), Verdict::TooCloseToCall);
    }

    #[test]
    fn frontier_compares_each_familys_best_with_combined_standard_errors() {
        // AR's best is the middle run (2.50 ± 0); diffusion's the largest (2.40 ± 0.03): a win.
        let mut rows = vec![
            row("ar", "a", 1.0, 1e9, 2.90, 0.0),
            row("ar", "a", 4.0, 4e9, 2.50, 0.0),
            row("ar", "a", 16.0, 1.6e10, 2.80, 0.0),
            row("diffusion", "a", 1.0, 1e9, 3.20, 0.02),
            row("diffusion", "b", 16.0, 3e10, 2.40, 0.03),
        ];
        let f = &frontier(&rows)[0];
        assert_eq!(
            (f.ar.run_id.as_str(), f.diffusion.run_id.as_str()),
            ("ar_a_E4", "diffusion_b_E16")
        );
        assert!((f.delta + 0.10).abs() < 1e-12 && (f.stderr - 0.03).abs() < 1e-12);
        assert_eq!(f.verdict, Verdict::DiffusionWins);
        // Delta as compute grows: diffusion behind at 1e9 (3.20 vs 2.90), ahead only once its
        // 3e10 run counts.
        let first = f.by_compute.first().unwrap();
        assert!((first.flops - 1e9).abs() < 1.0 && (first.delta - 0.30).abs() < 1e-12, "{first:?}");
        let last = f.by_compute.last().unwrap();
        assert!((last.flops - 3e10).abs() < 1.0 && (last.delta + 0.10).abs() < 1e-12, "{last:?}");
        // Within two standard errors: too close to call.
        rows[4] = row("diffusion", "b", 16.0, 3e10, 2.46, 0.03);
        assert_eq!(frontier(&rows)[0].verdict, Verdict::TooCloseToCall);
        // Behind by more than two: AR wins.
        rows[4] = row("diffusion", "b", 16.0, 3e10, 2.70, 0.03);
        assert_eq!(frontier(&rows)[0].verdict, Verdict::ArWins);
        // A U with only one family has no comparison.
        assert!(frontier(&rows[..3]).is_empty());
        // The trend: only when Delta is positive and falling.
        let at = |v: [f64; 3]| {
            v.iter()
                .enumerate()
                .map(|(i, &delta)| DeltaAt { flops: 10f64.powi(10 + i as i32), delta, stderr: 0.0 })
                .collect::<Vec<_>>()
        };
        assert!((trend_zero(&at([0.4, 0.3, 0.2])).unwrap().log10() - 14.0).abs() < 1e-9);
        assert!(trend_zero(&at([0.2, 0.3, 0.4])).is_none(), "rising");
        assert!(trend_zero(&at([0.1, 0.0, -0.1])).is_none(), "already crossed");
        assert!(trend_zero(&at([0.3, 0.2, 0.1])[1..]).is_none(), "two points");
    }
}
