//! Sweeps: grids of training runs over objectives, sizes, unique budgets and epochs, run
//! resumably into a folder with one results table, sharded across machines and merged.

pub mod merge;
pub mod point;
pub mod runner;
pub mod slurm;
pub mod spec;
pub mod table;

pub use merge::{Incomplete, Merged, merge};
pub use point::{SweepPoint, group_key, parse_shard, points, shard};
pub use runner::{SweepEvent, SweepOptions, SweepResult, run_sweep};
pub use slurm::{SlurmOptions, slurm_script};
pub use spec::{ComputeMatched, Doubling, Regularisation, SweepSpec, TrainSettings};
pub use table::RunRow;
