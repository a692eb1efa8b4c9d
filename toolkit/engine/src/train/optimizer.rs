//! The optimizer of every run: AdamW (0.9, 0.95, eps 1e-8) with the run's weight decay, after
//! clipping the gradient's global L2 norm over all parameters together to the run's maximum
//! (PyTorch's `clip_grad_norm_`, which the papers' trainers use; burn's own clip works on each
//! tensor alone). Updates use burn's arithmetic and burn's state, so checkpoints load either
//! way; on the CPU each parameter's update is one fused parallel kernel
//! ([`crate::kernels::adamw_step`]) instead of burn's fifteen single-threaded passes.

use super::config::TrainConfig;
use crate::kernels::{AdamWStep, adamw_step, sum_squares};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{
    AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate, ModuleOptimizer,
    Optimizer,
};
use burn::prelude::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The run's optimizer: global-norm clipping, then AdamW on every parameter.
pub struct AdamW {
    /// burn's per-parameter driver (its state is what checkpoints hold).
    pub modules: ModuleOptimizer,
    max_norm: f64,
    /// The clip factor of the step under way, read by each parameter's update.
    scale: Arc<AtomicU32>,
}

impl AdamW {
    /// The optimizer of a run with `cfg`'s weight decay and gradient clip.
    pub fn for_run(cfg: &TrainConfig) -> Self {
        let (beta_1, beta_2, epsilon, weight_decay) = (0.9, 0.95, 1e-8, cfg.weight_decay as f32);
        let hyper =
            AdamWStep { lr: 0.0, beta_1, beta_2, epsilon, weight_decay, grad_scale: 1.0, time: 0 };
        let composed = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        let scale = Arc::new(AtomicU32::new(1f32.to_bits()));
        AdamW {
            modules: ModuleOptimizer::from(Update { hyper, composed, scale: scale.clone() }),
            max_norm: cfg.grad_clip,
            scale,
        }
    }

    /// One step at learning rate `lr`: scales all gradients by min(1, max_norm / (norm + 1e-6))
    /// for their global norm, then updates `model`.
    pub fn step<M: Module>(&mut self, lr: LearningRate, model: M, grads: GradientsParams) -> M {
        let norm = global_norm(&model, &grads);
        self.scale.store(clip_factor(norm, self.max_norm).to_bits(), Ordering::Relaxed);
        self.modules.step(lr, model, grads)
    }

    /// The optimizer state saved at `path` (by `modules.save`).
    pub fn load(mut self, path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        self.modules = self
            .modules
            .load(path)
            .map_err(|e| anyhow::anyhow!("loading optimizer state {}: {e:?}", path.display()))?;
        Ok(self)
    }
}

/// The factor that brings a gradient of global L2 norm `norm` down to `max_norm` (1 when it is
/// already below): PyTorch's, with its 1e-6 guard.
pub fn clip_factor(norm: f64, max_norm: f64) -> f32 {
    (max_norm / (norm + 1e-6)).min(1.0) as f32
}

/// The L2 norm of all of `model`'s gradients in `grads` together.
pub fn global_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    struct SquaredNorm<'a> {
        grads: &'a GradientsParams,
        sum: f64,
    }
    impl ModuleVisitor for SquaredNorm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.sum += sum_squares(g);
            }
        }
    }
    let mut visitor = SquaredNorm { grads, sum: 0.0 };
    model.visit(&mut visitor);
    visitor.sum.sqrt()
}

/// AdamW's update of one parameter from its gradient times the step's clip factor.
#[derive(Clone)]
struct Update {
    hyper: AdamWStep,
    composed: burn::optim::AdamW,
    scale: Arc<AtomicU32>,
}

impl Optimizer for Update {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self, lr: LearningRate, tensor: Tensor<D>, grad: Tensor<D>, state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad_scale = f32::from_bits(self.scale.load(Ordering::Relaxed));
        let time = state.as_ref().map_or(0, |s| s.momentum.time) + 1;
        let moments =
            state.as_ref().map(|s| [s.momentum.moment_1.clone(), s.momentum.moment_2.clone()]);
        let step = AdamWStep { lr, time: time as i32, grad_scale, ..self.hyper };
        if let Some([p, m, v]) = adamw_step(tensor.clone(), grad.clone(), moments, step) {
            return (p, Some(AdamWState::new(AdaptiveMomentumState::new(time, m, v))));
        }
        let grad = if grad_scale < 1.0 { grad.mul_scalar(grad_scale) } else { grad };
        self.composed.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        burn::optim::AdamW::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn the_norm_is_global_and_the_factor_is_pytorchs() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_floats([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], &device);
        let loss = (layer.forward(x).powi_scalar(2) * 7.0).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        // The norm over weight and bias together, by burn's ops on each gradient.
        let w = grads
            .get::<2>(layer.weight.id)
            .expect("weight gradient")
            .square()
            .sum()
            .into_scalar::<f32>() as f64;
        let b = grads
            .get::<1>(layer.bias.as_ref().expect("bias").id)
            .expect("bias gradient")
            .square()
            .sum()
            .into_scalar::<f32>() as f64;
        let want = w + b;
        assert!(w > 0.0 && b > 0.0);
        let norm = global_norm(&layer, &grads);
        assert!(
            (norm - want.sqrt()).abs() <= 1e-5 * want.sqrt() && norm > 1.0,
            "{norm} vs {}",
            want.sqrt()
        );
        assert_eq!(clip_factor(0.5, 1.0), 1.0);
        assert!((clip_factor(4.0, 1.0) - 0.25).abs() < 1e-6);
    }
}
