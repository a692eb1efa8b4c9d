//! Sweeps: grids of training runs over objectives, sizes, unique budgets and epochs, run
//! resumably into a folder with one results table, sharded across machines and merged.

pub mod merge;
pub mod point;
pub mod runner;
pub mod slurm;
pub mod spec;
pub mod table;

pub use merge::{merge, Incomplete, Merged};
pub use point::{group_key, parse_shard, points, shard, SweepPoint};
pub use runner::{run_sweep, SweepEvent, SweepOptions, SweepResult};
pub use slurm::{slurm_script, SlurmOptions};
pub use spec::{ComputeMatched, Doubling, Regularisation, SweepSpec, TrainSettings};
pub use table::RunRow;
