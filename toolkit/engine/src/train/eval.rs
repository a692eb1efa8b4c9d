//! Validation: mean loss over a fixed set of sequences with the objective's own estimator,
//! its standard error, and bits per byte.

use crate::data::Packed;
use crate::data::shuffle::mix;
use crate::objective::{LogitModel, Objective};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// A validation result.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalResult {
    /// Mean loss, nats/token (an upper bound for diffusion).
    pub loss: f64,
    /// Standard error of the estimator's own randomness (0 for exact AR).
    pub stderr: f64,
    /// Sequences evaluated.
    pub sequences: usize,
}

impl EvalResult {
    /// Bits per byte for a set with this many bytes per token.
    pub fn bits_per_byte(&self, bytes_per_token: f64) -> f64 {
        self.loss / std::f64::consts::LN_2 / bytes_per_token
    }
}

/// Evaluates the first `max_sequences` (0 = all) sequences of `set` in batches of `batch`,
/// with a fixed `seed` so successive evaluations draw the same masks.
pub fn evaluate(
    objective: &dyn Objective, model: &dyn LogitModel, set: &Packed, max_sequences: usize,
    batch: usize, seed: u64, device: &Device,
) -> EvalResult {
    let n = if max_sequences == 0 { set.n_samples() } else { max_sequences.min(set.n_samples()) };
    let mut losses = Vec::with_capacity(n);
    let mut var = 0.0;
    for (chunk, start) in (0..n).step_by(batch.max(1)).enumerate() {
        let owned: Vec<_> = (start..(start + batch).min(n)).map(|i| set.sample(i)).collect();
        let samples: Vec<&[u32]> = owned.iter().map(|s| &**s).collect();
        for s in objective.eval(model, &samples, mix(seed, chunk as u64), device) {
            losses.push(s.loss);
            var += s.mc_variance;
        }
    }
    let loss = losses.iter().sum::<f64>() / n as f64;
    EvalResult { loss, stderr: var.sqrt() / n as f64, sequences: n }
}
