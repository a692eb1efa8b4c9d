//! The study's outputs: `summary.md` (findings in words, laws, critical compute, runs) and
//! `report.html` (the same with every figure, self-contained).

use super::analysis::{Analysis, FamilyLaw, Frontier, Verdict};
use crate::scaling::crit::CrossoverStatus;
use crate::sweep::RunRow;
use crate::train::MetricsRow;
use crate::viz::figures as fig;
use crate::viz::{escape, figure, num, page, table};

/// Element ids of the report's figures and tables, stable across versions (tests and links
/// rely on them).
pub const FIGURE_IDS: [&str; 8] = [
    "fig-loss-vs-epochs", "fig-loss-vs-flops", "fig-compute-matched", "fig-law-fit",
    "fig-law-residuals", "fig-effective-data", "fig-critical-compute", "fig-training-curves",
];

/// Id of the runs table in report.html.
pub const RUNS_TABLE_ID: &str = "runs-table";

/// The study's findings as (question, answer) pairs, each answer computed from the runs.
pub fn findings(a: &Analysis) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (family, name) in [("ar", "AR"), ("diffusion", "diffusion")] {
        let q = format!("Did {name}'s loss turn up with epochs?");
        let ans = match a.turned_up(family) {
            None => {
                format!("Not measured: no (model, U) group of {family} runs has two epoch counts.")
            }
            Some((0, n)) => format!(
                "No: in none of {n} (model, U) groups is the final validation loss at the most epochs above the group's best by more than two standard errors (and 0.005 nats)."
            ),
            Some((k, n)) => {
                let worst = a
                    .trends
                    .iter()
                    .filter(|t| t.family == family && t.turned_up)
                    .max_by(|x, y| {
                        (x.last_loss - x.best_loss).total_cmp(&(y.last_loss - y.best_loss))
                    })
                    .expect("k > 0");
                format!(
                    "Yes: in {k} of {n} (model, U) groups the final validation loss at the most epochs is above the group's best by more than two standard errors (and 0.005 nats). Largest rise: {} at U = {}: {:.4} at E = {} vs best {:.4} at E = {}.",
                    worst.model,
                    worst.unique_tokens,
                    worst.last_loss,
                    worst.last_epochs,
                    worst.best_loss,
                    worst.best_epochs
                )
            }
        };
        out.push((q, ans));
    }
    for f in &a.frontier {
        out.push((
            format!("Best against best at U = {} tokens?", f.unique_tokens),
            frontier_words(f),
        ));
    }
    if let (Some(c), [first, rest @ ..]) = (a.largest_common_flops, a.best_at_largest.as_slice()) {
        let others: Vec<String> = rest
            .iter()
            .map(|b| format!("{} {:.4} ({})", b.family, b.best_val_loss, b.run_id))
            .collect();
        let margin = rest
            .first()
            .map(|b| format!(", ahead by {:.4} nats/token", b.best_val_loss - first.best_val_loss))
            .unwrap_or_default();
        out.push((
            format!("Which family is best at the largest compute ({c:.3e} FLOPs, reached by every family)?"),
            format!(
                "{}: best validation loss {:.4} ({}){margin}; {}. Diffusion losses are upper bounds (ELBO) on its NLL, so diffusion's true loss is at most this.",
                first.family,
                first.best_val_loss,
                first.run_id,
                if others.is_empty() { "no other family".to_string() } else { others.join("; ") }
            ),
        ));
    }
    let unidentified: Vec<String> = a
        .laws
        .iter()
        .filter(|l| (l.family == "ar" || l.family == "diffusion") && !l.identified())
        .map(|l| {
            format!(
                "{}'s law is not identified ({})",
                l.family,
                if l.params.is_none() {
                    "no fit".to_string()
                } else {
                    l.not_identified.join(", ") + " ran to a limit"
                }
            )
        })
        .collect();
    let crossing = match &a.crit_at_study {
        None if !unidentified.is_empty() => format!("Not computed: {}; its constants would say nothing.", unidentified.join("; ")),
        None => "Not computed: an AR law and a diffusion law are both needed and at least one fit failed (see the laws table).".to_string(),
        Some(c) => {
            let mut parts: Vec<String> = c
                .rows
                .iter()
                .map(|r| format!("at U = {:.0} tokens, {} (DBA's line: {:.3e})", r.unique_tokens, Analysis::crossover_words(r.status, r.c_crit), r.dba_c_crit))
                .collect();
            let max_c = a.largest_common_flops.unwrap_or(0.0);
            let beyond = c.rows.iter().filter(|r| r.status == CrossoverStatus::Crossover && r.c_crit.is_some_and(|x| x > max_c)).count();
            if beyond > 0 {
                parts.push(format!("{beyond} of these crossovers lie beyond this study's largest compute ({max_c:.3e} FLOPs)"));
            }
            parts.join("; ") + "."
        }
    };
    out.push(("Where do the fitted laws put the crossover?".into(), crossing));
    out.push(("Verdict".into(), verdict(a)));
    out
}

