//! The study's figures as plotly plots, each built from plain data (rows, laws, curves).

use crate::scaling::crit::CritReport;
use crate::scaling::law::{LawParams, effective, half_value_repetition};
use crate::scaling::uncertainty::Residual;
use crate::sweep::RunRow;
use crate::train::{MetricsRow, Summary};
use dclab_types::{BoundPoint, DeltaMap};
use plotly::common::{DashType, Line, Marker, Mode};
use plotly::layout::{Axis, AxisType};
use plotly::{Layout, Plot, Scatter};
use std::collections::BTreeMap;

/// A stable colour per family (AR blue, diffusion red, orderings green, others grey).
pub fn family_color(family: &str) -> &'static str {
    match family {
        "ar" => "#1f77b4",
        "diffusion" => "#d62728",
        f if f.starts_with("ar-orderings") => "#2ca02c",
        _ => "#7f7f7f",
    }
}

/// How a family is labelled in figures (diffusion losses are upper bounds).
pub fn family_label(family: &str) -> String {
    match family {
        "diffusion" => "diffusion (bound)".into(),
        f => f.into(),
    }
}

const DASHES: [DashType; 4] = [DashType::Solid, DashType::Dash, DashType::Dot, DashType::DashDot];

fn layout(title: &str, x: &str, y: &str, log_x: bool, log_y: bool) -> Layout {
    let axis = |t: &str, log: bool| {
        let a = Axis::new().title(t);
        if log { a.type_(AxisType::Log) } else { a }
    };
    Layout::new().title(title).x_axis(axis(x, log_x)).y_axis(axis(y, log_y)).height(460)
}

fn sorted_by<K: PartialOrd + Copy>(mut v: Vec<(K, f64)>) -> (Vec<K>, Vec<f64>) {
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    v.into_iter().unzip()
}

/// One line of loss against epochs: (family, model, U, regularisation).
type LineKey = (String, String, usize, String);

/// Validation loss against epochs at each fixed U, one line per (family, model, U): AR's
/// curve turns up where repetition starts to hurt.
pub fn loss_vs_epochs(rows: &[RunRow]) -> Plot {
    let mut groups: BTreeMap<LineKey, Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.point.kind == "grid" || r.point.kind == "doubling") {
        let reg = match (r.point.point_dropout, r.point.point_weight_decay) {
            (None, None) => String::new(),
            _ => format!(" do={} wd={}", r.summary.dropout, r.summary.weight_decay),
        };
        let key =
            (r.point.family.clone(), r.point.model_spec.clone(), r.summary.unique_tokens, reg);
        groups.entry(key).or_default().push((r.summary.epochs, r.summary.final_loss().0));
    }
    let us: Vec<usize> = {
        let mut u: Vec<usize> = groups.keys().map(|k| k.2).collect();
        u.sort();
        u.dedup();
        u
    };
    let mut plot = Plot::new();
    for ((family, model, u, reg), pts) in groups {
        let (x, y) = sorted_by(pts);
        let dash = DASHES[us.iter().position(|&v| v == u).unwrap_or(0) % DASHES.len()].clone();
        plot.add_trace(
            Scatter::new(x, y)
                .mode(Mode::LinesMarkers)
                .name(format!("{} {model} U={u}{reg}", family_label(&family)))
                .legend_group(family.clone())
                .line(Line::new().color(family_color(&family)).dash(dash)),
        );
    }
    plot.set_layout(layout(
        "Final validation loss against epochs at fixed unique data U",
        "epochs E",
        "validation loss (nats/token)",
        true,
        false,
    ));
    plot
}

