//! `run_study`: sweep, analysis, report, one call.

use super::analysis::{Analysis, analyze};
use super::report::{StudyContext, report_html, summary_md};
use crate::fsio::{write_atomic, write_json_atomic};
use crate::sweep::{RunRow, SweepEvent, SweepOptions, SweepSpec, run_sweep};
use crate::train::{MetricsRow, read_metrics};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A finished study as plain data.
#[derive(Clone, Debug)]
pub struct Study {
    /// Every run of the sweep folder.
    pub rows: Vec<RunRow>,
    /// Fits and findings.
    pub analysis: Analysis,
    /// summary.md as text.
    pub summary: String,
    /// Where report.html was written.
    pub report: PathBuf,
    /// Seconds this call took.
    pub wall_seconds: f64,
}

/// Runs the sweep of `spec` into `out` (resuming), analyses it and writes `out/summary.md`,
/// `out/report.html` and `out/analysis.json`; `command` is recorded as the way to reproduce it.
pub fn run_study(
    spec: &SweepSpec, out: &Path, opts: &SweepOptions, command: &str,
    on_event: &mut dyn FnMut(SweepEvent),
) -> Result<Study> {
    let started = Instant::now();
    let sweep = run_sweep(spec, out, opts, on_event)?;
    let mut rows = sweep.rows;
    rows.sort_by(|a, b| a.point.run_id.cmp(&b.point.run_id));
    let analysis = analyze(&rows);
    let curves: Vec<(RunRow, Vec<MetricsRow>)> = rows
        .iter()
        .map(|r| Ok((r.clone(), read_metrics(&out.join(&r.curve))?)))
        .collect::<Result<_>>()?;
    let mut devices: Vec<&str> = rows.iter().map(|r| r.summary.device.as_str()).collect();
    devices.sort();
    devices.dedup();
    let ctx = StudyContext {
        name: spec.name.clone(),
        command: command.to_string(),
        data: format!(
            "corpus {}, tokenizer {}, context {}",
            spec.corpus, spec.tokenizer, spec.seq_len
        ),
        device: devices.join(", "),
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let summary = summary_md(&ctx, &analysis, &rows);
    write_atomic(&out.join("summary.md"), summary.as_bytes())?;
    let report = out.join("report.html");
    write_atomic(&report, report_html(&ctx, &analysis, &rows, &curves).as_bytes())?;
    write_json_atomic(&out.join("analysis.json"), &analysis)?;
    Ok(Study { rows, analysis, summary, report, wall_seconds: started.elapsed().as_secs_f64() })
}
