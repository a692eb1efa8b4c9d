//! The study: the main job. Prepares data, runs a sweep, fits one law per family, and writes
//! `report.html` and `summary.md` that say, from the runs, whether diffusion beats AR here.

pub mod analysis;
pub mod presets;
pub mod report;
pub mod run;
pub mod view;

pub use analysis::{Analysis, analyze};
pub use presets::preset;
pub use run::{Study, run_study};
