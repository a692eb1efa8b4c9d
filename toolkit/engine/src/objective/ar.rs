//! Autoregressive next-token cross-entropy.

use super::{LogitModel, Objective, ar_nll};
use crate::data::shuffle::SplitMix64;
use burn::prelude::*;

/// Mean next-token cross-entropy over all positions (nats/token).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ar;

impl Objective for Ar {
    fn name(&self) -> String {
        "ar".into()
    }
    fn causal(&self) -> bool {
        true
    }
    fn loss(
        &self, model: &dyn LogitModel, samples: &[&[u32]], _rng: &mut SplitMix64, device: &Device,
    ) -> Tensor<1> {
        ar_nll(model, samples, None, device).mean()
    }
}
