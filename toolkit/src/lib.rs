//! dclab: the data-constrained language-model lab.
//!
//! Layers, data flowing one way: `data` -> `model` -> `objective` -> `train` -> `sweep` ->
//! `scaling` -> `viz`/`notebook` -> `study`. A lower layer never imports a higher one.

pub mod data;
pub mod model;
pub mod objective;
pub mod train;
pub mod sweep;
pub mod scaling;
pub mod viz;
pub mod notebook;
pub mod study;
pub mod prelude;

/// The plotting and table crates, re-exported so a notebook needs only `:dep dclab`.
pub use plotly;
pub use polars;
pub use ndarray;
