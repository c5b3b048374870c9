//! The operator's parameters, and finding the model they name.

use std::path::PathBuf;

use infty_kit::patches::model_params;
use infty_sdk::{ItemSpec, ParamSpec, Params, PluginError};

/// The model `--model` names when it is not given: `models/default-sr/`.
pub const DEFAULT_MODEL: &str = "default-sr";

/// How the output is made from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A guided model reads the input, evaluated bicubically at every output pixel.
    Guided,
    /// The paper's zero-shot super-resolution: the encoder reads the input at the
    /// model's size and the decoder samples at the output's (docs/reference.md §6).
    Encode,
}

/// Checked parameters.
#[derive(Clone, Debug)]
pub struct Settings {
    pub scale: f64,
    pub mode: Mode,
    pub model: PathBuf,
    pub sampler: String,
    pub steps: String,
    pub seed: u64,
    pub device: String,
    pub overlap: u32,
    pub batch: u32,
    pub keep_mollified: bool,
    pub inv_snr: f64,
    /// Sample without pulling each step towards the input.
    pub free: bool,
    pub strength: f64,
}

/// The declaration shared by `superres` and `upscale`.
pub fn spec(name: &str, summary: &str) -> ItemSpec {
    let spec = ItemSpec::operator(name, summary)
        .with_help(
            "Samples the output with an ∞-Diff model in patches of the model's size, on a fixed \
             lattice with sin² blending, so any tiling of the output gives the same pixels. Noise \
             is keyed by output coordinates and --seed. The result is unmollified (Wiener inverse, \
             per patch) unless --keep-mollified, and clamped to [0, 1].",
        )
        .param(
            ParamSpec::float("scale", "output size / input size, e.g. 2, 3.7, 4")
                .greater_than(0.0)
                .at_most(64.0),
        )
        .param(
            ParamSpec::choice(
                "mode",
                "guided: the model reads the input at every output pixel; encode: zero-shot, through z only",
                &["guided", "encode"],
            )
            .default_text("guided"),
        );
    model_params(spec, DEFAULT_MODEL)
        .param(
            ParamSpec::float("strength", "how much of the schedule to run, from the input noised that far")
                .default_float(0.4)
                .greater_than(0.0)
                .at_most(1.0)
                .with_help(
                    "1 starts from pure noise, as the reference samples; less starts from the bicubic \
                     input noised to that timestep and keeps more of it (0.4: best PSNR and SSIM measured \
                     with the default model, scripts/eval-sr).",
                ),
        )
        .param(ParamSpec::int("seed", "seed of the coordinate-keyed noise").default_int(0).at_least(0.0))
        .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
        .param(
            ParamSpec::int("overlap", "overlap of neighbouring patches, in model pixels")
                .default_int(16)
                .at_least(1.0)
                .at_most(128.0),
        )
        .param(ParamSpec::int("batch", "patches per model call").default_int(8).at_least(1.0).at_most(256.0))
        .param(ParamSpec::switch("keep-mollified", "leave the output mollified (skip the Wiener inverse)"))
        .param(ParamSpec::switch("free", "do not pull each step's x0 towards the input (back-projection)"))
        .param(
            ParamSpec::float("inv-snr", "regularisation of the Wiener inverse")
                .default_float(0.3)
                .greater_than(0.0)
                .at_most(1.0)
                .with_help("The reference's FID uses 0.05; 0.3 amplifies the sampler's residual noise less and measured best."),
        )
}

impl Settings {
    pub fn from_params(params: &Params) -> Result<Settings, PluginError> {
        Ok(Settings {
            scale: params.float("scale")?,
            mode: if params.text("mode")? == "encode" { Mode::Encode } else { Mode::Guided },
            model: infty_kit::model_file::get(params.text("model")?)?,
            sampler: params.text("sampler")?.to_string(),
            steps: params.text("steps")?.to_string(),
            seed: params.int("seed")? as u64,
            device: params.text("device")?.to_string(),
            overlap: params.int("overlap")? as u32,
            batch: params.int("batch")? as u32,
            keep_mollified: params.bool("keep-mollified")?,
            inv_snr: params.float("inv-snr")?,
            free: params.bool("free")?,
            strength: params.float("strength")?,
        })
    }
}
