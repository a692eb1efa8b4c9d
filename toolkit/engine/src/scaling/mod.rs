//! The data-constrained scaling law (Muennighoff et al. 2023), its fits and critical compute.
//!
//! - [`law`]: the Chinchilla and data-constrained laws and allocation helpers.
//! - [`runs`]: tables of runs (CSV/Parquet via polars).
//! - [`huber`]: SDC's log-space Huber objective with analytic gradients (the argmin problem).
//! - [`stage2`]: the same objective with only R_D*, R_N* free, as a SIMD kernel over runs (a
//!   [`huber::FastObjective`] the problem can be handed; the problem knows nothing of it).
//! - [`fit`]: multi-start L-BFGS, two-stage and joint protocols.
//! - [`constants`]: textual forms of constants (`sdc-c4`, `key=value` lists).
//! - [`uncertainty`]: R^2, residuals, bootstrap intervals, profiles, flatness.
//! - [`vmath`]: exp, expm1, ln that vectorise (the stage-2 kernel's hot loop).
//! - [`crit`]: critical compute from an AR and a diffusion law.
//! - [`report`]: the one-call fit report written to fit.json.

pub mod constants;
pub mod crit;
pub mod fit;
pub mod huber;
pub mod law;
pub mod report;
pub mod runs;
pub mod stage2;
pub mod uncertainty;
pub mod vmath;