/// One U's best-against-best comparison in words.
pub fn frontier_words(f: &Frontier) -> String {
    let side = |b: &super::analysis::FamilyBest| {
        format!(
            "{:.4} ± {:.4} ({}, {} at E = {}, dropout {}, weight decay {}, {:.3e} FLOPs)",
            b.loss, b.stderr, b.run_id, b.model, b.epochs, b.dropout, b.weight_decay, b.flops
        )
    };
    let who = match f.verdict {
        Verdict::DiffusionWins => {
            format!("{} by {:.4} nats/token (Delta + 2 SE < 0)", f.verdict.words(), -f.delta)
        }
        Verdict::ArWins => {
            format!("{} by {:.4} nats/token (Delta - 2 SE > 0)", f.verdict.words(), f.delta)
        }
        Verdict::TooCloseToCall => format!("{} (|Delta| within 2 SE)", f.verdict.words()),
    };
    let moves: Vec<String> = f
        .by_compute
        .iter()
        .map(|d| format!("{:.1e}: {:+.4} ± {:.4}", d.flops, d.delta, d.stderr))
        .collect();
    let trend = match f.trend_zero_flops {
        Some(c) => format!(
            " A straight line through Delta's last three points (against log compute) reaches 0 at {c:.2e} FLOPs: a trend, not a law."
        ),
        None => String::new(),
    };
    format!(
        "AR {}; diffusion {} (an upper bound). Delta = diffusion - AR = {:+.4} ± {:.4}: {who}. Delta with both families limited to a compute: {}.{trend} DBA's extrapolated C_crit at this U is {:.3e} FLOPs; this grid's largest run here used {:.3e}.",
        side(&f.ar),
        side(&f.diffusion),
        f.delta,
        f.stderr,
        moves.join(", "),
        f.dba_c_crit,
        f.max_flops
    )
}

/// The smallest C_crit the fitted laws give at the study's budgets, if they cross anywhere.
fn smallest_crit(a: &Analysis) -> Option<f64> {
    a.crit_at_study
        .as_ref()
        .and_then(|c| c.rows.iter().filter_map(|r| r.c_crit).min_by(f64::total_cmp))
}

fn verdict(a: &Analysis) -> String {
    if !a.frontier.is_empty() {
        let wins: Vec<&Frontier> =
            a.frontier.iter().filter(|f| f.verdict == Verdict::DiffusionWins).collect();
        let rest: Vec<String> = a
            .frontier
            .iter()
            .filter(|f| f.verdict != Verdict::DiffusionWins)
            .map(|f| {
                let trend = f
                    .trend_zero_flops
                    .map(|c| format!(" (Delta's trend reaches 0 near {c:.1e} FLOPs)"))
                    .unwrap_or_default();
                format!(
                    "at U = {} diffusion misses by {:+.4} ± {:.4} nats/token{trend}",
                    f.unique_tokens, f.delta, f.stderr
                )
            })
            .collect();
        let mut s = if wins.is_empty() {
            format!(
                "Diffusion does not beat AR at any U of this study, best against best: {}.",
                rest.join("; ")
            )
        } else {
            let w: Vec<String> = wins
                .iter()
                .map(|f| format!("U = {} (by {:.4} ± {:.4})", f.unique_tokens, -f.delta, f.stderr))
                .collect();
            let mut s = format!(
                "Diffusion beats AR best against best at {}, as DBA reports past C_crit",
                w.join(", ")
            );
            if !rest.is_empty() {
                s.push_str(&format!("; elsewhere {}", rest.join("; ")));
            }
            s + "."
        };
        let need = smallest_crit(a);
        match (need, &a.crit_at_study) {
            (Some(c), _) => s.push_str(&format!(" The fitted laws put the crossover at about {c:.3e} FLOPs at the smallest U where they cross.")),
            (None, Some(_)) => s.push_str(" The fitted laws do not cross at any compute searched."),
            (None, None) => s.push_str(" The laws do not say how much compute diffusion would need: at least one is not identified on this grid."),
        }
        return s;
    }
    let winner = a.best_at_largest.first().map(|b| b.family.as_str());
    let need = smallest_crit(a);
    match winner {
        Some("diffusion") => {
            "Diffusion beats AR at this study's largest compute, as DBA reports past C_crit.".into()
        }
        Some(w) => {
            let mut s = format!(
                "Diffusion does not beat AR at this scale: {w} has the lower loss at the largest compute."
            );
            match (need, &a.crit_at_study) {
                (Some(c), _) => s.push_str(&format!(" The fitted laws say diffusion would need about {c:.3e} FLOPs (at the smallest U where they cross) to overtake AR.")),
                (None, Some(_)) => s.push_str(" The fitted laws do not cross at any compute searched, so they do not predict a win for diffusion on this data; fits on a small grid are weak evidence (see R^2)."),
                (None, None) => s.push_str(" Without both laws the toolkit cannot say how much compute diffusion would need; run a wider grid (paper-small)."),
            }
            s
        }
        None => "No runs.".into(),
    }
}

