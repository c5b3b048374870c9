//! The `net` model item: the network behind the SDK's `Model` kind, loaded from a
//! checkpoint or freshly initialised, on the device asked for.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use infty_sdk::{
    ItemSpec, Model, ModelInfo, ModelInput, ParamSpec, Params, PluginError, Points, TrainBatch, TrainStats,
};
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, FORMAT};
use crate::config::{NetConfig, PRESETS};
use crate::precision::Precision;
use crate::prediction::VPrediction;
use crate::sparse::Layout;
use crate::train::{Hyper, Trainer};
use crate::{device, torch_thread, Net};

/// The largest raster side a sparse point set may lie on.
const MAX_SPARSE_SIZE: u32 = 4096;

/// The ∞-Diff network as a model item.
pub struct NetModel {
    inner: Mutex<Inner>,
    info: ModelInfo,
    device: Device,
    /// Neighbours of the KNN interpolation: the fewest points an item may have.
    neighbours: usize,
    /// Set when the network predicts v: its output becomes ε̂ before it is returned.
    v: Option<VPrediction>,
}

struct Inner {
    net: Net,
    trainer: Option<Trainer>,
}

const HELP: &str = "\
Without --checkpoint, a new network is built from --config (a preset: tiny, ffhq128, ffhq256, \
or a JSON file of NetConfig fields) with weights drawn from --seed. A checkpoint carries its \
config; --config is then read only if the checkpoint has none (e.g. a bare state dict). \
--mode infer uses the EMA decoder when the checkpoint has one; --mode train loads the raw \
weights, the optimiser state and the EMA, and enables train steps; a checkpoint with training \
state keeps its own optimiser settings, so a resumed run continues exactly.";