/// The best validation loss of every run against its training FLOPs (6ND), with each
/// family's lower envelope.
pub fn loss_vs_flops(rows: &[RunRow]) -> Plot {
    let mut plot = Plot::new();
    for family in families(rows) {
        let mut pts: Vec<(f64, f64, String)> = rows
            .iter()
            .filter(|r| r.point.family == family)
            .map(|r| (r.summary.flops, r.summary.best_loss().0, r.point.run_id.clone()))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let color = family_color(&family);
        plot.add_trace(
            Scatter::new(pts.iter().map(|p| p.0).collect(), pts.iter().map(|p| p.1).collect())
                .mode(Mode::Markers)
                .name(format!("{} runs", family_label(&family)))
                .legend_group(family.clone())
                .text_array(pts.iter().map(|p| p.2.clone()).collect())
                .marker(Marker::new().color(color).opacity(0.6)),
        );
        let mut best = f64::INFINITY;
        let mut frontier: Vec<(f64, f64)> = vec![];
        for p in &pts {
            if p.1 < best {
                best = p.1;
                frontier.push((p.0, p.1));
            }
        }
        let (x, y): (Vec<f64>, Vec<f64>) = frontier.into_iter().unzip();
        plot.add_trace(
            Scatter::new(x, y)
                .mode(Mode::Lines)
                .name(format!("{} best so far", family_label(&family)))
                .legend_group(family.clone())
                .line(Line::new().color(color).shape(plotly::common::LineShape::Hv)),
        );
    }
    plot.set_layout(layout(
        "Best validation loss against training compute",
        "FLOPs (6 N D)",
        "best validation loss (nats/token)",
        true,
        false,
    ));
    plot
}

/// Compute-matched runs: validation loss against the unique fraction U/D at fixed D
/// (epochs = D/U rise to the left).
pub fn compute_matched(rows: &[RunRow]) -> Plot {
    let mut groups: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.point.kind == "matched") {
        if let Some(f) = r.point.unique_fraction {
            groups
                .entry((r.point.family.clone(), r.point.model_spec.clone()))
                .or_default()
                .push((f, r.summary.final_val_loss));
        }
    }
    let mut plot = Plot::new();
    for (k, ((family, model), pts)) in groups.into_iter().enumerate() {
        let (x, y) = sorted_by(pts);
        plot.add_trace(
            Scatter::new(x, y)
                .mode(Mode::LinesMarkers)
                .name(format!("{} {model}", family_label(&family)))
                .line(
                    Line::new()
                        .color(family_color(&family))
                        .dash(DASHES[k / 3 % DASHES.len()].clone()),
                ),
        );
    }
    plot.set_layout(layout(
        "Fixed compute: final validation loss against the unique fraction U/D",
        "unique fraction U/D (epochs = D/U)",
        "validation loss (nats/token)",
        true,
        false,
    ));
    plot
}

/// Observed loss against the fitted law's prediction, per family (the diagonal is a perfect fit).
pub fn law_fit(fits: &[(String, Vec<Residual>)]) -> Plot {
    let mut plot = Plot::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (family, res) in fits {
        for r in res {
            lo = lo.min(r.val_loss.min(r.predicted));
            hi = hi.max(r.val_loss.max(r.predicted));
        }
        plot.add_trace(
            Scatter::new(
                res.iter().map(|r| r.predicted).collect(),
                res.iter().map(|r| r.val_loss).collect(),
            )
            .mode(Mode::Markers)
            .name(format!("{} runs", family_label(family)))
            .text_array(
                res.iter()
                    .map(|r| {
                        format!("N={:.3e} D={:.3e} U={:.3e}", r.params, r.tokens, r.unique_tokens)
                    })
                    .collect(),
            )
            .marker(Marker::new().color(family_color(family))),
        );
    }
    if lo.is_finite() {
        plot.add_trace(
            Scatter::new(vec![lo, hi], vec![lo, hi])
                .mode(Mode::Lines)
                .name("observed = law")
                .line(Line::new().color("#555").dash(DashType::Dash)),
        );
    }
    plot.set_layout(layout(
        "Fitted data-constrained law against the runs",
        "law L(N, D, U)",
        "observed final validation loss",
        false,
        false,
    ));
    plot
}

