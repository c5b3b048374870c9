//! `infty train-latent MODEL DATA RUN`: trains the latent prior unconditional generation
//! draws z from (docs/reference.md §3.4): the decoder's encoder on crops of every image
//! and their mirrors, normalised per dimension, then the `latent` model on them with
//! the const0.008 schedule, the L1 loss on ε, AdamW, clipping and an EMA (the last
//! three in the model's train step). The run folder works as `infty train`'s.

mod data;
mod score;

use std::path::{Path, PathBuf};
use std::time::Instant;

use infty_kit::latents::Normalisation;
use infty_sdk::host::{interrupted, model, progress};
use infty_sdk::{
    ErrorKind, ItemSpec, ModelBox, ModelInput, ParamSpec, Params, PluginError, Points, Task, TrainBatch,
};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::data::{DataOptions, Dataset, Split};
use crate::logs::Logs;
use crate::rng::{rng, Purpose};
use crate::settings::{warn_ignored, RunFile};
use crate::train::stopped;
use data::Latents;

/// The `train-latent` task.
pub struct TrainLatent;

infty_sdk::settings! {
    /// Everything that decides what a prior's run computes, declared once as the
    /// parameters of `infty train-latent`.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct LatentSettings {
        pub model: String = ParamSpec::text(
            "model",
            "the decoder whose encoder's latents the prior learns: a .safetensors model or a name under models/",
        ),
        pub data: String =
            ParamSpec::path("data", "folder of training images (PNG, JPEG, TIFF; searched recursively)"),
        /// Where the run lives; not part of what it computes.
        #[serde(skip)]
        pub run: String = ParamSpec::path("run", "run folder: latents, checkpoints, logs, plot, run.json"),
        pub steps: u64 = ParamSpec::int("steps", "train until this many steps").default_int(20000).at_least(1.0),
        pub batch: u32 = ParamSpec::int("batch", "latents per step").default_int(128).at_least(1.0).at_most(65536.0),
        pub learning_rate: f64 =
            ParamSpec::float("learning-rate", "AdamW's learning rate").default_float(1e-4).greater_than(0.0),
        pub weight_decay: f64 =
            ParamSpec::float("weight-decay", "AdamW's weight decay").default_float(0.04).at_least(0.0),
        pub ema_decay: f64 = ParamSpec::float("ema-decay", "decay of the EMA, updated every 10 steps")
            .default_float(0.995)
            .at_least(0.0)
            .less_than(1.0),
        pub hid_channels: u32 =
            ParamSpec::int("hid-channels", "hidden width of the prior").default_int(2048).at_least(1.0),
        pub num_layers: u32 = ParamSpec::int("num-layers", "layers of the prior, input and output included")
            .default_int(10)
            .at_least(2.0),
        pub time_emb_channels: u32 =
            ParamSpec::int("time-emb-channels", "timestep embedding width").default_int(128).at_least(1.0),
        pub crops_per_image: u32 = ParamSpec::int("crops-per-image", "random crops encoded per image (each also mirrored)")
            .default_int(16)
            .at_least(1.0),
        pub downscale: f64 = ParamSpec::float("downscale", "downscale images first, as the decoder was trained")
            .default_float(1.0)
            .at_least(1.0),
        pub val_fraction: f64 = ParamSpec::float("val-fraction", "share of the images held out for validation")
            .default_float(0.1)
            .at_least(0.0)
            .less_than(1.0),
        pub val_every: u64 =
            ParamSpec::int("val-every", "steps between validations").default_int(500).at_least(1.0),
        pub checkpoint_every: u64 =
            ParamSpec::int("checkpoint-every", "steps between checkpoints").default_int(1000).at_least(1.0),
        pub seed: u64 = ParamSpec::int("seed", "seed of the weights, split, crops, batches and noise")
            .default_int(0)
            .at_least(0.0),
    }
}

const HELP: &str = "\
RUN gets latents.safetensors (the encoder's z of --crops-per-image crops of every image and \
their mirrors, training and held-out), run.json, checkpoint.safetensors (written every \
--checkpoint-every steps, at the end and on Ctrl-C), prior.safetensors (the EMA prior with the \
latents' normalisation, for infty sample; written at the end), train.csv, val.csv and loss.png. \
The prior models (z - mean)/std with the mean and unbiased std of the training latents. \
--resume continues exactly, keeping the run's settings except --steps.";

impl Task for TrainLatent {
    fn spec() -> ItemSpec {
        ItemSpec::task("train-latent", "Train the latent prior of an ∞-Diff model, for infty sample")
            .with_help(HELP)
            .with_params(LatentSettings::params())
            .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
            .param(ParamSpec::switch("resume", "continue the run in RUN from its checkpoint"))
    }

