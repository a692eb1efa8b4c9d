//! The files a run writes: `metrics.csv` (one row per evaluation) and `summary.json`.

use crate::data::cache::write_atomic;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One evaluation point of a training curve.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricsRow {
    /// Optimizer steps done.
    pub step: usize,
    /// Epochs done (fractional).
    pub epoch: f64,
    /// Training tokens processed.
    pub tokens_seen: usize,
    /// 6 * N * tokens_seen.
    pub flops: f64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    /// Validation loss (nats/token; an upper bound for diffusion).
    pub val_loss: f64,
    /// Its standard error.
    pub val_loss_stderr: f64,
}

/// The run's result, one JSON object (a row of a sweep's results table).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub objective: String,
    pub model: String,
    pub params_total: usize,
    pub params_non_embedding: usize,
    pub seq_len: usize,
    pub batch_size: usize,
    pub corpus: String,
    pub tokenizer: String,
    pub vocab_size: usize,
    pub unique_tokens: usize,
    pub epochs: f64,
    pub steps: usize,
    pub tokens_seen: usize,
    pub flops: f64,
    pub flops_with_attention: f64,
    pub best_val_loss: f64,
    pub best_val_step: usize,
    pub final_val_loss: f64,
    pub final_val_loss_stderr: f64,
    pub best_val_bits_per_byte: f64,
    pub heldout_loss: f64,
    pub heldout_bits_per_byte: f64,
    pub tokens_per_second: f64,
    pub wall_seconds: f64,
    pub stopped_early: bool,
    pub dropout: f64,
    pub weight_decay: f64,
    pub device: String,
    pub seed: u64,
    pub config: serde_json::Value,
}

/// Writes `metrics.csv` atomically.
pub fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    let mut csv = String::from("step,epoch,tokens_seen,flops,lr,train_loss,val_loss,val_loss_stderr\n");
    for r in rows {
        csv.push_str(&format!(
            "{},{},{},{:e},{:e},{},{},{}\n",
            r.step, r.epoch, r.tokens_seen, r.flops, r.lr, r.train_loss, r.val_loss, r.val_loss_stderr
        ));
    }
    write_atomic(path, csv.as_bytes())
}

/// Writes `summary.json` atomically.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<()> {
    write_atomic(path, &serde_json::to_vec_pretty(summary)?)
}

/// Reads a `metrics.csv` written by [`write_metrics`].
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
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
