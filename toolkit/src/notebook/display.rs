//! `evcxr_display` for the toolkit's result types.

use crate::data::CorpusStats;
use crate::scaling::crit::CritReport;
use crate::scaling::report::FitReport;
use crate::sweep::SweepResult;
use crate::train::RunResult;
use crate::viz::{figures, table};
use plotly::Plot;

/// Prints one evcxr content blob (shown when the cell ends; one per MIME type per cell).
pub fn emit(mime: &str, body: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{body}\nEVCXR_END_CONTENT");
}

/// The blobs of a result: a plotly figure (rendered by JupyterLab with Python `plotly`
/// installed) and an HTML table.
pub fn figure_and_table(plot: Option<&Plot>, html: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(p) = plot {
        out.push(("application/vnd.plotly.v1+json", p.to_json()));
    }
    out.push(("text/html", html.to_string()));
    out
}

pub fn show(blobs: Vec<(&'static str, String)>) {
    for (mime, body) in blobs {
        emit(mime, &body);
    }
}

fn kv(id: &str, rows: &[(&str, String)]) -> String {
    let body: Vec<Vec<String>> = rows.iter().map(|(k, v)| vec![k.to_string(), v.clone()]).collect();
    table(id, &["", "value"], &body)
}

impl RunResult {
    /// The curve (validation and training loss against tokens) and the summary.
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let s = &self.summary;
        let mut plot = Plot::new();
        let x: Vec<f64> = self.metrics.iter().map(|m| m.tokens_seen as f64).collect();
        let family = if s.objective == "diffusion" { "diffusion" } else { "ar" };
        plot.add_trace(
            plotly::Scatter::new(x.clone(), self.metrics.iter().map(|m| m.val_loss).collect())
                .name(format!("validation ({})", figures::family_label(family)))
                .line(plotly::common::Line::new().color(figures::family_color(family))),
        );
        plot.add_trace(
            plotly::Scatter::new(x, self.metrics.iter().map(|m| m.train_loss).collect())
                .name("training")
                .line(plotly::common::Line::new().color("#7f7f7f").dash(plotly::common::DashType::Dot)),
        );
        plot.set_layout(
            plotly::Layout::new()
                .title(format!("{} {} on {} (U = {}, E = {})", s.objective, s.model, s.corpus, s.unique_tokens, s.epochs).as_str())
                .x_axis(plotly::layout::Axis::new().title("tokens seen"))
                .y_axis(plotly::layout::Axis::new().title("loss (nats/token)"))
                .height(400),
        );
        let html = kv(
            "run-summary",
            &[
                ("objective", s.objective.clone()),
                ("model", format!("{} ({} params)", s.model, s.params_total)),
                ("data", format!("{} / {}, U = {}, E = {}", s.corpus, s.tokenizer, s.unique_tokens, s.epochs)),
                ("best val loss", format!("{:.4} at step {} ({:.3} bits/byte)", s.best_val_loss, s.best_val_step, s.best_val_bits_per_byte)),
                ("final val loss", format!("{:.4} ± {:.4}", s.final_val_loss, s.final_val_loss_stderr)),
                ("held-out", format!("{:.4} ({:.3} bits/byte)", s.heldout_loss, s.heldout_bits_per_byte)),
                ("compute", format!("{:.3e} FLOPs, {} tokens", s.flops, s.tokens_seen)),
                ("speed", format!("{:.0} tokens/s on {}, {:.1} s", s.tokens_per_second, s.device, s.wall_seconds)),
            ],
        );
        figure_and_table(Some(&plot), &html)
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        show(self.rich())
    }
}

impl SweepResult {
    /// Loss against epochs and the runs table.
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let s = &r.summary;
                vec![r.point.run_id.clone(), s.unique_tokens.to_string(), format!("{}", s.epochs), format!("{:.3e}", s.flops), format!("{:.4}", s.best_val_loss), format!("{:.4}", s.final_val_loss)]
            })
            .collect();
        let html = table("sweep-runs", &["run", "U", "epochs", "FLOPs", "best val", "final val"], &rows);
        figure_and_table(Some(&figures::loss_vs_epochs(&self.rows)), &html)
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        show(self.rich())
    }
}

impl FitReport {
    /// Observed against fitted loss and the constants with their intervals.
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let plot = figures::law_fit(&[("fit".to_string(), self.residuals.clone())]);
        let p = &self.params;
        let ci = |k: &str| self.ci.get(k).map(|c| format!("[{:.4}, {:.4}]", c[0], c[1])).unwrap_or_default();
        let rows = [
            ("E", format!("{:.4}", self.big_e), ci("E")),
            ("A", format!("{:.4e}", self.big_a), ci("A")),
            ("B", format!("{:.4e}", self.big_b), ci("B")),
            ("alpha", format!("{:.4}", p.alpha), ci("alpha")),
            ("beta", format!("{:.4}", p.beta), ci("beta")),
            ("R_D*", format!("{:.4}", p.r_d_star), ci("R_D_star")),
            ("R_N*", format!("{:.4}", p.r_n_star), ci("R_N_star")),
            ("R^2", format!("{:.5}", self.r2), String::new()),
            ("runs", self.n_runs.to_string(), String::new()),
        ];
        let body: Vec<Vec<String>> = rows.iter().map(|(k, v, c)| vec![k.to_string(), v.clone(), c.clone()]).collect();
        figure_and_table(Some(&plot), &table("fit-constants", &["constant", "value", "bootstrap interval"], &body))
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        show(self.rich())
    }
}

impl CritReport {
    /// C_crit(U) against DBA's line and the table.
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let html = table("crit-rows", &figures::CRIT_HEADERS, &figures::crit_rows(self));
        figure_and_table(Some(&figures::critical_compute(self)), &html)
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        show(self.rich())
    }
}

impl CorpusStats {
    /// The split and the token counts per tokenizer.
    pub fn rich(&self) -> Vec<(&'static str, String)> {
        let mut html = kv(
            "corpus-stats",
            &[
                ("corpus", self.corpus.clone()),
                ("works / documents", format!("{} / {}", self.works, self.documents)),
                ("bytes", self.bytes.to_string()),
                ("train", format!("{} documents, {} bytes", self.train_documents, self.train_bytes)),
                ("validation", format!("{} documents, {} bytes", self.validation_documents, self.validation_bytes)),
            ],
        );
        let body: Vec<Vec<String>> = self
            .tokenizers
            .iter()
            .map(|t| vec![t.tokenizer.clone(), t.vocab_size.to_string(), t.train_tokens.to_string(), t.validation_tokens.to_string(), format!("{:.3}", t.bytes_per_token)])
            .collect();
        html.push_str(&table("corpus-tokenizers", &["tokenizer", "vocab", "train tokens", "validation tokens", "bytes/token"], &body));
        figure_and_table(None, &html)
    }

    /// evcxr's hook.
    pub fn evcxr_display(&self) {
        show(self.rich())
    }
}
