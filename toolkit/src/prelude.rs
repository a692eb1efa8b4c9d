//! `use dclab::prelude::*;` in a notebook: the types a study uses and the display traits.

pub use crate::data::{corpus_stats, prepare, Corpus, TokenizerSpec};
pub use crate::model::{preset, select_device, ModelConfig};
pub use crate::notebook::{eval_lines, sweep_lines, DataFrameDisplay};
pub use crate::objective::parse_objective;
pub use crate::scaling::law::LawParams;
pub use crate::study::{preset as study_preset, run_study, Study};
pub use crate::sweep::{run_sweep, SweepOptions, SweepSpec};
pub use crate::train::{train, RunResult, TrainConfig};
pub use crate::{plotly, polars};
