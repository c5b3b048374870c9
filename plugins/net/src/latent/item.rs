//! The `latent` model item: the latent prior behind the SDK's `Model` kind. It is a
//! vector model: each batch item is one point (a 1×1 raster) whose `channels` samples
//! are the latent, so x and ε̂ are `(B, C)` and it takes no z and no guide.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use infty_sdk::{
    ItemSpec, Model, ModelInfo, ModelInput, ParamSpec, Params, PluginError, Points, TrainBatch, TrainStats,
};
use tch::{Device, Kind, Tensor};

use super::{LatentConfig, LatentNet, Normalisation, FORMAT};
use crate::checkpoint;
use crate::train::{Hyper, Trainer};
use crate::{device, torch_thread};

/// The latent prior as a model item.
pub struct LatentModel {
    inner: Mutex<Inner>,
    info: ModelInfo,
    norm: Normalisation,
    device: Device,
}

struct Inner {
    net: LatentNet,
    trainer: Option<Trainer>,
}

const HELP: &str = "\
The prior over the decoder's latent z that unconditional generation samples from: the \
reference's MLPSkipNet, a diffusion model on vectors (const0.008 schedule, epsilon target, L1 \
loss). Without --checkpoint a new prior is built from --channels (the decoder's z size) and \
the layer sizes, with weights drawn from --seed. A checkpoint carries its config and the \
normalisation of the latents it was trained on. --mode infer uses the EMA weights when the \
checkpoint has them; --mode train loads the raw weights, the optimiser state and the EMA.";

impl Model for LatentModel {
    fn spec() -> ItemSpec {
        ItemSpec::model(
            "latent",
            "The ∞-Diff latent prior (MLPSkipNet): a diffusion model over the decoder's z",
        )
        .with_help(HELP)
        .param(ParamSpec::path("checkpoint", "a .safetensors prior; empty: a new prior").default_text(""))
        .param(
            ParamSpec::int("channels", "size of z for a new prior (the decoder's z_dim)")
                .default_int(0)
                .at_least(0.0),
        )
        .param(ParamSpec::int("hid-channels", "hidden width of a new prior").default_int(2048).at_least(1.0))
        .param(
            ParamSpec::int("num-layers", "layers of a new prior, input and output included")
                .default_int(10)
                .at_least(2.0),
        )
        .param(
            ParamSpec::int("time-emb-channels", "timestep embedding width of a new prior")
                .default_int(128)
                .at_least(1.0),
        )
        .param(
            ParamSpec::float("dropout", "dropout of a new prior")
                .default_float(0.0)
                .at_least(0.0)
                .less_than(1.0),
        )
        .param(
            ParamSpec::path("normalisation", "a JSON file {\"mean\": [...], \"std\": [...]} for a new prior")
                .default_text("")
                .with_help("The prior models (z - mean)/std; empty: mean 0 and std 1."),
        )
        .param(ParamSpec::int("seed", "seed of a new prior's weights and of dropout").default_int(0))
        .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
        .with_params(crate::train::params(1e-4))
        .param(
            ParamSpec::float("weight-decay", "AdamW's decoupled weight decay")
                .default_float(0.04)
                .at_least(0.0),
        )
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        torch_thread::run(|| Self::build(params))
    }

    fn info(&self) -> ModelInfo {
        let mut info = self.info.clone();
        info.train_step =
            self.lock().ok().and_then(|i| i.trainer.as_ref().map(|t| t.state.step)).unwrap_or(0);
        info
    }

    fn denoise(&self, input: &ModelInput<'_>, eps: &mut [f32]) -> Result<(), PluginError> {
        torch_thread::run(|| {
            let (x, t) = self.vectors(&input.at, &input.x, &input.t)?;
            let out = self.lock()?.net.denoise(&x, &t);
            write(&out, eps);
            Ok(())
        })
    }

    fn encode(&self, _at: &Points<'_>, _x: &[f32], _z: &mut [f32]) -> Result<(), PluginError> {
        Err(PluginError::unsupported("a latent prior has no encoder")
            .with_help("encode images with the decoder's model (net)"))
    }

