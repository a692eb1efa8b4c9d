//! Choosing where to train: `cpu` (flex, the default), `wgpu`, `cuda`, or `auto`, which takes a
//! real GPU when there is one and otherwise the CPU, saying so in one line.

use anyhow::{bail, Result};
use burn::prelude::Device;

/// The device chosen and a human description of it (recorded in every run's summary).
#[derive(Clone, Debug)]
pub struct DeviceChoice {
    /// The burn device.
    pub device: Device,
    /// e.g. `cpu (flex)` or `wgpu: NVIDIA H100`.
    pub name: String,
}

/// Resolves `auto | cpu | flex | wgpu | cuda` (the `--device` flag / `BURN_DEVICE`).
pub fn select_device(spec: &str) -> Result<DeviceChoice> {
    let cpu = || DeviceChoice { device: Device::flex(), name: "cpu (flex)".into() };
    match spec {
        "cpu" | "flex" => Ok(cpu()),
        "wgpu" => wgpu(false),
        "cuda" => cuda(),
        "auto" => match wgpu(true) {
            Ok(choice) => Ok(choice),
            Err(why) => {
                eprintln!("device auto: no real GPU ({why}); using the CPU (flex)");
                Ok(cpu())
            }
        },
        other => bail!("unknown device '{other}' (use auto, cpu, wgpu or cuda)"),
    }
}

#[cfg(feature = "wgpu")]
fn wgpu(require_physical: bool) -> Result<DeviceChoice> {
    let device = Device::wgpu_options().init().map_err(|e| anyhow::anyhow!("wgpu: {e:?}"))?;
    let identity = device.identity();
    let name = identity.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "unknown adapter".into());
    let physical = identity.as_ref().is_some_and(|i| i.physical.is_some());
    if require_physical && !physical {
        bail!("only a software adapter: {name}");
    }
    Ok(DeviceChoice { device, name: format!("wgpu: {name}{}", if physical { "" } else { " (software)" }) })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_require_physical: bool) -> Result<DeviceChoice> {
    bail!("this build has no wgpu backend (rebuild with --features wgpu)")
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<DeviceChoice> {
    Ok(DeviceChoice { device: Device::cuda(0), name: "cuda:0".into() })
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<DeviceChoice> {
    bail!("this build has no cuda backend (rebuild with --features cuda)")
}

/// burn itself reads `BURN_DEVICE` (e.g. when it loads optimizer state) and panics on names it
/// does not know, such as our `cpu` and `auto`; this says so, as an error to show, when the
/// variable holds such a name.
pub fn burn_device_env_problem() -> Option<String> {
    let v = std::env::var("BURN_DEVICE").ok()?;
    let known = v == "flex" || (cfg!(feature = "wgpu") && v == "wgpu") || (cfg!(feature = "cuda") && v == "cuda");
    (!known).then(|| {
        format!("BURN_DEVICE={v} is also read by burn, which does not know `{v}` in this build: set BURN_DEVICE=flex for the CPU (the same backend as `cpu`), or unset it and pass the device as an argument")
    })
}

/// The `BURN_DEVICE` value burn understands for one of our device names (`cpu` and `auto`
/// have none: burn then picks its default).
pub fn burn_name(spec: &str) -> Option<&'static str> {
    match spec {
        "cpu" | "flex" => Some("flex"),
        "wgpu" => Some("wgpu"),
        "cuda" => Some("cuda"),
        _ => None,
    }
}
