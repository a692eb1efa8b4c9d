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
pub use eval::{evaluate, EvalResult};
pub use outputs::{read_metrics, MetricsRow, Summary};
pub use optimizer::AdamW;
pub use run::{train, Event, RunResult};
pub use throughput::{throughput, Throughput};