    fn denoise_vjp(
        &self,
        input: &ModelInput<'_>,
        cotangent: &[f32],
        eps: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), PluginError> {
        torch_thread::run(|| {
            let (x, t) = self.vectors(&input.at, &input.x, &input.t)?;
            let v = Tensor::from_slice(cotangent).view_as(&x).to_device(self.device);
            let inner = self.lock()?;
            let x = x.detach().set_requires_grad(true);
            let out = inner.net.net.forward(&x, &t, false, &mut crate::trace::Trace::off());
            let grads = Tensor::run_backward(&[(&out * v).sum(Kind::Float)], &[&x], false, false);
            write(&out.detach(), eps);
            write(&grads[0], grad);
            Ok(())
        })
    }

    fn train_step(&self, batch: &TrainBatch<'_>) -> Result<TrainStats, PluginError> {
        torch_thread::run(|| {
            let (x, t) = self.vectors(&batch.input.at, &batch.input.x, &batch.input.t)?;
            let noise = Tensor::from_slice(&batch.target).view_as(&x).to_device(self.device);
            let mut inner = self.lock()?;
            let Inner { net, trainer } = &mut *inner;
            let trainer = trainer.as_mut().ok_or_else(|| {
                PluginError::unsupported("this prior was loaded for inference")
                    .with_help("load it with --mode train")
            })?;
            trainer.prepare(&net.vs);
            let loss = net.l1_loss(&x, &t, &noise);
            let loss = trainer.apply(&net.vs, &loss, &["latent."]);
            if !loss.is_finite() {
                return Err(PluginError::failed(format!("training diverged: the loss is {loss}"))
                    .with_help("the weights were not updated; lower --learning-rate, or check the latents"));
            }
            Ok(TrainStats { loss, step: trainer.state.step })
        })
    }

    fn save(&self, path: &str) -> Result<(), PluginError> {
        torch_thread::run(|| {
            let inner = self.lock()?;
            let mut tensors: Vec<(String, Tensor)> = inner.net.vs.variables().into_iter().collect();
            let mut metadata = BTreeMap::from([
                ("format".to_string(), FORMAT.to_string()),
                ("config".to_string(), to_json(&inner.net.cfg)?),
                ("normalisation".to_string(), to_json(&self.norm)?),
            ]);
            if let Some(trainer) = &inner.trainer {
                tensors.extend(trainer.tensors());
                metadata.insert("train_state".to_string(), to_json(&trainer.state)?);
            }
            tensors.sort_by(|a, b| a.0.cmp(&b.0));
            checkpoint::write(Path::new(path), &tensors, metadata)
        })
    }
}

impl LatentModel {
    fn build(params: &Params) -> Result<Self, PluginError> {
        let device = device::parse(params.text("device")?)?;
        let train = params.text("mode")? == "train";
        let hyper = Hyper::from_params(params, params.float("weight-decay")?)?;
        let path = params.text("checkpoint")?;
        let (inner, norm) = if path.is_empty() {
            let cfg = new_config(params)?;
            let norm = read_normalisation(params.text("normalisation")?, cfg.channels as usize)?;
            let net = LatentNet::new(&cfg, device, hyper.seed)?;
            let trainer = train.then(|| Trainer::new(&net.vs, "latent.", hyper));
            (Inner { net, trainer }, norm)
        } else {
            load(Path::new(path), device, train, hyper).map_err(|e| e.with_param("checkpoint"))?
        };
        let cfg = &inner.net.cfg;
        let mut config = serde_json::to_value(cfg).map_err(|e| PluginError::failed(e.to_string()))?;
        config["model"] = "latent".into();
        config["normalisation"] =
            serde_json::to_value(&norm).map_err(|e| PluginError::failed(e.to_string()))?;
        let info = ModelInfo {
            channels: cfg.channels as u32,
            guide_channels: 0,
            z_dim: 0,
            train_size: 1,
            mollifier_sigma: 0.0,
            noise_schedule: cfg.noise_schedule.as_str().into(),
            diffusion_steps: cfg.diffusion_steps as u32,
            train_step: 0,
            device: device::name(device).into(),
            config_json: config.to_string().into(),
        };
        Ok(Self { inner: Mutex::new(inner), info, norm, device })
    }

