//! Training throughput on random tokens: the loop's own step (objective loss, backward, AdamW
//! with clipping, the loss read back every `loss_every` steps; the loop reads it every step)
//! timed after warmup, for benchmarks on any device without a corpus.

use super::config::TrainConfig;
use super::optimizer::AdamW;
use crate::data::shuffle::{SplitMix64, mix};
use crate::model::{DeviceChoice, Lm};
use crate::objective::Objective;
use anyhow::{Result, bail};
use burn::optim::GradientsParams;
use std::time::Instant;

/// One throughput measurement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Throughput {
    /// Objective name.
    pub objective: String,
    /// Device description.
    pub device: String,
    /// Precision of the matrix products as recorded (f32, tf32 or bf16).
    pub precision: String,
    /// Every parameter.
    pub params: usize,
    /// Input tokens per optimizer step (batch x seq_len).
    pub tokens_per_step: usize,
    /// Timed steps (after warmup).
    pub steps: usize,
    /// Median seconds per timed step (a step that does not read the loss back is timed until
    /// its work is queued, not done; `tokens_per_second` counts all of it).
    pub median_step_seconds: f64,
    /// Timed tokens over timed seconds.
    pub tokens_per_second: f64,
    /// Model FLOPs per input token ([`crate::model::ModelConfig::train_flops_per_token`]).
    pub flops_per_token: f64,
    /// tokens_per_second x flops_per_token.
    pub model_flops_per_second: f64,
    /// Loss of the last step (finite, or the measurement fails).
    pub last_loss: f64,
}

/// Times `steps` training steps of `cfg.model` under `objective` on `device` after `warmup`
/// untimed ones (JIT compilation, autotuning), on uniformly random tokens, reading the loss
/// back (a host-device synchronisation) every `loss_every` steps and after the last.
pub fn throughput(
    cfg: &TrainConfig, objective: &dyn Objective, device: &DeviceChoice, warmup: usize,
    steps: usize, loss_every: usize,
) -> Result<Throughput> {
    super::allocator::keep_freed_memory();
    if steps == 0 || loss_every == 0 {
        bail!("steps and loss_every must be positive");
    }
    cfg.values().check(&|k| k.to_string())?;
    cfg.check_objective(objective)?;
    let model_cfg = &cfg.model;
    let ad = device.device.clone().autodiff();
    let mut model: Lm = model_cfg.init_seeded(cfg.seed, &ad);
    let mut optim = AdamW::for_run(cfg);
    let (vocab, len) = (model_cfg.vocab_size as u64, model_cfg.seq_len + 1);
    let mut rng = SplitMix64::new(mix(cfg.seed, 0xbe7c));
    let mut times = Vec::with_capacity(steps);
    let mut last_loss = f64::NAN;
    for step in 0..warmup + steps {
        let rows: Vec<Vec<u32>> = (0..cfg.batch_size)
            .map(|_| (0..len).map(|_| (rng.next_u64() % vocab) as u32).collect())
            .collect();
        let samples: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let started = Instant::now();
        let loss = objective.loss(&model, &samples, &mut rng, &ad);
        if (step + 1) % loss_every == 0 || step + 1 == warmup + steps {
            last_loss = loss.clone().into_scalar::<f32>() as f64;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.lr, model, grads);
        if step >= warmup {
            times.push(started.elapsed().as_secs_f64());
        }
    }
    // The last step's update is queued on the device: wait for it before stopping the clock.
    let synced = Instant::now();
    device.device.sync().map_err(|e| anyhow::anyhow!("device sync: {e:?}"))?;
    *times.last_mut().expect("steps > 0") += synced.elapsed().as_secs_f64();
    if !last_loss.is_finite() {
        bail!("loss is {last_loss} after {} steps of {}", warmup + steps, objective.name());
    }
    let tokens_per_step = cfg.batch_size * model_cfg.seq_len;
    let total: f64 = times.iter().sum();
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let tokens_per_second = (tokens_per_step * steps) as f64 / total;
    let flops_per_token = model_cfg.train_flops_per_token();
    Ok(Throughput {
        objective: objective.name(),
        device: device.name.clone(),
        precision: model_cfg.precision.unwrap_or_default().recorded(device.backend).into(),
        params: model_cfg.params().total,
        tokens_per_step,
        steps,
        median_step_seconds: sorted[steps / 2],
        tokens_per_second,
        flops_per_token,
        model_flops_per_second: tokens_per_second * flops_per_token,
        last_loss,
    })
}
