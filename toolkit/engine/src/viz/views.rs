//! How each result shows itself in a notebook: its figure (plotly JSON) and table (HTML),
//! drawn by the same figure code as report.html, plus its key numbers as text. `dclab ...
//! --json` hands these over in its reply; the bindings crate prints them.

use super::{escape, figures, num, table};
use crate::scaling::crit::CritReport;
use crate::scaling::law::{LawParams, value_left as left};
use crate::scaling::report::FitReport;
use dclab_types::{
    Blob, BoundPoint, CorpusStats, DeltaMap, MaskDraw, RunReport, Sample, SweepReport, ValueCurve,
};
use plotly::Plot;

/// A result's display: blobs and text lines.
pub struct View {
    /// Figure and table.
    pub blobs: Vec<Blob>,
    /// Key numbers as plain lines.
    pub text: String,
}

/// Blobs from an optional figure and an HTML table, with text lines.
pub fn view(plot: Option<&Plot>, html: String, text: String) -> View {
    let mut blobs = vec![];
    if let Some(p) = plot {
        blobs.push(Blob { mime: Blob::PLOTLY.into(), body: p.to_json() });
    }
    blobs.push(Blob { mime: Blob::HTML.into(), body: html });
    View { blobs, text }
}

fn kv(id: &str, rows: &[(&str, String)]) -> String {
    let body: Vec<Vec<String>> = rows.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect();
    table(id, &["", "value"], &body)
}

/// A run: its curve (validation and training loss against tokens) and its summary.
pub fn run(r: &RunReport) -> View {
    let s = &r.summary;
    let bound = if s.objective == "diffusion" { " (an upper bound)" } else { "" };
    let rows = [
        ("objective", s.objective.clone()),
        ("model", format!("{} ({} params)", s.model, s.params_total)),
        (
            "data",
            format!("{} / {}, U = {}, E = {}", s.corpus, s.tokenizer, s.unique_tokens, s.epochs),
        ),
        (
            "best val loss",
            format!(
                "{:.4}{bound} at step {} ({:.3} bits/byte)",
                s.best_val_loss, s.best_val_step, s.best_val_bits_per_byte
            ),
        ),
        ("final val loss", format!("{:.4} ± {:.4}", s.final_val_loss, s.final_val_loss_stderr)),
        ("held-out", format!("{:.4} ({:.3} bits/byte)", s.heldout_loss, s.heldout_bits_per_byte)),
        ("compute", format!("{:.3e} FLOPs, {} tokens", s.flops, s.tokens_seen)),
        (
            "speed",
            format!("{:.0} tokens/s on {}, {:.1} s", s.tokens_per_second, s.device, s.wall_seconds),
        ),
        ("folder", r.dir.clone()),
    ];
    let text = format!(
        "{} {}: best val {:.4}{bound} at step {}, final {:.4} ± {:.4}, held-out {:.4} nats/token ({})",
        s.objective,
        s.model,
        s.best_val_loss,
        s.best_val_step,
        s.final_val_loss,
        s.final_val_loss_stderr,
        s.heldout_loss,
        r.dir
    );
    view(Some(&figures::run_curve(s, &r.curve)), kv("run-summary", &rows), text)
}

/// A sweep: loss against epochs (compute-matched sweeps: against the unique fraction) and
/// the runs table.
pub fn sweep(r: &SweepReport) -> View {
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|r| {
            let s = &r.summary;
            vec![
                r.point.run_id.clone(),
                s.unique_tokens.to_string(),
                format!("{}", s.epochs),
                format!("{:.3e}", s.flops),
                format!("{:.4}", s.best_val_loss),
                format!("{:.4}", s.final_val_loss),
            ]
        })
        .collect();
    let html =
        table("sweep-runs", &["run", "U", "epochs", "FLOPs", "best val", "final val"], &rows);
    let text = format!(
        "{} runs in {} ({} trained now, {} already done)",
        r.rows.len(),
        r.dir,
        r.ran,
        r.skipped
    );
    let plot = if r.rows.iter().any(|r| r.point.kind == "grid") {
        figures::loss_vs_epochs(&r.rows)
    } else {
        figures::compute_matched(&r.rows)
    };
    view(Some(&plot), html, text)
}

/// A fit: observed against fitted loss, and the constants with their intervals.
pub fn fit(rep: &FitReport) -> View {
    let p = &rep.params;
    let ci = |k: &str| {
        rep.ci.get(k).map(|c| format!("[{}, {}]", num(c[0]), num(c[1]))).unwrap_or_default()
    };
    let rows = [
        ("E", num(rep.big_e), ci("E")),
        ("A", format!("{:.4e}", rep.big_a), ci("A")),
        ("B", format!("{:.4e}", rep.big_b), ci("B")),
        ("alpha", num(p.alpha), ci("alpha")),
        ("beta", num(p.beta), ci("beta")),
        ("R_D*", num(p.r_d_star), ci("R_D_star")),
        ("R_N*", num(p.r_n_star), ci("R_N_star")),
        ("R^2", format!("{:.5}", rep.r2), String::new()),
        ("runs", rep.n_runs.to_string(), String::new()),
    ];
    let body: Vec<Vec<String>> =
        rows.iter().map(|(k, v, c)| vec![k.to_string(), v.clone(), c.clone()]).collect();
    let text = format!(
        "fit on {} runs: E = {}, alpha = {}, beta = {}, R_D* = {}, R_N* = {}, R^2 = {:.4}",
        rep.n_runs,
        num(rep.big_e),
        num(p.alpha),
        num(p.beta),
        num(p.r_d_star),
        num(p.r_n_star),
        rep.r2
    );
    let plot = figures::law_fit(&[("fit".to_string(), rep.residuals.clone())]);
    view(
        Some(&plot),
        table("fit-constants", &["constant", "value", "bootstrap interval"], &body),
        text,
    )
}

