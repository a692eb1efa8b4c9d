//! The one backbone both families share (DBA section 2): a pre-norm transformer with RMSNorm,
//! rotary positions, SwiGLU, no biases and tied embeddings. The only switch between AR and
//! masked diffusion is `causal`; the MASK token is the last embedding row.

pub mod device;
pub mod fused;
pub mod precision;
pub mod presets;
pub mod transformer;

pub use device::{DeviceChoice, resume_device_problem, select_device};
pub use precision::Precision;
pub use presets::{PRESETS, preset};
pub use transformer::{Lm, ModelConfig};

/// SwiGLU hidden width, floor((8d/3)/64)*64 and at least 64 (DBA section 2).
///
/// ```
/// assert_eq!(dclab::model::swiglu_hidden(128), 320);
/// assert_eq!(dclab::model::swiglu_hidden(768), 2048);
/// ```
pub fn swiglu_hidden(d_model: usize) -> usize {
    ((8 * d_model / 3) / 64 * 64).max(64)
}

/// Parameters of this backbone by formula: attention 4Ld^2, SwiGLU 3Ld*h_f, two RMSNorm gains
/// per layer and a final one (2Ld + d), and one tied embedding of `rows` x d (vocabulary + MASK).
/// DBA's formula (4Ld^2 + 3Ld*h_f + 6Ld + Vd) counts 4Ld more for its Megatron biases/norms.
pub fn param_count(d_model: usize, n_layers: usize, rows: usize) -> ParamCount {
    let (d, l) = (d_model, n_layers);
    let non_embedding = 4 * l * d * d + 3 * l * d * swiglu_hidden(d) + 2 * l * d + d;
    ParamCount { total: non_embedding + rows * d, non_embedding }
}

/// Total and non-embedding parameter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParamCount {
    /// Every parameter (the embedding counted once, as it is tied).
    pub total: usize,
    /// Without the embedding.
    pub non_embedding: usize,
}
