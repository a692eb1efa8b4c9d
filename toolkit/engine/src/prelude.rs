//! `use dclab::prelude::*;` in a notebook that drives the engine crate itself (notebook 08):
//! the types a run needs.

pub use crate::data::{Corpus, TokenizerSpec, corpus_stats, prepare};
pub use crate::model::{ModelConfig, preset, select_device};
pub use crate::objective::{Objective, SequenceLoss, parse_objective};
pub use crate::scaling::law::LawParams;
pub use crate::study::{Study, preset as study_preset, run_study};
pub use crate::sweep::{SweepOptions, SweepSpec, run_sweep};
pub use crate::train::{RunResult, TrainConfig, train};
pub use crate::{plotly, polars};
