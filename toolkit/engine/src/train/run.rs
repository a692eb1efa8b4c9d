//! The training loop: AdamW (0.9, 0.95, eps 1e-8), warmup + cosine, gradient clipping,
//! evaluation every k steps and at the end, best/last checkpoints and exact resume.

use super::checkpoint::{self, LoopState};
use super::config::TrainConfig;
use super::eval::evaluate;
use super::optimizer::AdamW;
use super::outputs::{MetricsRow, Summary, write_metrics, write_summary};
use super::schedule::lr_at;
use crate::data::shuffle::{SplitMix64, mix};
use crate::data::{EpochLoader, Prepared};
use crate::flops::{attention_flops_per_token, training_flops};
use crate::model::{DeviceChoice, Lm};
use crate::objective::Objective;
use anyhow::{Context, Result, bail};
use burn::optim::GradientsParams;
use burn::prelude::*;
use std::path::Path;
use std::time::Instant;

/// What the loop reports while it runs (a progress bar, a notebook line, a sweep's ETA).
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// An optimizer step finished.
    Step {
        /// Steps done, this one included.
        step: usize,
        /// Steps of the whole run.
        total: usize,
        /// This step's training loss (nats/token).
        loss: f64,
        /// Training tokens per second so far.
        tokens_per_second: f64,
    },
    /// An evaluation finished.
    Eval {
        /// The curve's new row.
        row: &'a MetricsRow,
        /// Steps of the whole run.
        total: usize,
    },
}

/// A finished run: its summary and its curve.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// summary.json as data.
    pub summary: Summary,
    /// metrics.csv as data.
    pub metrics: Vec<MetricsRow>,
}

