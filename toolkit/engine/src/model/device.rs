//! Choosing where to train: `cpu` (flex, the default), `wgpu`, `cuda`, or `auto`, which takes a
//! CUDA GPU, else a real wgpu GPU, else the CPU, saying which in one line.

use anyhow::{Result, bail};
use burn::prelude::Device;
use std::path::{Path, PathBuf};

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
    let cpu =
        || DeviceChoice { device: Device::flex(), name: "cpu (flex)".into(), backend: "flex" };
    match spec {
        "cpu" | "flex" => Ok(cpu()),
        "wgpu" => wgpu(false),
        "cuda" => cuda(),
        "auto" => {
            let choice = cuda().or_else(|no_cuda| wgpu(true).map_err(|no_wgpu| (no_cuda, no_wgpu)));
            match choice {
                Ok(choice) => {
                    eprintln!("device auto: {}", choice.name);
                    Ok(choice)
                }
                Err((no_cuda, no_wgpu)) => {
                    eprintln!(
                        "device auto: the CPU (flex); no CUDA GPU ({no_cuda}); no real wgpu GPU ({no_wgpu})"
                    );
                    Ok(cpu())
                }
            }
        }
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
            let name = identity
                .as_ref()
                .map(|i| i.name.clone())
                .unwrap_or_else(|| "unknown adapter".into());
            let physical = identity.as_ref().is_some_and(|i| i.physical.is_some());
            Ok((device, name, physical))
        })
        .clone()
        .map_err(anyhow::Error::msg)?;
    if require_physical && !physical {
        bail!("only a software adapter: {name}");
    }
    Ok(DeviceChoice {
        device,
        name: format!("wgpu: {name}{}", if physical { "" } else { " (software)" }),
        backend: "wgpu",
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_require_physical: bool) -> Result<DeviceChoice> {
    bail!("this build has no wgpu backend (rebuild with --features wgpu)")
}

/// The first CUDA GPU, checked before burn touches it (burn panics where there is no driver):
/// the driver loads and sees a GPU, libdevice is where the kernels' compiler looks, and one
/// small kernel runs.
#[cfg(feature = "cuda")]
fn cuda() -> Result<DeviceChoice> {
    let gpu = cuda_driver()?;
    libdevice().map_err(anyhow::Error::msg)?;
    let device = Device::cuda(0);
    anyhow::Context::with_context(smoke_test(&device), || {
        format!("CUDA on {gpu} failed its first kernel")
    })?;
    Ok(DeviceChoice { device, name: format!("cuda:0 ({gpu})"), backend: "cuda" })
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<DeviceChoice> {
    bail!("this build has no cuda backend (build one with toolkit/build-cuda.sh)")
}

/// Runs one exp and a product on `device`, turning a panic inside burn into an error.
#[cfg(feature = "cuda")]
fn smoke_test(device: &Device) -> Result<()> {
    use burn::tensor::Tensor;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let run = std::panic::catch_unwind(|| {
        let t = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], device);
        t.clone().exp().matmul(t).into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
    });
    std::panic::set_hook(hook);
    match run {
        Ok(Ok(v)) if v.iter().all(|x| x.is_finite()) => Ok(()),
        Ok(Ok(v)) => bail!("it returned {v:?}"),
        Ok(Err(e)) => bail!("reading its result: {e}"),
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            bail!("{}", why.unwrap_or_else(|| "a panic without a message".into()))
        }
    }
}

/// The folders CubeCL's LLVM compiler searches for `nvvm/libdevice/libdevice.10.bc`, in its order
/// (CUDA_PATH, else the first of these with an `nvvm/libdevice` folder).
const CUDA_ROOTS: [&str; 4] = ["/usr/local/cuda", "/opt/cuda", "/usr/lib/cuda", "/usr"];

