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
    /// burn's name for the backend: `flex`, `wgpu` or `cuda`.
    pub backend: &'static str,
}

/// Resolves `auto | cpu | flex | wgpu | cuda` (the `--device` flag / `BURN_DEVICE`).
pub fn select_device(spec: &str) -> Result<DeviceChoice> {
    let cpu = || DeviceChoice { device: Device::flex(), name: "cpu (flex)".into(), backend: "flex" };
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
    use std::sync::OnceLock;
    // burn starts a wgpu runtime once per process and refuses a second start: keep the first.
    static RUNTIME: OnceLock<Result<(Device, String, bool), String>> = OnceLock::new();
    let (device, name, physical) = RUNTIME
        .get_or_init(|| {
            let options = Device::wgpu_options();
            // Vulkan only on Linux: wgpu's GL fallback probes EGL and Wayland noisily and is no
            // path to train on.
            #[cfg(target_os = "linux")]
            let options = options.graphics_api(burn::tensor::wgpu::WgpuBackend::Vulkan);
            let device = options.init().map_err(|e| format!("wgpu: {e:?}"))?;
            let identity = device.identity();
            let name = identity.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "unknown adapter".into());
            let physical = identity.as_ref().is_some_and(|i| i.physical.is_some());
            Ok((device, name, physical))
        })
        .clone()
        .map_err(anyhow::Error::msg)?;
    if require_physical && !physical {
        bail!("only a software adapter: {name}");
    }
    Ok(DeviceChoice { device, name: format!("wgpu: {name}{}", if physical { "" } else { " (software)" }), backend: "wgpu" })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_require_physical: bool) -> Result<DeviceChoice> {
    bail!("this build has no wgpu backend (rebuild with --features wgpu)")
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<DeviceChoice> {
    Ok(DeviceChoice { device: Device::cuda(0), name: "cuda:0".into(), backend: "cuda" })
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<DeviceChoice> {
    bail!("this build has no cuda backend (rebuild with --features cuda)")
}

/// Why resuming on `device` would fail, if it would: burn loads optimizer state onto its own
/// default device, which `BURN_DEVICE` names (burn panics on names it does not know, such as
/// our `cpu` and `auto`) and which is otherwise the first GPU backend compiled in, even where
/// no adapter exists. The state moves to the model's device at the next step, so any usable
/// default will do; the `dclab` binary always sets one.
pub fn resume_device_problem(device: &DeviceChoice) -> Option<String> {
    resume_problem(std::env::var("BURN_DEVICE").ok().as_deref(), device.backend)
}

/// [`resume_device_problem`] for a given `BURN_DEVICE` value and training backend.
fn resume_problem(burn_device: Option<&str>, backend: &str) -> Option<String> {
    match burn_device {
        Some(v) => {
            let known = v == "flex" || (cfg!(feature = "wgpu") && v == "wgpu") || (cfg!(feature = "cuda") && v == "cuda");
            (!known).then(|| {
                format!("BURN_DEVICE={v} is also read by burn, which does not know `{v}` in this build: set BURN_DEVICE=flex for the CPU (the same backend as `cpu`), or unset it and pass the device as an argument")
            })
        }
        None => {
            let default = if cfg!(feature = "cuda") { "cuda" } else if cfg!(feature = "wgpu") { "wgpu" } else { "flex" };
            (default != backend).then(|| {
                format!("burn would load the optimizer state onto its default backend, {default} in this build, while this run trains on {backend}: set BURN_DEVICE={backend} (or flex)")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resume_problem;

    #[test]
    fn resuming_needs_a_burn_device_name_burn_knows_or_a_default_that_matches() {
        assert_eq!(resume_problem(Some("flex"), "flex"), None);
        assert_eq!(resume_problem(Some("flex"), "wgpu"), None, "state on flex moves to wgpu at the next step");
        assert!(resume_problem(Some("cpu"), "flex").unwrap().contains("does not know `cpu`"));
        assert!(resume_problem(Some("auto"), "flex").is_some());
        let gpu_default = cfg!(feature = "wgpu") || cfg!(feature = "cuda");
        assert_eq!(resume_problem(None, "flex").is_some(), gpu_default, "only a GPU build's default differs from flex");
        assert_eq!(resume_problem(Some("wgpu"), "flex").is_none(), cfg!(feature = "wgpu"));
    }
}
