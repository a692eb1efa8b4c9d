//! The Chinchilla law and the data-constrained law of Muennighoff et al. (2023), in f64.
//!
//! Notation follows the paper: `U_D` unique tokens, `R_D` repetitions of the data, `U_N` the
//! compute-optimal model size for `U_D`, `R_N` "repetitions" of parameters, `D'`, `N'` the
//! effective data and model size, `R_D*`, `R_N*` the decay constants.

use ndarray::{Array, ArrayView, Dimension, Zip};

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
    p: &LawParams, n: ArrayView<f64, Dim>, d: ArrayView<f64, Dim>, u: ArrayView<f64, Dim>,
) -> Array<f64, Dim> {
    Zip::from(&n).and(&d).and(&u).map_collect(|&n, &d, &u| p.loss(n, d, u))
}
