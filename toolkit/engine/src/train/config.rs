//! Everything that defines a training run, saved with it.

use crate::data::Prepared;
use crate::model::ModelConfig;
use crate::objective::{Objective, parse_objective};
use anyhow::{Result, bail};
use burn::prelude::*;

/// Every training setting's default, defined once: [`TrainConfig`], `dclab train`'s flags and
/// the sweep spec's `[train]` table all read these.
pub mod defaults {
    /// Sequences per optimizer step.
    pub const BATCH_SIZE: usize = 32;
    /// Peak learning rate (measured best of 1e-3, 2e-3, 3e-3 on the sample's small models).
    pub const LR: f64 = 2e-3;
    /// Share of steps in linear warmup.
    pub const WARMUP_FRACTION: f64 = 0.01;
    /// Final learning rate as a fraction of the peak.
    pub const FINAL_LR_FRACTION: f64 = 0.1;
    /// AdamW weight decay (DBA: 0.1).
    pub const WEIGHT_DECAY: f64 = 0.1;
    /// Dropout of both families (DBA's Megatron default).
    pub const DROPOUT: f64 = 0.1;
    /// Global gradient-norm clip.
    pub const GRAD_CLIP: f64 = 1.0;
    /// Steps between evaluations.
    pub const EVAL_EVERY: usize = 100;
    /// Validation sequences per evaluation of the curve (0 = the whole split).
    pub const EVAL_SEQUENCES: usize = 32;
    /// Diffusion draws of t per validation sequence on the curve.
    pub const EVAL_DRAWS: usize = crate::objective::diffusion::DBA_EVAL_DRAWS;
    /// Validation sequences of the precise final evaluation (0 = the whole split).
    pub const PRECISE_EVAL_SEQUENCES: usize = 0;
    /// Diffusion draws per sequence in the precise final evaluation.
    pub const PRECISE_EVAL_DRAWS: usize = crate::objective::diffusion::DBA_EVAL_DRAWS;
    /// Context length.
    pub const SEQ_LEN: usize = 128;
    /// Seed of initialisation, data order and objective noise.
    pub const SEED: u64 = 0;
}

/// A training run's settings (DBA defaults where the paper gives them).
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// The backbone.
    pub model: ModelConfig,
    /// Preset name or `d,heads,layers` (recorded).
    #[config(default = "\"custom\".to_string()")]
    pub model_name: String,
    /// `ar`, `diffusion` or `ar-orderings:N`.
    pub objective: String,
    /// Sequences per optimizer step.
    #[config(default = "defaults::BATCH_SIZE")]
    pub batch_size: usize,
    /// Passes over the unique-token budget (fractional allowed).
    #[config(default = 1.0)]
    pub epochs: f64,
    /// Peak learning rate.
    #[config(default = "defaults::LR")]
    pub lr: f64,
    /// Share of steps in linear warmup.
    #[config(default = "defaults::WARMUP_FRACTION")]
    pub warmup_fraction: f64,
    /// Final learning rate as a fraction of the peak.
    #[config(default = "defaults::FINAL_LR_FRACTION")]
    pub final_lr_fraction: f64,
    /// AdamW weight decay.
    #[config(default = "defaults::WEIGHT_DECAY")]
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    #[config(default = "defaults::GRAD_CLIP")]
    pub grad_clip: f64,
    /// Evaluate every this many steps (and at the end).
    #[config(default = "defaults::EVAL_EVERY")]
    pub eval_every: usize,
    /// Validation sequences evaluated (0 = the whole validation set).
    #[config(default = "defaults::EVAL_SEQUENCES")]
    pub eval_sequences: usize,
    /// Diffusion draws of t per validation sequence.
    #[config(default = "defaults::EVAL_DRAWS")]
    pub eval_draws: usize,
    /// Validation sequences of the precise evaluation at the end, which re-evaluates the best
    /// and the last model with fresh draws (0 = the whole validation split).
    #[config(default = "defaults::PRECISE_EVAL_SEQUENCES")]
    pub precise_eval_sequences: usize,
    /// Diffusion draws of t per sequence in that precise evaluation (DBA: 32, stratified).
    #[config(default = "defaults::PRECISE_EVAL_DRAWS")]
    pub precise_eval_draws: usize,
    /// Stop after this many evaluations without improvement (None = never).
    pub early_stopping: Option<usize>,
    /// Seed of initialisation, data order and objective noise.
    #[config(default = "defaults::SEED")]
    pub seed: u64,
}

