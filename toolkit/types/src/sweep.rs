//! A sweep's points and its results table rows.

use crate::run::Summary;
use serde::{Deserialize, Serialize};

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Stable id: the run's folder name and the table's key.
    pub run_id: String,
    /// `grid`, `doubling` (epochs doubled to exhaustion) or `matched` (compute-matched).
    pub kind: String,
    /// The objective spec (ar, diffusion, ar-orderings:N): the family.
    pub family: String,
    /// The model preset (or d,heads,layers).
    pub model_spec: String,
    /// Requested unique-token budget U (the run records the packed one).
    pub requested_unique_tokens: usize,
    /// Requested epochs E.
    pub requested_epochs: f64,
    /// Unique fraction U/D (compute-matched points only).
    pub unique_fraction: Option<f64>,
    /// Seed.
    pub point_seed: u64,
    // The two below are prefixed like the seed: a results row flattens the point beside the
    // summary, whose `dropout` and `weight_decay` are the values the run used.
    /// Dropout of this point when the spec lists several (None: the spec's `train.dropout`).
    #[serde(default)]
    pub point_dropout: Option<f64>,
    /// AdamW weight decay of this point when the spec lists several (None: `train.weight_decay`).
    #[serde(default)]
    pub point_weight_decay: Option<f64>,
}

impl SweepPoint {
    /// True when `other` trains exactly the same model on the same data (another id).
    pub fn same_training(&self, other: &SweepPoint) -> bool {
        self.family == other.family
            && self.model_spec == other.model_spec
            && self.requested_unique_tokens == other.requested_unique_tokens
            && self.requested_epochs == other.requested_epochs
            && self.point_seed == other.point_seed
            && self.point_dropout == other.point_dropout
            && self.point_weight_decay == other.point_weight_decay
    }
}

/// Fields that measure the machine rather than the model; ignored when rows are compared.
pub const TIMING_FIELDS: [&str; 3] = ["wall_seconds", "tokens_per_second", "device"];

/// One finished run: a row of `runs.parquet` / `runs.csv`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRow {
    /// The spec point.
    #[serde(flatten)]
    pub point: SweepPoint,
    /// The run's `metrics.csv`, relative to the table's folder.
    pub curve: String,
    /// The sweep's shared settings (JSON) the run was made with.
    pub settings: String,
    /// Everything `summary.json` holds.
    #[serde(flatten)]
    pub summary: Summary,
}

impl RunRow {
    /// The row as a flat JSON object, timing fields removed (for comparisons).
    pub fn comparable(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("a row serialises");
        if let serde_json::Value::Object(m) = &mut v {
            for k in TIMING_FIELDS {
                m.remove(k);
            }
        }
        v
    }
}

/// What `dclab sweep --json` returns: the folder's whole table and what this call did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepReport {
    /// The sweep folder.
    pub dir: String,
    /// Every row of the folder's table.
    pub rows: Vec<RunRow>,
    /// Runs trained (or recovered from a finished folder) by this call.
    pub ran: usize,
    /// Points skipped because their row was already there.
    pub skipped: usize,
}
