//! `dclab train` and `dclab sample`.

use super::device::DeviceArg;
use super::out::Out;
use anyhow::{Context, Result, bail};
use clap::Args;
use dclab::data::{TokenizerSpec, cache_dir, prepare};
use dclab::model::{ModelConfig, Precision, preset};
use dclab::train::config::defaults;
use dclab::train::generate::{FinishedRun, SampleConfig, UnmaskOrder};
use dclab::train::{Event, TrainConfig, train};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `dclab train`.
#[derive(Args)]
pub struct TrainArgs {
    /// ar, diffusion, or ar-orderings:N (ar-orderings:N:noisy:K for noisy-argsort orders).
    #[arg(long, default_value = "ar")]
    objective: String,
    /// A preset (0.1m, 0.3m, 1m, 3m, 10m, 30m) or d,heads,layers.
    #[arg(long, default_value = "0.3m")]
    model: String,
    /// A corpus name (sample, shakespeare, pdlit) or a folder of .txt files.
    #[arg(long, default_value = "sample")]
    corpus: String,
    /// bytes, char or bpe:<vocab>.
    #[arg(long, default_value = "char")]
    tokenizer: TokenizerSpec,
    /// Unique-token budget U (0 = the whole training split).
    #[arg(long, default_value_t = 250_000)]
    unique_tokens: usize,
    /// Epochs E over the budget (fractional allowed).
    #[arg(long, default_value_t = 1.0)]
    epochs: f64,
    /// Context length.
    #[arg(long, default_value_t = defaults::SEQ_LEN)]
    seq_len: usize,
    /// Sequences per step.
    #[arg(long, default_value_t = defaults::BATCH_SIZE)]
    batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = defaults::LR)]
    lr: f64,
    /// Dropout on the embeddings and on the attention and MLP outputs before each residual add
    /// (DBA's Megatron default 0.1, both families).
    #[arg(long, default_value_t = defaults::DROPOUT)]
    dropout: f64,
    /// AdamW's decoupled weight decay.
    #[arg(long, default_value_t = defaults::WEIGHT_DECAY)]
    weight_decay: f64,
    /// Evaluate every this many steps (and at the end).
    #[arg(long, default_value_t = defaults::EVAL_EVERY)]
    eval_every: usize,
    /// Validation sequences per evaluation (0 = the whole validation set).
    #[arg(long, default_value_t = defaults::EVAL_SEQUENCES)]
    eval_sequences: usize,
    /// Diffusion draws of t per validation sequence.
    #[arg(long, default_value_t = defaults::EVAL_DRAWS)]
    eval_draws: usize,
    /// Validation sequences of the precise evaluation at the end (best and last model, fresh
    /// draws; 0 = the whole validation split).
    #[arg(long, default_value_t = defaults::PRECISE_EVAL_SEQUENCES)]
    precise_eval_sequences: usize,
    /// Diffusion draws per sequence in that evaluation.
    #[arg(long, default_value_t = defaults::PRECISE_EVAL_DRAWS)]
    precise_eval_draws: usize,
    /// Stop after this many evaluations without improvement.
    #[arg(long)]
    early_stopping: Option<usize>,
    #[command(flatten)]
    device: DeviceArg,
    /// f32 (TF32 matmuls on cuda, recorded as tf32) or bf16 (mixed precision: bf16 products on
    /// f32 master weights and optimizer state; for GPUs, slower than f32 on the CPU).
    #[arg(long, default_value = "f32")]
    precision: Precision,
    /// Seed of initialisation, data order and objective noise.
    #[arg(long, default_value_t = defaults::SEED)]
    seed: u64,
    /// Output folder (metrics.csv, summary.json, checkpoints/); an interrupted run resumes.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, env = "DCLAB_CACHE")]
    cache: Option<PathBuf>,
}