/// Warnings about fits that say little: stages that ran to a limit, weak R^2.
pub fn law_caveats(laws: &[FamilyLaw]) -> Vec<String> {
    let mut out = Vec::new();
    for l in laws {
        if l.params.is_none() {
            continue;
        }
        for stage in &l.not_identified {
            out.push(format!("{}: {stage} ran to a limit: not identified on this grid (its constants are not reported, and nothing is derived from them).", l.family));
        }
        if l.r2 < 0.5 {
            out.push(format!(
                "{}: R^2 = {:.3}: the law explains little of this family's variation.",
                l.family, l.r2
            ));
        }
    }
    out
}

fn law_rows(laws: &[FamilyLaw]) -> Vec<Vec<String>> {
    const NI: &str = "not identified";
    laws.iter()
        .map(|l| match &l.params {
            Some(p) => {
                let s1 = !l.not_identified.iter().any(|s| s.starts_with("stage 1"));
                let s2 = !l.not_identified.iter().any(|s| s.starts_with("stage 2"));
                let or = |ok: bool, v: String| if ok { v } else { NI.to_string() };
                vec![
                    l.family.clone(),
                    l.target.clone(),
                    l.n_runs.to_string(),
                    or(s1, num(p.big_e())),
                    or(s1, format!("{:.4e}", p.big_a())),
                    or(s1, format!("{:.4e}", p.big_b())),
                    or(s1, format!("{:.4}", p.alpha)),
                    or(s1, format!("{:.4}", p.beta)),
                    or(s2, num(p.r_d_star)),
                    or(s2, num(p.r_n_star)),
                    or(s2, num(l.half_value_epochs)),
                    format!("{:.4}", l.r2),
                ]
            }
            None => vec![
                l.family.clone(),
                l.target.clone(),
                l.n_runs.to_string(),
                format!("no fit: {}", l.error.as_deref().unwrap_or("?")),
            ],
        })
        .collect()
}

const LAW_HEADERS: [&str; 12] = [
    "family", "fitted to", "runs", "E", "A", "B", "alpha", "beta", "R_D*", "R_N*",
    "half-value epochs", "R^2",
];
const RUN_HEADERS: [&str; 16] = [
    "run", "family", "model", "params", "U", "epochs", "dropout", "weight decay", "FLOPs",
    "best val (curve)", "best val (precise)", "± SE", "curve SE (final)", "final val (precise)",
    "bits/byte", "seconds",
];
const FRONTIER_HEADERS: [&str; 7] = [
    "U", "AR best ± SE (E)", "diffusion best ± SE (E)", "Delta ± SE", "verdict", "DBA C_crit",
    "largest run FLOPs",
];

fn frontier_rows(a: &Analysis) -> Vec<Vec<String>> {
    a.frontier
        .iter()
        .map(|f| {
            vec![
                f.unique_tokens.to_string(),
                format!(
                    "{:.4} ± {:.4} ({}, E {})",
                    f.ar.loss, f.ar.stderr, f.ar.model, f.ar.epochs
                ),
                format!(
                    "{:.4} ± {:.4} ({}, E {})",
                    f.diffusion.loss, f.diffusion.stderr, f.diffusion.model, f.diffusion.epochs
                ),
                format!("{:+.4} ± {:.4}", f.delta, f.stderr),
                f.verdict.words().into(),
                format!("{:.3e}", f.dba_c_crit),
                format!("{:.3e}", f.max_flops),
            ]
        })
        .collect()
}