    fn run(params: &Params) -> Result<(), PluginError> {
        let dir = PathBuf::from(params.text("run")?);
        let device = params.text("device")?;
        let given = LatentSettings::from_params(params)?;
        let checkpoint = dir.join("checkpoint.safetensors");
        let (settings, prior, train, val) = if params.bool("resume")? {
            let saved: RunFile<LatentSettings> = RunFile::read(&dir)?;
            warn_ignored(&given, &saved.settings, &Self::spec(), &["steps", "data", "model"]);
            let settings = LatentSettings { steps: given.steps, run: given.run, ..saved.settings };
            let path = checkpoint.display().to_string();
            let prior =
                model("latent", &[("checkpoint", path.as_str()), ("mode", "train"), ("device", device)])?;
            let (train, val) = data::load(&dir.join("latents.safetensors"))?;
            (settings, prior, train, val)
        } else {
            start(given, &dir, device)?
        };
        let norm = normalisation(&prior)?;
        let trainer =
            Trainer { settings, norm, train, val, logs: Logs::open(&dir, prior.info().train_step)?, prior };
        trainer.run(&checkpoint, &dir)
    }
}

/// A new run in `dir`: the latents encoded and cached, their normalisation, a new prior.
fn start(
    settings: LatentSettings,
    dir: &Path,
    device: &str,
) -> Result<(LatentSettings, ModelBox, Latents, Latents), PluginError> {
    if dir.join("run.json").exists() {
        return Err(PluginError::invalid_param("run", format!("'{}' already holds a run", dir.display()))
            .with_help("add --resume to continue it, or give a new folder"));
    }
    let decoder_file = infty_kit::model_file::get(&settings.model)?;
    let shown = decoder_file.display().to_string();
    let decoder = model("net", &[("checkpoint", shown.as_str()), ("device", device)])
        .map_err(|e| e.with_param("model"))?;
    let info = decoder.info();
    if info.z_dim == 0 {
        return Err(PluginError::invalid_param(
            "model",
            format!("'{shown}' has no encoder latent (z_dim 0)"),
        ));
    }
    let options = DataOptions {
        crop: info.train_size,
        downscale: settings.downscale,
        split: Split::Fraction(settings.val_fraction),
        seed: settings.seed,
    };
    let images = Dataset::open(Path::new(&settings.data), &options)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| PluginError::invalid_param("run", format!("cannot create '{}': {e}", dir.display())))?;
    let total = (images.train.len() + images.val.len()) as u64;
    let mut encoded = |done: usize| {
        progress(done as u64, total, "encoding crops");
        if interrupted() {
            return Err(PluginError::new(
                ErrorKind::Cancelled,
                "stopped while encoding; nothing was trained",
            ));
        }
        Ok(())
    };
    let per_image = settings.crops_per_image;
    let train = data::encode_images(&decoder, &images.train, per_image, settings.seed, 0, &mut encoded)?;
    let offset = images.train.len();
    let val =
        data::encode_images(&decoder, &images.val, per_image, settings.seed, 1, |d| encoded(offset + d))?;
    progress(0, 0, "");
    data::save(&dir.join("latents.safetensors"), &train, &val)?;
    let norm = Normalisation::fit(&train.values, train.channels).map_err(|e| {
        PluginError::invalid_input(format!("the training latents cannot be normalised: {e}"))
            .with_help("give more images or more --crops-per-image")
    })?;
    let norm_file = dir.join("normalisation.json");
    let text = serde_json::to_string(&norm).map_err(|e| PluginError::failed(e.to_string()))?;
    std::fs::write(&norm_file, text)
        .map_err(|e| PluginError::failed(format!("cannot write {}: {e}", norm_file.display())))?;
    let prior = new_prior(&settings, info.z_dim, &norm_file, device)?;
    let held_out = images.held_out_names(&settings.data);
    let model_config = serde_json::from_str(&prior.info().config_json).unwrap_or_default();
    let trainer = format!("org.infty.train {}", env!("CARGO_PKG_VERSION"));
    RunFile { settings: settings.clone(), model: model_config, trainer, held_out }.write(dir)?;
    Ok((settings, prior, train, val))
}

fn new_prior(
    settings: &LatentSettings,
    z_dim: u32,
    norm: &Path,
    device: &str,
) -> Result<ModelBox, PluginError> {
    let text = |v: &dyn ToString| v.to_string();
    let values = [
        ("channels", text(&z_dim)),
        ("hid-channels", text(&settings.hid_channels)),
        ("num-layers", text(&settings.num_layers)),
        ("time-emb-channels", text(&settings.time_emb_channels)),
        ("normalisation", norm.display().to_string()),
        ("seed", text(&settings.seed)),
        ("learning-rate", text(&settings.learning_rate)),
        ("weight-decay", text(&settings.weight_decay)),
        ("ema-decay", text(&settings.ema_decay)),
        ("mode", "train".to_string()),
        ("device", device.to_string()),
    ];
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    model("latent", &pairs)
}

