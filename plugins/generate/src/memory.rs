//! Refusing a sample size the machine cannot hold, before any work.
//!
//! The decoder samples every pixel of the output at once, so its memory grows with
//! the output's area. Measured on the CPU (docs/generate.md#memory): a network of
//! `nf = 32` holds 1.64 KB per output pixel per batch item in its dense forward (512²
//! and 1024², batches 1 and 2, fp32 and bf16 alike) over about 180 MB of libtorch and
//! weights; its sparse features are `nf` wide, so the cost scales with `nf`. The
//! estimate below rounds both up.

use infty_sdk::{ModelInfo, PluginError};

/// Bytes per output pixel per item, per channel of the sparse features (measured 51).
const BYTES_PER_PIXEL_PER_NF: f64 = 60.0;
/// Bytes per output pixel per item of the chain's own buffers (x, ε̂, x̂0, noise, T).
const CHAIN_BYTES_PER_PIXEL: f64 = 128.0;
/// libtorch, the weights and the grid U-Net, whatever the size.
const BASE_BYTES: f64 = 256.0 * 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// About how many bytes sampling `batch` images of `side²` pixels with the decoder takes.
pub fn estimate(info: &ModelInfo, side: u32, batch: u32) -> f64 {
    BASE_BYTES + f64::from(batch) * f64::from(side).powi(2) * bytes_per_pixel(info)
}

fn bytes_per_pixel(info: &ModelInfo) -> f64 {
    let config: serde_json::Value = serde_json::from_str(&info.config_json).unwrap_or_default();
    let nf = config["nf"].as_f64().unwrap_or(64.0);
    nf * BYTES_PER_PIXEL_PER_NF + CHAIN_BYTES_PER_PIXEL
}

/// Refuses `side` when a batch of `batch` would need more than `limit_gib` (0: the
/// memory available now, from /proc/meminfo) and names the largest side that fits.
/// Models on a GPU are not checked here: their memory is the device's.
pub fn check(info: &ModelInfo, side: u32, batch: u32, limit_gib: f64) -> Result<(), PluginError> {
    if !info.device.starts_with("cpu") {
        return Ok(());
    }
    let limit = if limit_gib > 0.0 {
        limit_gib * GIB
    } else {
        infty_kit::memory::available_bytes().map(|b| b as f64).unwrap_or(f64::INFINITY)
    };
    let need = estimate(info, side, batch);
    if need <= limit {
        return Ok(());
    }
    let fits = |batch: u32| {
        ((limit - BASE_BYTES).max(0.0) / (f64::from(batch) * bytes_per_pixel(info))).sqrt() as u32
    };
    let mut help = format!("use --size {} or less", fits(batch));
    if batch > 1 {
        help += &format!(", or --batch 1 and --size {} or less", fits(1));
    }
    Err(PluginError::invalid_param(
        "size",
        format!(
            "{side}x{side} samples in batches of {batch} need about {:.1} GiB; {:.1} GiB {}",
            need / GIB,
            limit / GIB,
            if limit_gib > 0.0 { "are allowed (--memory)" } else { "are available" }
        ),
    )
    .with_help(help))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(nf: u32) -> ModelInfo {
        ModelInfo {
            channels: 3,
            guide_channels: 0,
            z_dim: 64,
            train_size: 64,
            mollifier_sigma: 1.0,
            noise_schedule: "cosine".into(),
            diffusion_steps: 1000,
            train_step: 0,
            device: "cpu".into(),
            config_json: format!("{{\"nf\": {nf}}}").into(),
        }
    }

    #[test]
    fn the_estimate_covers_the_measured_figures() {
        // Measured peak RSS with nf = 32: 606 MB at 512², 1876 MB at 1024² (batch 1).
        let mb = |bytes: f64| bytes / 1e6;
        assert!(mb(estimate(&info(32), 512, 1)) > 606.0);
        assert!(mb(estimate(&info(32), 1024, 1)) > 1876.0);
        assert!(mb(estimate(&info(32), 1024, 1)) < 1.4 * 1876.0, "and not far above");
    }

    #[test]
    fn a_size_over_the_limit_is_refused_with_one_that_fits() {
        let err = check(&info(32), 4096, 2, 4.0).unwrap_err();
        assert!(err.message.contains("4096x4096 samples in batches of 2"), "{err}");
        let help = err.help.clone().unwrap().to_string();
        let fits: u32 = help.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(
            check(&info(32), fits, 2, 4.0).is_ok() && check(&info(32), fits + 8, 2, 4.0).is_err(),
            "{help}"
        );
        assert!(check(&info(32), 512, 1, 4.0).is_ok());
    }
}
