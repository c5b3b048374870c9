//! The operator's parameters, declared once: the spec `infty help` shows and the
//! settings the operator reads.

use infty_kit::model_file::ModelFile;
use infty_kit::patches::param::{self, Mode};
use infty_sdk::{ItemSpec, ParamSpec};

/// The model `--model` names when it is not given: `models/default-sr/`.
pub const DEFAULT_MODEL: &str = "default-sr";

infty_sdk::settings! {
    /// Checked parameters.
    #[derive(Clone, Debug)]
    pub struct Settings {
        pub scale: f64 = ParamSpec::float("scale", "output size / input size, e.g. 2, 3.7, 4")
            .greater_than(0.0)
            .at_most(64.0),
        /// Encode: the paper's zero-shot super-resolution, the encoder reading the input at
        /// the model's size and the decoder sampling at the output's (docs/reference.md §6).
        pub mode: Mode =
            param::mode("guided: the model reads the input at every output pixel; encode: zero-shot, through z only"),
        pub model: ModelFile = param::model(DEFAULT_MODEL),
        pub sampler: String = param::sampler(),
        pub steps: String = param::steps(),
        pub strength: f64 =
            ParamSpec::float("strength", "how much of the schedule to run, from the input noised that far")
                .default_float(0.4)
                .greater_than(0.0)
                .at_most(1.0)
                .with_help(
                    "1 starts from pure noise, as the reference samples; less starts from the bicubic \
                     input noised to that timestep and keeps more of it (0.4: best PSNR and SSIM measured \
                     with the default model, scripts/eval-sr).",
                ),
        pub samples: u32 = ParamSpec::int("samples", "samples averaged per patch (their mean: fewer errors, less texture)")
            .default_int(1)
            .at_least(1.0)
            .at_most(64.0)
            .with_help(
                "The mean of several samples tends to the posterior mean, the output of least \
                 squared error (best PSNR); one sample keeps the texture the model generates. \
                 Each sample costs a full run.",
            ),
        pub seed: u64 = param::seed(),
        pub device: String = param::device(),
        pub precision: String = param::precision(),
        pub overlap: u32 = ParamSpec::int("overlap", "overlap of neighbouring patches, in model pixels")
            .default_int(16)
            .at_least(1.0)
            .at_most(128.0),
        pub batch: u32 = param::batch(),
        pub keep_mollified: bool =
            ParamSpec::switch("keep-mollified", "leave the output mollified (skip the Wiener inverse)"),
        /// Sample without pulling each step towards the input.
        pub free: bool =
            ParamSpec::switch("free", "do not pull each step's x0 towards the input (back-projection)"),
        pub inv_snr: f64 = ParamSpec::float("inv-snr", "regularisation of the Wiener inverse")
            .default_float(0.3)
            .greater_than(0.0)
            .at_most(1.0)
            .with_help("The reference's FID uses 0.05; 0.3 amplifies the sampler's residual noise less and measured best."),
    }
}

/// The declaration shared by `superres` and `upscale`.
pub fn spec(name: &str, summary: &str) -> ItemSpec {
    ItemSpec::operator(name, summary)
        .with_help(
            "Samples the output with an ∞-Diff model in patches of the model's size, on a fixed \
             lattice with sin² blending, so any tiling of the output gives the same pixels. Noise \
             is keyed by output coordinates and --seed. The result is unmollified (Wiener inverse, \
             per patch) unless --keep-mollified, and clamped to [0, 1].",
        )
        .with_params(Settings::params())
}
