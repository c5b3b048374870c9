//! `infty sample`'s parameters, declared once: the spec `infty help sample` shows and
//! the settings the task reads.

use infty_kit::model_file::ModelFile;
use infty_kit::patches::param;
use infty_sdk::{FromParam, ItemSpec, ParamSpec, Params, PluginError};

infty_sdk::settings! {
    /// Checked parameters.
    #[derive(Clone, Debug)]
    pub struct Settings {
        pub model: ModelFile =
            ParamSpec::text("model", "the decoder: a .safetensors model, or the name of a folder under models/"),
        pub out: String = ParamSpec::path(
            "out",
            "the output: a .png, .tif or .jpg file; with --count N > 1, OUT-0000.png ... (or one grid with --grid)",
        ),
        pub count: u32 = ParamSpec::int("count", "how many samples").default_int(1).at_least(1.0).at_most(100_000.0),
        pub size: Size = ParamSpec::text("size", "side of each sample in pixels, or model: the model's training size")
            .default_text("model")
            .with_help(
                "Any side: the decoder samples every pixel of an S×S raster, with σ and the starting \
                 noise scaled by S/S_train as the reference does (docs/generate.md).",
            ),
        pub prior: String = ParamSpec::path("prior", "the latent prior; empty: prior.safetensors beside the model")
            .default_text(""),
        pub z_from: String = ParamSpec::path(
            "z-from",
            "take z from the encoder of this image instead of the prior (a stochastic reconstruction)",
        )
        .default_text(""),
        pub sampler: String = param::sampler(),
        pub steps: String = ParamSpec::text("steps", "the decoder sampler's --steps").default_text("100"),
        pub latent_sampler: String =
            ParamSpec::text("latent-sampler", "the sampler of z under the prior").default_text("ddpm"),
        pub latent_steps: String = ParamSpec::text("latent-steps", "steps of the latent sampler").default_text("1000"),
        pub seed: u64 = param::seed(),
        pub grid: bool = ParamSpec::switch("grid", "write all samples into one image, in a grid"),
        pub batch: u32 = ParamSpec::int("batch", "samples per model call").default_int(4).at_least(1.0).at_most(256.0),
        pub device: String = param::device(),
        pub precision: String = param::precision(),
        pub inv_snr: f64 = ParamSpec::float("inv-snr", "regularisation of the Wiener inverse")
            .default_float(0.3)
            .greater_than(0.0)
            .at_most(1.0)
            .with_help(
                "0.3, as infty upscale: the reference's 0.05 (its FID setting) amplifies the few-step \
                 sampler's residual pixel noise into visible speckle.",
            ),
        pub keep_mollified: bool =
            ParamSpec::switch("keep-mollified", "leave the samples mollified (skip the Wiener inverse)"),
        pub memory: f64 = ParamSpec::float("memory", "GiB the decoder may use; 0: the memory available now")
            .default_float(0.0)
            .at_least(0.0),
    }
}

/// The declaration of `sample`.
pub fn spec() -> ItemSpec {
    ItemSpec::task(
        "sample",
        "Generate images with an ∞-Diff decoder and its latent prior: infty sample MODEL OUT",
    )
    .with_help(
        "Draws z from the latent prior (a DDPM chain, docs/generate.md), or from the encoder of \
             --z-from IMAGE, then samples every pixel of an S×S image with the decoder's chain \
             (--sampler, any installed sampler) and undoes the mollifier. Sample i's noise depends \
             only on --seed and i: the same seed gives the same samples whatever --count (another \
             --batch changes them only by floating-point rounding). Sizes whose memory the machine \
             lacks are refused before any work (--memory).",
    )
    .with_params(Settings::params())
}

/// `--size`: a side in pixels, or the model's own (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub Option<u32>);

impl FromParam for Size {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        let text = params.text(name)?;
        if text == "model" {
            return Ok(Size(None));
        }
        match text.parse::<u32>() {
            Ok(side) if side >= 1 => Ok(Size(Some(side))),
            _ => {
                Err(PluginError::invalid_param(name, format!("'{text}' is not a side in pixels (1 or more)"))
                    .with_help("give a side such as 128, or model for the model's training size"))
            }
        }
    }
}
