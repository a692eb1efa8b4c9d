//! One training run: its curve rows, its summary (the schema of every results table) and
//! the text sampled from it.

use serde::{Deserialize, Serialize};

/// One evaluation point of a training curve (a row of `metrics.csv`).
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

/// A run's result, `summary.json`: one row of a sweep's results table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// The objective spec: ar, diffusion, ar-orderings:N.
    pub objective: String,
    /// The model preset or `d,heads,layers`.
    pub model: String,
    /// Total parameters N (embedding with its MASK row counted once).
    pub params_total: usize,
    /// Parameters without the embedding.
    pub params_non_embedding: usize,
    /// Context length.
    pub seq_len: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Corpus name or folder.
    pub corpus: String,
    /// Tokenizer spec (bytes, char, bpe:N).
    pub tokenizer: String,
    /// Vocabulary size (without diffusion's MASK).
    pub vocab_size: usize,
    /// Unique training tokens U actually packed.
    pub unique_tokens: usize,
    /// Epochs E over them.
    pub epochs: f64,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Training tokens processed D.
    pub tokens_seen: usize,
    /// Training compute C = 6·N·D FLOPs (`dclab::flops::training_flops`).
    pub flops: f64,
    /// Training compute with attention's FLOPs added: 6·N·D + 12·L·d·S·D (PaLM's convention,
    /// `dclab::flops`; runs before 2026-12-02 added Kaplan's 6·L·S·d·D instead).
    pub flops_with_attention: f64,
    /// Lowest validation loss of the curve (nats/token; an upper bound for diffusion).
    pub best_val_loss: f64,
    /// The step of the best checkpoint.
    pub best_val_step: usize,
    /// The curve's last validation loss (nats/token, on `eval_sequences` sequences; an upper
    /// bound for diffusion).
    pub final_val_loss: f64,
    /// Its standard error over those sequences and draws.
    pub final_val_loss_stderr: f64,
    /// The best checkpoint's loss re-evaluated at the end on the whole validation split with
    /// `precise_eval_draws` draws (the estimate the study compares); None in runs made before it.
    #[serde(default)]
    pub best_val_loss_precise: Option<f64>,
    /// Its standard error (the estimator's own randomness on that fixed split; 0 for AR).
    #[serde(default)]
    pub best_val_loss_precise_stderr: Option<f64>,
    /// The last model's loss on the same split and draws (equal to the best's when best is last).
    #[serde(default)]
    pub final_val_loss_precise: Option<f64>,
    /// Its standard error (as the best's).
    #[serde(default)]
    pub final_val_loss_precise_stderr: Option<f64>,
    /// Validation sequences of the precise evaluation (the whole split unless a spec cut it).
    #[serde(default)]
    pub precise_eval_sequences: Option<usize>,
    /// Diffusion draws of t per sequence in the precise evaluation.
    #[serde(default)]
    pub precise_eval_draws: Option<usize>,
    /// The curve's best validation loss in bits per byte of text (nats/token / ln 2 / bytes
    /// per token).
    pub best_val_bits_per_byte: f64,
    /// The best checkpoint's loss on the held-out domain (nats/token; an upper bound for
    /// diffusion).
    pub heldout_loss: f64,
    /// The same in bits per byte.
    pub heldout_bits_per_byte: f64,
    /// Training tokens per second over the timed steps (evaluation excluded).
    pub tokens_per_second: f64,
    /// Seconds of the training steps (over resumes too; evaluations and checkpoints excluded):
    /// the clock of `tokens_per_second`.
    pub wall_seconds: f64,
    /// True when early stopping ended the run before its epochs.
    pub stopped_early: bool,
    /// Dropout probability on embeddings and residual branches (0 = off).
    pub dropout: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// The device it trained on, in words.
    pub device: String,
    /// Precision of the matrix products: `f32`, `tf32` (f32 on cuda, whose autotuned matmuls
    /// are TF32 tensor-core kernels) or `bf16` (mixed, on f32 master weights). Runs recorded
    /// before the setting existed read as `f32`.
    #[serde(default = "f32_precision")]
    pub precision: String,
    /// Seed of initialisation, shuffles and masks.
    pub seed: u64,
    /// The whole `TrainConfig`, as `config.json` holds it.
    pub config: serde_json::Value,
}

impl Summary {
    /// The best loss the study compares and its standard error: the precise re-evaluation when
    /// the run has one, else the curve's best (its standard error unknown: NaN).
    pub fn best_loss(&self) -> (f64, f64) {
        precise_or(
            self.best_val_loss_precise,
            self.best_val_loss_precise_stderr,
            (self.best_val_loss, f64::NAN),
        )
    }

    /// The final loss and its standard error, precise when the run has it.
    pub fn final_loss(&self) -> (f64, f64) {
        precise_or(
            self.final_val_loss_precise,
            self.final_val_loss_precise_stderr,
            (self.final_val_loss, self.final_val_loss_stderr),
        )
    }
}

/// (loss, SE) of a precise estimate when there is one, else the curve's `fallback`.
fn precise_or(loss: Option<f64>, stderr: Option<f64>, fallback: (f64, f64)) -> (f64, f64) {
    loss.map_or(fallback, |l| (l, stderr.unwrap_or(f64::NAN)))
}

fn f32_precision() -> String {
    "f32".into()
}

/// A finished run as `dclab train --json` returns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// The run folder (metrics.csv, summary.json, checkpoints/).
    pub dir: String,
    /// summary.json.
    pub summary: Summary,
    /// metrics.csv.
    pub curve: Vec<MetricsRow>,
}

/// One text generated from a run (`dclab sample --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sample {
    /// The run folder it came from.
    pub run: String,
    /// That run's objective.
    pub objective: String,
    /// How it was decoded, in words (left to right; confidence or random order, T steps).
    pub decoding: String,
    /// Softmax temperature.
    pub temperature: f64,
    /// The prompt.
    pub prompt: String,
    /// The generated text after the prompt.
    pub text: String,
}