/// The normalisation the prior was built with (its config's `normalisation`).
fn normalisation(prior: &ModelBox) -> Result<Normalisation, PluginError> {
    let config: serde_json::Value = serde_json::from_str(&prior.info().config_json)
        .map_err(|e| PluginError::invalid_input(format!("the prior's config is not JSON: {e}")))?;
    serde_json::from_value(config["normalisation"].clone())
        .map_err(|e| PluginError::invalid_input(format!("the prior has no normalisation: {e}")))
}

/// A run in progress.
struct Trainer {
    settings: LatentSettings,
    prior: ModelBox,
    norm: Normalisation,
    train: Latents,
    val: Latents,
    logs: Logs,
}

impl Trainer {
    fn run(mut self, checkpoint: &Path, dir: &Path) -> Result<(), PluginError> {
        for set in [&mut self.train, &mut self.val] {
            self.norm.normalise(&mut set.values);
        }
        let diffusion = score::Diffusion::of(&self.prior)?;
        let held_out = score::HeldOut::new(&self.val, &diffusion, self.settings.seed);
        if held_out.is_empty() {
            infty_sdk::host::warn(
                "no held-out latents (--val-fraction 0 or too few images): validation is skipped",
            );
        }
        eprintln!(
            "infty train-latent: {} training latents, {} held out, {} dimensions; batch {}, on {}",
            self.train.rows(),
            self.val.rows(),
            self.train.channels,
            self.settings.batch,
            self.prior.info().device
        );
        let steps = self.settings.steps;
        let mut step = self.prior.info().train_step;
        while step < steps {
            if interrupted() {
                self.save(checkpoint)?;
                return Err(stopped(step, checkpoint));
            }
            let started = Instant::now();
            let (x_t, t, noise, x0) = self.batch(step, &diffusion);
            let at = Points::dense(1, self.settings.batch);
            let input = ModelInput {
                at,
                x: x_t.as_slice().into(),
                guide: Default::default(),
                t: t.as_slice().into(),
                z: Default::default(),
            };
            let batch = TrainBatch {
                input,
                target: noise.as_slice().into(),
                encoder_at: at,
                encoder_x: x0.as_slice().into(),
            };
            let stats = self.prior.train_step(batch).into_result()?;
            step = stats.step;
            self.logs.step(step, steps, "L1", stats.loss, started.elapsed().as_secs_f64())?;
            if !held_out.is_empty() && (step.is_multiple_of(self.settings.val_every) || step == steps) {
                self.logs.validation(step, &held_out.evaluate(&self.prior)?)?;
            }
            if step.is_multiple_of(self.settings.val_every) || step == steps {
                self.logs.plot()?;
            }
            if step.is_multiple_of(self.settings.checkpoint_every) || step == steps {
                self.save(checkpoint)?;
            }
        }
        self.save(checkpoint)?;
        let path = checkpoint.display().to_string();
        let inference = model("latent", &[("checkpoint", &path), ("mode", "infer"), ("device", "cpu")])?;
        let out = dir.join("prior.safetensors");
        inference.save(out.display().to_string().as_str().into()).into_result()?;
        eprintln!("infty train-latent: finished {steps} steps; prior: {}", out.display());
        Ok(())
    }

    /// Step `step`'s data, drawn from (seed, step): x_t, t, the noise and x0 of
    /// `batch` training latents (q_sample with float32 coefficients, as the reference).
    fn batch(&self, step: u64, diffusion: &score::Diffusion) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut r = rng(self.settings.seed, Purpose::Step, step);
        let (mut x_t, mut ts, mut noise, mut x0) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.settings.batch {
            let row = self.train.row(r.gen_range(0..self.train.rows()));
            let t = r.gen_range(0..diffusion.steps());
            let xi: Vec<f32> = (0..row.len()).map(|_| r.sample(StandardNormal)).collect();
            x_t.extend(diffusion.q_sample(row, t, &xi));
            ts.push(t as f32);
            noise.extend(xi);
            x0.extend_from_slice(row);
        }
        (x_t, ts, noise, x0)
    }

    fn save(&self, checkpoint: &Path) -> Result<(), PluginError> {
        self.prior.save(checkpoint.display().to_string().as_str().into()).into_result()
    }
}
