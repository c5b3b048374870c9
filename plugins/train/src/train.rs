//! `infty train DATA RUN`: trains an ∞-Diff model on a folder of images as the
//! reference does (docs/reference.md §3.3): random crops and flips, uniform timesteps,
//! coordinate subsampling, an encoder on an independent subset of the clean crop,
//! MSE on Tξ, Adam, clipping and an EMA (the last three in the `net` model's train
//! step). Optionally guided: the crop downscaled by a random factor, evaluated back
//! at each pixel.

use std::path::{Path, PathBuf};
use std::time::Instant;

use infty_sdk::host::{interrupted, model};
use infty_sdk::{ErrorKind, GuideKind, ItemSpec, ModelBox, ParamSpec, Params, PluginError, Task};
use rand::seq::SliceRandom;

use crate::batch::Batch;
use crate::data::{DataOptions, Dataset, Split};
use crate::diffusion::{Diffusion, Timesteps};
use crate::logs::Logs;
use crate::rng::{rng, Purpose};
use crate::settings::{RunFile, Settings};
use crate::validate::HeldOut;

/// The `train` task.
pub struct Train;

const HELP: &str = "\
RUN gets run.json (settings and the resolved model config), checkpoint.safetensors (weights, \
EMA, encoder, Adam state and step, written every --checkpoint-every steps, at the end and on \
Ctrl-C), model.safetensors (the EMA decoder and encoder only, for inference; written at the \
end), train.csv, val.csv and loss.png. Every random draw is a function of --seed and the step, \
so `--resume` continues exactly as an uninterrupted run (same losses); it keeps the run's \
settings, except --steps, which may grow. Unreadable images and images smaller than a crop \
are skipped with a warning. Held-out images: --val-fraction of the files, chosen by --seed; \
validation scores --val-crops fixed crops of them once per timestep band, beside predicting zero.";

impl Task for Train {
    fn spec() -> ItemSpec {
        ItemSpec::task("train", "Train an ∞-Diff model on a folder of images")
            .with_help(HELP)
            .with_params(Settings::params())
            .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
            .param(
                ParamSpec::choice(
                    "precision",
                    "fp32, or bf16/auto: mixed precision (fp32 master weights)",
                    &["fp32", "bf16", "auto"],
                )
                .default_text("fp32"),
            )
            .param(ParamSpec::switch("resume", "continue the run in RUN from its checkpoint"))
    }

    fn run(params: &Params) -> Result<(), PluginError> {
        let dir = PathBuf::from(params.text("run")?);
        let device = params.text("device")?;
        let precision = params.text("precision")?;
        let settings = Settings::from_params(params)?;
        let checkpoint = dir.join("checkpoint.safetensors");
        let (settings, model, split) = if params.bool("resume")? {
            let saved = RunFile::read(&dir)?;
            let settings = settings.resumed(saved.settings, &Self::spec());
            // The held-out images the run recorded, whatever the folder holds now.
            let split = Split::Named(saved.held_out);
            let path = checkpoint.display().to_string();
            let on = [
                ("checkpoint", path.as_str()),
                ("mode", "train"),
                ("device", device),
                ("precision", precision),
            ];
            let net = model("net", &on)?;
            (settings, net, split)
        } else {
            if dir.join("run.json").exists() {
                return Err(PluginError::invalid_param(
                    "run",
                    format!("'{}' already holds a run", dir.display()),
                )
                .with_help("add --resume to continue it, or give a new folder"));
            }
            std::fs::create_dir_all(&dir).map_err(|e| {
                PluginError::invalid_param("run", format!("cannot create '{}': {e}", dir.display()))
            })?;
            let net = new_model(&settings, &dir, device, precision)?;
            let split = Split::Fraction(settings.val_fraction);
            (settings, net, split)
        };
        let trainer = Trainer::new(settings, model, split, &dir)?;
        if !params.bool("resume")? {
            trainer.run_file().write(&dir)?;
        }
        trainer.run(&checkpoint)
    }
}

/// A new network from the settings of the run in folder `dir`.
fn new_model(
    settings: &Settings,
    dir: &Path,
    device: &str,
    precision: &str,
) -> Result<ModelBox, PluginError> {
    let guide = GuideKind::from_name(&settings.guide).map_err(|e| e.with_param("guide"))?;
    // Training makes RGB crops (a config of other channels is refused once built).
    let seed = settings.seed.to_string();
    let (lr, ema) = (settings.learning_rate.to_string(), settings.ema_decay.to_string());
    let channels = guide.channels(3).to_string();
    let init = settings.init_file(dir)?.map(|f| f.display().to_string()).unwrap_or_default();
    model(
        "net",
        &[
            ("config", &settings.config),
            ("guide", guide.name()),
            ("guide-channels", &channels),
            ("seed", &seed),
            ("learning-rate", &lr),
            ("ema-decay", &ema),
            ("init", &init),
            ("mode", "train"),
            ("device", device),
            ("precision", precision),
        ],
    )
}

/// A run in progress.
struct Trainer {
    settings: Settings,
    model: ModelBox,
    data: Dataset,
    diffusion: Diffusion,
    timesteps: Timesteps,
    held_out: HeldOut,
    logs: Logs,
    dir: PathBuf,
}

