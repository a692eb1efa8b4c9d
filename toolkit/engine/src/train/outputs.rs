//! The files a run writes: `metrics.csv` (one row per evaluation) and `summary.json`.

use crate::fsio::{write_atomic, write_json_atomic};
use anyhow::Result;
pub use dclab_types::run::{MetricsRow, Summary};
use std::path::Path;

/// Writes `metrics.csv` atomically.
pub fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    let mut csv =
        String::from("step,epoch,tokens_seen,flops,lr,train_loss,val_loss,val_loss_stderr\n");
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{:e},{:e},{},{},{}\n",
            r.step,
            r.epoch,
            r.tokens_seen,
            r.flops,
            r.lr,
            r.train_loss,
            r.val_loss,
            r.val_loss_stderr
        ));
    }
    write_atomic(path, csv.as_bytes())
}

/// Writes `summary.json` atomically.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<()> {
    write_json_atomic(path, summary)
}

/// Reads a `metrics.csv` written by [`write_metrics`].
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    use anyhow::Context;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || anyhow::anyhow!("{} line {}: not a metrics row", path.display(), i + 1);
        if f.len() != 8 {
            return Err(bad());
        }
        let num = |k: usize| f[k].parse::<f64>().map_err(|_| bad());
        rows.push(MetricsRow {
            step: f[0].parse().map_err(|_| bad())?,
            epoch: num(1)?,
            tokens_seen: f[2].parse().map_err(|_| bad())?,
            flops: num(3)?,
            lr: num(4)?,
            train_loss: num(5)?,
            val_loss: num(6)?,
            val_loss_stderr: num(7)?,
        });
    }
    Ok(rows)
}
