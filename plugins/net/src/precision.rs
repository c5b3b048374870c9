//! `--precision fp32|bf16|auto`: the number format the network computes in.
//!
//! bf16 keeps float32's range with an 8-bit mantissa; oneDNN runs its convolutions and
//! matrix products on AMX tiles or AVX512-BF16 instructions, and CUDA on tensor cores.
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
                .with_help("use fp32, bf16 or auto (bf16 where the CPU has AVX512-BF16 or AMX, or on CUDA)")),
        }
    }

    /// The tensor kind the network computes in on `device`.
    pub fn kind(self, device: Device) -> Kind {
        let bf16 = match self {
            Self::Fp32 => false,
            Self::Bf16 => true,
            Self::Auto => device.is_cuda() || cpu_has_bf16(),
        };
        if bf16 {
            Kind::BFloat16
        } else {
            Kind::Float
        }
    }
}

/// Whether the CPU computes bf16 products natively: AVX512-BF16, which every CPU with
/// AMX tiles also has.
pub fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512bf16")
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