/// Log residuals of each family's fit against epochs.
pub fn law_residuals(fits: &[(String, Vec<Residual>)]) -> Plot {
    let mut plot = Plot::new();
    for (family, res) in fits {
        plot.add_trace(
            Scatter::new(
                res.iter().map(|r| r.tokens / r.unique_tokens).collect(),
                res.iter().map(|r| r.log_residual).collect(),
            )
            .mode(Mode::Markers)
            .name(family_label(family))
            .marker(Marker::new().color(family_color(family))),
        );
    }
    plot.set_layout(layout(
        "Fit residuals: log(law) - log(observed)",
        "epochs D/U",
        "log residual",
        true,
        false,
    ));
    plot
}

/// D'/D, the share of repeated tokens' value left after E epochs, per family's fitted R_D*;
/// dotted verticals at each family's half-value repetition R_D* ln 2 (+1 epoch).
pub fn effective_data(laws: &[(String, LawParams)]) -> Plot {
    let epochs: Vec<f64> = (0..=60).map(|i| 10f64.powf(i as f64 / 20.0)).collect();
    let mut plot = Plot::new();
    for (family, p) in laws {
        let y: Vec<f64> = epochs.iter().map(|&e| effective(1.0, e - 1.0, p.r_d_star) / e).collect();
        plot.add_trace(
            Scatter::new(epochs.clone(), y)
                .mode(Mode::Lines)
                .name(format!("{} (R_D* = {:.3})", family_label(family), p.r_d_star))
                .line(Line::new().color(family_color(family))),
        );
        let half = half_value_repetition(p.r_d_star) + 1.0;
        if half.is_finite() {
            plot.add_trace(
                Scatter::new(vec![half, half], vec![0.0, 1.0])
                    .mode(Mode::Lines)
                    .name(format!("{} half-value at E = {half:.3}", family_label(family)))
                    .line(Line::new().color(family_color(family)).dash(DashType::Dot)),
            );
        }
    }
    plot.set_layout(layout(
        "Value left in repeated data: D'/D against epochs",
        "epochs E",
        "D'/D",
        true,
        false,
    ));
    plot
}

/// C_crit(U) from the fitted laws (where they cross) with DBA's published line.
pub fn critical_compute(crit: &CritReport) -> Plot {
    let mut plot = Plot::new();
    let found: Vec<(f64, f64)> =
        crit.rows.iter().filter_map(|r| r.c_crit.map(|c| (r.unique_tokens, c))).collect();
    let (x, y): (Vec<f64>, Vec<f64>) = found.into_iter().unzip();
    plot.add_trace(
        Scatter::new(x, y)
            .mode(Mode::LinesMarkers)
            .name("C_crit(U) from the fitted laws")
            .line(Line::new().color("#9467bd")),
    );
    let u: Vec<f64> = crit.rows.iter().map(|r| r.unique_tokens).collect();
    let dba: Vec<f64> = crit.rows.iter().map(|r| r.dba_c_crit).collect();
    plot.add_trace(
        Scatter::new(u, dba)
            .mode(Mode::Lines)
            .name("DBA: C_crit = 2.12e1.956 U^2.174")
            .line(Line::new().color("#555").dash(DashType::Dash)),
    );
    plot.set_layout(layout(
        "Critical compute: diffusion beats AR above the line",
        "unique tokens U",
        "C_crit (FLOPs)",
        true,
        true,
    ));
    plot
}

/// One training curve per run: validation loss against tokens seen.
pub fn training_curves(curves: &[(RunRow, Vec<MetricsRow>)]) -> Plot {
    let mut plot = Plot::new();
    for (row, m) in curves {
        plot.add_trace(
            Scatter::new(
                m.iter().map(|r| r.tokens_seen as f64).collect(),
                m.iter().map(|r| r.val_loss).collect(),
            )
            .mode(Mode::LinesMarkers)
            .marker(Marker::new().size(3))
            .name(row.point.run_id.clone())
            .legend_group(row.point.family.clone())
            .line(Line::new().color(family_color(&row.point.family)).width(1.0)),
        );
    }
    plot.set_layout(layout(
        "Every training curve: validation loss against tokens seen",
        "tokens seen",
        "validation loss (nats/token)",
        true,
        false,
    ));
    plot
}

