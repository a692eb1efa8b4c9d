//! Masked diffusion, the linear-schedule NELBO of DBA/SMDM/MDLM (REFERENCE section 3): per
//! sequence t ~ U(0,1), p = (1 - eps) t + eps, each token masked with probability p, and
//! loss = sum over masked positions of CE / p, divided by B * L (not by the masked count).

use super::{LogitModel, Objective, SequenceLoss, token_nll, tokens_tensor};
use crate::data::shuffle::SplitMix64;
use burn::prelude::*;

/// The masked diffusion objective.
#[derive(Clone, Copy, Debug)]
pub struct MaskedDiffusion {
    /// Smallest masking probability (1e-3).
    pub eps: f64,
    /// Draws of t per validation sequence (DBA: 32), stratified.
    pub eval_draws: usize,
}

/// DBA's draws of t per validation sequence (stratified): the default of both the curve's and
/// the precise evaluation's draws.
pub const DBA_EVAL_DRAWS: usize = 32;

impl Default for MaskedDiffusion {
    fn default() -> Self {
        Self { eps: 1e-3, eval_draws: DBA_EVAL_DRAWS }
    }
}

/// A masked batch: inputs with MASK in place and weights 1(masked)/p per position.
#[derive(Clone, Debug)]
pub struct Masked {
    /// Token ids with masked positions replaced by MASK.
    pub inputs: Vec<Vec<u32>>,
    /// 1/p at masked positions, 0 elsewhere, row-major [B, L].
    pub weights: Vec<f32>,
}

impl MaskedDiffusion {
    /// Masking probability at time t.
    pub fn p(&self, t: f64) -> f64 {
        (1.0 - self.eps) * t + self.eps
    }

    /// Masks each token of `xs[b]` independently with probability `p(ts[b])` (Bernoulli).
    pub fn mask(&self, xs: &[&[u32]], ts: &[f64], mask_id: u32, rng: &mut SplitMix64) -> Masked {
        let mut inputs = Vec::with_capacity(xs.len());
        let mut weights = Vec::with_capacity(xs.len() * xs.first().map_or(0, |x| x.len()));
        for (x, &t) in xs.iter().zip(ts) {
            let p = self.p(t);
            let row = x
                .iter()
                .map(|&tok| {
                    let masked = rng.uniform() < p;
                    weights.push(if masked { (1.0 / p) as f32 } else { 0.0 });
                    if masked { mask_id } else { tok }
                })
                .collect();
            inputs.push(row);
        }
        Masked { inputs, weights }
    }

    /// Per-row loss estimates sum(CE * 1(masked) / p) / L for masked rows of clean `xs`.
    fn row_losses(
        &self, model: &dyn LogitModel, xs: &[&[u32]], masked: &Masked, device: &Device,
    ) -> Tensor<1> {
        let (b, l) = (xs.len(), xs[0].len());
        let logits = model.logits(tokens_tensor(&masked.inputs, device), None);
        let clean: Vec<Vec<u32>> = xs.iter().map(|x| x.to_vec()).collect();
        let nll = token_nll(logits, tokens_tensor(&clean, device));
        let w = Tensor::<2>::from_data(TensorData::new(masked.weights.clone(), [b, l]), device);
        (nll * w).sum_dim(1).reshape([b]).div_scalar(l as f64)
    }
}

/// The clean sequence a diffusion model denoises: the first L of the L + 1 sample tokens.
fn clean(sample: &[u32]) -> &[u32] {
    &sample[..sample.len() - 1]
}

impl Objective for MaskedDiffusion {
    fn name(&self) -> String {
        "diffusion".into()
    }
    fn causal(&self) -> bool {
        false
    }
    fn loss(
        &self, model: &dyn LogitModel, samples: &[&[u32]], rng: &mut SplitMix64, device: &Device,
    ) -> Tensor<1> {
        let xs: Vec<&[u32]> = samples.iter().map(|s| clean(s)).collect();
        let ts: Vec<f64> = xs.iter().map(|_| rng.uniform()).collect();
        let masked = self.mask(&xs, &ts, model.mask_id() as u32, rng);
        // Mean over rows of (sum / L) = sum / (B * L): the NELBO normaliser.
        self.row_losses(model, &xs, &masked, device).mean()
    }

    fn eval(
        &self, model: &dyn LogitModel, samples: &[&[u32]], seed: u64, device: &Device,
    ) -> Vec<SequenceLoss> {
        let k = self.eval_draws.max(1);
        let mut rng = SplitMix64::new(seed);
        let mut out = Vec::with_capacity(samples.len());
        let per_chunk = (64 / k).max(1);
        for chunk in samples.chunks(per_chunk) {
            let mut xs = Vec::with_capacity(chunk.len() * k);
            let mut ts = Vec::with_capacity(chunk.len() * k);
            for s in chunk {
                let u = rng.uniform();
                for j in 0..k {
                    xs.push(clean(s));
                    ts.push((u + j as f64 / k as f64).fract()); // stratified t
                }
            }
            let masked = self.mask(&xs, &ts, model.mask_id() as u32, &mut rng);
            let rows: Vec<f32> =
                self.row_losses(model, &xs, &masked, device).into_data().iter::<f32>().collect();
            for draws in rows.chunks(k) {
                let mean = draws.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
                let var = if k > 1 {
                    draws.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>()
                        / (k - 1) as f64
                        / k as f64
                } else {
                    0.0
                };
                out.push(SequenceLoss { loss: mean, mc_variance: var });
            }
        }
        out
    }

    fn eval_draws(&self) -> Option<usize> {
        Some(self.eval_draws)
    }

    fn with_eval_draws(&self, draws: usize) -> Option<Box<dyn Objective>> {
        Some(Box::new(MaskedDiffusion { eval_draws: draws, ..*self }))
    }
}
