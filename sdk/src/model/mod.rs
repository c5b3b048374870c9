//! The `Model` kind: a learned operator on fields (the ∞-Diff network). A model
//! denoises (x_t at a set of points, t, z, optional guide → mollified ε̂), encodes (a
//! clean image at a set of points → z), gives the vector-Jacobian product of denoise
//! with respect to x_t (reconstruction guidance), takes training steps and saves itself.
//!
//! Every buffer is channel-major per item: `x[(b·C + c)·N + i]` is channel `c` of point
//! `i` of item `b`, where the points are [`Points`]: every pixel of a square raster in
//! row-major order, or a chosen list per item. Before the model runs, the SDK checks
//! every buffer's length against the batch, every point against the raster, every
//! timestep against the schedule, the guide against the model's, and that no sample is
//! NaN or infinite (see [`ModelBox`]).

mod ffi;

pub use ffi::{new_model_box, ModelBox, ModelFfi, ModelFfi_TO};

use abi_stable::std_types::{RSlice, RString};
use abi_stable::StableAbi;

use crate::{ItemKind, ItemSpec, Params, PluginError, Point};

/// What a model's guide field holds, so a task knows what to give it. A model records
/// it by name under `guide` in its config ([`ModelInfo::guide`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideKind {
    /// No guide field.
    None,
    /// The low-resolution image evaluated at every pixel (super-resolution).
    LowRes,
    /// The image with its holes set to 0, then the mask (1 known, 0 hole).
    Mask,
    /// The image with its holes filled by the harmonic fill, then the mask.
    Fill,
}

impl GuideKind {
    /// From the name a model config records; `""` means none.
    pub fn from_name(name: &str) -> Result<GuideKind, PluginError> {
        match name {
            "" | "none" => Ok(GuideKind::None),
            "lowres" => Ok(GuideKind::LowRes),
            "mask" => Ok(GuideKind::Mask),
            "fill" => Ok(GuideKind::Fill),
            other => Err(PluginError::invalid_input(format!(
                "unknown guide '{other}': guides are lowres, mask, fill, or none"
            ))),
        }
    }

    /// The name a model config records (`""` for none).
    pub fn name(self) -> &'static str {
        match self {
            GuideKind::None => "",
            GuideKind::LowRes => "lowres",
            GuideKind::Mask => "mask",
            GuideKind::Fill => "fill",
        }
    }

    /// Guide channels for a model of `channels` image channels.
    pub fn channels(self, channels: u32) -> u32 {
        match self {
            GuideKind::None => 0,
            GuideKind::LowRes => channels,
            GuideKind::Mask | GuideKind::Fill => channels + 1,
        }
    }
}

/// What a model is: its shapes and the diffusion it was trained with.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Image channels of x_t and ε̂.
    pub channels: u32,
    /// Channels of the guide field the decoder also reads (0: none).
    pub guide_channels: u32,
    /// Size of the latent z.
    pub z_dim: u32,
    /// Side of the square crops it was trained on; σ is in pixels at this size.
    pub train_size: u32,
    /// σ of the mollifier T in pixels at `train_size`.
    pub mollifier_sigma: f64,
    /// The training noise schedule, e.g. `cosine`.
    pub noise_schedule: RString,
    /// Diffusion steps of the training schedule; timesteps lie in `[0, steps)`.
    pub diffusion_steps: u32,
    /// Training steps taken so far.
    pub train_step: u64,
    /// Where it runs, e.g. `cpu` or `cuda:0`.
    pub device: RString,
    /// The full configuration as JSON.
    pub config_json: RString,
}

/// Where a batch is evaluated: every pixel of `batch` square rasters of side `size`
/// (`points` empty), or `points.len() / batch` chosen pixels per item.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct Points<'a> {
    /// Side of the square raster the points lie on.
    pub size: u32,
    /// Items in the batch.
    pub batch: u32,
    /// The chosen pixels, item by item; empty for every pixel.
    pub points: RSlice<'a, Point>,
}

impl<'a> Points<'a> {
    /// Every pixel of `batch` rasters of side `size`.
    pub fn dense(size: u32, batch: u32) -> Self {
        Self { size, batch, points: RSlice::default() }
    }

    /// `points.len() / batch` chosen pixels per item.
    pub fn sparse(size: u32, batch: u32, points: &'a [Point]) -> Self {
        Self { size, batch, points: points.into() }
    }

    /// Points per item.
    pub fn per_item(&self) -> usize {
        if self.points.is_empty() {
            self.size as usize * self.size as usize
        } else {
            self.points.len() / self.batch.max(1) as usize
        }
    }

    /// Samples in a buffer of `channels` per point for the whole batch.
    pub fn len(&self, channels: u32) -> usize {
        self.batch as usize * channels as usize * self.per_item()
    }