/// Trains `objective` on `data`; with `out`, writes metrics.csv, summary.json and checkpoints
/// there and resumes from `out/checkpoints/last` if a previous run was interrupted.
pub fn train(
    cfg: &TrainConfig, objective: &dyn Objective, data: &Prepared, device: &DeviceChoice,
    out: Option<&Path>, on_event: &mut dyn FnMut(Event),
) -> Result<RunResult> {
    super::allocator::keep_freed_memory();
    cfg.check(objective, data)?;
    let seq_len = data.train.seq_len;
    let plain = device.device.clone();
    let ad = plain.clone().autodiff();
    let mut model: Lm = cfg.model.init_seeded(cfg.seed, &ad);
    let mut optim = AdamW::for_run(cfg);
    let mut loader =
        EpochLoader::new(data.train.n_samples(), cfg.epochs, cfg.batch_size, cfg.seed)?;
    let total = loader.total_batches();
    let params = cfg.model.params();
    let mut state =
        LoopState { step: 0, metrics: vec![], best: None, evals_since_best: 0, train_seconds: 0.0 };
    let last_dir = out.map(|o| o.join("checkpoints").join("last"));
    let best_dir = out.map(|o| o.join("checkpoints").join("best"));
    if let Some(dir) = last_dir.as_ref().filter(|d| d.join("state.json").exists()) {
        if let Some(problem) = crate::model::resume_device_problem(device) {
            bail!("cannot resume {}: {problem}", dir.display());
        }
        state = checkpoint::load_state(dir)?;
        model = checkpoint::load_resumable(dir, &cfg.model, &ad)?;
        optim = optim.load(dir.join("optim.bpk"))?;
        loader.skip_batches(state.step);
        eprintln!("resuming from {} at step {}/{total}", dir.display(), state.step);
    }
    let total_samples = loader.total_samples();
    let tokens_at = |step: usize| (step * cfg.batch_size).min(total_samples) * (seq_len + 1);
    let eval_seed = mix(cfg.seed, 0xe7a1);
    let train_seed = mix(cfg.seed, 0x7a1e);
    let mut best_model = match (&state.best, &best_dir) {
        (Some(_), Some(dir)) => Some(checkpoint::load_model(dir, &cfg.model, &plain)?),
        _ => None,
    };
    let (mut loss_sum, mut loss_n) = (0.0, 0usize);
    let mut stopped_early = false;
    for batch in loader {
        let started = Instant::now();
        let step = state.step;
        let lr = lr_at(step, total, cfg.lr, cfg.warmup_fraction, cfg.final_lr_fraction);
        let owned: Vec<_> = batch.indices.iter().map(|&i| data.train.sample(i)).collect();
        let samples: Vec<&[u32]> = owned.iter().map(|s| &**s).collect();
        let mut rng = SplitMix64::new(mix(train_seed, step as u64));
        // Dropout draws from the backend's generator: seeded per step, a resumed run draws the
        // same masks as an uninterrupted one. Only with dropout: on flex the parameters
        // materialise lazily at the first forward, so this seed also draws them (another draw
        // than the same seed without dropout, and than wgpu's, which draws them on the host
        // at init); without dropout nothing here touches the generator.
        if cfg.model.dropout > 0.0 {
            plain.seed(mix(cfg.seed ^ 0xd70f, step as u64));
        }
        let loss = objective.loss(&model, &samples, &mut rng, &ad);
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            bail!(
                "training loss is {value} at step {} of {total} ({}): stopping; try a lower --lr",
                step + 1,
                objective.name()
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
        state.step += 1;
        state.train_seconds += started.elapsed().as_secs_f64();
        loss_sum += value;
        loss_n += 1;
        let tps = tokens_at(state.step) as f64 / state.train_seconds.max(1e-9);
        on_event(Event::Step { step: state.step, total, loss: value, tokens_per_second: tps });
        if !state.step.is_multiple_of(cfg.eval_every) && state.step != total {
            continue;
        }
        let valid = model.valid();
        let ev = evaluate(
            objective, &valid, &data.validation, cfg.eval_sequences, cfg.batch_size, eval_seed,
            &plain,
        );
        let tokens_seen = tokens_at(state.step);
        let row = MetricsRow {
            step: state.step,
            epoch: batch.epoch,
            tokens_seen,
            flops: training_flops(params.total as f64, tokens_seen as f64),
            lr,
            train_loss: loss_sum / loss_n.max(1) as f64,
            val_loss: ev.loss,
            val_loss_stderr: ev.stderr,
        };
        (loss_sum, loss_n) = (0.0, 0);
        if state.best.is_none_or(|(b, _)| ev.loss < b) {
            state.best = Some((ev.loss, state.step));
            state.evals_since_best = 0;
            if let Some(dir) = &best_dir {
                checkpoint::save(dir, &valid, None, &state)?;
            }
            best_model = Some(valid);
        } else {
            state.evals_since_best += 1;
        }
        state.metrics.push(row);
        if let (Some(o), Some(dir)) = (out, &last_dir) {
            write_metrics(&o.join("metrics.csv"), &state.metrics)?;
            checkpoint::save(dir, &model, Some(&optim.modules), &state)?;
        }
        on_event(Event::Eval { row: state.metrics.last().expect("just pushed"), total });
        if cfg.early_stopping.is_some_and(|p| state.evals_since_best >= p) {
            stopped_early = true;
            break;
        }
    }
    let (best_val_loss, best_val_step) = state.best.context("the run made no evaluation")?;
    let best = best_model.context("no best model")?;
    let last = state.metrics.last().expect("at least one evaluation").clone();
    let held = evaluate(
        objective, &best, &data.heldout, cfg.eval_sequences, cfg.batch_size, eval_seed, &plain,
    );
    // The precise estimate: fresh draws (another seed than the curve's, so choosing the best
    // checkpoint on the curve does not bias it), the whole split by default.
    let with_draws = objective.with_eval_draws(cfg.precise_eval_draws.max(1));
    let precise_draws = if with_draws.is_some() { cfg.precise_eval_draws.max(1) } else { 1 };
    let precise_objective = with_draws.as_deref().unwrap_or(objective);
    let precise_seed = mix(cfg.seed, 0x9ec15e);
    let precise_best = evaluate(
        precise_objective, &best, &data.validation, cfg.precise_eval_sequences, cfg.batch_size,
        precise_seed, &plain,
    );
    let precise_final = if best_val_step == state.step {
        precise_best
    } else {
        evaluate(
            precise_objective,
            &model.valid(),
            &data.validation,
            cfg.precise_eval_sequences,
            cfg.batch_size,
            precise_seed,
            &plain,
        )
    };
    let tokens_seen = last.tokens_seen;
    let summary = Summary {
        objective: objective.name(),
        model: cfg.model_name.clone(),
        params_total: params.total,
        params_non_embedding: params.non_embedding,
        seq_len,
        batch_size: cfg.batch_size,
        corpus: data.corpus.clone(),
        tokenizer: data.tokenizer.spec.to_string(),
        vocab_size: cfg.model.vocab_size,
        unique_tokens: data.train.unique_tokens(),
        epochs: cfg.epochs,
        steps: state.step,
        tokens_seen,
        flops: last.flops,
        flops_with_attention: last.flops
            + attention_flops_per_token(cfg.model.n_layers, cfg.model.d_model, seq_len)
                * tokens_seen as f64,
        best_val_loss,
        best_val_step,
        final_val_loss: last.val_loss,
        final_val_loss_stderr: last.val_loss_stderr,
        best_val_loss_precise: Some(precise_best.loss),
        best_val_loss_precise_stderr: Some(precise_best.stderr),
        final_val_loss_precise: Some(precise_final.loss),
        final_val_loss_precise_stderr: Some(precise_final.stderr),
        precise_eval_sequences: Some(precise_best.sequences),
        precise_eval_draws: Some(precise_draws),
        best_val_bits_per_byte: best_val_loss
            / std::f64::consts::LN_2
            / data.validation_bytes_per_token,
        heldout_loss: held.loss,
        heldout_bits_per_byte: held.bits_per_byte(data.heldout_bytes_per_token),
        tokens_per_second: tokens_seen as f64 / state.train_seconds.max(1e-9),
        wall_seconds: state.train_seconds,
        stopped_early,
        dropout: cfg.model.dropout,
        weight_decay: cfg.weight_decay,
        device: device.name.clone(),
        precision: cfg.model.precision.unwrap_or_default().recorded(device.backend).into(),
        seed: cfg.seed,
        config: serde_json::to_value(cfg)?,
    };
    if let Some(o) = out {
        write_metrics(&o.join("metrics.csv"), &state.metrics)?;
        cfg.save(o.join("config.json")).map_err(|e| anyhow::anyhow!("writing config.json: {e}"))?;
        if let Some(path) = &data.tokenizer.path {
            std::fs::copy(path, o.join("tokenizer.json")).context("copying tokenizer.json")?;
        } else {
            data.tokenizer.save(&o.join("tokenizer.json"))?;
        }
        // Last: a sweep takes summary.json as the mark of a finished run.
        write_summary(&o.join("summary.json"), &summary)?;
    }
    Ok(RunResult { summary, metrics: state.metrics })
}
