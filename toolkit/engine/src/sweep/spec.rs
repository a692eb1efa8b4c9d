//! The sweep spec (TOML): what to train, on what, at which unique budgets, epochs and sizes.
//!
//! Unknown keys are errors (serde `deny_unknown_fields`) and so are impossible values; both
//! name the key.

use crate::data::TokenizerSpec;
use crate::model::{ModelConfig, Precision, preset};
use crate::objective::parse_objective;
use crate::train::TrainConfig;
use crate::train::config::{defaults, rule};
use anyhow::{Context, Result, bail};
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
    /// Epochs doubled to exhaustion per group instead of an `epochs` list.
    pub doubling: Option<Doubling>,
    /// Seeds (each point is run once per seed).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Dropout values to vary per point, a regularisation grid (left out: `train.dropout`).
    pub dropout: Option<Vec<f64>>,
    /// AdamW weight decays to vary per point (left out: `train.weight_decay`).
    pub weight_decay: Option<Vec<f64>>,
    /// Per-family lists that replace the two above for one objective (`[regularisation.ar]`),
    /// so a cheap family can search a wider grid than an expensive one.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub regularisation: std::collections::BTreeMap<String, Regularisation>,
    /// Training settings shared by every run.
    #[serde(default)]
    pub train: TrainSettings,
    /// The compute-matched family of the repetition figure.
    pub compute_matched: Option<ComputeMatched>,
}

/// Epochs to exhaustion: for each (family, model, U, dropout, weight decay, seed), train at
/// E = start, 2 start, 4 start, ... (each run its own schedule, from scratch) until the best
/// validation loss has not improved for `patience` doublings (after at least `min_points`
/// runs) or E reaches `cap`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doubling {
    /// First epoch count.
    #[serde(default = "one")]
    pub start: f64,
    /// Largest epoch count.
    pub cap: f64,
    /// Doublings without a new best loss that end a group.
    #[serde(default = "two")]
    pub patience: usize,
    /// Runs a group makes before it may stop (the curve's points).
    #[serde(default = "six")]
    pub min_points: usize,
}

fn one() -> f64 {
    1.0
}
fn two() -> usize {
    2
}
fn six() -> usize {
    6
}

impl Doubling {
    /// Every epoch count up to the cap: start, 2 start, 4 start, ...
    pub fn epochs(&self) -> Vec<f64> {
        let mut out = vec![self.start];
        while out.last().expect("nonempty") * 2.0 <= self.cap * (1.0 + 1e-9) {
            out.push(out.last().expect("nonempty") * 2.0);
        }
        out
    }

    /// Whether a group is done, given the best losses of its runs so far in epoch order and
    /// the last run's epochs: at the cap, or (after `min_points` runs) no new best for
    /// `patience` doublings.
    ///
    /// ```
    /// let d = dclab::sweep::Doubling { start: 1.0, cap: 1024.0, patience: 2, min_points: 3 };
    /// assert!(!d.done(&[3.0, 2.5, 2.4], 4.0));
    /// assert!(d.done(&[3.0, 2.5, 2.6, 2.7], 8.0));
    /// ```
    pub fn done(&self, best_losses: &[f64], last_epochs: f64) -> bool {
        if best_losses.is_empty() {
            return false;
        }
        if last_epochs * 2.0 > self.cap * (1.0 + 1e-9) {
            return true;
        }
        if best_losses.len() < self.min_points {
            return false;
        }
        let best = best_losses
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .expect("nonempty");
        best_losses.len() - 1 - best >= self.patience
    }
}

/// Dropout and weight-decay lists for one family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regularisation {
    /// Dropout values (left out: the spec's list or `train.dropout`).
    pub dropout: Option<Vec<f64>>,
    /// Weight decays (left out: the spec's list or `train.weight_decay`).
    pub weight_decay: Option<Vec<f64>>,
}