impl Model for NetModel {
    fn spec() -> ItemSpec {
        ItemSpec::model("net", "The ∞-Diff sparse operator network (SparseUNet + SparseEncoder) on libtorch")
            .with_help(HELP)
            .param(
                ParamSpec::path("checkpoint", "a .safetensors checkpoint; empty: a new network")
                    .default_text(""),
            )
            .param(ParamSpec::text("config", "preset or JSON config for a new network").default_text("tiny"))
            .param(
                ParamSpec::path("init", "a checkpoint whose weights a new network starts from (fine-tuning)")
                    .default_text("")
                    .with_help(
                        "Tensors of the same name and shape are copied; a tensor of another shape (e.g. a \
                         guide of more channels) gets the overlapping block and zeros elsewhere.",
                    ),
            )
            .param(
                ParamSpec::int("guide-channels", "guide-field channels of a new network")
                    .default_int(0)
                    .at_least(0.0),
            )
            .param(
                ParamSpec::text("guide", "what a new network's guide field is (e.g. lowres), for tasks")
                    .default_text(""),
            )
            .param(ParamSpec::switch(
                "reference-grid",
                "a new network reads its grid as the reference does (docs/reference.md §8.1 #1)",
            ))
            .param(ParamSpec::int("seed", "seed of a new network's weights and of dropout").default_int(0))
            .param(ParamSpec::text("device", "auto, cpu, cuda or cuda:N").default_text("auto"))
            .param(
                ParamSpec::choice(
                    "precision",
                    "fp32, bf16, or auto: bf16 on CUDA and on CPUs with AMX, else fp32",
                    &Precision::NAMES,
                )
                .default_text("auto")
                .with_help(
                    "Inference stores the weights in bf16; training computes in bf16 over float32 weights \
                     and optimiser state (mixed precision). Checkpoints are always written in float32.",
                ),
            )
            .with_params(crate::train::params(1e-4))
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
            let inner = self.lock()?;
            let (x, t, z, layout) = self.decoder_input(input)?;
            write_points(&inner.net.denoise(&x, &t, &z, &layout), eps);
            if let Some(v) = &self.v {
                v.eps(&input.t, &input.x, eps);
            }
            Ok(())
        })
    }

    fn encode(&self, at: &Points<'_>, x: &[f32], z: &mut [f32]) -> Result<(), PluginError> {
        torch_thread::run(|| {
            let inner = self.lock()?;
            let layout = self.layout(at)?;
            let x = to_points(x, at, self.info.channels, layout.device());
            let out = inner.net.encode(&x, &layout).to_device(Device::Cpu).contiguous();
            out.view(-1).copy_data(z, z.len());
            Ok(())
        })
    }

    fn denoise_vjp(
        &self,
        input: &ModelInput<'_>,
        cotangent: &[f32],
        eps: &mut [f32],
        grad: &mut [f32],
    ) -> Result<(), PluginError> {
        torch_thread::run(|| {
            let inner = self.lock()?;
            let (x, t, z, layout) = self.decoder_input(input)?;
            let v = to_points(cotangent, &input.at, self.info.channels, layout.device());
            let (out, g) = inner.net.denoise_vjp(&x, &t, &z, &layout, &v);
            write_points(&out, eps);
            write_points(&g, grad);
            if let Some(v) = &self.v {
                v.eps(&input.t, &input.x, eps);
                v.eps(&input.t, cotangent, grad);
            }
            Ok(())
        })
    }

    fn train_step(&self, batch: &TrainBatch<'_>) -> Result<TrainStats, PluginError> {
        torch_thread::run(|| {
            let mut inner = self.lock()?;
            let (x, t, _, layout) = self.decoder_input(&batch.input)?;
            let target = to_points(&batch.target, &batch.input.at, self.info.channels, layout.device());
            let encoder_layout = self.layout(&batch.encoder_at)?;
            let encoder_x =
                to_points(&batch.encoder_x, &batch.encoder_at, self.info.channels, layout.device());
            let Inner { net, trainer } = &mut *inner;
            let trainer = trainer.as_mut().ok_or_else(|| {
                PluginError::unsupported("this model was loaded for inference")
                    .with_help("load it with --mode train")
            })?;
            let loss = trainer.step(net, &x, &t, &target, &layout, &encoder_x, &encoder_layout);
            if !loss.is_finite() {
                return Err(PluginError::failed(format!("training diverged: the loss is {loss}")).with_help(
                    "the weights were not updated; lower --learning-rate, or check the data for NaNs",
                ));
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
                ("config".to_string(), self.info.config_json.to_string()),
            ]);
            if let Some(trainer) = &inner.trainer {
                tensors.extend(trainer.tensors());
                let state =
                    serde_json::to_string(&trainer.state).map_err(|e| PluginError::failed(e.to_string()))?;
                metadata.insert("train_state".to_string(), state);
            }
            tensors.sort_by(|a, b| a.0.cmp(&b.0));
            checkpoint::write(Path::new(path), &tensors, metadata)
        })
    }
}

impl NetModel {
    /// The model `params` describe: built, or loaded from its checkpoint.
    fn build(params: &Params) -> Result<Self, PluginError> {
        let device = device::parse(params.text("device")?)?;
        let kind = Precision::parse(params.text("precision")?)?.kind(device);
        let path = params.text("checkpoint")?;
        let train = params.text("mode")? == "train";
        let hyper = Hyper::from_params(params, 0.0)?;
        let mut inner = if path.is_empty() {
            let mut cfg = read_config(params.text("config")?)?;
            cfg.guide_channels = params.int("guide-channels")?;
            cfg.guide = params.text("guide")?.to_string();
            cfg.reference_grid_sample = params.bool("reference-grid")?;
            let mut net = Net::new(&cfg, device, hyper.seed)?;
            let init = params.text("init")?;
            if !init.is_empty() {
                init_from(&mut net, Path::new(init)).map_err(|e| e.with_param("init"))?;
            }
            let trainer = train.then(|| Trainer::new(&net.vs, "decoder.", hyper));
            Inner { net, trainer }
        } else {
            load(Path::new(path), params.text("config")?, device, train, hyper)
                .map_err(|e| e.with_param("checkpoint"))?
        };
        match inner.trainer.as_mut() {
            Some(trainer) => trainer.compute = kind,
            None => inner.net.set_kind(kind),
        }
        let cfg = &inner.net.cfg;
        let info = ModelInfo {
            channels: cfg.channels as u32,
            guide_channels: cfg.guide_channels as u32,
            z_dim: cfg.z_dim as u32,
            train_size: cfg.img_size as u32,
            mollifier_sigma: cfg.mollifier_sigma,
            noise_schedule: cfg.noise_schedule.as_str().into(),
            diffusion_steps: cfg.diffusion_steps as u32,
            train_step: 0,
            device: device::name(device).into(),
            config_json: serde_json::to_string(cfg).unwrap_or_default().into(),
        };
        let neighbours = cfg.knn_neighbours as usize;
        let v = VPrediction::of(cfg)?;
        Ok(Self { inner: Mutex::new(inner), info, device, neighbours, v })
    }