/// Critical compute: C_crit(U) against DBA's line, and the table.
pub fn crit(rep: &CritReport) -> View {
    let found = rep.rows.iter().filter(|r| r.c_crit.is_some()).count();
    let text = format!("C_crit found at {found} of {} budgets U", rep.rows.len());
    view(
        Some(&figures::critical_compute(rep)),
        table("crit-rows", &figures::CRIT_HEADERS, &figures::crit_rows(rep)),
        text,
    )
}

/// Corpus statistics: the split and tokens per tokenizer (a table, no figure).
pub fn corpus(s: &CorpusStats) -> View {
    let mut html = kv(
        "corpus-stats",
        &[
            ("corpus", s.corpus.clone()),
            ("works / documents", format!("{} / {}", s.works, s.documents)),
            ("bytes", s.bytes.to_string()),
            ("train", format!("{} documents, {} bytes", s.train_documents, s.train_bytes)),
            (
                "validation",
                format!("{} documents, {} bytes", s.validation_documents, s.validation_bytes),
            ),
        ],
    );
    let body: Vec<Vec<String>> = s
        .tokenizers
        .iter()
        .map(|t| {
            vec![
                t.tokenizer.clone(),
                t.vocab_size.to_string(),
                t.train_tokens.to_string(),
                t.validation_tokens.to_string(),
                format!("{:.3}", t.bytes_per_token),
            ]
        })
        .collect();
    html.push_str(&table(
        "corpus-tokenizers",
        &["tokenizer", "vocab", "train tokens", "validation tokens", "bytes/token"],
        &body,
    ));
    view(None, html, String::new())
}

/// Samples: one row per (run, decoding, temperature).
pub fn samples(s: &[Sample]) -> View {
    let rows: Vec<Vec<String>> = s
        .iter()
        .map(|s| {
            vec![
                s.objective.clone(),
                s.decoding.clone(),
                format!("{}", s.temperature),
                s.text.replace('\n', " / "),
            ]
        })
        .collect();
    let text = s
        .iter()
        .map(|s| format!("{} ({}, T = {}): {:?}", s.objective, s.decoding, s.temperature, s.text))
        .collect::<Vec<_>>()
        .join("\n");
    view(None, table("samples", &["model", "decoding", "temperature", "sample"], &rows), text)
}

/// Masks at given t: the masked sequences as a table.
pub fn masks(m: &[MaskDraw]) -> View {
    let rows: Vec<Vec<String>> = m
        .iter()
        .map(|d| {
            vec![
                format!("{:.2}", d.t),
                format!("{:.3}", d.p),
                format!("{}/{}", d.masked, d.tokens),
                d.shown.clone(),
            ]
        })
        .collect();
    let text = m
        .iter()
        .map(|d| format!("t = {:.1}, p = {:.3}: {:?}", d.t, d.p, d.shown))
        .collect::<Vec<_>>()
        .join("\n");
    view(None, table("masks", &["t", "p", "masked", "sequence (_ = MASK)"], &rows), text)
}

/// The bound against draws K: its standard error with a 1/sqrt(K) line, and the table.
pub fn bound(points: &[BoundPoint]) -> View {
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| vec![p.draws.to_string(), format!("{:.4}", p.loss), format!("{:.4}", p.stderr)])
        .collect();
    let text = points
        .iter()
        .map(|p| format!("K = {:2}: bound {:.4} ± {:.4} nats/token", p.draws, p.loss, p.stderr))
        .collect::<Vec<_>>()
        .join("\n");
    view(
        Some(&figures::bound_vs_draws(points)),
        table("bound-vs-draws", &["K", "bound (nats/token)", "standard error"], &rows),
        text,
    )
}

/// D'/D curves, drawn as the report draws each family's fitted R_D*.
pub fn value_left(curves: &[ValueCurve]) -> View {
    let laws: Vec<(String, LawParams)> = curves
        .iter()
        .map(|c| (c.name.clone(), LawParams { r_d_star: c.r_d_star, ..LawParams::SDC_C4 }))
        .collect();
    let rows: Vec<Vec<String>> = curves
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                format!("{}", c.r_d_star),
                format!("{:.3}", left(4.0, c.r_d_star)),
                format!("{:.3}", left(16.0, c.r_d_star)),
                format!("{:.3}", left(100.0, c.r_d_star)),
            ]
        })
        .collect();
    let text = curves
        .iter()
        .map(|c| format!("{}: D'/D = {:.3} at E = 16", c.name, left(16.0, c.r_d_star)))
        .collect::<Vec<_>>()
        .join("\n");
    view(
        Some(&figures::effective_data(&laws)),
        table("value-left", &["curve", "R_D*", "E = 4", "E = 16", "E = 100"], &rows),
        text,
    )
}

/// Delta L over compute and unique data, as a heat map.
pub fn delta_map(m: &DeltaMap) -> View {
    let cells = m.delta.iter().flatten().filter(|v| v.is_finite());
    let (n, neg) = cells.fold((0, 0), |(n, neg), v| (n + 1, neg + (*v < 0.0) as usize));
    let text = format!("diffusion is better (Delta L < 0) in {neg} of {n} cells of the map");
    view(Some(&figures::delta_map(m)), format!("<p>{}</p>", escape(&text)), text)
}