/// Settings every run of a sweep shares (each field's default is `dclab train`'s, from
/// [`defaults`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Share of steps in linear warmup.
    pub warmup_fraction: f64,
    /// Final learning rate as a fraction of the peak.
    pub final_lr_fraction: f64,
    /// AdamW weight decay (a point's `weight_decay` list overrides it).
    pub weight_decay: f64,
    /// Dropout (a point's `dropout` list overrides it).
    pub dropout: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    /// Steps between evaluations.
    pub eval_every: usize,
    /// Validation sequences per evaluation of the curve (0 = the whole split).
    pub eval_sequences: usize,
    /// Diffusion draws of t per validation sequence on the curve.
    pub eval_draws: usize,
    /// Stop a run after this many evaluations without improvement (None = never).
    pub early_stopping: Option<usize>,
    /// Validation sequences of each run's precise final evaluation (0 = the whole split).
    pub precise_eval_sequences: usize,
    /// Diffusion draws per sequence in that evaluation.
    pub precise_eval_draws: usize,
    /// f32 (the default, left out of the settings JSON so sweeps from before read the same) or bf16.
    #[serde(skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            batch_size: defaults::BATCH_SIZE,
            lr: defaults::LR,
            warmup_fraction: defaults::WARMUP_FRACTION,
            final_lr_fraction: defaults::FINAL_LR_FRACTION,
            weight_decay: defaults::WEIGHT_DECAY,
            dropout: defaults::DROPOUT,
            grad_clip: defaults::GRAD_CLIP,
            eval_every: defaults::EVAL_EVERY,
            eval_sequences: defaults::EVAL_SEQUENCES,
            eval_draws: defaults::EVAL_DRAWS,
            early_stopping: None,
            precise_eval_sequences: defaults::PRECISE_EVAL_SEQUENCES,
            precise_eval_draws: defaults::PRECISE_EVAL_DRAWS,
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
    defaults::SEQ_LEN
}
fn default_seeds() -> Vec<u64> {
    vec![0]
}

