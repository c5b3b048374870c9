//! The network's configuration: every field of the reference configs
//! (`configs/ffhq_128_config.py` etc., docs/reference.md §3.1 and §4), plus what infty adds
//! (guide channels, the grid-sample mapping). It is stored in every checkpoint.

use serde::{Deserialize, Serialize};

/// Everything that fixes the network's shape and behaviour. Unknown keys are ignored
/// when reading, so the golden manifest's `config` reads as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Side S of the square training crops; kernels and σ are in pixels at this size.
    pub img_size: i64,
    /// Image channels (3 when a config leaves it out, as the reference's do).
    #[serde(default = "three")]
    pub channels: i64,
    /// Width of the sparse blocks.
    pub nf: i64,
    /// Width of the time embedding.
    pub time_emb_dim: i64,
    /// Sparse residual blocks on each side of the grid U-Net.
    pub num_conv_blocks: i64,
    /// Neighbours of the sparse → grid interpolation.
    pub knn_neighbours: i64,
    /// Side of the depthwise sparse kernels at `img_size`.
    pub kernel_size: i64,
    /// Side R of the grid the U-Net works on.
    pub uno_res: i64,
    /// Base width of the grid U-Net.
    pub uno_base_channels: i64,
    /// Width multiplier of each U-Net level.
    pub uno_mults: Vec<i64>,
    /// Conv blocks per U-Net level.
    pub uno_blocks_per_level: Vec<i64>,
    /// U-Net resolutions that get self-attention.
    pub uno_attn_resolutions: Vec<i64>,
    /// Dropout applies at U-Net resolutions at or below this.
    pub uno_dropout_from_resolution: i64,
    /// Dropout probability (training only).
    pub uno_dropout: f64,
    /// Size of the latent z from the encoder.
    pub z_dim: i64,
    /// Extra decoder input channels: a guide field evaluated at each coordinate (e.g. the
    /// low-resolution image, or a masked image plus its mask). 0 in reference configs.
    #[serde(default)]
    pub guide_channels: i64,
    /// What the guide field is, for the tasks that make it: `lowres` (the low-resolution
    /// image, for super-resolution), `mask`, or empty for none.
    #[serde(default)]
    pub guide: String,
    /// Reproduce the reference's `grid_sample` call (coordinates in [0,1], (row, col) as
    /// (x, y), docs/reference.md §8.1 #1) instead of the corrected mapping. True for
    /// reference checkpoints; new models use the corrected one.
    #[serde(default = "reference_default")]
    pub reference_grid_sample: bool,
    /// eps of the U-Net's channel LayerNorm (1e-5 in float32, as the reference in fp32).
    #[serde(default = "layer_norm_eps_default")]
    pub layer_norm_eps: f64,
    /// σ of the mollifier T in pixels at `img_size`.
    #[serde(default = "one")]
    pub mollifier_sigma: f64,
    /// The noise schedule the model was trained with.
    #[serde(default = "cosine")]
    pub noise_schedule: String,
    /// Diffusion steps of the training schedule.
    #[serde(default = "thousand")]
    pub diffusion_steps: i64,
    /// k > 0: the model diffuses k·(x − guide), the detail its guide lacks, scaled to
    /// about the range of an image (residual prediction, as SRDiff, Li et al. 2022);
    /// 0: the image itself, as the reference.
    #[serde(default)]
    pub residual_scale: f64,
    /// What the network outputs: `eps` (the noise, as the reference) or `v`
    /// ([`crate::prediction`]).
    #[serde(default)]
    pub prediction: Prediction,
}

/// What the network outputs ([`crate::prediction`]); written `eps` or `v` in a config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// The noise, as the reference.
    #[default]
    Eps,
    /// v = √ᾱ·ε − √(1−ᾱ)·x0.
    V,
}

fn three() -> i64 {
    3
}
fn reference_default() -> bool {
    true
}
fn layer_norm_eps_default() -> f64 {
    1e-5
}
fn one() -> f64 {
    1.0
}
fn cosine() -> String {
    "cosine".into()
}
fn thousand() -> i64 {
    1000
}

/// The presets `--config` accepts.
pub const PRESETS: [&str; 3] = ["tiny", "ffhq128", "ffhq256"];

impl NetConfig {
    /// A preset by name: `tiny` (64² crops, a 32² grid U-Net of three levels, trains on
    /// a CPU; corrected grid mapping), or the reference's `ffhq128` and `ffhq256`
    /// (docs/reference.md §3.1). They live in `plugins/net/configs/*.json`, which the
    /// reference-checkpoint converter reads too.
    pub fn preset(name: &str) -> Option<Self> {
        let json = match name {
            "tiny" => include_str!("../configs/tiny.json"),
            "ffhq128" => include_str!("../configs/ffhq128.json"),
            "ffhq256" => include_str!("../configs/ffhq256.json"),
            _ => return None,
        };
        // The presets parse: `presets_are_valid` checks each.
        serde_json::from_str(json).ok()
    }