/// The precise figures of a run: (best, its SE, final), "-" when the run predates them.
fn precise_cells(s: &crate::train::Summary) -> [String; 3] {
    match (s.best_val_loss_precise, s.final_val_loss_precise) {
        (Some(b), Some(f)) => [
            format!("{b:.4}"),
            format!("{:.4}", s.best_val_loss_precise_stderr.unwrap_or(f64::NAN)),
            format!("{f:.4}"),
        ],
        _ => ["-".into(), "-".into(), "-".into()],
    }
}

fn run_rows(rows: &[RunRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let s = &r.summary;
            let p = precise_cells(s);
            vec![
                r.point.run_id.clone(),
                r.point.family.clone(),
                r.point.model_spec.clone(),
                s.params_total.to_string(),
                s.unique_tokens.to_string(),
                format!("{}", s.epochs),
                format!("{}", s.dropout),
                format!("{}", s.weight_decay),
                format!("{:.3e}", s.flops),
                format!("{:.4}", s.best_val_loss),
                p[0].clone(),
                p[1].clone(),
                format!("{:.4}", s.final_val_loss_stderr),
                p[2].clone(),
                format!("{:.4}", s.best_val_bits_per_byte),
                format!("{:.1}", s.wall_seconds),
            ]
        })
        .collect()
}

