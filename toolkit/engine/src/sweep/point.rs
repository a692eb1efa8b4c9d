//! The points of a sweep: one training run each, with a stable id that names its folder.

use super::spec::SweepSpec;
use crate::flops::{tokens_for, training_flops};
use crate::model::{ModelConfig, preset};
use anyhow::{Result, bail};
pub use dclab_types::sweep::SweepPoint;

/// Total parameters of a point's model for `vocab_size` tokens.
pub fn point_params(p: &SweepPoint, vocab_size: usize, seq_len: usize) -> Result<usize> {
    let (d, h, l) = preset(&p.model_spec)?;
    Ok(ModelConfig::new(vocab_size, d, h, l, seq_len).params().total)
}

/// Planned compute 6*N*U*E of a point, for ordering and ETAs.
pub fn planned_flops(p: &SweepPoint, vocab_size: usize, seq_len: usize) -> f64 {
    let n = point_params(p, vocab_size, seq_len).unwrap_or(0) as f64;
    training_flops(n, p.requested_unique_tokens as f64 * p.requested_epochs)
}

/// Every point of `spec`, cheapest first (ties by id); `vocab_size` sizes the models when the
/// compute-matched family is given in FLOPs.
pub fn points(spec: &SweepSpec, vocab_size: usize) -> Result<Vec<SweepPoint>> {
    let mut out = Vec::new();
    let grid_epochs = match &spec.doubling {
        Some(d) => d.epochs(),
        None => spec.epochs.clone(),
    };
    let kind = if spec.doubling.is_some() { "doubling" } else { "grid" };
    for seed in &spec.seeds {
        for family in &spec.objectives {
            for model in &spec.models {
                for &u in &spec.unique_tokens {
                    for (dropout, weight_decay) in spec.regularisations(family) {
                        for &e in &grid_epochs {
                            out.push(SweepPoint {
                                run_id: id(&format!(
                                    "{family}_{model}_U{u}_E{e}{}_s{seed}",
                                    reg_suffix(dropout, weight_decay)
                                )),
                                kind: kind.into(),
                                family: family.clone(),
                                model_spec: model.clone(),
                                requested_unique_tokens: u,
                                requested_epochs: e,
                                unique_fraction: None,
                                point_seed: *seed,
                                point_dropout: dropout,
                                point_weight_decay: weight_decay,
                            });
                        }
                    }
                }
            }
            let Some(cm) = &spec.compute_matched else { continue };
            for model in spec.matched_models() {
                let d = match (cm.tokens, cm.flops) {
                    (Some(t), _) => t as f64,
                    (None, Some(c)) => {
                        let (dm, h, l) = preset(model)?;
                        let n = ModelConfig::new(vocab_size, dm, h, l, spec.seq_len).params().total;
                        tokens_for(c, n as f64)
                    }
                    (None, None) => bail!("`compute_matched` needs `tokens` or `flops`"),
                };
                for &f in &cm.unique_fractions {
                    let u = (f * d).round() as usize;
                    if u <= spec.seq_len {
                        bail!(
                            "`compute_matched`: unique fraction {f} of {d:.0} training tokens is less than one sample (model {model})"
                        );
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
                        point_dropout: None,
                        point_weight_decay: None,
                    });
                }
            }
        }
    }
    let cost: Vec<f64> = out.iter().map(|p| planned_flops(p, vocab_size, spec.seq_len)).collect();
    let mut idx: Vec<usize> = (0..out.len()).collect();
    idx.sort_by(|&a, &b| {
        cost[a].total_cmp(&cost[b]).then_with(|| out[a].run_id.cmp(&out[b].run_id))
    });
    Ok(idx.into_iter().map(|i| out[i].clone()).collect())
}

/// `_do0.1_wd1` for a point of a regularisation grid, empty otherwise.
fn reg_suffix(dropout: Option<f64>, weight_decay: Option<f64>) -> String {
    let mut s = String::new();
    if let Some(d) = dropout {
        s.push_str(&format!("_do{d}"));
    }
    if let Some(w) = weight_decay {
        s.push_str(&format!("_wd{w}"));
    }
    s
}

/// The doubling group of a point: everything but its epochs (family, model, U, dropout,
/// weight decay, seed).
pub fn group_key(p: &SweepPoint) -> String {
    format!(
        "{}|{}|{}|{:?}|{:?}|{}",
        p.family,
        p.model_spec,
        p.requested_unique_tokens,
        p.point_dropout,
        p.point_weight_decay,
        p.point_seed
    )
}

/// A file-name-safe id.
fn id(raw: &str) -> String {
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
        .collect()
}

/// Shard `i` of `n` (0-based): every n-th point of the cheapest-first order, so shards carry
/// about equal compute and are disjoint; a doubling group stays whole on one shard (every n-th
/// group), since its stop rule reads the group's earlier runs.
pub fn shard(points: &[SweepPoint], i: usize, n: usize) -> Vec<SweepPoint> {
    let mut groups: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (k, p) in points.iter().enumerate() {
        let slot = if p.kind == "doubling" {
            let g = group_key(p);
            match groups.iter().position(|x| *x == g) {
                Some(j) => j,
                None => {
                    groups.push(g);
                    groups.len() - 1
                }
            }
        } else {
            k
        };
        if slot % n == i {
            out.push(p.clone());
        }
    }
    out
}

/// Parses `i/n` (0-based shard index).
///
/// ```
/// assert_eq!(dclab::sweep::parse_shard("1/4").unwrap(), (1, 4));
/// assert!(dclab::sweep::parse_shard("4/4").is_err());
/// ```
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let parsed =
        s.split_once('/').and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => bail!("--shard takes i/n with 0 <= i < n (0-based, e.g. 0/4), got `{s}`"),
    }
}