    /// The network; refused once a call panicked while holding it, since a training
    /// step may have updated only some weights.
    fn lock(&self) -> Result<MutexGuard<'_, Inner>, PluginError> {
        self.inner.lock().map_err(|_| {
            PluginError::failed("an earlier call failed midway and may have left the weights half-updated")
                .with_help("load the model (its last checkpoint) again")
        })
    }

    /// The layout of a point set, with the network's own requirements checked.
    fn layout(&self, at: &Points<'_>) -> Result<Layout, PluginError> {
        let (device, k) = (self.device, self.neighbours);
        if at.per_item() < k {
            return Err(PluginError::invalid_input(format!(
                "{} points per item; the network interpolates from {k} neighbours, so it needs at least {k}",
                at.per_item()
            )));
        }
        if at.points.is_empty() {
            return Ok(Layout::dense(at.batch as i64, at.size as i64, device));
        }
        // Sparse points are convolved on their whole raster: keep it to a tile's size.
        if at.size > MAX_SPARSE_SIZE {
            return Err(PluginError::invalid_input(format!(
                "sparse points on a {0}x{0} raster; the network takes point sets on rasters up to \
                 {MAX_SPARSE_SIZE}x{MAX_SPARSE_SIZE}",
                at.size
            ))
            .with_help("cut the image into tiles and give each tile's points"));
        }
        let size = at.size as usize;
        let mut seen = vec![false; size * size];
        let mut pixels = Vec::with_capacity(at.batch as usize);
        for (item, chunk) in at.points.chunks(at.per_item()).enumerate() {
            seen.iter_mut().for_each(|s| *s = false);
            let mut list = Vec::with_capacity(chunk.len());
            for p in chunk {
                let flat = p.y as usize * size + p.x as usize;
                if std::mem::replace(&mut seen[flat], true) {
                    return Err(PluginError::invalid_input(format!(
                        "point (x {}, y {}) appears twice in item {item}",
                        p.x, p.y
                    )));
                }
                list.push(flat as i64);
            }
            pixels.push(list);
        }
        Ok(Layout::sparse(at.size as i64, pixels, device))
    }

    /// x_t with the guide appended `(B, N, C + G)`, t, z and the layout.
    fn decoder_input(&self, input: &ModelInput<'_>) -> Result<(Tensor, Tensor, Tensor, Layout), PluginError> {
        let layout = self.layout(&input.at)?;
        let device = layout.device();
        let x = to_points(&input.x, &input.at, self.info.channels, device);
        let x = if input.guide.is_empty() {
            x
        } else {
            Tensor::cat(&[x, to_points(&input.guide, &input.at, self.info.guide_channels, device)], 2)
        };
        let t = Tensor::from_slice(&input.t).to_device(device);
        let z = Tensor::from_slice(&input.z).view([input.at.batch as i64, -1]).to_device(device);
        Ok((x, t, z, layout))
    }
}

