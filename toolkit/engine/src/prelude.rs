//! `use dclab::prelude::*;` in a notebook that drives the engine crate itself (notebook 08):
//! the types a run needs.

pub use crate::data::{corpus_stats, prepare, Corpus, TokenizerSpec};
pub use crate::model::{preset, select_device, ModelConfig};
pub use crate::objective::{parse_objective, Objective, SequenceLoss};
pub use crate::scaling::law::LawParams;
pub use crate::study::{preset as study_preset, run_study, Study};
pub use crate::sweep::{run_sweep, SweepOptions, SweepSpec};
pub use crate::train::{train, RunResult, TrainConfig};
pub use crate::{plotly, polars};
