//! Compute accounting in one place, below every layer: the backbone's parameter counts, training
//! compute, attention FLOPs and the FLOPs per token behind model FLOP utilisation (MFU).
//!
//! Conventions, each with its source:
//! - Training compute C = 6·N·D (Kaplan et al. 2020, section 2.1; SDC and DBA use it for C and
//!   C_crit): forward 2 FLOPs per parameter and token, backward twice that.
//! - Attention adds 12·L·d·S FLOPs per trained token (PaLM, Chowdhery et al. 2022, appendix B,
//!   the term nanoGPT's `estimate_mfu` uses): the two products QK^T and AV, each 2·S·d per token
//!   and layer forward, times 3 for forward and backward, counted in full for causal attention
//!   too. Kaplan's table 1 counts only QK^T (6·L·S·d); we use PaLM's throughout.
//! - MFU = tokens/s x [`mfu_flops_per_token`] / the device's peak rate (`bench/gpu/table.py`).

/// SwiGLU hidden width, floor((8d/3)/64)*64 and at least 64 (DBA section 2).
///
/// ```
/// assert_eq!(dclab::flops::swiglu_hidden(128), 320);
/// assert_eq!(dclab::flops::swiglu_hidden(768), 2048);
/// ```
pub fn swiglu_hidden(d_model: usize) -> usize {
    ((8 * d_model / 3) / 64 * 64).max(64)
}

/// Total and non-embedding parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    /// Every parameter (the embedding counted once, as it is tied).
    pub total: usize,
    /// Without the embedding.
    pub non_embedding: usize,
}

/// The parameters our backbone holds: attention 4Ld^2, SwiGLU 3Ld*h_f, two RMSNorm gains per
/// layer and a final one (2Ld + d), and one tied embedding of `rows` x d (vocabulary + MASK).
///
/// ```
/// let p = dclab::flops::backbone_params(64, 2, 101);
/// assert_eq!(p.total - p.non_embedding, 101 * 64);
/// ```
pub fn backbone_params(d_model: usize, n_layers: usize, rows: usize) -> ParamCount {
    let (d, l) = (d_model, n_layers);
    let non_embedding = 4 * l * d * d + 3 * l * d * swiglu_hidden(d) + 2 * l * d + d;
    ParamCount { total: non_embedding + rows * d, non_embedding }
}

/// DBA App. 9's formula N = 4Ld^2 + 3Ld*h_f + 6Ld + Vd: it counts 4Ld more than
/// [`backbone_params`] for Megatron's biases and norms (the tests check DBA's published sizes
/// with it).
///
/// ```
/// assert_eq!(dclab::flops::dba_params(768, 15, 50257).total, 144_834_816);
/// ```
pub fn dba_params(d_model: usize, n_layers: usize, vocab: usize) -> ParamCount {
    let (d, l) = (d_model, n_layers);
    let non_embedding = 4 * l * d * d + 3 * l * d * swiglu_hidden(d) + 6 * l * d;
    ParamCount { total: non_embedding + vocab * d, non_embedding }
}

/// Training compute C = 6·N·D FLOPs of `n` parameters trained on `tokens` tokens.
///
/// ```
/// assert_eq!(dclab::flops::training_flops(1e6, 2e6), 1.2e13);
/// ```
pub fn training_flops(n: f64, tokens: f64) -> f64 {
    6.0 * n * tokens
}

/// The tokens D = C / (6·N) that `c` FLOPs train a model of `n` parameters on.
///
/// ```
/// assert_eq!(dclab::flops::tokens_for(1.2e13, 1e6), 2e6);
/// ```
pub fn tokens_for(c: f64, n: f64) -> f64 {
    c / (6.0 * n)
}

/// Attention FLOPs per trained token, 12·L·d·S (PaLM's convention, see the module).
///
/// ```
/// assert_eq!(dclab::flops::attention_flops_per_token(2, 64, 32), 49_152.0);
/// ```
pub fn attention_flops_per_token(n_layers: usize, d_model: usize, seq_len: usize) -> f64 {
    12.0 * (n_layers * d_model * seq_len) as f64
}

/// FLOPs per trained token for MFU: 6 x (non-embedding parameters + the d x V output
/// projection, the matrix products the tied embedding takes part in) plus the attention term.
///
/// ```
/// let p = dclab::flops::backbone_params(64, 2, 101);
/// let want = 6 * (p.non_embedding + 64 * 100) + 12 * 2 * 64 * 32;
/// assert_eq!(dclab::flops::mfu_flops_per_token(p, 64, 2, 100, 32), want as f64);
/// ```
pub fn mfu_flops_per_token(
    params: ParamCount, d_model: usize, n_layers: usize, vocab_size: usize, seq_len: usize,
) -> f64 {
    let matmul = params.non_embedding + d_model * vocab_size;
    6.0 * matmul as f64 + attention_flops_per_token(n_layers, d_model, seq_len)
}
