//! The one backbone both families share (DBA section 2): a pre-norm transformer with RMSNorm,
//! rotary positions, SwiGLU, no biases and tied embeddings. The only switch between AR and
//! masked diffusion is `causal`; the MASK token is the last embedding row.

pub mod device;
pub mod layers;
pub mod precision;
pub mod presets;
pub mod transformer;

pub use device::{DeviceChoice, resume_device_problem, select_device};
pub use precision::Precision;
pub use presets::{PRESETS, preset};
pub use transformer::{Layout, Lm, ModelConfig};
