//! `--precision fp32|bf16|auto`: the number format the network computes in.
//!
//! bf16 keeps float32's range with an 8-bit mantissa; oneDNN runs its convolutions and
//! matrix products on AMX tiles (or, slower than float32, AVX512-BF16 instructions), and
//! CUDA on tensor cores.
//! Normalisations and the KNN and grid reads stay in float32 (docs/network.md#precision).

use infty_sdk::PluginError;
use tch::{Device, Kind};

/// The `--precision` choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// float32 everywhere.
    Fp32,
    /// bfloat16 activations and weights (in training, fp32 master weights).
    Bf16,
    /// bf16 where the hardware computes it natively, else fp32.
    Auto,
}

impl Precision {
    /// The names `--precision` accepts.
    pub const NAMES: [&'static str; 3] = ["fp32", "bf16", "auto"];

    /// Parses a `--precision` value.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        match text {
            "fp32" => Ok(Self::Fp32),
            "bf16" => Ok(Self::Bf16),
            "auto" => Ok(Self::Auto),
            _ => Err(PluginError::invalid_param("precision", format!("'{text}' is not a precision"))
                .with_help("use fp32, bf16 or auto (bf16 on CUDA and on CPUs with AMX, else fp32)")),
        }
    }

    /// The tensor kind the network computes in on `device`.
    pub fn kind(self, device: Device) -> Kind {
        let bf16 = match self {
            Self::Fp32 => false,
            Self::Bf16 => true,
            Self::Auto => device.is_cuda() || cpu_has_amx_bf16(),
        };
        if bf16 {
            Kind::BFloat16
        } else {
            Kind::Float
        }
    }
}

/// Whether bf16 is faster than float32 on this CPU: only with AMX tiles, which the OS
/// has enabled. With AVX512-BF16 alone oneDNN's bf16 convolutions are slower than its
/// float32 ones (0.7–0.9× the speed, docs/benchmarks.md#network).
pub fn cpu_has_amx_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__cpuid_count, _xgetbv};
        // CPUID.(EAX=7, ECX=0):EDX bit 22 is AMX-BF16; XCR0 bits 17 and 18 say the OS
        // saves the tile configuration and data (Intel SDM vol. 1, §13.3).
        let amx_bf16 = __cpuid_count(7, 0).edx & (1 << 22) != 0;
        if !amx_bf16 || !std::arch::is_x86_feature_detected!("xsave") {
            return false;
        }
        // SAFETY: xsave is present (checked above), which is all xgetbv needs.
        let xcr0 = unsafe { _xgetbv(0) };
        xcr0 & (0b11 << 17) == 0b11 << 17
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The name `--precision` gives a kind.
pub fn name(kind: Kind) -> &'static str {
    if kind == Kind::BFloat16 {
        "bf16"
    } else {
        "fp32"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amx_detection_agrees_with_the_kernel() {
        // Linux lists amx_bf16 only when the CPU has it and the kernel enabled the tiles.
        let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") else { return };
        let listed = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "amx_bf16"));
        assert_eq!(cpu_has_amx_bf16(), listed);
    }

    #[test]
    fn auto_is_bf16_on_amx_only() {
        let want = if cpu_has_amx_bf16() { Kind::BFloat16 } else { Kind::Float };
        assert_eq!(Precision::Auto.kind(Device::Cpu), want);
        assert_eq!(Precision::Fp32.kind(Device::Cpu), Kind::Float);
        assert_eq!(Precision::Bf16.kind(Device::Cpu), Kind::BFloat16);
    }
}
