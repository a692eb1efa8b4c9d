//! The plain data that crosses between dclab's engine and its notebook bindings: run
//! summaries and curves, sweep rows, fit and critical-compute reports, corpus statistics,
//! samples, and the reply envelope (a value and the blobs that display it).
//!
//! Defined once here, serde only, so the engine (which writes them as JSON) and the light
//! bindings crate (which reads them in a notebook) can never drift apart.
#![warn(missing_docs)]

pub mod corpus;
pub mod crit;
pub mod diffusion;
pub mod fit;
pub mod law;
pub mod reply;
pub mod run;
pub mod study;
pub mod sweep;

pub use corpus::{CorpusStats, TokenizerStats};
pub use crit::{CritReport, CritRow, CrossoverStatus, OptimalPoint, PowerLaw};
pub use diffusion::{BoundPoint, MaskDraw};
pub use fit::{DeltaMap, FitReport, Residual, ValueCurve};
pub use law::LawParams;
pub use reply::{Blob, Reply};
pub use run::{MetricsRow, RunReport, Sample, Summary};
pub use study::{Analysis, StudyReport};
pub use sweep::{RunRow, SweepPoint, SweepReport};
