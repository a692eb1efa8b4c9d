//! dclab: the data-constrained language-model lab.
//!
//! Layers, data flowing one way: `data` -> `model` -> `objective` -> `train` -> `sweep` ->
//! `scaling` -> `viz` -> `study`. A lower layer never imports a higher one.

pub mod data;
pub mod model;
pub mod objective;
pub mod prelude;
pub mod scaling;
pub mod study;
pub mod sweep;
pub mod train;
pub mod viz;

/// burn, plotly and polars, re-exported so a notebook that `:dep`s the engine (08) needs no
/// other `:dep` (and no second version of them).
pub use burn;
pub use ndarray;
pub use plotly;
pub use polars;
