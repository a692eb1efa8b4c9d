//! Checkpoints: model and optimizer (burnpack) plus the loop's state, written into a temporary
//! folder and renamed into place, so a crash never leaves half a checkpoint.

use super::outputs::MetricsRow;
use crate::fsio::replace_dir_atomic;
use crate::model::{Layout, Lm, ModelConfig};
use anyhow::{Context, Result, bail};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// The loop's state at a checkpoint (taken right after an evaluation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimizer steps done.
    pub step: usize,
    /// The curve so far.
    pub metrics: Vec<MetricsRow>,
    /// Best validation loss so far and its step.
    pub best: Option<(f64, usize)>,
    /// Evaluations since the best one.
    pub evals_since_best: usize,
    /// Seconds of training so far (for tokens/s across a resume).
    pub train_seconds: f64,
}

/// Saves model, optimizer and state into `dir` atomically.
pub fn save(
    dir: &Path, model: &Lm, optim: Option<&ModuleOptimizer>, state: &LoopState,
) -> Result<()> {
    replace_dir_atomic(dir, |tmp| {
        model
            .clone()
            .save_file(tmp.join("model.bpk"))
            .map_err(|e| anyhow::anyhow!("saving model: {e:?}"))?;
        if let Some(o) = optim {
            o.save(tmp.join("optim.bpk"))
                .map_err(|e| anyhow::anyhow!("saving optimizer: {e:?}"))?;
        }
        fs::write(tmp.join("state.json"), serde_json::to_vec_pretty(state)?)?;
        Ok(())
    })
    .with_context(|| format!("writing checkpoint {}", dir.display()))
}

/// Loads a model saved by [`save`], or by dclab before q/k/v and gate/up were joined (converted).
pub fn load_model(dir: &Path, config: &ModelConfig, device: &Device) -> Result<Lm> {
    Ok(load(dir, config, device)?.0)
}

/// Loads a model to train on: one stored in the old layout is refused, since its optimizer
/// state belongs to the old weights.
pub fn load_resumable(dir: &Path, config: &ModelConfig, device: &Device) -> Result<Lm> {
    let (model, layout) = load(dir, config, device)?;
    if layout == Layout::Separate {
        bail!(
            "{} was written before dclab stored q/k/v and gate/up as one weight each (2026-12-02): \
             it samples and evaluates as before, but its optimizer state belongs to the old \
             weights, so it cannot be resumed; train again into a fresh output folder",
            dir.display()
        );
    }
    Ok(model)
}

fn load(dir: &Path, config: &ModelConfig, device: &Device) -> Result<(Lm, Layout)> {
    let path = dir.join("model.bpk");
    config.load(&path, device).map_err(|e| anyhow::anyhow!("loading {}: {e:?}", path.display()))
}

/// Loads the loop state saved by [`save`].
pub fn load_state(dir: &Path) -> Result<LoopState> {
    let p = dir.join("state.json");
    serde_json::from_slice(&fs::read(&p).with_context(|| format!("reading {}", p.display()))?)
        .with_context(|| format!("{} is not a dclab checkpoint state", p.display()))
}
