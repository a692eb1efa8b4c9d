//! Checkpoints written before q/k/v and gate/up were stored as one weight each (dclab until
//! 2026-12-02): each block held nine layers. Their q, k, v (and gate, up) weights are put side
//! by side on load, so such a model samples and evaluates exactly as it did; its optimizer
//! state was kept per old weight, so it cannot resume ([`super::Layout::Separate`]).

use super::{Block, Lm, ModelConfig};
use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;
use burn::store::{ModuleRecord, RecordError};

/// A block as it was stored: one layer per projection.
#[derive(Module, Debug)]
struct SeparateBlock {
    attn_norm: RmsNorm,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    mlp_norm: RmsNorm,
    w_gate: Linear,
    w_up: Linear,
    w_down: Linear,
}

/// The parameters of a model as they were stored.
#[derive(Module, Debug)]
struct SeparateLm {
    embedding: Embedding,
    blocks: Vec<SeparateBlock>,
    final_norm: RmsNorm,
}

/// `record` read as the old layout of `config`, converted to today's model on `device`.
pub(super) fn load(
    config: &ModelConfig, record: ModuleRecord, device: &Device,
) -> Result<Lm, RecordError> {
    let (d, h) = (config.d_model, super::swiglu_hidden(config.d_model));
    // Shapes only: these layers are never drawn, the record replaces every weight.
    let layer = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
    let shell = SeparateLm {
        embedding: EmbeddingConfig::new(config.rows(), d).init(device),
        blocks: (0..config.n_layers)
            .map(|_| SeparateBlock {
                attn_norm: RmsNormConfig::new(d).init(device),
                wq: layer(d, d),
                wk: layer(d, d),
                wv: layer(d, d),
                wo: layer(d, d),
                mlp_norm: RmsNormConfig::new(d).init(device),
                w_gate: layer(d, h),
                w_up: layer(d, h),
                w_down: layer(h, d),
            })
            .collect(),
        final_norm: RmsNormConfig::new(d).init(device),
    };
    let old = shell.try_load_record(record)?;
    let mut lm = config.init(device);
    lm.embedding = old.embedding;
    lm.final_norm = old.final_norm;
    lm.blocks = old
        .blocks
        .into_iter()
        .zip(lm.blocks)
        .map(|(o, new)| Block {
            attn_norm: o.attn_norm,
            w_qkv: joined([o.wq, o.wk, o.wv]),
            wo: o.wo,
            mlp_norm: o.mlp_norm,
            w_gate_up: joined([o.w_gate, o.w_up]),
            w_down: o.w_down,
            dropout: new.dropout,
        })
        .collect();
    Ok(lm)
}

/// Bias-free layers' weights side by side in one layer.
fn joined<const N: usize>(layers: [Linear; N]) -> Linear {
    let weights = layers.map(|l| l.weight.val()).to_vec();
    Linear { weight: Param::from_tensor(Tensor::cat(weights, 1)), bias: None }
}