    /// Checks the fields a network cannot be built from, and sizes far beyond any real
    /// network's (a corrupt or hostile config must not allocate the machine away).
    pub fn validate(&self) -> Result<(), String> {
        let sizes = [
            ("img_size", self.img_size, 1 << 16),
            ("channels", self.channels, 64),
            ("nf", self.nf, 4096),
            ("time_emb_dim", self.time_emb_dim, 8192),
            ("knn_neighbours", self.knn_neighbours, 64),
            ("uno_res", self.uno_res, 1024),
            ("uno_base_channels", self.uno_base_channels, 4096),
            ("z_dim", self.z_dim, 1 << 16),
        ];
        for (name, v, max) in sizes {
            if !(1..=max).contains(&v) {
                return Err(format!("{name} must lie in 1..={max}, got {v}"));
            }
        }
        let counts =
            [("num_conv_blocks", self.num_conv_blocks, 64), ("guide_channels", self.guide_channels, 64)];
        for (name, v, max) in counts {
            if !(0..=max).contains(&v) {
                return Err(format!("{name} must lie in 0..={max}, got {v}"));
            }
        }
        if self.uno_mults.len() > 8 || self.uno_mults.iter().any(|m| !(1..=64).contains(m)) {
            return Err(format!("uno_mults must be at most 8 factors in 1..=64, got {:?}", self.uno_mults));
        }
        if self.uno_blocks_per_level.iter().any(|b| !(0..=32).contains(b)) {
            return Err(format!(
                "uno_blocks_per_level must lie in 0..=32, got {:?}",
                self.uno_blocks_per_level
            ));
        }
        if !(1..=127).contains(&self.kernel_size) || self.kernel_size % 2 == 0 {
            return Err(format!("kernel_size must be odd and at most 127, got {}", self.kernel_size));
        }
        if self.time_emb_dim < 4 || self.time_emb_dim % 2 == 1 {
            return Err(format!("time_emb_dim must be even and at least 4, got {}", self.time_emb_dim));
        }
        if self.uno_mults.is_empty() || self.uno_mults.len() != self.uno_blocks_per_level.len() {
            return Err("uno_mults and uno_blocks_per_level must be non-empty and of equal length".into());
        }
        let halvings = self.uno_mults.len() as u32 - 1;
        if self.uno_res % (1 << halvings) != 0 {
            return Err(format!("uno_res {} must be divisible by 2^{halvings}", self.uno_res));
        }
        if self.diffusion_steps <= 0 || self.diffusion_steps > i64::from(u32::MAX) {
            return Err(format!("diffusion_steps must be positive, got {}", self.diffusion_steps));
        }
        if !(0.0..1.0).contains(&self.uno_dropout) {
            return Err(format!("uno_dropout must lie in [0, 1), got {}", self.uno_dropout));
        }
        if !(self.mollifier_sigma > 0.0 && self.layer_norm_eps > 0.0) {
            return Err("mollifier_sigma and layer_norm_eps must be positive".into());
        }
        if !(self.residual_scale >= 0.0 && self.residual_scale.is_finite()) {
            return Err(format!("residual_scale must be 0 or positive, got {}", self.residual_scale));
        }
        // The residual is added back to the guide, so the guide must be an image.
        if self.residual_scale > 0.0 && !matches!(self.guide.as_str(), "lowres" | "fill") {
            let guide = if self.guide.is_empty() { "none" } else { self.guide.as_str() };
            return Err(format!(
                "residual_scale needs a guide that estimates the image (lowres or fill), not '{guide}'"
            ));
        }
        Ok(())
    }

    /// The kernel side at raster side `size` (`get_torch_norm_kernel_size`, docs/reference.md
    /// §4.2): `max(3, 2·round((k·S'/S − 1)/2) + 1)` with half-to-even rounding.
    pub fn kernel_size_at(&self, size: i64) -> i64 {
        if size == self.img_size {
            return self.kernel_size;
        }
        let scaled = self.kernel_size as f64 * size as f64 / self.img_size as f64;
        let k = 2 * ((scaled - 1.0) / 2.0).round_ties_even() as i64 + 1;
        k.max(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_sizes_at_other_resolutions_match_the_reference() {
        let c = NetConfig::preset("ffhq128").unwrap();
        assert_eq!(c.kernel_size_at(128), 7);
        assert_eq!(c.kernel_size_at(256), 13);
        assert_eq!(c.kernel_size_at(512), 29);
        assert_eq!(c.kernel_size_at(64), 3);
        assert_eq!(c.kernel_size_at(32), 3);
        // tiny golden config: S = 32 → 64: 13, 16: 3, 48: 11 (manifest).
        let tiny = NetConfig { img_size: 32, ..c };
        assert_eq!([tiny.kernel_size_at(64), tiny.kernel_size_at(16), tiny.kernel_size_at(48)], [13, 3, 11]);
    }

    #[test]
    fn presets_are_valid() {
        for name in PRESETS {
            NetConfig::preset(name).unwrap().validate().unwrap();
        }
        assert!(NetConfig { kernel_size: 6, ..NetConfig::preset("tiny").unwrap() }.validate().is_err());
    }

    #[test]
    fn a_residual_needs_an_image_guide() {
        let residual = |guide: &str| NetConfig {
            residual_scale: 10.0,
            guide: guide.into(),
            ..NetConfig::preset("tiny").unwrap()
        };
        assert!(residual("lowres").validate().is_ok() && residual("fill").validate().is_ok());
        assert!(residual("mask").validate().unwrap_err().contains("not 'mask'"));
        assert!(residual("").validate().unwrap_err().contains("not 'none'"));
    }
}