impl Trainer {
    fn new(settings: Settings, model: ModelBox, split: Split, dir: &Path) -> Result<Trainer, PluginError> {
        let info = model.info();
        if info.channels != 3 {
            return Err(PluginError::invalid_param(
                "config",
                format!("the model has {} channels; infty train makes RGB crops", info.channels),
            ));
        }
        let guide = info.guide()?;
        let options =
            DataOptions { crop: info.train_size, downscale: settings.downscale, split, seed: settings.seed };
        let data = Dataset::open(Path::new(&settings.data), &options)?;
        let held_out = HeldOut::new(&data.val, settings.val_crops, info.train_size, settings.seed)?;
        if held_out.is_empty() {
            infty_sdk::host::warn(&format!(
                "no held-out images ({} usable, --val-fraction {}): validation is skipped",
                data.train.len(),
                settings.val_fraction
            ));
        }
        let diffusion = Diffusion::new(&info, guide)?;
        Ok(Trainer {
            timesteps: Timesteps::from_name(&settings.timesteps, &diffusion.alphas_cumprod)?,
            diffusion,
            logs: Logs::open(dir, info.train_step)?,
            dir: dir.to_path_buf(),
            settings,
            model,
            data,
            held_out,
        })
    }

    /// `run.json` of a new run: settings, the resolved model config, held-out images.
    fn run_file(&self) -> RunFile {
        RunFile {
            settings: self.settings.clone(),
            model: serde_json::from_str(&self.model.info().config_json).unwrap_or_default(),
            trainer: format!("org.infty.train {}", env!("CARGO_PKG_VERSION")),
            // Named inside the data folder, which may live elsewhere on another machine.
            held_out: self.data.held_out_names(&self.settings.data),
        }
    }

    fn run(mut self, checkpoint: &Path) -> Result<(), PluginError> {
        eprintln!(
            "infty train: {} training images, {} held out; {}x{} crops, batch {}, on {}",
            self.data.train.len(),
            self.data.val.len(),
            self.diffusion.size,
            self.diffusion.size,
            self.settings.batch,
            self.model.info().device
        );
        let steps = self.settings.steps;
        let mut step = self.model.info().train_step;
        while step < steps {
            if interrupted() {
                self.save(checkpoint)?;
                return Err(stopped(step, checkpoint));
            }
            let started = Instant::now();
            let batch = self.batch(step)?;
            let stats = self.model.train_step(batch.as_train()).into_result()?;
            step = stats.step;
            self.logs.step(step, steps, "loss", stats.loss, started.elapsed().as_secs_f64())?;
            if step.is_multiple_of(self.settings.val_every) || step == steps {
                self.validate(step)?;
            }
            if step.is_multiple_of(self.settings.checkpoint_every) || step == steps {
                self.save(checkpoint)?;
            }
        }
        self.export(checkpoint)
    }

    /// The data of step `step` (0-based): everything drawn from (seed, step).
    fn batch(&self, step: u64) -> Result<Batch, PluginError> {
        let s = &self.settings;
        let size = self.diffusion.size;
        let mut r = rng(s.seed, Purpose::Step, step);
        let mut items = Vec::with_capacity(s.batch as usize);
        for b in 0..u64::from(s.batch) {
            let image =
                &self.data.train[image_at(step * u64::from(s.batch) + b, self.data.train.len(), s.seed)];
            let crop = image.detailed_crop(size, s.crop_tries, &mut r)?;
            let t = self.timesteps.draw(&mut r);
            items.push(self.diffusion.noise(&crop, t, &mut r)?);
        }
        Ok(Batch::new(&items, size, s.sample_rate, &mut r))
    }

    fn validate(&mut self, step: u64) -> Result<(), PluginError> {
        if self.held_out.is_empty() {
            return self.logs.plot();
        }
        let losses = self.held_out.evaluate(&self.model, &self.diffusion)?;
        self.logs.validation(step, &losses)?;
        self.logs.plot()
    }

    fn save(&self, checkpoint: &Path) -> Result<(), PluginError> {
        self.model.save(checkpoint.display().to_string().as_str().into()).into_result()
    }

    /// `model.safetensors`: the checkpoint loaded for inference (EMA decoder) and saved
    /// without training state.
    fn export(&self, checkpoint: &Path) -> Result<(), PluginError> {
        self.save(checkpoint)?;
        let path = checkpoint.display().to_string();
        let inference = model("net", &[("checkpoint", &path), ("mode", "infer"), ("device", "cpu")])?;
        let out = self.dir.join("model.safetensors");
        inference.save(out.display().to_string().as_str().into()).into_result()?;
        eprintln!("infty train: finished {} steps; model: {}", self.settings.steps, out.display());
        Ok(())
    }
}

/// What a run stopped by Ctrl-C reports once its checkpoint is saved.
pub fn stopped(step: u64, checkpoint: &Path) -> PluginError {
    PluginError::new(
        ErrorKind::Cancelled,
        format!("stopped at step {step}; {} is saved", checkpoint.display()),
    )
    .with_help("add --resume to the same command to continue")
}

/// The image the `position`-th crop of the run comes from: each epoch visits every
/// training image once, in an order drawn from the seed.
fn image_at(position: u64, images: usize, seed: u64) -> usize {
    let n = images as u64;
    let mut order: Vec<usize> = (0..images).collect();
    order.shuffle(&mut rng(seed, Purpose::Order, position / n));
    order[(position % n) as usize]
}
