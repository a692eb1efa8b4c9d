//! `--device`, shared by every command that trains or evaluates: the one place the CLI reads
//! `BURN_DEVICE`, and where the device is resolved once for the whole command.

use anyhow::Result;
use clap::Args;
use dclab::model::{DeviceChoice, select_device};

/// Where a command runs.
#[derive(Args, Clone, Debug)]
pub struct DeviceArg {
    /// auto, cpu, wgpu or cuda (default: $BURN_DEVICE, else cpu).
    #[arg(long, env = "BURN_DEVICE", default_value = "cpu")]
    pub device: String,
}

impl DeviceArg {
    /// The device this argument names, resolved (and, for `auto`, reported) once.
    pub fn resolve(&self) -> Result<DeviceChoice> {
        select_device(&self.device)
    }
}