/// The families present, in a stable order (ar first, diffusion second).
pub fn families(rows: &[RunRow]) -> Vec<String> {
    let mut f: Vec<String> = rows.iter().map(|r| r.point.family.clone()).collect();
    f.sort_by_key(|x| (x != "ar", x != "diffusion", x.clone()));
    f.dedup();
    f
}

/// Headers of the critical-compute table.
pub const CRIT_HEADERS: [&str; 4] =
    ["U (tokens)", "C_crit from the fits (FLOPs)", "status", "DBA's C_crit"];

/// The critical-compute table's rows (shared by the study summary and the notebook display).
pub fn crit_rows(crit: &CritReport) -> Vec<Vec<String>> {
    crit.rows
        .iter()
        .map(|r| {
            vec![
                format!("{:.0}", r.unique_tokens),
                r.c_crit.map(|c| format!("{c:.3e}")).unwrap_or("-".into()),
                format!("{:?}", r.status),
                format!("{:.3e}", r.dba_c_crit),
            ]
        })
        .collect()
}

/// One run's curve: validation loss (an upper bound for diffusion) and training loss against
/// tokens seen.
pub fn run_curve(s: &Summary, curve: &[MetricsRow]) -> Plot {
    let family = if s.objective == "diffusion" { "diffusion" } else { "ar" };
    let x: Vec<f64> = curve.iter().map(|m| m.tokens_seen as f64).collect();
    let mut plot = Plot::new();
    plot.add_trace(
        Scatter::new(x.clone(), curve.iter().map(|m| m.val_loss).collect())
            .name(format!("validation ({})", family_label(family)))
            .line(Line::new().color(family_color(family))),
    );
    plot.add_trace(
        Scatter::new(x, curve.iter().map(|m| m.train_loss).collect())
            .name("training")
            .line(Line::new().color("#7f7f7f").dash(DashType::Dot)),
    );
    let title = format!(
        "{} {} on {} (U = {}, E = {})",
        s.objective, s.model, s.corpus, s.unique_tokens, s.epochs
    );
    plot.set_layout(layout(&title, "tokens seen", "loss (nats/token)", false, false).height(400));
    plot
}

/// The diffusion bound's standard error against the draws K per sequence, with the
/// 1/sqrt(K) line through the first point.
pub fn bound_vs_draws(points: &[BoundPoint]) -> Plot {
    let k: Vec<f64> = points.iter().map(|p| p.draws as f64).collect();
    let mut plot = Plot::new();
    plot.add_trace(
        Scatter::new(k.clone(), points.iter().map(|p| p.stderr).collect())
            .mode(Mode::LinesMarkers)
            .name("standard error of the bound"),
    );
    if let Some(first) = points.first() {
        let at_1 = first.stderr * (first.draws as f64).sqrt();
        plot.add_trace(
            Scatter::new(k.clone(), k.iter().map(|&k| at_1 / k.sqrt()).collect())
                .mode(Mode::Lines)
                .name("1/sqrt(K)")
                .line(Line::new().color("#555").dash(DashType::Dash)),
        );
    }
    plot.set_layout(layout(
        "Diffusion validation bound: standard error against draws K",
        "draws K per sequence",
        "standard error (nats/token)",
        true,
        true,
    ));
    plot
}

/// Delta L = L_diffusion - L_AR over log10 C and log10 U: red where AR is better, blue where
/// diffusion is.
pub fn delta_map(m: &DeltaMap) -> Plot {
    use plotly::common::{ColorScale, ColorScalePalette};
    let mut plot = Plot::new();
    plot.add_trace(
        plotly::HeatMap::new(m.log10_c.clone(), m.log10_u.clone(), m.delta.clone())
            .zmid(0.0)
            .color_scale(ColorScale::Palette(ColorScalePalette::RdBu))
            .reverse_scale(true),
    );
    plot.set_layout(layout(
        "Delta L = L_diffusion - L_AR (red: AR better, blue: diffusion better)",
        "log10 C (FLOPs)",
        "log10 U (tokens)",
        false,
        false,
    ));
    plot
}
