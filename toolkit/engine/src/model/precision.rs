//! The float precision of training's matrix products, a recorded setting: `f32` (on cuda,
//! burn-cuda's matmul autotuner picks TF32 tensor-core kernels for f32 by itself, so it is
//! recorded as `tf32`) or `bf16` mixed precision (products in bf16 on f32 master weights).

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// How matrix products run. Weights, gradients, optimizer state, norms, softmax and losses stay
/// f32 in both; `Bf16` casts each product's inputs to bf16 and its result back to f32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 products (TF32 tensor cores on cuda).
    #[default]
    F32,
    /// bf16 products with f32 master weights and optimizer state.
    Bf16,
}

impl Precision {
    /// The name recorded in summary.json and the results table on `backend` (`flex`, `wgpu`,
    /// `cuda`): f32 on cuda is `tf32`, as its matmul kernels are TF32 tensor-core ones.
    ///
    /// ```
    /// use dclab::model::Precision;
    /// assert_eq!(Precision::F32.recorded("flex"), "f32");
    /// assert_eq!(Precision::F32.recorded("cuda"), "tf32");
    /// assert_eq!(Precision::Bf16.recorded("cuda"), "bf16");
    /// ```
    pub fn recorded(self, backend: &str) -> &'static str {
        match (self, backend) {
            (Precision::F32, "cuda") => "tf32",
            (Precision::F32, _) => "f32",
            (Precision::Bf16, _) => "bf16",
        }
    }

    /// True for the default, f32 (serde leaves it out, so specs and settings from before read the same).
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

/// Parses `f32` or `bf16` (the `--precision` flag; sweep specs go through serde).
impl std::str::FromStr for Precision {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "f32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            other => bail!("unknown precision '{other}' (use f32 or bf16)"),
        }
    }
}
