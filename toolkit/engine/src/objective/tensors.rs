//! Host batches to tensors, and per-token negative log-likelihoods.

use super::LogitModel;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Token ids [B, S] from rows of equal length.
pub fn tokens_tensor(rows: &[Vec<u32>], device: &Device) -> Tensor<2, Int> {
    let (b, s) = (rows.len(), rows.first().map_or(0, Vec::len));
    let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().map(|&t| t as i64)).collect();
    Tensor::from_data(TensorData::new(flat, [b, s]), device)
}

/// `-log softmax(logits)[target]` per position: logits [B, S, V], targets [B, S] -> [B, S].
pub fn token_nll(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
    let [b, s, _] = logits.dims();
    let logp = log_softmax(logits, 2);
    logp.gather(2, targets.reshape([b, s, 1])).reshape([b, s]).neg()
}

/// Next-token NLL [B, L] of samples of L + 1 tokens, with optional position ids [B, L].
pub fn ar_nll(
    model: &dyn LogitModel, samples: &[&[u32]], positions: Option<Vec<Vec<u32>>>, device: &Device,
) -> Tensor<2> {
    let inputs: Vec<Vec<u32>> = samples.iter().map(|s| s[..s.len() - 1].to_vec()).collect();
    let targets: Vec<Vec<u32>> = samples.iter().map(|s| s[1..].to_vec()).collect();
    let positions = positions.map(|p| tokens_tensor(&p, device));
    let logits = model.logits(tokens_tensor(&inputs, device), positions);
    token_nll(logits, tokens_tensor(&targets, device))
}
