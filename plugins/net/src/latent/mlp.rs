//! The latent prior's network, `MLPSkipNet` (`models/latent_model.py`,
//! docs/reference.md §4.6): an MLP over the decoder's latent z, conditioned on the
//! diffusion timestep, with the input z concatenated to every hidden layer.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::layers::{gelu, layer_norm, linear, LayerNorm, Linear};
use crate::trace::Trace;

/// What a prior is built from; stored as the checkpoint's `config` metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatentConfig {
    /// Size of z: the decoder's `z_dim`.
    pub channels: i64,
    /// Width of the hidden layers (2048 in the reference's configs).
    pub hid_channels: i64,
    /// Layers counting the input and output layers (10, or 20 for churches).
    pub num_layers: i64,
    /// Width of the sinusoidal timestep embedding (128).
    pub time_emb_channels: i64,
    /// Dropout after every hidden layer (0 in every reference config).
    #[serde(default)]
    pub dropout: f64,
    /// The beta schedule of the latent diffusion (`const0.008`).
    #[serde(default = "const_schedule")]
    pub noise_schedule: String,
    /// Diffusion steps of the schedule (1000).
    #[serde(default = "thousand")]
    pub diffusion_steps: i64,
}

fn const_schedule() -> String {
    "const0.008".into()
}

fn thousand() -> i64 {
    1000
}

impl LatentConfig {
    /// The reference's prior for latents of `channels` (`*_latent_config.py`).
    pub fn reference(channels: i64, num_layers: i64) -> Self {
        Self {
            channels,
            hid_channels: 2048,
            num_layers,
            time_emb_channels: 128,
            dropout: 0.0,
            noise_schedule: const_schedule(),
            diffusion_steps: thousand(),
        }
    }

    /// Every size positive and the layer count at least the input and output layers.
    pub fn validate(&self) -> Result<(), String> {
        // Far beyond any real prior: a corrupt config must not allocate the machine away.
        let sizes = [
            ("channels", self.channels),
            ("hid_channels", self.hid_channels),
            ("time_emb_channels", self.time_emb_channels),
        ];
        for (name, v) in sizes {
            if !(1..=1 << 16).contains(&v) {
                return Err(format!("{name} must lie in 1..=65536, got {v}"));
            }
        }
        if self.num_layers > 256 {
            return Err(format!("num_layers must be at most 256, got {}", self.num_layers));
        }
        if self.num_layers < 2 {
            return Err(format!(
                "num_layers is {}; it counts the input and output layers, so at least 2",
                self.num_layers
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout is {}; it must lie in [0, 1)", self.dropout));
        }
        if self.diffusion_steps < 1 {
            return Err("diffusion_steps must be at least 1".into());
        }
        Ok(())
    }
}

/// `timestep_embedding(t, dim)` of `models/latent_model.py`: `[cos(t·f), sin(t·f)]`, cos
/// first, `f_i = exp(−ln(10000)·i/half)` with `half = dim/2` (not `half − 1`, unlike the
/// decoder's embedding), and a zero column when `dim` is odd; in float32.
pub fn timestep_embedding(t: &Tensor, dim: i64) -> Tensor {
    let half = dim / 2;
    let freqs = (Tensor::arange(half, (Kind::Float, t.device())) * -(10000f64).ln() / half as f64).exp();
    let args = t.to_kind(Kind::Float).unsqueeze(1) * freqs.unsqueeze(0);
    let emb = Tensor::cat(&[args.cos(), args.sin()], -1);
    if dim % 2 == 1 {
        Tensor::cat(&[&emb, &emb.narrow(1, 0, 1).zeros_like()], -1)
    } else {
        emb
    }
}

/// `MLPLNAct`: `GELU(LayerNorm(Linear(x)·(1 + Linear(GELU(cond)))))`, then dropout.
#[derive(Debug)]
struct Layer {
    linear: Linear,
    cond: Linear,
    norm: LayerNorm,
    dropout: f64,
}

impl Layer {
    fn new(p: nn::Path, inputs: i64, outputs: i64, cond: i64, dropout: f64) -> Self {
        Self {
            linear: linear(&p / "linear", inputs, outputs),
            // `cond_layers` is Sequential(GELU, Linear): the Linear is its entry 1.
            cond: linear(&p / "cond_layers" / "1", cond, outputs),
            norm: layer_norm(&p / "norm", outputs),
            dropout,
        }
    }

    fn forward(&self, x: &Tensor, cond: &Tensor, train: bool) -> Tensor {
        let y = self.linear.forward(x) * (1 + self.cond.forward(&gelu(cond)));
        gelu(&self.norm.forward(&y)).dropout(self.dropout, train)
    }
}

/// `MLPSkipNet`: x `(B, C)` and t `(B,)` → ε̂ `(B, C)`.
#[derive(Debug)]
pub struct SkipNet {
    time_emb_channels: i64,
    time: (Linear, Linear),
    input: Layer,
    hidden: Vec<Layer>,
    output: Linear,
}

impl SkipNet {
    /// The network under `p`, with the reference's parameter names.
    pub fn new(p: nn::Path, cfg: &LatentConfig) -> Self {
        let (c, hid) = (cfg.channels, cfg.hid_channels);
        let time = (
            linear(&p / "time_embed" / "0", cfg.time_emb_channels, c),
            linear(&p / "time_embed" / "2", c, c),
        );
        let input = Layer::new(&p / "in_layer", c, hid, c, cfg.dropout);
        let hidden = (0..cfg.num_layers - 2)
            .map(|i| Layer::new(&p / "layers" / i, hid + c, hid, c, cfg.dropout))
            .collect();
        let output = linear(&p / "out_layer", hid + c, c);
        Self { time_emb_channels: cfg.time_emb_channels, time, input, hidden, output }
    }

    /// ε̂ for `x` at timesteps `t` (plain floats, 0 to steps − 1), recording `temb`,
    /// `cond`, `h_in` and `h_layers.i` in `trace`.
    pub fn forward(&self, x: &Tensor, t: &Tensor, train: bool, trace: &mut Trace) -> Tensor {
        let temb = timestep_embedding(t, self.time_emb_channels).to_kind(x.kind());
        trace.record("temb", &temb);
        let cond = self.time.1.forward(&gelu(&self.time.0.forward(&temb)));
        trace.record("cond", &cond);
        let mut h = self.input.forward(x, &cond, train);
        trace.record("h_in", &h);
        for (i, layer) in self.hidden.iter().enumerate() {
            h = layer.forward(&Tensor::cat(&[&h, x], 1), &cond, train);
            trace.record(&format!("h_layers.{i}"), &h);
        }
        self.output.forward(&Tensor::cat(&[&h, x], 1))
    }
}
