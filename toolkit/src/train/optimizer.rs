//! The optimizer of every run: AdamW (0.9, 0.95, eps 1e-8) with the run's weight decay and
//! gradient-norm clip, in burn's arithmetic and with burn's state (so checkpoints load either
//! way); on the CPU each parameter's update is one fused parallel kernel
//! ([`crate::model::fused::adamw_step`]) instead of burn's fifteen single-threaded passes.

use super::config::TrainConfig;
use crate::model::fused::{adamw_step, AdamWStep};
use burn::grad_clipping::GradientClipping;
use burn::optim::{AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;

/// AdamW whose gradient is first clipped to `clip_norm` (over each parameter tensor, as burn's
/// `GradientClipping::Norm` does).
#[derive(Clone)]
pub struct AdamW {
    hyper: AdamWStep,
    composed: burn::optim::AdamW,
}

impl AdamW {
    /// The run's optimizer, ready for `step(lr, model, grads)`.
    pub fn for_run(cfg: &TrainConfig) -> ModuleOptimizer {
        let (beta_1, beta_2, epsilon, weight_decay) = (0.9, 0.95, 1e-8, cfg.weight_decay as f32);
        let hyper = AdamWStep { lr: 0.0, beta_1, beta_2, epsilon, weight_decay, clip_norm: Some(cfg.grad_clip as f32), time: 0 };
        let composed = AdamWConfig::new().with_beta_1(beta_1).with_beta_2(beta_2).with_epsilon(epsilon).with_weight_decay(weight_decay).build();
        ModuleOptimizer::from(AdamW { hyper, composed })
    }
}

impl Optimizer for AdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(&self, lr: LearningRate, tensor: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>) -> (Tensor<D>, Option<Self::State<D>>) {
        let time = state.as_ref().map_or(0, |s| s.momentum.time) + 1;
        let moments = state.as_ref().map(|s| [s.momentum.moment_1.clone(), s.momentum.moment_2.clone()]);
        let step = AdamWStep { lr, time: time as i32, ..self.hyper };
        if let Some([p, m, v]) = adamw_step(tensor.clone(), grad.clone(), moments, step) {
            return (p, Some(AdamWState::new(AdaptiveMomentumState::new(time, m, v))));
        }
        let grad = match self.hyper.clip_norm {
            Some(c) => GradientClipping::Norm(c).clip_gradient(grad),
            None => grad,
        };
        self.composed.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        burn::optim::AdamW::to_device(state, device)
    }
}
