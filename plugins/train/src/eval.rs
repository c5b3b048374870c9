//! `infty eval-loss DATA MODEL`: a model's loss on held-out crops, per timestep band,
//! beside the loss of predicting zero. By default the crops come from the same
//! held-out images `infty train` chose with the same --seed and --val-fraction; with
//! --all, from every image in DATA (a separate held-out folder).

use std::fmt::Write as _;
use std::path::Path;

use infty_sdk::{ItemSpec, ParamSpec, Params, PluginError, Task};

use crate::data::{DataOptions, Dataset, Split};
use crate::diffusion::Diffusion;
use crate::validate::{BandLosses, HeldOut, BANDS};

/// The `eval-loss` task.
pub struct EvalLoss;

impl Task for EvalLoss {
    fn spec() -> ItemSpec {
        ItemSpec::task("eval-loss", "Held-out loss of a model per timestep band, beside predicting zero")
            .param(ParamSpec::path("data", "folder of images"))
            .param(ParamSpec::path("model", "a .safetensors model or checkpoint (its EMA decoder is used)"))
            .param(ParamSpec::switch(
                "all",
                "score crops of every image in DATA, not only the held-out split",
            ))
            .param(ParamSpec::float("downscale", "as given to infty train").default_float(1.0).at_least(1.0))
            .param(ParamSpec::int("seed", "as given to infty train").default_int(0).at_least(0.0))
            .param(
                ParamSpec::float("val-fraction", "as given to infty train")
                    .default_float(0.1)
                    .at_least(0.0)
                    .at_most(0.5),
            )
            .param(ParamSpec::int("crops", "held-out crops scored").default_int(64).at_least(1.0))
            .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
    }

    fn run(params: &Params) -> Result<(), PluginError> {
        let path = params.text("model")?;
        let model =
            infty_sdk::host::model("net", &[("checkpoint", path), ("device", params.text("device")?)])?;
        let info = model.info();
        let all = params.bool("all")?;
        let options = DataOptions {
            crop: info.train_size,
            downscale: params.float("downscale")?,
            split: Split::Fraction(if all { 0.0 } else { params.float("val-fraction")? }),
            seed: params.int("seed")? as u64,
        };
        let data = Dataset::open(Path::new(params.text("data")?), &options)?;
        let images = if all { &data.train } else { &data.val };
        let held_out = HeldOut::new(images, params.int("crops")? as u32, info.train_size, options.seed)?;
        if held_out.is_empty() {
            return Err(PluginError::invalid_param(
                "data",
                "no held-out images: the folder has a single usable image",
            )
            .with_help("give --all to score every image of DATA"));
        }
        let diffusion = Diffusion::new(&info, info.guide()?)?;
        let losses = held_out.evaluate(&model, &diffusion)?;
        print!("{}", table(&losses, diffusion.alphas_cumprod.len()));
        Ok(())
    }
}

/// A Markdown table: band, timesteps, model, zero, their ratio.
pub fn table(losses: &BandLosses, steps: usize) -> String {
    let width = steps / BANDS;
    let mut out = String::from("| timesteps | model | predicting zero | ratio |\n|---|---|---|---|\n");
    for band in 0..BANDS {
        let (m, z) = (losses.model[band], losses.zero[band]);
        let _ =
            writeln!(out, "| {}–{} | {m:.5} | {z:.5} | {:.3} |", band * width, (band + 1) * width - 1, m / z);
    }
    let (m, z) = (losses.mean(), losses.zero_mean());
    let _ = writeln!(out, "| mean | {m:.5} | {z:.5} | {:.3} |", m / z);
    out
}