/// A channel-major `(B, C, N)` buffer as `(B, N, C)` point features on `device`.
fn to_points(values: &[f32], at: &Points<'_>, channels: u32, device: Device) -> Tensor {
    let shape = [at.batch as i64, channels as i64, at.per_item() as i64];
    Tensor::from_slice(values).view(shape).transpose(1, 2).to_device(device)
}

/// `(B, N, C)` point features into a channel-major buffer.
fn write_points(t: &Tensor, out: &mut [f32]) {
    let t = t.transpose(1, 2).to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
    t.view(-1).copy_data(out, out.len());
}

fn read_config(text: &str) -> Result<NetConfig, PluginError> {
    if let Some(cfg) = NetConfig::preset(text) {
        return Ok(cfg);
    }
    let bad = |why: String| {
        PluginError::invalid_param("config", why)
            .with_help(format!("use a preset ({}) or a JSON file", PRESETS.join(", ")))
    };
    let json = std::fs::read_to_string(text)
        .map_err(|e| bad(format!("'{text}' is no preset, and reading it failed: {e}")))?;
    serde_json::from_str(&json).map_err(|e| bad(format!("{text}: {e}")))
}

/// `net`'s weights from the checkpoint at `path` where they fit ([`Net::init_from`]);
/// refused when nothing fits.
fn init_from(net: &mut Net, path: &Path) -> Result<(), PluginError> {
    let ckpt = checkpoint::read(path)?;
    let prefix = if ckpt.tensors.keys().any(|k| k.starts_with("ema.")) { "ema." } else { "decoder." };
    let (whole, part) = net.init_from(&ckpt, prefix);
    if whole == 0 {
        return Err(PluginError::invalid_input(format!(
            "{}: no tensor fits this network, so it cannot start from it",
            path.display()
        ))
        .with_help("give a checkpoint of the same preset (from infty train)"));
    }
    infty_sdk::host::warn(&format!(
        "started from {}: {whole} tensors copied, {part} of another shape copied in part",
        path.display()
    ));
    Ok(())
}

fn load(path: &Path, config: &str, device: Device, train: bool, hyper: Hyper) -> Result<Inner, PluginError> {
    let header = checkpoint::open(path)?;
    let in_file = |what: &str, e: &dyn std::fmt::Display| {
        PluginError::invalid_input(format!("{}: {what}: {e}", path.display()))
    };
    // Our checkpoints always carry their config; a bare state dict may carry one too
    // (the golden set's does), else --config says what it is.
    let ours = header.metadata.get("format").is_some_and(|f| f == FORMAT);
    let cfg = match header.metadata.get("config").map(|json| serde_json::from_str(json)) {
        Some(Ok(cfg)) => cfg,
        Some(Err(e)) if ours => return Err(in_file("its config metadata", &e)),
        _ => read_config(config)?,
    };
    // Sizes, names and memory from the header, before any weight is allocated or read.
    crate::fit::check_net(&header, &cfg, train)?;
    let ckpt = header.read()?;
    let mut net = Net::new(&cfg, device, hyper.seed)?;
    // Inference reads the EMA decoder when there is one; training the raw weights.
    let has_ema = ckpt.tensors.keys().any(|k| k.starts_with("ema."));
    let decoder_prefix = if has_ema && !train { "ema." } else { "decoder." };
    net.load(&ckpt, decoder_prefix).map_err(|e| {
        let help = e.help.clone().into_option().map(|h| h.to_string()).unwrap_or_default();
        PluginError::invalid_input(format!("{}: {}", path.display(), e.message)).with_help(help)
    })?;
    // Resuming keeps the run's own optimiser settings, so it continues exactly.
    let trainer = train
        .then(|| Trainer::resume(&net.vs, "decoder.", &ckpt, hyper))
        .transpose()
        .map_err(|e| in_file("training state", &e))?;
    Ok(Inner { net, trainer })
}
