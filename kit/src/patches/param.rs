//! The parameters every patch-sampling operator declares, written once.

use infty_sdk::{FromParam, ParamSpec, Params, PluginError};

/// How a patch-sampling operator conditions its model on the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A guided model reads the input through its guide field.
    Guided,
    /// Only the encoder reads the input (z), as in the paper's zero-shot tasks.
    Encode,
}

impl FromParam for Mode {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        Ok(if params.text(name)? == "encode" { Mode::Encode } else { Mode::Guided })
    }
}

/// `--mode` ([`Mode`]), described for the task by `summary`.
pub fn mode(summary: &str) -> ParamSpec {
    ParamSpec::choice("mode", summary, &["guided", "encode"]).default_text("guided")
}

/// `--model`: a `.safetensors` file or a name under a models folder
/// ([`crate::model_file::get`]), `default_model` when not given.
pub fn model(default_model: &str) -> ParamSpec {
    ParamSpec::text("model", "a .safetensors model, or the name of a folder under models/")
        .default_text(default_model)
}

/// `--sampler`, by name.
pub fn sampler() -> ParamSpec {
    ParamSpec::text("sampler", "any installed sampler: ddim, ddpm, ...").default_text("ddim")
}

/// `--steps`, the sampler's.
pub fn steps() -> ParamSpec {
    ParamSpec::text("steps", "sampling steps (the sampler's --steps)").default_text("20")
}

/// `--seed` of the coordinate-keyed noise.
pub fn seed() -> ParamSpec {
    ParamSpec::int("seed", "seed of the coordinate-keyed noise").default_int(0).at_least(0.0)
}

/// `--device` the model runs on.
pub fn device() -> ParamSpec {
    ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto")
}

/// `--precision` the model computes in.
pub fn precision() -> ParamSpec {
    ParamSpec::choice(
        "precision",
        "fp32, bf16, or auto: bf16 on CUDA and on CPUs with AMX, else fp32",
        &["fp32", "bf16", "auto"],
    )
    .default_text("auto")
}

/// `--batch`: patches per model call.
pub fn batch() -> ParamSpec {
    ParamSpec::int("batch", "patches per model call").default_int(8).at_least(1.0).at_most(256.0)
}
