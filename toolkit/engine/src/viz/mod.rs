//! Plots and HTML: the study's figures (plotly) and self-contained report pages.

pub mod figures;
pub mod html;
pub mod views;

pub use html::{escape, figure, num, page, table};
