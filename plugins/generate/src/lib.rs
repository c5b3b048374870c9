//! infty plugin `org.infty.generate`: unconditional generation, `infty sample MODEL OUT`
//! (docs/generate.md). z comes from the latent prior (the `latent` model) or from the
//! encoder of an image; the decoder (`net`) then samples every pixel of an S×S image
//! with any installed sampler, at the model's size or any other.

mod decoder;
mod memory;
mod output;
mod prior;
mod settings;

use std::cell::Cell;
use std::path::PathBuf;
use std::time::Instant;

use infty_sdk::{ErrorKind, ItemSpec, Params, PluginError, Task};

use decoder::Decoder;
use output::Outputs;
use prior::Prior;
use settings::Settings;

/// `sample`: the task.
pub struct Sample;

/// Where each sample's z comes from.
enum Latents {
    Prior(Prior),
    /// The encoder's z of one image, shared by every sample.
    Image(Vec<f32>),
}

impl Task for Sample {
    fn spec() -> ItemSpec {
        settings::spec()
    }

    fn run(params: &Params) -> Result<(), PluginError> {
        let settings = Settings::from_params(params)?;
        let outputs = Outputs::new(&settings.out, settings.count, settings.grid)?;
        let decoder = Decoder::open(&settings.model.0, settings.size.0, &settings)?;
        let latents = Latents::open(&settings, &decoder)?;
        let per_batch = (latents.steps() + decoder.steps()) as u64;
        let batches = settings.count.div_ceil(settings.batch) as u64;
        let (total, started) = (per_batch * batches, Instant::now());
        let mut done = 0u64;
        let written = Cell::new(0u32);
        let mut tick = |what: &str| {
            done += 1;
            infty_sdk::host::progress(done, total, what);
            if infty_sdk::host::interrupted() {
                return Err(PluginError::new(
                    ErrorKind::Cancelled,
                    format!("stopped; {} samples were written", written.get()),
                ));
            }
            Ok(())
        };
        let mut kept = Vec::new();
        let indices: Vec<u32> = (0..settings.count).collect();
        for chunk in indices.chunks(settings.batch as usize) {
            let z = latents.sample(chunk, settings.seed, || tick("z"))?;
            let samples = decoder.sample(&z, chunk, || tick("image"))?;
            if outputs.is_grid() {
                kept.extend(samples);
            } else {
                for (&i, planes) in chunk.iter().zip(&samples) {
                    outputs.write_sample(i, planes, decoder.side)?;
                }
                written.set(written.get() + chunk.len() as u32);
            }
        }
        infty_sdk::host::progress(0, 0, "");
        let wrote = if outputs.is_grid() {
            outputs.write_grid(&kept, decoder.side)?.display().to_string()
        } else if settings.count == 1 {
            outputs.path_of(0).display().to_string()
        } else {
            format!("{} ... {}", outputs.path_of(0).display(), outputs.path_of(settings.count - 1).display())
        };
        let seconds = started.elapsed().as_secs_f64();
        println!("{} samples of {1}x{1} in {seconds:.1} s: {wrote}", settings.count, decoder.side);
        Ok(())
    }
}

impl Latents {
    /// The prior, or the encoder's z of `--z-from`.
    fn open(settings: &Settings, decoder: &Decoder) -> Result<Latents, PluginError> {
        if !settings.z_from.is_empty() {
            return Ok(Latents::Image(decoder.encode_image(&settings.z_from)?));
        }
        let (device, sampler, steps) = (&settings.device, &settings.latent_sampler, &settings.latent_steps);
        Ok(Latents::Prior(Prior::open(&prior_path(settings)?, decoder.info.z_dim, device, sampler, steps)?))
    }

    /// Model calls per batch.
    fn steps(&self) -> usize {
        match self {
            Latents::Prior(prior) => prior.steps(),
            Latents::Image(_) => 0,
        }
    }

    /// The z of samples `indices`.
    fn sample(
        &self,
        indices: &[u32],
        seed: u64,
        each_step: impl FnMut() -> Result<(), PluginError>,
    ) -> Result<Vec<f32>, PluginError> {
        match self {
            Latents::Prior(prior) => prior.sample(indices, seed, each_step),
            Latents::Image(z) => Ok(z.repeat(indices.len())),
        }
    }
}

/// `--prior`, or `prior.safetensors` beside the model; refused when there is none.
fn prior_path(settings: &Settings) -> Result<PathBuf, PluginError> {
    let path = if settings.prior.is_empty() {
        settings.model.0.with_file_name("prior.safetensors")
    } else {
        PathBuf::from(&settings.prior)
    };
    if !path.is_file() {
        let why = if settings.prior.is_empty() {
            "the model has no latent prior beside it"
        } else {
            "no such file"
        };
        return Err(PluginError::invalid_param("prior", format!("{}: {why}", path.display())).with_help(
            "train one with infty train-latent and give it with --prior, or take z from an image with --z-from",
        ));
    }
    Ok(path)
}

infty_sdk::export_plugin! {
    id: "org.infty.generate",
    version: env!("CARGO_PKG_VERSION"),
    tasks: [Sample],
}
