//! The operator's parameters, declared once: the spec `infty help` shows and the
//! settings the operator reads.

use infty_kit::model_file::ModelFile;
use infty_kit::patches::param::{self, Mode};
use infty_sdk::{FromParam, ItemSpec, ParamSpec, Params, PluginError};

/// The model `--model` names when it is not given: `models/default-inpaint/`.
pub const DEFAULT_MODEL: &str = "default-inpaint";

/// λ_t over the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuidanceSchedule {
    /// λ·ᾱ_t/2.
    Alpha,
    /// λ.
    Constant,
}

impl FromParam for GuidanceSchedule {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        Ok(if params.text(name)? == "constant" {
            GuidanceSchedule::Constant
        } else {
            GuidanceSchedule::Alpha
        })
    }
}

infty_sdk::settings! {
    /// Checked parameters.
    #[derive(Clone, Debug)]
    pub struct Settings {
        pub mask: String =
            ParamSpec::text("mask", "mask image of the input's size: non-zero marks pixels to fill"),
        pub invert_mask: bool = ParamSpec::switch("invert-mask", "fill the mask's zero pixels instead"),
        pub mode: Mode = param::mode(
            "guided: a mask-guided model reads the known pixels; encode: only the encoder (on the known pixels) and guidance",
        ),
        pub model: ModelFile = param::model(DEFAULT_MODEL),
        pub sampler: String = param::sampler(),
        pub steps: String = param::steps(),
        pub strength: f64 = ParamSpec::float("strength", "how much of the schedule to run (t_s / T)")
            .default_float(0.2)
            .greater_than(0.0)
            .at_most(1.0)
            .with_help(
                "The chain starts at t_s = strength·(T−1) from the image noised that far: the \
                 known pixels with a smooth (membrane) fill in the holes, or the input's own \
                 pixels under the mask with --keep-content. Less keeps the fill closer to that start.",
            ),
        pub guidance: f64 = ParamSpec::float("guidance", "λ of the reconstruction guidance (0: none)")
            .default_float(1.0)
            .at_least(0.0)
            .at_most(100.0)
            .with_help(
                "Each step subtracts λ_t ∇‖m ⊙ (x̂0 − T x̄)‖² (the model's VJP) from x_{t−1}. With \
                 --guidance-schedule alpha, λ_t = λ·ᾱ_t/2: λ = 1 moves the known pixels of x̂0 onto \
                 the image in one step, to first order.",
            ),
        pub guidance_schedule: GuidanceSchedule = ParamSpec::choice(
            "guidance-schedule",
            "λ_t over the chain: alpha (λ·ᾱ_t/2) or constant (λ)",
            &["alpha", "constant"],
        )
        .default_text("alpha"),
        pub seed: u64 = param::seed(),
        pub device: String = param::device(),
        pub precision: String = param::precision(),
        pub overlap: u32 = ParamSpec::int("overlap", "overlap of neighbouring patches, in pixels")
            .default_int(16)
            .at_least(1.0)
            .at_most(32.0),
        pub batch: u32 = param::batch(),
        pub border: u32 =
            ParamSpec::int("border", "known pixels within this distance of the mask blend into the fill")
                .default_int(2)
                .at_least(0.0)
                .at_most(16.0),
        pub samples: u32 = ParamSpec::int("samples", "samples averaged per patch")
            .default_int(1)
            .at_least(1.0)
            .at_most(64.0)
            .with_help(
                "1 gives one sample, with texture; K > 1 averages K (K times the work), an estimate of \
                 the posterior mean: smoother, and closer to the original on PSNR and SSIM.",
            ),
        pub inv_snr: f64 = ParamSpec::float("inv-snr", "regularisation of the final Wiener inverse")
            .default_float(0.3)
            .greater_than(0.0)
            .at_most(1.0),
        /// Start from the input's own pixels under the mask instead of the smooth fill.
        pub keep_content: bool = ParamSpec::switch(
            "keep-content",
            "start from the input's pixels under the mask, not a smooth fill",
        ),
    }
}

pub fn spec() -> ItemSpec {
    ItemSpec::operator(
        "inpaint",
        "Fill the masked pixels with an ∞-Diff model: infty inpaint IN OUT --mask M",
    )
    .with_help(
        "Samples 64-px patches (the model's size) on a fixed lattice over the pixels near the \
             mask, with reconstruction guidance towards the known pixels through the model's \
             vector-Jacobian product (∞-Diff §6), and blends them in. Known pixels farther than \
             --border from the mask are copied exactly, and tiles away from the mask are copied \
             without running the model. An empty mask copies the image with a warning; a mask \
             that covers every pixel is refused.",
    )
    .with_params(Settings::params())
}
