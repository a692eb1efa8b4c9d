//! Benchmark: training tokens/s of dclab (flex, CPU) against a PyTorch CPU reference of the
//! identical architecture, batch, sequence length and thread count (bench/torch_train.py),
//! for AR and masked diffusion at the 1m and 10m presets, printed side by side with the ratio.
//! The two sides alternate for five rounds (this machine's speed drifts by 20% within a
//! minute); the table gives each side's median and the range of the per-round ratios.
//!
//! Run: `bench/install_torch.sh && cargo bench -p dclab --bench train`.

use dclab::data::{TokenizerSpec, prepare};
use dclab::model::{ModelConfig, preset, select_device};
use dclab::train::{Event, TrainConfig, train};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (seq_len, batch) = (128, 32);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let site = std::env::var("DCLAB_TORCH_SITE").unwrap_or_else(|_| {
        format!("{}/.cache/dclab/pytorch", std::env::var("HOME").unwrap_or_default())
    });
    let data = prepare("sample", TokenizerSpec::Char, None, seq_len, &dclab::data::cache_dir())
        .expect("sample data");
    let vocab = data.tokenizer.vocab_size();
    println!(
        "training throughput, batch {batch} x seq_len {seq_len}, char vocab {vocab}, {threads} threads; tokens = batch * seq_len per step"
    );
    println!(
        "{:<6} {:<10} {:>10} {:>14} {:>14} {:>7} {:>13}",
        "model", "objective", "params", "dclab tok/s", "torch tok/s", "ratio", "round ratios"
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    for (name, steps) in [("1m", 12usize), ("10m", 6)] {
        let (d, h, l) = preset(name).unwrap();
        for objective in ["ar", "diffusion"] {
            let model = ModelConfig::new(vocab, d, h, l, seq_len);
            let params = model.params().total;
            let warmup = 2;
            let samples = (warmup + steps) * batch;
            let epochs = samples as f64 / data.train.n_samples() as f64;
            let cfg = TrainConfig::for_objective(model, objective)
                .unwrap()
                .with_batch_size(batch)
                .with_epochs(epochs)
                .with_eval_every(1_000_000)
                .with_eval_sequences(1)
                .with_eval_draws(1);
            let obj = cfg.build_objective().unwrap();
            let ours = || {
                let mut t0 = None;
                let mut elapsed = 0.0;
                train(&cfg, obj.as_ref(), &data, &select_device("cpu").unwrap(), None, &mut |e| {
                    if let Event::Step { step, .. } = e {
                        if step == warmup {
                            t0 = Some(Instant::now());
                        } else if step == warmup + steps {
                            elapsed = t0.expect("timer").elapsed().as_secs_f64();
                        }
                    }
                })
                .expect("training");
                (batch * seq_len * steps) as f64 / elapsed
            };
            let torch = || {
                let out = Command::new(&python)
                    .env("PYTHONPATH", &site)
                    .arg(root.join("bench/torch_train.py"))
                    .args([
                        "--vocab",
                        &vocab.to_string(),
                        "--d",
                        &d.to_string(),
                        "--heads",
                        &h.to_string(),
                    ])
                    .args([
                        "--layers",
                        &l.to_string(),
                        "--seq-len",
                        &seq_len.to_string(),
                        "--batch",
                        &batch.to_string(),
                    ])
                    .args([
                        "--steps",
                        &steps.to_string(),
                        "--threads",
                        &threads.to_string(),
                        "--objective",
                        objective,
                    ])
                    .output();
                out.ok().filter(|o| o.status.success()).and_then(|o| {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
                    v["tokens_per_second"].as_f64()
                })
            };
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                a.push(ours());
                match torch() {
                    Some(t) => b.push(t),
                    None => break,
                }
            }
            if b.len() < ROUNDS {
                println!(
                    "{name:<6} {objective:<10} {params:>10} {:>14.0} {:>14} {:>7}",
                    median(&a),
                    "n/a",
                    "(run bench/install_torch.sh)"
                );
                continue;
            }
            let ratios: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x / y).collect();
            let (lo, hi) =
                ratios.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            println!(
                "{name:<6} {objective:<10} {params:>10} {:>14.0} {:>14.0} {:>6.2}x {:>6.2}-{:.2}x",
                median(&a),
                median(&b),
                median(&a) / median(&b),
                lo,
                hi
            );
        }
    }
}

/// Alternating rounds of each side per row.
const ROUNDS: usize = 5;

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
