//! `dclab diffusion masks` and `dclab diffusion bound`: what notebook 02 shows of the
//! masked diffusion objective, as commands.

use super::device::DeviceArg;
use super::out::Out;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use dclab::data::shuffle::SplitMix64;
use dclab::data::{TokenizerSpec, cache_dir, prepare};
use dclab::objective::MaskedDiffusion;
use dclab::train::generate::FinishedRun;
use dclab::train::{Summary, evaluate};
use dclab_types::{BoundPoint, MaskDraw};
use std::path::PathBuf;

/// Subcommands of `dclab diffusion`.
#[derive(Subcommand)]
pub enum DiffusionCommand {
    /// One validation sequence masked at given times t (each token replaced by MASK with
    /// probability p = (1 - eps) t + eps).
    Masks {
        #[arg(long, default_value = "sample")]
        corpus: String,
        #[arg(long, default_value = "char")]
        tokenizer: TokenizerSpec,
        #[arg(long, default_value_t = 64)]
        seq_len: usize,
        /// Which validation sequence.
        #[arg(long, default_value_t = 3)]
        sequence: usize,
        /// Times t (comma-separated, in [0, 1]).
        #[arg(long, value_delimiter = ',', default_values_t = vec![0.1, 0.5, 0.9])]
        t: Vec<f64>,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, env = "DCLAB_CACHE")]
        cache: Option<PathBuf>,
    },
    /// A diffusion run's validation bound scored with K draws of t per sequence (stratified),
    /// for several K: the estimate and its standard error.
    Bound {
        /// A diffusion run folder written by `dclab train`.
        #[arg(long)]
        run: PathBuf,
        /// Draws K (comma-separated, each at least 2: one draw gives no variance estimate).
        #[arg(long, value_delimiter = ',', default_values_t = vec![2, 4, 8, 16, 32])]
        draws: Vec<usize>,
        /// Validation sequences scored (0: all).
        #[arg(long, default_value_t = 128)]
        sequences: usize,
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        #[command(flatten)]
        device: DeviceArg,
        #[arg(long, env = "DCLAB_CACHE")]
        cache: Option<PathBuf>,
    },
}

pub fn run(c: DiffusionCommand, o: Out) -> Result<()> {
    match c {
        DiffusionCommand::Masks { corpus, tokenizer, seq_len, sequence, t, seed, cache } => {
            if let Some(bad) = t.iter().find(|t| !(0.0..=1.0).contains(*t)) {
                bail!("--t must be in [0, 1], got {bad}");
            }
            let data = prepare(
                &corpus,
                tokenizer,
                Some((seq_len + 1) * 16),
                seq_len,
                &cache.unwrap_or_else(cache_dir),
            )?;
            if sequence >= data.validation.n_samples() {
                bail!(
                    "--sequence {sequence}: the validation set has {} sequences of {seq_len}",
                    data.validation.n_samples()
                );
            }
            let tok = &data.tokenizer;
            let mask_id = tok.vocab_size() as u32; // the one extra embedding row diffusion adds
            let x = data.validation.sample(sequence).to_vec();
            let objective = MaskedDiffusion::default();
            let mut rng = SplitMix64::new(seed);
            let mut draws = vec![];
            for &t in &t {
                let m = objective.mask(&[&x[..]], &[t], mask_id, &mut rng);
                let shown = m.inputs[0]
                    .iter()
                    .map(|&i| if i == mask_id { Ok("_".to_string()) } else { tok.decode(&[i]) })
                    .collect::<Result<String>>()?;
                let masked = m.inputs[0].iter().filter(|&&i| i == mask_id).count();
                draws.push(MaskDraw { t, p: objective.p(t), masked, tokens: x.len(), shown });
            }
            for d in &draws {
                o.line(&format!(
                    "t = {:.2}, p = {:.3}, {}/{} masked: {:?}",
                    d.t, d.p, d.masked, d.tokens, d.shown
                ));
            }
            o.reply(&draws, || dclab::viz::views::masks(&draws))
        }
        DiffusionCommand::Bound { run, draws, sequences, batch_size, seed, device, cache } => {
            if let Some(k) = draws.iter().find(|&&k| k < 2) {
                bail!(
                    "--draws must each be at least 2 (one draw gives no variance estimate), got {k}"
                );
            }
            if batch_size == 0 {
                bail!("--batch-size must be at least 1");
            }
            let device = device.resolve()?;
            let read = |name: &str| {
                std::fs::read_to_string(run.join(name)).with_context(|| {
                    format!("{} is not a finished run folder (no {name})", run.display())
                })
            };
            let summary: Summary =
                serde_json::from_str(&read("summary.json")?).context("reading summary.json")?;
            if summary.objective != "diffusion" {
                bail!(
                    "{} trained `{}`: the bound is the diffusion objective's",
                    run.display(),
                    summary.objective
                );
            }
            let tokenizer: TokenizerSpec = summary.tokenizer.parse()?;
            let data = prepare(
                &summary.corpus,
                tokenizer,
                Some((summary.seq_len + 1) * 16),
                summary.seq_len,
                &cache.unwrap_or_else(cache_dir),
            )?;
            let model = FinishedRun::load(&run, &device.device)?.model;
            let mut points = vec![];
            for &k in &draws {
                let objective = MaskedDiffusion { eval_draws: k, ..Default::default() };
                let r = evaluate(
                    &objective, &model, &data.validation, sequences, batch_size, seed,
                    &device.device,
                );
                let n = r.sequences;
                let p = BoundPoint { draws: k, sequences: n, loss: r.loss, stderr: r.stderr };
                o.line(&format!(
                    "K = {:2}: bound {:.4} ± {:.4} nats/token on {n} sequences",
                    k, p.loss, p.stderr
                ));
                points.push(p);
            }
            o.reply(&points, || dclab::viz::views::bound(&points))
        }
    }
}
