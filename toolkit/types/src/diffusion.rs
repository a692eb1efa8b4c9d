//! What notebook 02 shows of masked diffusion: masks at given t, and the bound's standard
//! error against the number of draws K.

use serde::{Deserialize, Serialize};

/// One masked view of a validation sequence (`dclab diffusion masks --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaskDraw {
    /// The time t.
    pub t: f64,
    /// The masking probability p = (1 - eps) t + eps.
    pub p: f64,
    /// Tokens replaced by MASK.
    pub masked: usize,
    /// Tokens in the sequence.
    pub tokens: usize,
    /// The sequence with each masked token shown as `_`.
    pub shown: String,
}

/// The diffusion bound scored with K draws per sequence (`dclab diffusion bound --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BoundPoint {
    /// Draws K of t per validation sequence (stratified).
    pub draws: usize,
    /// Validation sequences scored.
    pub sequences: usize,
    /// The bound's estimate (nats/token).
    pub loss: f64,
    /// Its standard error.
    pub stderr: f64,
}