    /// The prior; refused once a call panicked while holding it, since a training step
    /// may have updated only some weights.
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, PluginError> {
        self.inner.lock().map_err(|_| {
            PluginError::failed("an earlier call failed midway and may have left the weights half-updated")
                .with_help("load the prior (its last checkpoint) again")
        })
    }

    /// x `(B, C)` and t `(B,)` on the prior's device; each item must be one point.
    fn vectors(&self, at: &Points<'_>, x: &[f32], t: &[f32]) -> Result<(Tensor, Tensor), PluginError> {
        if at.per_item() != 1 {
            return Err(PluginError::invalid_input(format!(
                "{} points per item; the latent prior takes one vector per item (the points of a 1x1 raster)",
                at.per_item()
            )));
        }
        let x =
            Tensor::from_slice(x).view([at.batch as i64, self.info.channels as i64]).to_device(self.device);
        Ok((x, Tensor::from_slice(t).to_device(self.device)))
    }
}

/// `value` as JSON, for the checkpoint's metadata.
fn to_json(value: &impl serde::Serialize) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|e| PluginError::failed(e.to_string()))
}

/// `(B, C)` into a flat buffer.
fn write(t: &Tensor, out: &mut [f32]) {
    let t = t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
    t.view(-1).copy_data(out, out.len());
}

fn new_config(params: &Params) -> Result<LatentConfig, PluginError> {
    let channels = params.int("channels")?;
    if channels < 1 {
        return Err(PluginError::invalid_param(
            "channels",
            "a new prior needs --channels, the decoder's z size",
        )
        .with_help("or give --checkpoint"));
    }
    Ok(LatentConfig {
        hid_channels: params.int("hid-channels")?,
        num_layers: params.int("num-layers")?,
        time_emb_channels: params.int("time-emb-channels")?,
        dropout: params.float("dropout")?,
        ..LatentConfig::reference(channels, 10)
    })
}

fn read_normalisation(path: &str, channels: usize) -> Result<Normalisation, PluginError> {
    if path.is_empty() {
        return Ok(Normalisation::identity(channels));
    }
    let bad = |why: String| PluginError::invalid_param("normalisation", format!("{path}: {why}"));
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let norm: Normalisation = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    norm.validate(channels).map_err(bad)?;
    Ok(norm)
}

fn load(
    path: &Path,
    device: Device,
    train: bool,
    hyper: Hyper,
) -> Result<(Inner, Normalisation), PluginError> {
    let header = checkpoint::open(path)?;
    let in_file = |what: &str, e: &dyn std::fmt::Display| {
        PluginError::invalid_input(format!("{}: {what}: {e}", path.display()))
    };
    let meta = |key: &str| {
        header.metadata.get(key).ok_or_else(|| {
            PluginError::invalid_input(format!(
                "{}: no '{key}' metadata, so it is no latent prior",
                path.display()
            ))
            .with_help("give a prior written by infty train-latent or scripts/convert-reference-checkpoint")
        })
    };
    if meta("format")? != FORMAT {
        return Err(in_file("format", &format!("'{}' is not {FORMAT}", meta("format")?))
            .with_help("a decoder checkpoint (infty-net) is loaded by the net model, not the latent prior"));
    }
    let cfg: LatentConfig = serde_json::from_str(meta("config")?).map_err(|e| in_file("its config", &e))?;
    let norm: Normalisation =
        serde_json::from_str(meta("normalisation")?).map_err(|e| in_file("its normalisation", &e))?;
    norm.validate(cfg.channels as usize).map_err(|e| in_file("its normalisation", &e))?;
    // Sizes, names and memory from the header, before any weight is allocated or read.
    crate::fit::check_latent(&header, &cfg, train)?;
    let ckpt = header.read()?;
    let mut net = LatentNet::new(&cfg, device, hyper.seed)?;
    let has_ema = ckpt.tensors.keys().any(|k| k.starts_with("ema."));
    net.load(&ckpt, if has_ema && !train { "ema." } else { "latent." })
        .map_err(|e| in_file("weights", &e.message))?;
    // Resuming keeps the run's own optimiser settings, so it continues exactly.
    let trainer = train
        .then(|| Trainer::resume(&net.vs, "latent.", &ckpt, hyper))
        .transpose()
        .map_err(|e| in_file("training state", &e))?;
    Ok((Inner { net, trainer }, norm))
}
