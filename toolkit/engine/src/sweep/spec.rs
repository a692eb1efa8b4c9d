//! The sweep spec (TOML): what to train, on what, at which unique budgets, epochs and sizes.
//!
//! Unknown keys are errors (serde `deny_unknown_fields`) and so are impossible values; both
//! name the key.

use crate::data::TokenizerSpec;
use crate::model::{preset, Precision};
use crate::objective::parse_objective;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A grid of training runs: objectives x models x unique budgets x epochs x seeds, plus an
/// optional compute-matched family (fixed compute, unique fraction and epochs varied together).
///
/// ```
/// let spec = dclab::sweep::SweepSpec::from_toml(r#"
///     objectives = ["ar", "diffusion"]
///     models = ["0.1m"]
///     unique_tokens = [20000]
///     epochs = [1, 4]
/// "#).unwrap();
/// assert_eq!(spec.corpus, "sample");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// A name for reports and Slurm job names.
    #[serde(default = "default_name")]
    pub name: String,
    /// A corpus name (sample, shakespeare, pdlit, brown) or a folder of .txt files.
    #[serde(default = "default_corpus")]
    pub corpus: String,
    /// `bytes`, `char` or `bpe:<vocab>`.
    #[serde(default = "default_tokenizer")]
    pub tokenizer: String,
    /// Context length L (samples are L+1 tokens).
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// ar, diffusion, ar-orderings:N.
    pub objectives: Vec<String>,
    /// Presets or d,heads,layers.
    pub models: Vec<String>,
    /// Unique-token budgets U of the grid.
    #[serde(default)]
    pub unique_tokens: Vec<usize>,
    /// Epochs E of the grid (fractional allowed).
    #[serde(default)]
    pub epochs: Vec<f64>,
    /// Seeds (each point is run once per seed).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Training settings shared by every run.
    #[serde(default)]
    pub train: TrainSettings,
    /// The compute-matched family of the repetition figure.
    pub compute_matched: Option<ComputeMatched>,
}

/// Settings every run of a sweep shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    pub batch_size: usize,
    pub lr: f64,
    pub warmup_fraction: f64,
    pub final_lr_fraction: f64,
    pub weight_decay: f64,
    pub dropout: f64,
    pub grad_clip: f64,
    pub eval_every: usize,
    pub eval_sequences: usize,
    pub eval_draws: usize,
    pub early_stopping: Option<usize>,
    /// f32 (the default, left out of the settings JSON so sweeps from before read the same) or bf16.
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            batch_size: 32,
            lr: 2e-3,
            warmup_fraction: 0.01,
            final_lr_fraction: 0.1,
            weight_decay: 0.1,
            dropout: 0.0,
            grad_clip: 1.0,
            eval_every: 100,
            eval_sequences: 32,
            eval_draws: 32,
            early_stopping: None,
            precision: Precision::F32,
        }
    }
}

/// Fixed training compute; each unique fraction f trains on U = f*D unique tokens for 1/f epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeMatched {
    /// Training tokens D of every run (give this or `flops`).
    pub tokens: Option<usize>,
    /// Training FLOPs 6*N*D of every run (D then depends on the model size).
    pub flops: Option<f64>,
    /// Unique fractions U/D in (0, 1].
    pub unique_fractions: Vec<f64>,
    /// Models of this family (default: the grid's).
    pub models: Option<Vec<String>>,
}

fn default_name() -> String {
    "sweep".into()
}
fn default_corpus() -> String {
    "sample".into()
}
fn default_tokenizer() -> String {
    "char".into()
}
fn default_seq_len() -> usize {
    128
}
fn default_seeds() -> Vec<u64> {
    vec![0]
}

impl SweepSpec {
    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<SweepSpec> {
        let spec: SweepSpec = toml::from_str(text).map_err(|e| anyhow::anyhow!("sweep spec: {e}"))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads and validates a TOML file.
    pub fn read(path: &Path) -> Result<SweepSpec> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading sweep spec {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }

    /// The spec as TOML (what a sweep folder keeps as `spec.toml`).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a sweep spec serialises")
    }

    /// The parsed tokenizer.
    pub fn tokenizer_spec(&self) -> Result<TokenizerSpec> {
        self.tokenizer.parse().map_err(|e| anyhow::anyhow!("`tokenizer`: {e}"))
    }

    /// Models of the compute-matched family.
    pub fn matched_models(&self) -> &[String] {
        match &self.compute_matched {
            Some(ComputeMatched { models: Some(m), .. }) => m,
            _ => &self.models,
        }
    }

