//! dclab: the data-constrained language-model lab.
//!
//! Layers, data flowing one way: `data` -> `model` -> `objective` -> `train` -> `sweep` ->
//! `study`, with `scaling` (laws, fits, critical compute) standing on no other layer and `viz`
//! (figures, tables) above what it draws; `cli` is a thin shell on top. A lower layer never
//! imports a higher one. Below every layer: [`fsio`] (writes that never leave half a file),
//! [`flops`] (parameter counts, training and attention FLOPs) and [`kernels`] (the fused CPU
//! kernels the model and the optimizer call).

#![warn(missing_docs)]

pub mod data;
pub mod flops;
pub mod fsio;
pub mod kernels;
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
