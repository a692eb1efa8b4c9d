//! Everything that defines a training run, saved with it.

use crate::model::ModelConfig;
use burn::prelude::*;

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
    #[config(default = 32)]
    pub batch_size: usize,
    /// Passes over the unique-token budget (fractional allowed).
    #[config(default = 1.0)]
    pub epochs: f64,
    /// Peak learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Share of steps in linear warmup.
    #[config(default = 0.01)]
    pub warmup_fraction: f64,
    /// Final learning rate as a fraction of the peak.
    #[config(default = 0.1)]
    pub final_lr_fraction: f64,
    /// AdamW weight decay.
    #[config(default = 0.1)]
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    #[config(default = 1.0)]
    pub grad_clip: f64,
    /// Evaluate every this many steps (and at the end).
    #[config(default = 100)]
    pub eval_every: usize,
    /// Validation sequences evaluated (0 = the whole validation set).
    #[config(default = 0)]
    pub eval_sequences: usize,
    /// Diffusion draws of t per validation sequence.
    #[config(default = 32)]
    pub eval_draws: usize,
    /// Validation sequences of the precise evaluation at the end, which re-evaluates the best
    /// and the last model with fresh draws (0 = the whole validation split).
    #[config(default = 0)]
    pub precise_eval_sequences: usize,
    /// Diffusion draws of t per sequence in that precise evaluation (DBA: 32, stratified).
    #[config(default = 32)]
    pub precise_eval_draws: usize,
    /// Stop after this many evaluations without improvement (None = never).
    pub early_stopping: Option<usize>,
    /// Seed of initialisation, data order and objective noise.
    #[config(default = 0)]
    pub seed: u64,
}
