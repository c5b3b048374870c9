//! Sampling an ∞-Diff model patch by patch over an image of any size: where the
//! patches lie and how they blend ([`Lattice`]), the tile blended from the patches kept
//! between tiles ([`PatchCache`]), the sampler chain on a batch of patches with
//! coordinate-keyed noise ([`PatchChain`]), and the model they sample
//! ([`rgb_model`]). The super-resolution and inpainting plugins build on these.

mod cache;
mod chain;
mod lattice;
pub mod param;

use std::path::Path;

use infty_sdk::{ModelBox, ModelInfo, PluginError};

pub use cache::PatchCache;
pub use chain::{ChainSetup, PatchChain};
use lattice::Blend;
pub use lattice::Lattice;

/// The model at `path` on `device` in `precision`, built through the host, refused
/// unless it makes RGB (the patch chains sample 3 planes); `task` names the caller in
/// the refusal.
pub fn rgb_model(
    path: &Path,
    device: &str,
    precision: &str,
    task: &str,
) -> Result<(ModelBox, ModelInfo), PluginError> {
    let shown = path.display().to_string();
    let params = [("checkpoint", shown.as_str()), ("device", device), ("precision", precision)];
    let model = infty_sdk::host::model("net", &params).map_err(|e| e.with_param("model"))?;
    let info = model.info();
    if info.channels != 3 {
        return Err(PluginError::invalid_param(
            "model",
            format!("'{shown}' makes {} channels; {task} needs an RGB (3-channel) model", info.channels),
        ));
    }
    Ok((model, info))
}

/// The colour of `channels` planes of `area` samples in [0, 1] (gray, gray+alpha, RGB or
/// RGBA) as the 3 planes in [−1, 1] a model samples: gray repeated, alpha dropped.
pub fn colour_planes(planes: &[f32], channels: usize, area: usize) -> Vec<f32> {
    let plane = |c: usize| {
        let c = if channels < 3 { 0 } else { c };
        &planes[c * area..(c + 1) * area]
    };
    (0..3).flat_map(|c| plane(c).iter().map(|v| v * 2.0 - 1.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_planes_repeat_gray_and_drop_alpha() {
        // Gray+alpha, 2 samples: gray 0 and 1, alpha 0.5.
        assert_eq!(colour_planes(&[0.0, 1.0, 0.5, 0.5], 2, 2), [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]);
        // RGBA, 1 sample.
        assert_eq!(colour_planes(&[0.0, 0.5, 1.0, 0.25], 4, 1), [-1.0, 0.0, 1.0]);
    }
}
