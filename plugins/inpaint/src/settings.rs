//! The operator's parameters.

use std::path::PathBuf;

use infty_kit::patches::model_params;
use infty_sdk::{ItemSpec, ParamSpec, Params, PluginError};

/// The model `--model` names when it is not given: `models/default-inpaint/`.
pub const DEFAULT_MODEL: &str = "default-inpaint";

/// Checked parameters.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mask: String,
    pub invert_mask: bool,
    /// Whether a mask-guided model reads the known pixels (else only z and guidance).
    pub guided: bool,
    pub model: PathBuf,
    pub sampler: String,
    pub steps: String,
    pub strength: f64,
    pub guidance: f64,
    /// λ_t = λ·ᾱ_t/2 (true) or λ.
    pub guidance_by_alpha: bool,
    pub seed: u64,
    pub device: String,
    pub overlap: u32,
    pub batch: u32,
    pub border: u32,
    pub samples: u32,
    pub inv_snr: f64,
    /// Start from the input's own pixels under the mask instead of the smooth fill.
    pub keep_content: bool,
}

pub fn spec() -> ItemSpec {
    let spec = ItemSpec::operator("inpaint", "Fill the masked pixels with an ∞-Diff model: infty inpaint IN OUT --mask M")
        .with_help(
            "Samples 64-px patches (the model's size) on a fixed lattice over the pixels near the \
             mask, with reconstruction guidance towards the known pixels through the model's \
             vector-Jacobian product (∞-Diff §6), and blends them in. Known pixels farther than \
             --border from the mask are copied exactly, and tiles away from the mask are copied \
             without running the model. An empty mask copies the image with a warning; a mask \
             that covers every pixel is refused.",
        )
        .param(ParamSpec::text("mask", "mask image of the input's size: non-zero marks pixels to fill"))
        .param(ParamSpec::switch("invert-mask", "fill the mask's zero pixels instead"))
        .param(
            ParamSpec::choice(
                "mode",
                "guided: a mask-guided model reads the known pixels; encode: only the encoder (on the known pixels) and guidance",
                &["guided", "encode"],
            )
            .default_text("guided"),
        );
    model_params(spec, DEFAULT_MODEL)
        .param(
            ParamSpec::float("strength", "how much of the schedule to run (t_s / T)")
                .default_float(0.2)
                .greater_than(0.0)
                .at_most(1.0)
                .with_help(
                    "The chain starts at t_s = strength·(T−1) from the image noised that far: the \
                     known pixels with a smooth (membrane) fill in the holes, or the input's own \
                     pixels under the mask with --keep-content. Less keeps the fill closer to that start.",
                ),
        )
        .param(
            ParamSpec::float("guidance", "λ of the reconstruction guidance (0: none)")
                .default_float(1.0)
                .at_least(0.0)
                .at_most(100.0)
                .with_help(
                    "Each step subtracts λ_t ∇‖m ⊙ (x̂0 − T x̄)‖² (the model's VJP) from x_{t−1}. With \
                     --guidance-schedule alpha, λ_t = λ·ᾱ_t/2: λ = 1 moves the known pixels of x̂0 onto \
                     the image in one step, to first order.",
                ),
        )
        .param(
            ParamSpec::choice(
                "guidance-schedule",
                "λ_t over the chain: alpha (λ·ᾱ_t/2) or constant (λ)",
                &["alpha", "constant"],
            )
            .default_text("alpha"),
        )
        .param(ParamSpec::int("seed", "seed of the coordinate-keyed noise").default_int(0).at_least(0.0))
        .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
        .param(
            ParamSpec::int("overlap", "overlap of neighbouring patches, in pixels")
                .default_int(16)
                .at_least(1.0)
                .at_most(32.0),
        )
        .param(ParamSpec::int("batch", "patches per model call").default_int(8).at_least(1.0).at_most(256.0))
        .param(
            ParamSpec::int("border", "known pixels within this distance of the mask blend into the fill")
                .default_int(2)
                .at_least(0.0)
                .at_most(16.0),
        )
        .param(
            ParamSpec::int("samples", "samples averaged per patch")
                .default_int(1)
                .at_least(1.0)
                .at_most(64.0)
                .with_help(
                    "1 gives one sample, with texture; K > 1 averages K (K times the work), an estimate of \
                     the posterior mean: smoother, and closer to the original on PSNR and SSIM.",
                ),
        )
        .param(
            ParamSpec::float("inv-snr", "regularisation of the final Wiener inverse")
                .default_float(0.3)
                .greater_than(0.0)
                .at_most(1.0),
        )
        .param(ParamSpec::switch(
            "keep-content",
            "start from the input's pixels under the mask, not a smooth fill",
        ))
}

impl Settings {
    pub fn from_params(params: &Params) -> Result<Settings, PluginError> {
        Ok(Settings {
            mask: params.text("mask")?.to_string(),
            invert_mask: params.bool("invert-mask")?,
            guided: params.text("mode")? == "guided",
            model: infty_kit::model_file::get(params.text("model")?)?,
            sampler: params.text("sampler")?.to_string(),
            steps: params.text("steps")?.to_string(),
            strength: params.float("strength")?,
            guidance: params.float("guidance")?,
            guidance_by_alpha: params.text("guidance-schedule")? == "alpha",
            seed: params.int("seed")? as u64,
            device: params.text("device")?.to_string(),
            overlap: params.int("overlap")? as u32,
            batch: params.int("batch")? as u32,
            border: params.int("border")? as u32,
            samples: params.int("samples")? as u32,
            inv_snr: params.float("inv-snr")?,
            keep_content: params.bool("keep-content")?,
        })
    }
}
