//! dclab in a notebook: builders for every job (data stats, train, sample, sweep, study,
//! fit, critical compute, the law's curves, diffusion's masks and bound), run by the prebuilt
//! `dclab` engine as its own process. Progress lines stream into the cell while it runs, and
//! each result shows itself with the figure and table the engine drew for it.
//!
//! The crate is serde-sized on purpose: evcxr's analyser loads every package of a `:dep`'s
//! graph, and the engine's (burn, polars, plotly, tokenizers) costs ~4 GiB and ~75 s.
//!
//! ```no_run
//! use dclab_lab::*;
//! let lab = Lab::new()?;
//! let ar = lab.run(Train::ar().model("0.3m").unique_tokens(8192).epochs(16.0))?;
//! println!("best {:.3}", ar.summary.best_val_loss);
//! # Ok::<(), dclab_lab::Error>(())
//! ```
#![warn(missing_docs)]

mod engine;
mod jobs;
mod show;

pub use dclab_types as types;
pub use dclab_types::{
    Analysis, BoundPoint, CorpusStats, CritReport, DeltaMap, FitReport, LawParams, MaskDraw,
    MetricsRow, RunReport, RunRow, Sample, StudyReport, Summary, SweepReport, ValueCurve,
};
pub use engine::{Error, Job, Lab};
pub use jobs::{
    Bound, Crit, DataStats, Fit, Map, Masks, Samples, Study, Sweep, Train, ValueLeft, law_arg,
};
pub use show::{Shown, show};