/// The training values a run checks, gathered from a [`TrainConfig`] or a sweep spec's
/// `[train]` table so that both apply the same rules.
pub struct Values {
    /// Peak learning rate.
    pub lr: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    /// Share of steps in warmup.
    pub warmup_fraction: f64,
    /// Final learning rate as a fraction of the peak.
    pub final_lr_fraction: f64,
    /// Dropout probability.
    pub dropout: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Counts that must be at least 1, by name.
    pub counts: [(&'static str, usize); 4],
    /// Evaluations without improvement before stopping.
    pub early_stopping: Option<usize>,
}

impl Values {
    /// Checks every value; `key` names a setting in the error (`lr`, or `` `train.lr` ``).
    pub fn check(&self, key: &dyn Fn(&str) -> String) -> Result<()> {
        rule::positive(&key("lr"), self.lr)?;
        rule::positive(&key("grad_clip"), self.grad_clip)?;
        rule::fraction(&key("warmup_fraction"), self.warmup_fraction)?;
        rule::fraction(&key("final_lr_fraction"), self.final_lr_fraction)?;
        rule::dropout(&key("dropout"), self.dropout)?;
        rule::weight_decay(&key("weight_decay"), self.weight_decay)?;
        for (k, v) in self.counts {
            if v == 0 {
                bail!("{} must be at least 1", key(k));
            }
        }
        if self.early_stopping == Some(0) {
            bail!("{} must be at least 1 (or left out)", key("early_stopping"));
        }
        Ok(())
    }
}

/// The rule of each kind of training value, defined once: [`Values::check`] applies them to a
/// run, and a sweep spec to its grids (epochs, dropout and weight-decay lists). `key` names the
/// value in the error.
pub mod rule {
    use anyhow::{Result, bail};

    /// A rate, clip or epoch count: finite and > 0.
    pub fn positive(key: &str, v: f64) -> Result<()> {
        if !(v.is_finite() && v > 0.0) {
            bail!("{key} must be a finite number > 0, got {v}");
        }
        Ok(())
    }

    /// A share of the schedule: in [0, 1].
    pub fn fraction(key: &str, v: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&v) {
            bail!("{key} must be in [0, 1], got {v}");
        }
        Ok(())
    }

    /// A dropout probability: in [0, 1) (burn's dropout panics at 1).
    pub fn dropout(key: &str, v: f64) -> Result<()> {
        if !(0.0..1.0).contains(&v) {
            bail!("{key} must be in [0, 1), got {v}");
        }
        Ok(())
    }

    /// AdamW's weight decay: finite and >= 0.
    pub fn weight_decay(key: &str, v: f64) -> Result<()> {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{key} must be >= 0, got {v}");
        }
        Ok(())
    }
}

impl TrainConfig {
    /// Settings for the built-in objective `objective` (`ar`, `diffusion`, `ar-orderings:N`)
    /// on `model`, whose attention it makes causal or not as the objective needs.
    pub fn for_objective(model: ModelConfig, objective: &str) -> Result<TrainConfig> {
        let causal = parse_objective(objective, model.seq_len, 0, 1)?.causal();
        Ok(TrainConfig::new(model.with_causal(causal), objective.to_string()))
    }

    /// The objective these settings name, built from their own `seq_len`, `seed` and
    /// `eval_draws` (a notebook's own objective is passed to `train` instead).
    pub fn build_objective(&self) -> Result<Box<dyn Objective>> {
        parse_objective(&self.objective, self.model.seq_len, self.seed, self.eval_draws)
    }

    /// Checks `objective` (built from these settings or defined elsewhere) and `data` against
    /// these settings: a mismatch is an error naming both values, never a silent change.
    pub fn check(&self, objective: &dyn Objective, data: &Prepared) -> Result<()> {
        self.values().check(&|k| k.to_string())?;
        rule::positive("epochs", self.epochs)?;
        let m = &self.model;
        if m.seq_len != data.train.seq_len {
            bail!("model seq_len {} differs from the data's {}", m.seq_len, data.train.seq_len);
        }
        let vocab = data.tokenizer.vocab_size();
        if m.vocab_size != vocab {
            bail!("model vocab_size {} differs from the tokenizer's {vocab}", m.vocab_size);
        }
        self.check_objective(objective)
    }

    /// Checks `objective` against these settings (attention, seq_len, draws).
    pub fn check_objective(&self, objective: &dyn Objective) -> Result<()> {
        let m = &self.model;
        let kind = |causal: bool| if causal { "causal" } else { "bidirectional" };
        if m.causal != objective.causal() {
            bail!(
                "objective {} needs {} attention but the model's is {} (build the settings \
                 with TrainConfig::for_objective, or set model.causal)",
                objective.name(),
                kind(objective.causal()),
                kind(m.causal),
            );
        }
        if let Some(n) = objective.seq_len().filter(|&n| n != m.seq_len) {
            bail!(
                "objective {} was built for seq_len {n}, the model's is {}",
                objective.name(),
                m.seq_len
            );
        }
        if let Some(k) = objective.eval_draws().filter(|&k| k != self.eval_draws) {
            bail!(
                "objective {} evaluates with {k} draws per sequence, the settings say \
                 eval_draws = {}",
                objective.name(),
                self.eval_draws
            );
        }
        Ok(())
    }

    /// The values [`Values::check`] rules on.
    pub fn values(&self) -> Values {
        Values {
            lr: self.lr,
            grad_clip: self.grad_clip,
            warmup_fraction: self.warmup_fraction,
            final_lr_fraction: self.final_lr_fraction,
            dropout: self.model.dropout,
            weight_decay: self.weight_decay,
            counts: [
                ("batch_size", self.batch_size),
                ("eval_every", self.eval_every),
                ("eval_draws", self.eval_draws),
                ("precise_eval_draws", self.precise_eval_draws),
            ],
            early_stopping: self.early_stopping,
        }
    }
}
