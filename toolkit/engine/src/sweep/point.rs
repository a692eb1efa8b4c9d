//! The points of a sweep: one training run each, with a stable id that names its folder.

use super::spec::SweepSpec;
use crate::model::{preset, ModelConfig};
use anyhow::{bail, Result};
pub use dclab_types::sweep::SweepPoint;

/// Total parameters of a point's model for `vocab_size` tokens.
pub fn point_params(p: &SweepPoint, vocab_size: usize, seq_len: usize) -> Result<usize> {
    let (d, h, l) = preset(&p.model_spec)?;
    Ok(ModelConfig::new(vocab_size, d, h, l, seq_len).params().total)
}

/// Planned compute 6*N*U*E of a point, for ordering and ETAs.
pub fn planned_flops(p: &SweepPoint, vocab_size: usize, seq_len: usize) -> f64 {
    let n = point_params(p, vocab_size, seq_len).unwrap_or(0) as f64;
    6.0 * n * p.requested_unique_tokens as f64 * p.requested_epochs
}

/// Every point of `spec`, cheapest first (ties by id); `vocab_size` sizes the models when the
/// compute-matched family is given in FLOPs.
pub fn points(spec: &SweepSpec, vocab_size: usize) -> Result<Vec<SweepPoint>> {
    let mut out = Vec::new();
    for seed in &spec.seeds {
        for family in &spec.objectives {
            for model in &spec.models {
                for &u in &spec.unique_tokens {
                    for &e in &spec.epochs {
                        out.push(SweepPoint {
                            run_id: id(&format!("{family}_{model}_U{u}_E{e}_s{seed}")),
                            kind: "grid".into(),
                            family: family.clone(),
                            model_spec: model.clone(),
                            requested_unique_tokens: u,
                            requested_epochs: e,
                            unique_fraction: None,
                            point_seed: *seed,
                        });
                    }
                }
            }
            let Some(cm) = &spec.compute_matched else { continue };
            for model in spec.matched_models() {
                let d = match (cm.tokens, cm.flops) {
                    (Some(t), _) => t as f64,
                    (None, Some(c)) => {
                        let (dm, h, l) = preset(model)?;
                        c / (6.0 * ModelConfig::new(vocab_size, dm, h, l, spec.seq_len).params().total as f64)
                    }
                    (None, None) => bail!("`compute_matched` needs `tokens` or `flops`"),
                };
                for &f in &cm.unique_fractions {
                    let u = (f * d).round() as usize;
                    if u <= spec.seq_len {
                        bail!("`compute_matched`: unique fraction {f} of {d:.0} training tokens is less than one sample (model {model})");
                    }
                    out.push(SweepPoint {
                        run_id: id(&format!("{family}_{model}_D{}_f{f}_s{seed}", d.round() as u64)),
                        kind: "matched".into(),
                        family: family.clone(),
                        model_spec: model.clone(),
                        requested_unique_tokens: u,
                        requested_epochs: d / u as f64,
                        unique_fraction: Some(f),
                        point_seed: *seed,
                    });
                }
            }
        }
    }
    let cost: Vec<f64> = out.iter().map(|p| planned_flops(p, vocab_size, spec.seq_len)).collect();
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_by(|&a, &b| cost[a].total_cmp(&cost[b]).then_with(|| out[a].run_id.cmp(&out[b].run_id)));
    Ok(idx.into_iter().map(|i| out[i].clone()).collect())
}

/// A file-name-safe id.
fn id(raw: &str) -> String {
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect()
}

/// Shard `i` of `n` (0-based): every n-th point of the cheapest-first order, so shards carry
/// about equal compute and are disjoint.
pub fn shard(points: &[SweepPoint], i: usize, n: usize) -> Vec<SweepPoint> {
    points.iter().enumerate().filter(|(k, _)| k % n == i).map(|(_, p)| p.clone()).collect()
}

/// Parses `i/n` (0-based shard index).
///
/// ```
/// assert_eq!(dclab::sweep::parse_shard("1/4").unwrap(), (1, 4));
/// assert!(dclab::sweep::parse_shard("4/4").is_err());
/// ```
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let parsed = s.split_once('/').and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => bail!("--shard takes i/n with 0 <= i < n (0-based, e.g. 0/4), got `{s}`"),
    }
}
