//! A run's settings, from the command line, and `run.json`: the settings plus the
//! resolved model config, written when a run starts and read back by `--resume`.

use std::path::Path;

use infty_sdk::{FromParam, ItemSpec, ParamSpec, ParamValue, Params, PluginError};
use serde::{Deserialize, Serialize};

/// `--init` as a run records it ([`recorded_init`]); empty: fresh weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Init(pub String);

impl FromParam for Init {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        match params.text(name)? {
            "" => Ok(Init::default()),
            value => recorded_init(value, Path::new(params.text("run")?)).map(Init),
        }
    }
}

infty_sdk::settings! {
    /// Everything that decides what a run computes (the device does not), declared once
    /// as the parameters of `infty train`.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct Settings {
        pub data: String =
            ParamSpec::path("data", "folder of training images (PNG, JPEG, TIFF; searched recursively)"),
        /// Where the run lives; not part of what it computes, so `run.json` leaves it out.
        #[serde(skip)]
        pub run: String = ParamSpec::path("run", "run folder: checkpoints, logs, plot, run.json"),
        pub config: String = ParamSpec::text("config", "network preset (tiny, ffhq128, ffhq256) or JSON file")
            .default_text("tiny"),
        pub guide: String = ParamSpec::choice(
            "guide",
            "guide field: none, lowres (super-resolution), mask or fill (inpainting: holes 0 or membrane-filled)",
            &["none", "lowres", "mask", "fill"],
        )
        .default_text("none"),
        pub steps: u64 = ParamSpec::int("steps", "train until this many steps").default_int(10000).at_least(1.0),
        pub batch: u32 =
            ParamSpec::int("batch", "crops per step").default_int(8).at_least(1.0).at_most(1024.0),
        pub sample_rate: f64 = ParamSpec::float(
            "sample-rate",
            "share of each crop's pixels the decoder sees (coordinate subsampling)",
        )
        .default_float(0.25)
        .greater_than(0.0)
        .at_most(1.0),
        pub learning_rate: f64 =
            ParamSpec::float("learning-rate", "Adam's learning rate").default_float(1e-4).greater_than(0.0),
        /// Absent from runs started before it was a setting: the net model's default.
        #[serde(default = "reference_ema_decay")]
        pub ema_decay: f64 = ParamSpec::float("ema-decay", "decay of the decoder's EMA, updated every 10 steps")
            .default_float(0.995)
            .at_least(0.0)
            .less_than(1.0)
            .with_help("model.safetensors is the EMA: for runs of a few hundred steps, lower it."),
        pub seed: u64 = ParamSpec::int("seed", "seed of the weights, split, crops, noise and dropout")
            .default_int(0)
            .at_least(0.0),
        /// Absent from runs started before it was a setting: uniform, as the reference.
        #[serde(default = "uniform")]
        pub timesteps: String = ParamSpec::choice(
            "timesteps",
            "how steps draw timesteps: uniform (the reference) or noisy (∝ 1/SNR, capped at 10)",
            &["uniform", "noisy"],
        )
        .default_text("uniform")
        .with_help("noisy trains the noisy steps more, where a guided model predicts x0 from its guide alone."),
        /// A model the new network starts from.
        #[serde(default)]
        pub init: Init =
            ParamSpec::text("init", "a model to fine-tune: a .safetensors file or a name under models/")
                .default_text("")
                .with_help(
                    "The new network starts from its weights where they fit (the same preset); a guide \
                     of more channels starts with the new channels ignored, e.g. --guide mask --init default-sr.",
                ),
        pub downscale: f64 =
            ParamSpec::float("downscale", "downscale every image by this factor before cropping (area filter)")
                .default_float(1.0)
                .at_least(1.0)
                .at_most(64.0)
                .with_help("Compressed photos are sharper and freer of JPEG artefacts 2-4x smaller."),
        /// Absent from runs started before it was a setting: one, uniform crops.
        #[serde(default = "one")]
        pub crop_tries: u32 =
            ParamSpec::int("crop-tries", "crops drawn per item; the item is the one with the most detail")
                .default_int(1)
                .at_least(1.0)
                .at_most(64.0)
                .with_help(
                    "1: uniform crops, as the reference. Photographs are mostly smooth (sky, blur, \
                     walls); K > 1 draws K crops and trains on the one of largest mean squared \
                     difference between neighbouring pixels, tilting training towards texture, \
                     the part upscaling and inpainting have to restore. Validation stays uniform.",
                ),
        pub val_fraction: f64 = ParamSpec::float("val-fraction", "share of the images held out for validation")
            .default_float(0.1)
            .at_least(0.0)
            .at_most(0.5),
        pub val_crops: u32 = ParamSpec::int("val-crops", "held-out crops scored at each validation")
            .default_int(16)
            .at_least(1.0),
        pub val_every: u64 =
            ParamSpec::int("val-every", "steps between validations").default_int(250).at_least(1.0),
        pub checkpoint_every: u64 =
            ParamSpec::int("checkpoint-every", "steps between checkpoints").default_int(500).at_least(1.0),
    }
}