    /// Checks every value, naming the key of the first impossible one.
    pub fn validate(&self) -> Result<()> {
        self.tokenizer_spec()?;
        if self.seq_len < 2 {
            bail!("`seq_len` must be at least 2, got {}", self.seq_len);
        }
        nonempty_unique("objectives", &self.objectives)?;
        for (i, o) in self.objectives.iter().enumerate() {
            parse_objective(o, self.seq_len, 0, 1).with_context(|| format!("`objectives[{i}]`"))?;
        }
        nonempty_unique("models", &self.models)?;
        for (i, m) in self.models.iter().enumerate() {
            preset(m).with_context(|| format!("`models[{i}]`"))?;
        }
        nonempty_unique("seeds", &self.seeds)?;
        if self.unique_tokens.is_empty() != self.epochs.is_empty() {
            bail!("`unique_tokens` and `epochs` go together: give both (the grid) or neither (compute-matched only)");
        }
        if self.unique_tokens.is_empty() && self.compute_matched.is_none() {
            bail!("nothing to run: give `unique_tokens` and `epochs`, or a `[compute_matched]` table");
        }
        if !self.unique_tokens.is_empty() {
            nonempty_unique("unique_tokens", &self.unique_tokens)?;
        }
        for (i, &u) in self.unique_tokens.iter().enumerate() {
            if u <= self.seq_len {
                bail!("`unique_tokens[{i}]` = {u} is smaller than one sample of seq_len + 1 = {} tokens", self.seq_len + 1);
            }
        }
        for (i, &e) in self.epochs.iter().enumerate() {
            if !(e.is_finite() && e > 0.0) {
                bail!("`epochs[{i}]` must be a finite number > 0, got {e}");
            }
        }
        if !self.epochs.is_empty() {
            nonempty_unique("epochs", &self.epochs.iter().map(|e| e.to_bits()).collect::<Vec<_>>()).map_err(|_| anyhow::anyhow!("`epochs` lists a value twice"))?;
        }
        self.train.validate()?;
        if let Some(cm) = &self.compute_matched {
            match (cm.tokens, cm.flops) {
                (Some(_), Some(_)) | (None, None) => bail!("`compute_matched`: give exactly one of `tokens` and `flops`"),
                (Some(t), None) if t <= self.seq_len => bail!("`compute_matched.tokens` = {t} is smaller than one sample"),
                (None, Some(f)) if !(f.is_finite() && f > 0.0) => bail!("`compute_matched.flops` must be a finite number > 0, got {f}"),
                _ => {}
            }
            if cm.unique_fractions.is_empty() {
                bail!("`compute_matched.unique_fractions` is empty");
            }
            for (i, &f) in cm.unique_fractions.iter().enumerate() {
                if !(f > 0.0 && f <= 1.0) {
                    bail!("`compute_matched.unique_fractions[{i}]` must be in (0, 1], got {f}");
                }
            }
            nonempty_unique("compute_matched.unique_fractions", &cm.unique_fractions.iter().map(|f| f.to_bits()).collect::<Vec<_>>())?;
            if let Some(m) = &cm.models {
                nonempty_unique("compute_matched.models", m)?;
                for (i, m) in m.iter().enumerate() {
                    preset(m).with_context(|| format!("`compute_matched.models[{i}]`"))?;
                }
            }
        }
        Ok(())
    }

    /// The settings that change results but are not part of a run's id, as JSON: a sweep
    /// folder refuses to mix runs made with different settings.
    pub fn settings_json(&self) -> String {
        serde_json::json!({
            "corpus": self.corpus,
            "tokenizer": self.tokenizer,
            "seq_len": self.seq_len,
            "train": self.train,
        })
        .to_string()
    }
}

impl TrainSettings {
    /// Checks every value, naming the key.
    pub fn validate(&self) -> Result<()> {
        let positive = |k: &str, v: f64| -> Result<()> {
            if !(v.is_finite() && v > 0.0) {
                bail!("`train.{k}` must be a finite number > 0, got {v}");
            }
            Ok(())
        };
        let fraction = |k: &str, v: f64| -> Result<()> {
            if !(0.0..=1.0).contains(&v) {
                bail!("`train.{k}` must be in [0, 1], got {v}");
            }
            Ok(())
        };
        positive("lr", self.lr)?;
        positive("grad_clip", self.grad_clip)?;
        fraction("warmup_fraction", self.warmup_fraction)?;
        fraction("final_lr_fraction", self.final_lr_fraction)?;
        fraction("dropout", self.dropout)?;
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            bail!("`train.weight_decay` must be >= 0, got {}", self.weight_decay);
        }
        for (k, v) in [("batch_size", self.batch_size), ("eval_every", self.eval_every), ("eval_draws", self.eval_draws)] {
            if v == 0 {
                bail!("`train.{k}` must be at least 1");
            }
        }
        if self.early_stopping == Some(0) {
            bail!("`train.early_stopping` must be at least 1 (or left out)");
        }
        Ok(())
    }
}

fn nonempty_unique<T: PartialEq + std::fmt::Debug>(key: &str, v: &[T]) -> Result<()> {
    if v.is_empty() {
        bail!("`{key}` is empty");
    }
    for (i, x) in v.iter().enumerate() {
        if v[..i].contains(x) {
            bail!("`{key}` lists {x:?} twice");
        }
    }
    Ok(())
}