    /// Whether the batch holds no samples.
    pub fn is_empty(&self) -> bool {
        self.batch == 0 || self.size == 0
    }
}

/// One denoising call: x_t, the timesteps, the latents and any guide at the points.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct ModelInput<'a> {
    /// Where the samples are.
    pub at: Points<'a>,
    /// x_t, `batch × channels × N`.
    pub x: RSlice<'a, f32>,
    /// The guide field, `batch × guide_channels × N`; empty when the model has none.
    pub guide: RSlice<'a, f32>,
    /// The original training timestep of each item, `batch` values in `[0, steps)`.
    pub t: RSlice<'a, f32>,
    /// The latents, `batch × z_dim`.
    pub z: RSlice<'a, f32>,
}

/// One training step's data (docs/reference.md §3.3): x_t and the target (Tξ, or v) at the
/// sampled points, and the clean image at an independent set of points for the encoder.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct TrainBatch<'a> {
    /// x_t (and guide) at the points and t; `z` is ignored: the encoder computes it.
    pub input: ModelInput<'a>,
    /// The target at the same points, `batch × channels × N`: Tξ, or v for a model
    /// that predicts v ([`ModelInfo::predicts_v`]).
    pub target: RSlice<'a, f32>,
    /// The encoder's points.
    pub encoder_at: Points<'a>,
    /// The clean image at the encoder's points, `batch × channels × N_enc`.
    pub encoder_x: RSlice<'a, f32>,
}

/// What a training step reports.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct TrainStats {
    /// The batch's mean squared error before the update.
    pub loss: f64,
    /// Training steps taken, this one included.
    pub step: u64,
}

/// A learned model, written with plain Rust types. The SDK has checked every buffer
/// length, point and timestep against [`Model::info`] before any method runs.
pub trait Model: Send + Sync + Sized + 'static {
    /// The declaration; build it with [`ItemSpec::model`].
    fn spec() -> ItemSpec;

    /// Builds the model (loads its checkpoint) from checked parameters.
    fn new(params: &Params) -> Result<Self, PluginError>;

    /// Its shapes and diffusion set-up.
    fn info(&self) -> ModelInfo;

    /// Writes the mollified ε̂ at the points into `eps` (`batch × channels × N`).
    fn denoise(&self, input: &ModelInput<'_>, eps: &mut [f32]) -> Result<(), PluginError>;

    /// Writes the latents of a clean image at the points into `z` (`batch × z_dim`).
    fn encode(&self, at: &Points<'_>, x: &[f32], z: &mut [f32]) -> Result<(), PluginError>;

    /// Writes ε̂ into `eps` and the vector-Jacobian product `(∂ε̂/∂x_t)ᵀ·cotangent` into
    /// `grad` (both `batch × channels × N`).
    fn denoise_vjp(
        &self,
        input: &ModelInput<'_>,
        cotangent: &[f32],
        eps: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), PluginError>;

    /// One optimisation step on `batch`. Default: unsupported (inference-only models).
    fn train_step(&self, batch: &TrainBatch<'_>) -> Result<TrainStats, PluginError> {
        let _ = batch;
        Err(PluginError::unsupported("this model cannot be trained"))
    }

    /// Saves the model (and any training state) to `path`.
    fn save(&self, path: &str) -> Result<(), PluginError>;
}

impl ModelInfo {
    /// What the guide field holds: the `guide` entry of the config (absent: none). The
    /// config carries it because the layout of this struct is fixed (docs/plugins.md,
    /// "Versions").
    pub fn guide(&self) -> Result<GuideKind, PluginError> {
        let config = self.config()?;
        GuideKind::from_name(config.get("guide").and_then(|g| g.as_str()).unwrap_or(""))
    }

    /// k when the model diffuses k·(x − guide) rather than x: the `residual_scale` entry
    /// of the config (absent or 0: none).
    pub fn residual_scale(&self) -> Option<f32> {
        let config = self.config().ok()?;
        let k = config.get("residual_scale")?.as_f64()?;
        (k > 0.0).then_some(k as f32)
    }

    /// Whether the network's training target is v = √ᾱ·ε − √(1−ᾱ)·x0 rather than ε: the
    /// `prediction` entry of the config. Its calls answer ε̂ either way.
    pub fn predicts_v(&self) -> bool {
        let config = self.config().ok();
        config.is_some_and(|c| c.get("prediction").and_then(|p| p.as_str()) == Some("v"))
    }

    /// The config the model was built from, parsed.
    fn config(&self) -> Result<serde_json::Value, PluginError> {
        serde_json::from_str(&self.config_json)
            .map_err(|e| PluginError::invalid_input(format!("the model's config is not JSON: {e}")))
    }
}

impl ItemSpec {
    /// A model named `name`.
    pub fn model(name: &str, summary: &str) -> Self {
        let mut spec = Self::operator(name, summary);
        spec.kind = ItemKind::Model;
        spec
    }
}
