//! Text from a trained model: AR decoding (temperature, top-k) and diffusion decoding by
//! iterative unmasking over T steps (most-confident-first or random order).

use crate::data::shuffle::SplitMix64;
use crate::model::Lm;
use crate::objective::tokens_tensor;
use burn::prelude::*;

/// Which masked positions a diffusion step reveals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmaskOrder {
    /// The positions whose sampled token has the highest probability.
    Confidence,
    /// Uniformly random positions.
    Random,
}

/// Sampling settings.
#[derive(Clone, Debug)]
pub struct SampleConfig {
    /// Tokens to generate after the prompt (diffusion: at most seq_len minus the prompt).
    pub tokens: usize,
    /// Softmax temperature (0 = greedy).
    pub temperature: f64,
    /// Keep only the k most likely tokens (None = all).
    pub top_k: Option<usize>,
    /// Diffusion denoising steps T.
    pub steps: usize,
    /// Diffusion unmasking order.
    pub order: UnmaskOrder,
    /// Seed of the sampler.
    pub seed: u64,
}

/// Draws a token from one row of logits; returns (token, its probability).
fn draw(logits: &[f32], cfg: &SampleConfig, rng: &mut SplitMix64) -> (u32, f64) {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if cfg.temperature <= 0.0 {
        return (idx[0] as u32, 1.0);
    }
    idx.truncate(cfg.top_k.unwrap_or(idx.len()).max(1));
    let top = logits[idx[0]] as f64;
    let w: Vec<f64> =
        idx.iter().map(|&i| ((logits[i] as f64 - top) / cfg.temperature).exp()).collect();
    let sum: f64 = w.iter().sum();
    let mut u = rng.uniform() * sum;
    for (k, &i) in idx.iter().enumerate() {
        u -= w[k];
        if u <= 0.0 {
            return (i as u32, w[k] / sum);
        }
    }
    (*idx.last().expect("non-empty") as u32, w[w.len() - 1] / sum)
}

/// Rows of logits [S, V] for one sequence.
fn logits_rows(model: &Lm, tokens: &[u32], device: &Device) -> Vec<Vec<f32>> {
    let logits = model.forward(tokens_tensor(&[tokens.to_vec()], device), None);
    let [_, s, v] = logits.dims();
    let flat: Vec<f32> = logits.into_data().iter::<f32>().collect();
    (0..s).map(|i| flat[i * v..(i + 1) * v].to_vec()).collect()
}

/// AR decoding: one token at a time, the context cut to the model's `seq_len`.
pub fn generate_ar(
    model: &Lm, prompt: &[u32], seq_len: usize, cfg: &SampleConfig, device: &Device,
) -> Vec<u32> {
    let mut rng = SplitMix64::new(cfg.seed);
    let mut out = prompt.to_vec();
    for _ in 0..cfg.tokens {
        let start = out.len().saturating_sub(seq_len);
        let rows = logits_rows(model, &out[start..], device);
        out.push(draw(rows.last().expect("context"), cfg, &mut rng).0);
    }
    out
}

/// Diffusion decoding: a window of MASKs after the prompt, revealed over `steps` steps.
pub fn generate_diffusion(
    model: &Lm, prompt: &[u32], seq_len: usize, cfg: &SampleConfig, device: &Device,
) -> Vec<u32> {
    let mut rng = SplitMix64::new(cfg.seed);
    let mask = model.vocab_size() as u32;
    let prompt = &prompt[prompt.len().saturating_sub(seq_len - 1)..];
    let n = cfg.tokens.min(seq_len - prompt.len());
    let mut seq: Vec<u32> = prompt.iter().copied().chain(std::iter::repeat_n(mask, n)).collect();
    let steps = cfg.steps.clamp(1, n.max(1));
    for s in 0..steps {
        let masked: Vec<usize> = (0..seq.len()).filter(|&i| seq[i] == mask).collect();
        if masked.is_empty() {
            break;
        }
        let reveal = (masked.len() as f64 / (steps - s) as f64).ceil() as usize;
        let rows = logits_rows(model, &seq, device);
        let mut proposals: Vec<(usize, u32, f64)> = masked
            .iter()
            .map(|&i| {
                let (t, p) = draw(&rows[i], cfg, &mut rng);
                (i, t, p)
            })
            .collect();
        match cfg.order {
            UnmaskOrder::Confidence => proposals.sort_by(|a, b| b.2.total_cmp(&a.2)),
            UnmaskOrder::Random => crate::data::shuffle::shuffle(&mut proposals, rng.next_u64()),
        }
        for &(i, t, _) in proposals.iter().take(reveal) {
            seq[i] = t;
        }
    }
    seq
}

/// A finished run folder read once (its settings, tokenizer and best checkpoint): what
/// `dclab sample` draws text from and `dclab diffusion bound` evaluates.
pub struct FinishedRun {
    /// The settings it trained with (config.json).
    pub config: super::TrainConfig,
    /// Its tokenizer (tokenizer.json).
    pub tokenizer: crate::data::Tokenizer,
    /// Its best checkpoint.
    pub model: Lm,
}

impl FinishedRun {
    /// Reads `run_dir`, written by `train`, with the model on `device`.
    pub fn load(run_dir: &std::path::Path, device: &Device) -> anyhow::Result<FinishedRun> {
        use burn::config::Config;
        let path = run_dir.join("config.json");
        let config = super::TrainConfig::load(&path).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a finished run folder (reading config.json: {e})",
                run_dir.display()
            )
        })?;
        let tokenizer = crate::data::Tokenizer::load(&run_dir.join("tokenizer.json"))?;
        let best = run_dir.join("checkpoints").join("best");
        let model = super::checkpoint::load_model(&best, &config.model, device)?;
        Ok(FinishedRun { config, tokenizer, model })
    }

    /// Text continuing `prompt`: left to right for a causal model, by unmasking otherwise.
    pub fn sample(
        &self, prompt: &str, cfg: &SampleConfig, device: &Device,
    ) -> anyhow::Result<String> {
        let prompt = self.tokenizer.encode(prompt)?;
        let seq_len = self.config.model.seq_len;
        let ids = if self.config.model.causal {
            generate_ar(&self.model, &prompt, seq_len, cfg, device)
        } else {
            generate_diffusion(&self.model, &prompt, seq_len, cfg, device)
        };
        self.tokenizer.decode(&ids)
    }
}
