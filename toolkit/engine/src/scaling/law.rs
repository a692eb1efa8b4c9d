//! The Chinchilla law and the data-constrained law of Muennighoff et al. (2023), in f64.
//!
//! Notation follows the paper: `U_D` unique tokens, `R_D` repetitions of the data, `U_N` the
//! compute-optimal model size for `U_D`, `R_N` "repetitions" of parameters, `D'`, `N'` the
//! effective data and model size, `R_D*`, `R_N*` the decay constants.

use ndarray::{Array, ArrayView, Dimension, Zip};
use serde::{Deserialize, Serialize};

pub use dclab_types::law::{LawParams, effective, half_value_repetition, repetitions, value_left};

/// Vectorised [`LawParams::loss`] over broadcast-compatible ndarray grids of N, D and U.
///
/// ```
/// use dclab::scaling::law::{loss_array, LawParams};
/// use ndarray::array;
/// let n = array![6.34e9, 8.67e9];
/// let d = array![242e9, 178e9];
/// let u = array![25e9, 25e9];
/// let l = loss_array(&LawParams::SDC_C4, n.view(), d.view(), u.view());
/// assert!((l[0] - 2.2256440889984477).abs() < 1e-9);
/// ```
pub fn loss_array<Dim: Dimension>(
    p: &LawParams,
    n: ArrayView<f64, Dim>,
    d: ArrayView<f64, Dim>,
    u: ArrayView<f64, Dim>,
) -> Array<f64, Dim> {
    Zip::from(&n).and(&d).and(&u).map_collect(|&n, &d, &u| p.loss(n, d, u))
}

/// SwiGLU hidden width h_f = max(64, floor((8d/3)/64)*64) of the shared backbone.
pub fn swiglu_hidden(d_model: usize) -> usize {
    ((8 * d_model / 3) / 64 * 64).max(64)
}

/// Parameter counts of the DBA backbone (embedding tied, counted once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCount {
    /// N = 4Ld^2 + 3Ld*h_f + 6Ld + Vd.
    pub total: u64,
    /// N without the embedding V*d.
    pub non_embedding: u64,
}

/// DBA App. 9's parameter formula N = 4*L*d^2 + 3*L*d*h_f + 6*L*d + V*d.
///
/// ```
/// use dclab::scaling::law::params_formula;
/// assert_eq!(params_formula(768, 15, 50257).total, 144_834_816);
/// ```
pub fn params_formula(d_model: usize, layers: usize, vocab: usize) -> ParamCount {
    let (d, l, v) = (d_model as u64, layers as u64, vocab as u64);
    let h = swiglu_hidden(d_model) as u64;
    let non_embedding = 4 * l * d * d + 3 * l * d * h + 6 * l * d;
    ParamCount { total: non_embedding + v * d, non_embedding }
}

/// Training compute C = 6*N*D FLOPs (D = U*E for E epochs over U tokens).
pub fn flops(n: f64, d: f64) -> f64 {
    6.0 * n * d
}