/// `run.json`, of `infty train` (or, with other settings, `infty train-latent`).
#[derive(Debug, Serialize, Deserialize)]
pub struct RunFile<S = Settings> {
    pub settings: S,
    /// The model's resolved config.
    pub model: serde_json::Value,
    /// The plugin that trained it, `org.infty.train <version>`.
    pub trainer: String,
    /// The images held out for validation.
    pub held_out: Vec<String>,
}

/// How a run records `--init` so the record holds on another machine: a model name
/// as given (found again through the models folders), a file relative to the run
/// folder (valid wherever the two are copied together).
fn recorded_init(value: &str, run: &Path) -> Result<String, PluginError> {
    let path = infty_kit::model_file::get(value).map_err(|e| e.with_param("init"))?;
    if !Path::new(value).is_file() {
        return Ok(value.to_string());
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let relative = pathdiff::diff_paths(absolute(&path), absolute(run)).unwrap_or(path);
    Ok(relative.display().to_string())
}

impl Settings {
    /// The file `--init` names, for the run in folder `run`; `None` for fresh weights.
    pub fn init_file(&self, run: &Path) -> Result<Option<std::path::PathBuf>, PluginError> {
        let init = &self.init.0;
        if init.is_empty() {
            return Ok(None);
        }
        let in_run = run.join(init);
        let file = if in_run.is_file() { in_run } else { infty_kit::model_file::get(init)? };
        Ok(Some(file))
    }

    /// A resumed run keeps `saved`, except `steps`, which may grow, and `data` and `run`,
    /// which may have moved. Other settings given differently (and not at their default)
    /// are named in a warning.
    pub fn resumed(self, saved: Settings, spec: &ItemSpec) -> Settings {
        warn_ignored(&self, &saved, spec, &["steps", "data"]);
        Settings { steps: self.steps, data: self.data, run: self.run, ..saved }
    }
}

/// Warns about every setting of `given` that differs from the resumed run's `saved`
/// and is not at its default, except those in `may_change` (field names).
pub fn warn_ignored<S: Serialize>(given: &S, saved: &S, spec: &ItemSpec, may_change: &[&str]) {
    let (given, kept) = (to_map(given), to_map(saved));
    for (name, value) in &given {
        let flag = name.replace('_', "-");
        let default = spec.find_param(&flag).and_then(|p| p.default.as_ref().into_option().cloned());
        let is_default = default.is_some_and(|d| same(&d, value));
        if !may_change.contains(&name.as_str()) && kept.get(name) != Some(value) && !is_default {
            infty_sdk::host::warn(&format!(
                "--{flag} {value} ignored: a resumed run keeps its settings ({})",
                kept.get(name).map_or("unset".to_string(), ToString::to_string)
            ));
        }
    }
}

fn one() -> u32 {
    1
}

fn uniform() -> String {
    "uniform".to_string()
}

fn reference_ema_decay() -> f64 {
    0.995
}

fn to_map<S: Serialize>(settings: &S) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn same(default: &ParamValue, value: &serde_json::Value) -> bool {
    match (default, value) {
        (ParamValue::Float(d), v) => v.as_f64() == Some(*d),
        (ParamValue::Int(d), v) => v.as_i64() == Some(*d),
        (ParamValue::Text(d), v) => v.as_str() == Some(d.as_str()),
        (ParamValue::Bool(d), v) => v.as_bool() == Some(*d),
    }
}

impl<S: Serialize + serde::de::DeserializeOwned> RunFile<S> {
    pub fn read(dir: &Path) -> Result<RunFile<S>, PluginError> {
        let path = dir.join("run.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            PluginError::invalid_param("run", format!("no run to resume in '{}': {e}", dir.display()))
                .with_help("start it without --resume")
        })?;
        serde_json::from_str(&text)
            .map_err(|e| PluginError::invalid_input(format!("'{}' is not a run file: {e}", path.display())))
    }

    pub fn write(&self, dir: &Path) -> Result<(), PluginError> {
        let path = dir.join("run.json");
        let text = serde_json::to_string_pretty(self).map_err(|e| PluginError::failed(e.to_string()))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| PluginError::failed(format!("cannot write '{}': {e}", path.display())))
    }
}