impl SweepSpec {
    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<SweepSpec> {
        let spec: SweepSpec =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("sweep spec: {e}"))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads and validates a TOML file.
    pub fn read(path: &Path) -> Result<SweepSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading sweep spec {}", path.display()))?;
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
        if !self.epochs.is_empty() && self.doubling.is_some() {
            bail!("give `epochs` (a list) or `[doubling]` (epochs to exhaustion), not both");
        }
        if self.unique_tokens.is_empty() != (self.epochs.is_empty() && self.doubling.is_none()) {
            bail!(
                "`unique_tokens` and `epochs` (or `[doubling]`) go together: give both (the grid) or neither (compute-matched only)"
            );
        }
        if let Some(d) = &self.doubling {
            rule::positive("`doubling.start`", d.start)?;
            if !(d.cap.is_finite() && d.cap >= d.start) {
                bail!(
                    "`doubling.cap` must be a finite number >= doubling.start ({}), got {}",
                    d.start,
                    d.cap
                );
            }
            if d.patience == 0 {
                bail!("`doubling.patience` must be at least 1");
            }
        }
        let mut lists = vec![(String::new(), &self.dropout, &self.weight_decay)];
        for (family, r) in &self.regularisation {
            if !self.objectives.contains(family) {
                bail!(
                    "`regularisation.{family}` names no objective of the spec ({})",
                    self.objectives.join(", ")
                );
            }
            lists.push((format!("regularisation.{family}."), &r.dropout, &r.weight_decay));
        }
        for (prefix, dropout, weight_decay) in lists {
            for (key, list) in [("dropout", dropout), ("weight_decay", weight_decay)] {
                if let Some(v) = list {
                    nonempty_unique(key, &v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
                        .map_err(|_| {
                            anyhow::anyhow!("`{prefix}{key}` is empty or lists a value twice")
                        })?;
                }
            }
            for (i, &d) in dropout.iter().flatten().enumerate() {
                rule::dropout(&format!("`{prefix}dropout[{i}]`"), d)?;
            }
            for (i, &w) in weight_decay.iter().flatten().enumerate() {
                rule::weight_decay(&format!("`{prefix}weight_decay[{i}]`"), w)?;
            }
        }
        if self.unique_tokens.is_empty() && self.compute_matched.is_none() {
            bail!(
                "nothing to run: give `unique_tokens` and `epochs`, or a `[compute_matched]` table"
            );
        }
        if !self.unique_tokens.is_empty() {
            nonempty_unique("unique_tokens", &self.unique_tokens)?;
        }
        for (i, &u) in self.unique_tokens.iter().enumerate() {
            if u <= self.seq_len {
                bail!(
                    "`unique_tokens[{i}]` = {u} is smaller than one sample of seq_len + 1 = {} tokens",
                    self.seq_len + 1
                );
            }
        }
        for (i, &e) in self.epochs.iter().enumerate() {
            rule::positive(&format!("`epochs[{i}]`"), e)?;
        }
        if !self.epochs.is_empty() {
            nonempty_unique("epochs", &self.epochs.iter().map(|e| e.to_bits()).collect::<Vec<_>>())
                .map_err(|_| anyhow::anyhow!("`epochs` lists a value twice"))?;
        }
        self.train.validate()?;
        if let Some(cm) = &self.compute_matched {
            match (cm.tokens, cm.flops) {
                (Some(_), Some(_)) | (None, None) => {
                    bail!("`compute_matched`: give exactly one of `tokens` and `flops`")
                }
                (Some(t), None) if t <= self.seq_len => {
                    bail!("`compute_matched.tokens` = {t} is smaller than one sample")
                }
                (None, Some(f)) => rule::positive("`compute_matched.flops`", f)?,
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
            nonempty_unique(
                "compute_matched.unique_fractions",
                &cm.unique_fractions.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            )?;
            if let Some(m) = &cm.models {
                nonempty_unique("compute_matched.models", m)?;
                for (i, m) in m.iter().enumerate() {
                    preset(m).with_context(|| format!("`compute_matched.models[{i}]`"))?;
                }
            }
        }
        Ok(())
    }

    /// The regularisation of each point of `family`: (dropout, weight decay), None where the
    /// spec gives no list (the point then uses `train`'s value).
    pub fn regularisations(&self, family: &str) -> Vec<(Option<f64>, Option<f64>)> {
        let own = self.regularisation.get(family);
        let dropout = own.and_then(|r| r.dropout.as_ref()).or(self.dropout.as_ref());
        let weight_decay = own.and_then(|r| r.weight_decay.as_ref()).or(self.weight_decay.as_ref());
        let d: Vec<Option<f64>> =
            dropout.map_or(vec![None], |v| v.iter().map(|&x| Some(x)).collect());
        let w: Vec<Option<f64>> =
            weight_decay.map_or(vec![None], |v| v.iter().map(|&x| Some(x)).collect());
        d.iter().flat_map(|&d| w.iter().map(move |&w| (d, w))).collect()
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
    /// These settings for `objective` on `model` (whose dropout and precision the caller sets):
    /// the one place a spec's `[train]` table becomes a run's [`TrainConfig`].
    pub fn config(&self, model: ModelConfig, objective: &str) -> Result<TrainConfig> {
        Ok(TrainConfig::for_objective(model, objective)?
            .with_batch_size(self.batch_size)
            .with_lr(self.lr)
            .with_warmup_fraction(self.warmup_fraction)
            .with_final_lr_fraction(self.final_lr_fraction)
            .with_weight_decay(self.weight_decay)
            .with_grad_clip(self.grad_clip)
            .with_eval_every(self.eval_every)
            .with_eval_sequences(self.eval_sequences)
            .with_eval_draws(self.eval_draws)
            .with_early_stopping(self.early_stopping)
            .with_precise_eval_sequences(self.precise_eval_sequences)
            .with_precise_eval_draws(self.precise_eval_draws))
    }

    /// Checks every value, naming the key, by the rules a run applies
    /// ([`crate::train::config::Values::check`]), on a placeholder model.
    pub fn validate(&self) -> Result<()> {
        let model = ModelConfig::new(1, 2, 1, 1, 1).with_dropout(self.dropout);
        self.config(model, "ar")?.values().check(&|k| format!("`train.{k}`"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_stops_two_doublings_after_the_best_or_at_the_cap() {
        let d = Doubling { start: 1.0, cap: 256.0, patience: 2, min_points: 6 };
        assert_eq!(d.epochs(), vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]);
        // A U-shaped curve (AR under repetition): best at E = 4.
        let curve = [3.0, 2.6, 2.4, 2.5, 2.7, 3.0, 3.4, 3.9, 4.5];
        let stop = (1..=curve.len()).find(|&n| d.done(&curve[..n], d.epochs()[n - 1])).unwrap();
        assert_eq!(stop, 6, "six points (the minimum), the last two without a new best");
        // Best at the end of the minimum: two more doublings are needed.
        let late = [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.55, 2.6, 2.4];
        let stop = (1..=late.len()).find(|&n| d.done(&late[..n], d.epochs()[n - 1])).unwrap();
        assert_eq!(stop, 8, "best at E = 32; E = 64 and 128 do not improve");
        // A curve that keeps falling (diffusion) runs to the cap.
        let falling: Vec<f64> = (0..9).map(|i| 3.0 - 0.1 * i as f64).collect();
        let stop = (1..=falling.len()).find(|&n| d.done(&falling[..n], d.epochs()[n - 1])).unwrap();
        assert_eq!(stop, 9);
        assert!(!d.done(&[], 1.0));
        // A new best resets the count: 2.4 at n = 5 after two worse points.
        let reset = [3.0, 2.5, 2.6, 2.7, 2.4, 2.45];
        assert!(!d.done(&reset, 32.0));
    }

    #[test]
    fn dropout_and_weight_decay_lists_vary_per_point() {
        let spec = SweepSpec::from_toml(
            r#"
            objectives = ["ar", "diffusion"]
            models = ["0.1m"]
            unique_tokens = [5000]
            dropout = [0.0, 0.1]
            weight_decay = [0.1, 1.0, 3.0]
            [doubling]
            cap = 4
            "#,
        )
        .unwrap();
        assert_eq!(spec.train.dropout, 0.1, "DBA's default");
        let pts = crate::sweep::points(&spec, 74).unwrap();
        assert_eq!(pts.len(), 2 * 2 * 3 * 3, "families x dropouts x decays x epochs (1, 2, 4)");
        let p = pts
            .iter()
            .find(|p| {
                p.family == "ar"
                    && p.point_dropout == Some(0.0)
                    && p.point_weight_decay == Some(3.0)
                    && p.requested_epochs == 2.0
            })
            .unwrap();
        assert_eq!(p.run_id, "ar_0.1m_U5000_E2_do0_wd3_s0");
        assert_eq!(p.kind, "doubling");
        let cfg = crate::sweep::runner::train_config(&spec, p, 74).unwrap();
        assert_eq!((cfg.model.dropout, cfg.weight_decay), (0.0, 3.0));
        let ids: std::collections::BTreeSet<&str> = pts.iter().map(|p| p.run_id.as_str()).collect();
        assert_eq!(ids.len(), pts.len(), "ids are distinct");
        for bad in
            ["dropout = [1.0]", "dropout = []", "weight_decay = [-1.0]", "dropout = [0.1, 0.1]"]
        {
            let text = format!(
                "objectives = [\"ar\"]\nmodels = [\"0.1m\"]\nunique_tokens = [5000]\nepochs = [1]\n{bad}\n"
            );
            assert!(SweepSpec::from_toml(&text).is_err(), "{bad} must be refused");
        }
        let per_family = SweepSpec::from_toml(
            "objectives = [\"ar\", \"diffusion\"]\nmodels = [\"0.1m\"]\nunique_tokens = [5000]\nepochs = [1]\ndropout = [0.0, 0.1]\n[regularisation.ar]\nweight_decay = [0.1, 1.0]\n",
        )
        .unwrap();
        assert_eq!(
            per_family.regularisations("ar").len(),
            4,
            "AR: its own decays x the spec's dropouts"
        );
        assert_eq!(
            per_family.regularisations("diffusion"),
            vec![(Some(0.0), None), (Some(0.1), None)]
        );
        let unknown = "objectives = [\"ar\"]\nmodels = [\"0.1m\"]\nunique_tokens = [5000]\nepochs = [1]\n[regularisation.diffusion]\ndropout = [0.0]\n";
        assert!(
            SweepSpec::from_toml(unknown)
                .unwrap_err()
                .to_string()
                .contains("regularisation.diffusion")
        );
        let both = "objectives = [\"ar\"]\nmodels = [\"0.1m\"]\nunique_tokens = [5000]\nepochs = [1]\n[doubling]\ncap = 4\n";
        assert!(SweepSpec::from_toml(both).unwrap_err().to_string().contains("not both"));
    }
}
