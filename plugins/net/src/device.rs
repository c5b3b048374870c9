//! `--device auto|cpu|cuda|cuda:N`.
//!
//! The library links libtorch with `--as-needed`, which drops `libtorch_cuda.so`
//! (tch-rs issue #980): CUDA kernels are registered only once that library is loaded.
//! Loading it costs ~0.4 GB and 0.2 s, so it is loaded here, on demand, and only on
//! machines with an NVIDIA driver; CPU-only runs never pay for it.

use std::path::Path;
use std::sync::OnceLock;

use infty_sdk::PluginError;
use tch::Device;

/// Whether a CUDA device is usable, loading libtorch's CUDA library once if a driver
/// is present.
pub fn cuda_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if !Path::new("/proc/driver/nvidia").exists() && !Path::new("/dev/nvidiactl").exists() {
            return false;
        }
        // The libtorch this library was built with, else the loader's search path
        // (LD_LIBRARY_PATH), where a relocated libtorch is found.
        let built = option_env!("INFTY_LIBTORCH_LIB").map(|dir| Path::new(dir).join("libtorch_cuda.so"));
        for candidate in built.into_iter().chain([Path::new("libtorch_cuda.so").to_path_buf()]) {
            // SAFETY: libtorch_cuda.so belongs to the libtorch this library links; its
            // initialisers only register CUDA kernels. It is never unloaded.
            if let Ok(lib) = unsafe { libloading::Library::new(&candidate) } {
                std::mem::forget(lib);
                break;
            }
        }
        tch::Cuda::is_available()
    })
}

/// Parses a `--device` value.
pub fn parse(text: &str) -> Result<Device, PluginError> {
    let bad = || {
        PluginError::invalid_param("device", format!("'{text}' is not a device"))
            .with_help("use auto, cpu, cuda or cuda:N")
    };
    let cuda = |index: usize| {
        if !cuda_available() {
            return Err(PluginError::invalid_param(
                "device",
                format!("'{text}' asked for CUDA, but no CUDA device is usable here"),
            )
            .with_help("use --device cpu, or auto to take a GPU only when there is one"));
        }
        let count = tch::Cuda::device_count() as usize;
        if index >= count {
            return Err(PluginError::invalid_param(
                "device",
                format!("there is no cuda:{index}; this machine has {count} CUDA devices"),
            ));
        }
        Ok(Device::Cuda(index))
    };
    match text {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(if cuda_available() { Device::Cuda(0) } else { Device::Cpu }),
        "cuda" => cuda(0),
        _ => match text.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(index)) => cuda(index),
            _ => Err(bad()),
        },
    }
}

/// The device's name as `--device` writes it.
pub fn name(device: Device) -> String {
    match device {
        Device::Cuda(index) => format!("cuda:{index}"),
        _ => "cpu".to_string(),
    }
}