pub fn run_train(a: TrainArgs, out: Out) -> Result<()> {
    let cache = a.cache.unwrap_or_else(cache_dir);
    let (d, heads, layers) = preset(&a.model)?;
    let device = a.device.resolve()?;
    let budget = (a.unique_tokens > 0).then_some(a.unique_tokens);
    let data = prepare(&a.corpus, a.tokenizer, budget, a.seq_len, &cache)?;
    let model = ModelConfig::new(data.tokenizer.vocab_size(), d, heads, layers, a.seq_len)
        .with_dropout(a.dropout)
        .with_precision(Some(a.precision));
    let cfg = TrainConfig::for_objective(model, &a.objective)?
        .with_model_name(a.model.clone())
        .with_batch_size(a.batch_size)
        .with_epochs(a.epochs)
        .with_lr(a.lr)
        .with_weight_decay(a.weight_decay)
        .with_eval_every(a.eval_every)
        .with_eval_sequences(a.eval_sequences)
        .with_eval_draws(a.eval_draws)
        .with_precise_eval_sequences(a.precise_eval_sequences)
        .with_precise_eval_draws(a.precise_eval_draws)
        .with_early_stopping(a.early_stopping)
        .with_seed(a.seed);
    let objective = cfg.build_objective()?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let p = cfg.model.params();
    eprintln!(
        "{} {} ({} params, {} non-embedding) on {} U={} tokens x {} epochs, {} on {}",
        objective.name(),
        a.model,
        p.total,
        p.non_embedding,
        data.corpus,
        data.train.unique_tokens(),
        a.epochs,
        a.tokenizer,
        device.name
    );
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
                .expect("template"),
        );
        b
    });
    let mut on_event = |e: Event| match (e, &bar) {
        (Event::Step { step, total, loss, tokens_per_second }, Some(b)) => {
            b.set_length(total as u64);
            b.set_position(step as u64);
            b.set_message(format!("loss {loss:.4}  {tokens_per_second:.0} tok/s"));
        }
        (Event::Eval { row, total }, bar) => {
            let line = format!(
                "step {}/{total} epoch {:.2} tokens {} train {:.4} val {:.4} ± {:.4}",
                row.step,
                row.epoch,
                row.tokens_seen,
                row.train_loss,
                row.val_loss,
                row.val_loss_stderr
            );
            match bar {
                Some(b) => b.println(line),
                None => out.line(&line),
            }
        }
        _ => {}
    };
    let result = train(&cfg, objective.as_ref(), &data, &device, Some(&a.out), &mut on_event)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let s = &result.summary;
    out.line(&format!(
        "best val {:.4} nats/token ({:.3} bits/byte) at step {}; precise {:.4} ± {:.4}; held-out {:.4}; {:.0} tokens/s; wrote {}",
        s.best_val_loss,
        s.best_val_bits_per_byte,
        s.best_val_step,
        s.best_loss().0,
        s.best_loss().1,
        s.heldout_loss,
        s.tokens_per_second,
        a.out.display()
    ));
    let report = dclab_types::RunReport {
        dir: a.out.display().to_string(),
        summary: result.summary,
        curve: result.metrics,
    };
    out.reply(&report, || dclab::viz::views::run(&report))
}

/// Arguments of `dclab sample`.
#[derive(Args)]
pub struct SampleArgs {
    /// Run folders written by `dclab train` (repeat for several).
    #[arg(long, required = true)]
    run: Vec<PathBuf>,
    /// Text to continue.
    #[arg(long, default_value = "\n")]
    prompt: String,
    /// Tokens to generate.
    #[arg(long, default_value_t = 200)]
    tokens: usize,
    /// Softmax temperatures (comma-separated: one sample each; 0 = greedy).
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.8])]
    temperature: Vec<f64>,
    #[arg(long)]
    top_k: Option<usize>,
    /// Diffusion denoising steps.
    #[arg(long, default_value_t = 64)]
    steps: usize,
    /// Diffusion unmasking orders (comma-separated): confidence, random.
    #[arg(long, value_delimiter = ',', default_values_t = vec!["confidence".to_string()])]
    order: Vec<String>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    device: DeviceArg,
}

pub fn run_sample(a: SampleArgs, out: Out) -> Result<()> {
    let mut orders = vec![];
    for o in &a.order {
        orders.push(match o.as_str() {
            "confidence" => UnmaskOrder::Confidence,
            "random" => UnmaskOrder::Random,
            o => bail!("unknown order '{o}' (confidence or random)"),
        });
    }
    let device = a.device.resolve()?;
    let mut samples = vec![];
    for run in &a.run {
        let finished = FinishedRun::load(run, &device.device)?;
        let objective = finished.config.objective.clone();
        let diffusion = objective == "diffusion";
        for &temperature in &a.temperature {
            // AR decodes left to right: the unmasking order does not apply.
            for &order in if diffusion { &orders[..] } else { &orders[..1] } {
                let sc = SampleConfig {
                    tokens: a.tokens,
                    temperature,
                    top_k: a.top_k,
                    steps: a.steps,
                    order,
                    seed: a.seed,
                };
                let text = finished.sample(&a.prompt, &sc, &device.device)?;
                let decoding = if diffusion {
                    format!("{} order, {} steps", format!("{order:?}").to_lowercase(), a.steps)
                } else {
                    "left to right".into()
                };
                if !out.json {
                    println!("{text}");
                }
                samples.push(dclab_types::Sample {
                    run: run.display().to_string(),
                    objective: objective.clone(),
                    decoding,
                    temperature,
                    prompt: a.prompt.clone(),
                    text,
                });
            }
        }
    }
    out.reply(&samples, || dclab::viz::views::samples(&samples))
}
