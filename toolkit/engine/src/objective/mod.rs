//! Training objectives behind one trait (DBA section 3): AR cross-entropy, masked diffusion
//! (the linear-schedule NELBO), and AR with N token orderings. A researcher can implement
//! [`Objective`] in a notebook cell and train it with the same loop, evaluation and outputs.
//!
//! ```
//! use burn::prelude::*;
//! use dclab::data::shuffle::SplitMix64;
//! use dclab::objective::{ar_nll, LogitModel, Objective};
//!
//! /// AR where the loss counts only the second half of every sequence.
//! struct SecondHalfAr;
//! impl Objective for SecondHalfAr {
//!     fn name(&self) -> String { "ar-second-half".into() }
//!     fn causal(&self) -> bool { true }
//!     fn loss(&self, model: &dyn LogitModel, samples: &[&[u32]], _rng: &mut SplitMix64, device: &Device) -> Tensor<1> {
//!         let nll = ar_nll(model, samples, None, device); // [B, L]
//!         let [b, l] = nll.dims();
//!         nll.slice([0..b, l / 2..l]).mean()
//!     }
//! }
//! ```

pub mod ar;
pub mod diffusion;
pub mod orderings;
mod tensors;

pub use ar::Ar;
pub use diffusion::MaskedDiffusion;
pub use orderings::{ArOrderings, OrderingKind};
pub use tensors::{ar_nll, token_nll, tokens_tensor};

use crate::data::shuffle::SplitMix64;
use crate::model::Lm;
use anyhow::{Result, bail};
use burn::prelude::*;

/// Anything that maps token ids [B, S] (and optional position ids) to logits [B, S, V].
pub trait LogitModel {
    /// Logits [B, S, V].
    fn logits(&self, tokens: Tensor<2, Int>, positions: Option<Tensor<2, Int>>) -> Tensor<3>;
    /// The MASK token id (= V) for diffusion inputs.
    fn mask_id(&self) -> usize;
}

impl LogitModel for Lm {
    fn logits(&self, tokens: Tensor<2, Int>, positions: Option<Tensor<2, Int>>) -> Tensor<3> {
        self.forward(tokens, positions)
    }
    fn mask_id(&self) -> usize {
        self.vocab_size()
    }
}

/// One validation sequence's loss estimate (nats/token) and the Monte Carlo variance of that
/// estimate (0 for exact AR likelihoods).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequenceLoss {
    /// Estimated loss of the sequence, nats/token.
    pub loss: f64,
    /// Variance of the estimate over the objective's own randomness.
    pub mc_variance: f64,
}

/// A training objective: a differentiable loss on a batch of `seq_len + 1`-token samples and a
/// validation estimate. Randomness comes from the host-side generator the loop passes in, so a
/// run is reproducible and identical across devices.
pub trait Objective: Send + Sync {
    /// Name recorded with every run.
    fn name(&self) -> String;
    /// Whether the backbone runs causally.
    fn causal(&self) -> bool;
    /// Training loss (nats/token) of a batch.
    fn loss(
        &self, model: &dyn LogitModel, samples: &[&[u32]], rng: &mut SplitMix64, device: &Device,
    ) -> Tensor<1>;
    /// Validation losses of sequences, with a fixed `seed` so successive evaluations are
    /// comparable. The default is the exact AR likelihood in raster order.
    fn eval(
        &self, model: &dyn LogitModel, samples: &[&[u32]], _seed: u64, device: &Device,
    ) -> Vec<SequenceLoss> {
        let nll: Vec<f32> =
            ar_nll(model, samples, None, device).mean_dim(1).into_data().iter::<f32>().collect();
        nll.into_iter().map(|l| SequenceLoss { loss: l as f64, mc_variance: 0.0 }).collect()
    }
    /// The sequence length the objective was built for, where it depends on one (the
    /// orderings' permutations); None (the default) when it takes any.
    fn seq_len(&self) -> Option<usize> {
        None
    }
    /// Draws per validation sequence where the estimate is a Monte Carlo one (diffusion's
    /// bound); None (the default) when the evaluation has none.
    fn eval_draws(&self) -> Option<usize> {
        None
    }
    /// The same objective with `draws` validation draws per sequence, for the precise final
    /// evaluation; None (the default) when its evaluation has no draws to set.
    fn with_eval_draws(&self, _draws: usize) -> Option<Box<dyn Objective>> {
        None
    }
}

/// Parses `ar`, `diffusion` or `ar-orderings:N` (optionally `ar-orderings:N:noisy:K`);
/// `eval_draws` is the diffusion bound's K per validation sequence.
pub fn parse_objective(
    spec: &str, seq_len: usize, seed: u64, eval_draws: usize,
) -> Result<Box<dyn Objective>> {
    match spec {
        "ar" => Ok(Box::new(Ar)),
        "diffusion" => Ok(Box::new(MaskedDiffusion { eval_draws, ..Default::default() })),
        _ => {
            let Some(rest) = spec.strip_prefix("ar-orderings:") else {
                bail!("unknown objective '{spec}' (use ar, diffusion or ar-orderings:N)");
            };
            let parts: Vec<&str> = rest.split(':').collect();
            let n: usize = parts[0].parse().map_err(|_| {
                anyhow::anyhow!("ar-orderings:N needs a number, got '{}'", parts[0])
            })?;
            let kind = match parts[1..] {
                [] => OrderingKind::Random,
                ["noisy", k] => OrderingKind::NoisyArgsort(
                    k.parse().map_err(|_| anyhow::anyhow!("bad noise scale '{k}'"))?,
                ),
                _ => bail!("use ar-orderings:N or ar-orderings:N:noisy:K"),
            };
            if n == 0 {
                bail!("ar-orderings needs N >= 1");
            }
            Ok(Box::new(ArOrderings::new(n, seq_len, kind, seed)))
        }
    }
}
