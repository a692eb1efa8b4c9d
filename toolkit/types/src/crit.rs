//! Critical compute C_crit(U): where a fitted diffusion law overtakes a fitted AR law.

use serde::{Deserialize, Serialize};

/// The compute-optimal point of one family at compute C and U unique tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimalPoint {
    /// Loss-minimising parameter count.
    pub n: f64,
    /// Tokens D = C/(6N).
    pub d: f64,
    /// Loss there.
    pub loss: f64,
}

/// What the search for a crossover found at one U.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrossoverStatus {
    /// AR is better below C_crit and diffusion above.
    Crossover,
    /// Diffusion is already better at the smallest compute searched.
    DiffusionAlwaysBetter,
    /// AR stays better up to the largest compute searched.
    ArAlwaysBetter,
}

/// One row of the critical-compute table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CritRow {
    /// Unique tokens.
    pub unique_tokens: f64,
    /// C_crit in FLOPs, when there is a crossover in range.
    pub c_crit: Option<f64>,
    /// What the search found.
    pub status: CrossoverStatus,
    /// AR's optimum at C_crit.
    pub ar: Option<OptimalPoint>,
    /// Diffusion's optimum at C_crit.
    pub diffusion: Option<OptimalPoint>,
    /// DBA's published line at this U, for reference.
    pub dba_c_crit: f64,
}

/// A power law C = coef * U^exponent, and DBA's inverse form log10 U = slope*log10 C + intercept.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerLaw {
    /// Multiplier (FLOPs at U = 1 token).
    pub coef: f64,
    /// Exponent of U.
    pub exponent: f64,
    /// Slope of log10 U on log10 C.
    pub log10_u_slope: f64,
    /// Intercept of log10 U on log10 C.
    pub log10_u_intercept: f64,
}

/// The critical-compute table: C_crit per U, the power-law fit, DBA's line and unit warnings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CritReport {
    /// One row per U.
    pub rows: Vec<CritRow>,
    /// Fit of C_crit against U over the rows with a crossover.
    pub power_law: Option<PowerLaw>,
    /// DBA's published line for comparison.
    pub dba: PowerLaw,
    /// Warnings (e.g. U that looks like millions).
    pub warnings: Vec<String>,
}