fn md_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|{}\n", headers.join(" | "), "---|".repeat(headers.len()));
    for r in rows {
        let mut cells = r.clone();
        cells.resize(headers.len(), String::new());
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

/// Context every output states: what ran, where, how long.
#[derive(Clone, Debug)]
pub struct StudyContext {
    /// Preset or spec name.
    pub name: String,
    /// The command that reproduces it.
    pub command: String,
    /// Corpus, tokenizer, context.
    pub data: String,
    /// Device of the runs.
    pub device: String,
    /// Wall time of the whole study (this call), seconds.
    pub wall_seconds: f64,
}

impl StudyContext {
    /// One line on what ran: runs, device, data, training time, this call's time, the command.
    pub fn line(&self, rows: &[RunRow]) -> String {
        // Twin rows (a matched point equal to a grid point) share one run: count it once.
        let mut seen = std::collections::BTreeSet::new();
        let train: f64 = rows
            .iter()
            .filter(|r| seen.insert(r.curve.as_str()))
            .map(|r| r.summary.wall_seconds)
            .sum();
        format!(
            "{} runs on {} ({}): {:.0} s of training in all; this call took {:.0} s. Reproduce: `{}`.",
            rows.len(),
            self.device,
            self.data,
            train,
            self.wall_seconds,
            self.command
        )
    }
}

/// summary.md.
pub fn summary_md(ctx: &StudyContext, a: &Analysis, rows: &[RunRow]) -> String {
    let mut s = format!("# dclab study: {}\n\n", ctx.name);
    s.push_str(&format!("{}\n\n## Findings\n\n", ctx.line(rows)));
    for (q, ans) in findings(a) {
        s.push_str(&format!("- **{q}** {ans}\n"));
    }
    if !a.frontier.is_empty() {
        s.push_str("\n## Best against best per U\n\n");
        s.push_str(&md_table(&FRONTIER_HEADERS, &frontier_rows(a)));
    }
    s.push_str("\n## Fitted laws (alpha = beta; SDC's two-stage fit; `not identified`: the stage ran to a limit)\n\n");
    s.push_str(&md_table(&LAW_HEADERS, &law_rows(&a.laws)));
    for c in &a.fit_choices {
        s.push_str(&format!("\n- {}: {}", c.family, c.reason));
    }
    for c in law_caveats(&a.laws) {
        s.push_str(&format!("\n- {c}"));
    }
    s.push('\n');
    if let Some(c) = &a.crit_at_study {
        s.push_str("\n## Critical compute at the study's budgets\n\n");
        s.push_str(&md_table(&fig::CRIT_HEADERS, &fig::crit_rows(c)));
    }
    s.push_str("\n## Runs\n\n");
    s.push_str(&md_table(&RUN_HEADERS, &run_rows(rows)));
    s.push_str(
        "\nLosses are nats/token on the fixed validation set; diffusion's are upper bounds (ELBO). \
         `best val (precise)` re-evaluates the best checkpoint with fresh draws on the whole split \
         (the value compared above; its SE is the estimator's own randomness on that fixed split); \
         `curve SE` is the cheap evaluation's error along the curve. \
         A law with 7 constants fitted on a small grid is weakly identified: read R^2 and the residual \
         figure before trusting R_D* or C_crit.\n",
    );
    s
}

/// report.html: findings, every figure (ids in [`FIGURE_IDS`]), the laws and the runs table.
pub fn report_html(
    ctx: &StudyContext, a: &Analysis, rows: &[RunRow], curves: &[(RunRow, Vec<MetricsRow>)],
) -> String {
    let mut b =
        format!("<p>{}</p>\n<h2>Findings</h2>\n<ul class=\"finding\">\n", escape(&ctx.line(rows)));
    for (q, ans) in findings(a) {
        b.push_str(&format!("<li><b>{}</b> {}</li>\n", escape(&q), escape(&ans)));
    }
    b.push_str("</ul>\n<h2>Repetition</h2>\n");
    b.push_str(&figure(&fig::loss_vs_epochs(rows), FIGURE_IDS[0], "Final validation loss against epochs at each fixed unique budget U (colour: family; dash: U). A curve that turns up means repeated data started to hurt."));
    b.push_str(&figure(&fig::loss_vs_flops(rows), FIGURE_IDS[1], "Each run's best validation loss against its training FLOPs (6ND, total parameters), with each family's best-so-far envelope."));
    b.push_str(&figure(&fig::compute_matched(rows), FIGURE_IDS[2], "Compute-matched runs: the same training tokens D, a smaller unique fraction U/D means more epochs (DBA's repetition figure). Empty if the spec has no compute_matched table."));
    if !a.frontier.is_empty() {
        b.push_str("<h2>Best against best</h2>\n");
        b.push_str(&table("frontier-table", &FRONTIER_HEADERS, &frontier_rows(a)));
    }
    b.push_str("<h2>Scaling laws</h2>\n");
    b.push_str(&table("laws-table", &LAW_HEADERS, &law_rows(&a.laws)));
    for c in &a.fit_choices {
        b.push_str(&format!(
            "<p class=\"finding\">{}: {}</p>\n",
            escape(&c.family),
            escape(&c.reason)
        ));
    }
    for c in law_caveats(&a.laws) {
        b.push_str(&format!("<p class=\"finding\">{}</p>\n", escape(&c)));
    }
    let fitted: Vec<(String, Vec<crate::scaling::uncertainty::Residual>)> = a
        .laws
        .iter()
        .filter(|l| l.params.is_some())
        .map(|l| (l.family.clone(), l.residuals.clone()))
        .collect();
    b.push_str(&figure(&fig::law_fit(&fitted), FIGURE_IDS[3], "Observed final validation loss against the fitted law's prediction, per family; points on the dashed diagonal are fitted exactly."));
    b.push_str(&figure(&fig::law_residuals(&fitted), FIGURE_IDS[4], "Log residuals of each family's fit against epochs; a trend means the law misses how repetition acts."));
    let laws: Vec<(String, crate::scaling::law::LawParams)> =
        a.laws.iter().filter_map(|l| l.params.map(|p| (l.family.clone(), p))).collect();
    b.push_str(&figure(&fig::effective_data(&laws), FIGURE_IDS[5], "D'/D: how much of the repeated tokens' value is left after E epochs, from each family's fitted R_D*; dotted lines mark where a repetition is worth half a fresh token."));
    match &a.crit {
        Some(c) => b.push_str(&figure(&fig::critical_compute(c), FIGURE_IDS[6], "C_crit(U): the compute above which the fitted diffusion law beats the fitted AR law, against DBA's published line. Missing points: no crossover in 1e6..1e30 FLOPs.")),
        None => b.push_str(&format!("<div id=\"{}\"><p>No critical compute: it needs both an AR and a diffusion law.</p></div>\n", FIGURE_IDS[6])),
    }
    b.push_str("<h2>Training curves</h2>\n");
    b.push_str(&figure(
        &fig::training_curves(curves),
        FIGURE_IDS[7],
        "Every run's validation loss against tokens seen (diffusion: upper bounds).",
    ));
    b.push_str("<h2>Runs</h2>\n");
    b.push_str(&table(RUNS_TABLE_ID, &RUN_HEADERS, &run_rows(rows)));
    page(&format!("dclab study: {}", ctx.name), &b)
}
