//! `dclab bench throughput`: training tokens/s on random tokens for benchmark scripts (one JSON
//! line per model and objective on stdout), so a GPU machine without a Rust toolchain can run
//! the prebuilt binary.

use super::device::DeviceArg;
use anyhow::Result;
use clap::{Args, Subcommand};
use dclab::model::{ModelConfig, Precision, preset};
use dclab::train::{TrainConfig, throughput};

/// Benchmarks of the training step.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Tokens/s of training steps on random tokens, one JSON line per model and objective.
    Throughput(ThroughputArgs),
}

/// Arguments of `dclab bench throughput`.
#[derive(Args)]
pub struct ThroughputArgs {
    /// Models, comma-separated presets or `d:heads:layers` triples.
    #[arg(long, default_value = "1m")]
    models: String,
    /// Objectives, comma-separated.
    #[arg(long, default_value = "ar,diffusion")]
    objectives: String,
    #[command(flatten)]
    device: DeviceArg,
    #[arg(long, default_value_t = 8192)]
    vocab: usize,
    #[arg(long, default_value_t = 512)]
    seq_len: usize,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Untimed steps first (compilation, autotuning).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 8)]
    steps: usize,
    /// Read the loss back every this many steps (the training loop: every step).
    #[arg(long, default_value_t = 1)]
    loss_every: usize,
    /// f32 (TF32 matmuls on cuda) or bf16 (mixed precision, f32 master weights).
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

pub fn run(c: BenchCommand) -> Result<()> {
    let BenchCommand::Throughput(a) = c;
    let device = a.device.resolve()?;
    for model in a.models.split(',') {
        let (d, heads, layers) = preset(&model.replace(':', ","))?;
        for objective in a.objectives.split(',') {
            let cfg = TrainConfig::for_objective(
                ModelConfig::new(a.vocab, d, heads, layers, a.seq_len)
                    .with_precision(Some(a.precision)),
                objective,
            )?
            .with_batch_size(a.batch_size)
            .with_eval_draws(1);
            let obj = cfg.build_objective()?;
            eprintln!("bench: {model} {objective} on {} ...", device.name);
            let t = throughput(&cfg, obj.as_ref(), &device, a.warmup, a.steps, a.loss_every)?;
            let mut v = serde_json::to_value(&t)?;
            v["model"] = model.into();
            v["d_model"] = d.into();
            v["n_layers"] = layers.into();
            v["seq_len"] = a.seq_len.into();
            v["batch_size"] = a.batch_size.into();
            v["loss_every"] = a.loss_every.into();
            println!("{v}");
        }
    }
    Ok(())
}