/// Where libdevice is, or why the CUDA backend cannot compile its kernels (they call exp, log,
/// tanh, whose code is libdevice's): checked here as CubeCL looks, so a missing file is an
/// error before training instead of a panic in its first softmax.
pub fn libdevice() -> Result<PathBuf, String> {
    libdevice_in(std::env::var_os("CUDA_PATH").map(PathBuf::from), &CUDA_ROOTS.map(PathBuf::from))
}

fn libdevice_in(cuda_path: Option<PathBuf>, roots: &[PathBuf]) -> Result<PathBuf, String> {
    let file = |root: &Path| root.join("nvvm/libdevice/libdevice.10.bc");
    let fix = "set CUDA_PATH to a CUDA toolkit, or to the folder toolkit/build-cuda.sh prints (it installs NVIDIA's nvidia-nvvm wheel, which holds nvvm/libdevice/libdevice.10.bc)";
    let root = match cuda_path {
        Some(p) => p,
        None => match roots.iter().find(|r| r.join("nvvm/libdevice").is_dir()) {
            Some(r) => r.clone(),
            None => {
                return Err(format!(
                    "no libdevice.10.bc: CUDA_PATH is not set and none of {} has nvvm/libdevice; {fix}",
                    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
        },
    };
    let f = file(&root);
    if f.is_file() { Ok(f) } else { Err(format!("no {}; {fix}", f.display())) }
}

/// The name of the first GPU the NVIDIA driver sees, or why there is none (no libcuda.so.1, the
/// driver fails to start, no device). Asks the driver directly, so it is safe to call where no
/// driver exists, unlike burn's CUDA device.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn cuda_driver() -> Result<String> {
    use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
    type Init = unsafe extern "C" fn(c_uint) -> c_int;
    type Count = unsafe extern "C" fn(*mut c_int) -> c_int;
    type Get = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type Name = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    type Version = unsafe extern "C" fn(*mut c_int) -> c_int;
    // SAFETY: dlopen and dlsym get NUL-terminated names; each symbol is called through the
    // signature cuda.h gives it (CUresult is an int, CUdevice an int), with pointers to live
    // locals and a name buffer whose length is passed. The library is never closed: cudarc
    // opens the same driver again, and unloading it under CUDA's threads is not safe.
    unsafe {
        let lib = libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if lib.is_null() {
            let why = libc::dlerror();
            let why = if why.is_null() {
                "unknown".to_string()
            } else {
                CStr::from_ptr(why).to_string_lossy().into_owned()
            };
            bail!("no NVIDIA driver: libcuda.so.1 cannot be loaded ({why})");
        }
        let sym = |name: &CStr| -> Result<*mut c_void> {
            let p = libc::dlsym(lib, name.as_ptr());
            if p.is_null() {
                bail!("the NVIDIA driver has no {}", name.to_string_lossy())
            } else {
                Ok(p)
            }
        };
        let init: Init = std::mem::transmute(sym(c"cuInit")?);
        let count: Count = std::mem::transmute(sym(c"cuDeviceGetCount")?);
        let get: Get = std::mem::transmute(sym(c"cuDeviceGet")?);
        let name: Name = std::mem::transmute(sym(c"cuDeviceGetName")?);
        let version: Version = std::mem::transmute(sym(c"cuDriverGetVersion")?);
        let r = init(0);
        if r != 0 {
            bail!("the NVIDIA driver did not start (cuInit returned CUDA error {r})");
        }
        let mut n: c_int = 0;
        if count(&mut n) != 0 || n < 1 {
            bail!("the NVIDIA driver sees no GPU");
        }
        let (mut dev, mut v): (c_int, c_int) = (0, 0);
        let mut buf = [0 as c_char; 256];
        if get(&mut dev, 0) != 0 || name(buf.as_mut_ptr(), buf.len() as c_int, dev) != 0 {
            bail!("the NVIDIA driver cannot name GPU 0");
        }
        let _ = version(&mut v);
        let gpu = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
        Ok(format!("{gpu}, driver CUDA {}.{}", v / 1000, v % 1000 / 10))
    }
}

/// Elsewhere the driver is not probed: burn's CUDA device is tried as it is.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn cuda_driver() -> Result<String> {
    Ok("GPU 0".into())
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
            let known = v == "flex"
                || (cfg!(feature = "wgpu") && v == "wgpu")
                || (cfg!(feature = "cuda") && v == "cuda");
            (!known).then(|| {
                format!("BURN_DEVICE={v} is also read by burn, which does not know `{v}` in this build: set BURN_DEVICE=flex for the CPU (the same backend as `cpu`), or unset it and pass the device as an argument")
            })
        }
        None => {
            let default = if cfg!(feature = "cuda") {
                "cuda"
            } else if cfg!(feature = "wgpu") {
                "wgpu"
            } else {
                "flex"
            };
            (default != backend).then(|| {
                format!("burn would load the optimizer state onto its default backend, {default} in this build, while this run trains on {backend}: set BURN_DEVICE={backend} (or flex)")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{libdevice_in, resume_problem};
    use std::path::PathBuf;

    #[test]
    fn libdevice_is_found_as_cubecl_looks_and_its_absence_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let (with, without) = (dir.path().join("with"), dir.path().join("without"));
        std::fs::create_dir_all(with.join("nvvm/libdevice")).unwrap();
        std::fs::write(with.join("nvvm/libdevice/libdevice.10.bc"), b"BC").unwrap();
        std::fs::create_dir_all(&without).unwrap();
        let found = with.join("nvvm/libdevice/libdevice.10.bc");
        assert_eq!(libdevice_in(Some(with.clone()), &[]), Ok(found.clone()));
        assert_eq!(
            libdevice_in(None, &[without.clone(), with.clone()]),
            Ok(found),
            "the first root with nvvm/libdevice"
        );
        let err = libdevice_in(Some(without.clone()), &[with]).unwrap_err();
        assert!(
            err.contains("without/nvvm/libdevice/libdevice.10.bc") && err.contains("CUDA_PATH"),
            "{err}"
        );
        let err = libdevice_in(None, &[PathBuf::from("/nonexistent")]).unwrap_err();
        assert!(err.contains("CUDA_PATH is not set") && err.contains("build-cuda.sh"), "{err}");
    }

    /// This machine has no NVIDIA driver (CI's and the build machine): the probe says so and
    /// does not panic. Where a driver exists the probe names a GPU instead.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_cuda_probe_answers_without_panicking() {
        let has_driver = ["/proc/driver/nvidia/version", "/dev/nvidiactl"]
            .iter()
            .any(|p| std::path::Path::new(p).exists());
        match super::cuda_driver() {
            Ok(gpu) => assert!(has_driver && gpu.contains("driver CUDA"), "{gpu}"),
            Err(e) => {
                assert!(!has_driver, "an NVIDIA driver is present but the probe failed: {e}");
                assert!(e.to_string().contains("NVIDIA driver"), "{e}");
            }
        }
    }

    #[test]
    fn resuming_needs_a_burn_device_name_burn_knows_or_a_default_that_matches() {
        assert_eq!(resume_problem(Some("flex"), "flex"), None);
        assert_eq!(
            resume_problem(Some("flex"), "wgpu"),
            None,
            "state on flex moves to wgpu at the next step"
        );
        assert!(resume_problem(Some("cpu"), "flex").unwrap().contains("does not know `cpu`"));
        assert!(resume_problem(Some("auto"), "flex").is_some());
        let gpu_default = cfg!(feature = "wgpu") || cfg!(feature = "cuda");
        assert_eq!(
            resume_problem(None, "flex").is_some(),
            gpu_default,
            "only a GPU build's default differs from flex"
        );
        assert_eq!(resume_problem(Some("wgpu"), "flex").is_none(), cfg!(feature = "wgpu"));
    }
}
