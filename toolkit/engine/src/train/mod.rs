//! The training loop (AdamW, warmup + cosine, clipping), evaluation, checkpoints and resume,
//! metrics.csv and summary.json.

pub mod allocator;
pub mod checkpoint;
pub mod config;
pub mod eval;
pub mod generate;
pub mod optimizer;
pub mod outputs;
pub mod run;
pub mod schedule;
pub mod throughput;

pub use config::TrainConfig;
pub use eval::{EvalResult, evaluate};
pub use optimizer::AdamW;
pub use outputs::{MetricsRow, Summary, read_metrics};
pub use run::{Event, RunResult, train};
pub use throughput::{Throughput, throughput};
