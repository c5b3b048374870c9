//! Small layers the reference builds from PyTorch modules, with PyTorch's parameter
//! names, and the optional trace the parity tests read intermediates from.

use std::collections::BTreeMap;

use tch::{nn, Kind, Tensor};

/// PyTorch's default initialisation of Linear and Conv layers (kaiming_uniform with
/// a = √5, and the bias alike): U(±1/√fan_in) (docs/reference.md §4.7).
fn torch_default(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -bound, up: bound }
}

/// `nn.Linear` applied to the last dimension.
pub fn linear(p: nn::Path, inputs: i64, outputs: i64) -> nn::Linear {
    let init = torch_default(inputs);
    nn::linear(p, inputs, outputs, nn::LinearConfig { ws_init: init, bs_init: Some(init), bias: true })
}

/// `nn.Conv2d(inputs, outputs, k, stride, padding = k/2)`.
pub fn conv2d(p: nn::Path, inputs: i64, outputs: i64, k: i64, stride: i64) -> nn::Conv2D {
    let init = torch_default(inputs * k * k);
    let config =
        nn::ConvConfig { stride, padding: k / 2, ws_init: init, bs_init: init, ..Default::default() };
    nn::conv2d(p, inputs, outputs, k, config)
}

/// `nn.ConvTranspose2d(inputs, outputs, 4, stride 2, padding 1)`; PyTorch takes fan_in
/// from the weight's second dimension, `outputs`.
pub fn conv_transpose2d(p: nn::Path, inputs: i64, outputs: i64) -> nn::ConvTranspose2D {
    let init = torch_default(outputs * 16);
    let config =
        nn::ConvTransposeConfig { stride: 2, padding: 1, ws_init: init, bs_init: init, ..Default::default() };
    nn::conv_transpose2d(p, inputs, outputs, 4, config)
}

/// The exact (erf) GELU of `nn.GELU()`.
pub fn gelu(x: &Tensor) -> Tensor {
    x.gelu("none")
}

/// The U-Net's custom LayerNorm over the channel dimension of `(B, C, H, W)`
/// (`models/conv_uno.py:LayerNorm`): biased variance, weight and bias of shape
/// `(1, C, 1, 1)`. Its eps is 1e-5 in float32 (the reference uses 1e-3 only in fp16).
#[derive(Debug)]
pub struct ChannelNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl ChannelNorm {
    /// Weight ones and bias zeros, as the reference initialises them.
    pub fn new(p: nn::Path, channels: i64, eps: f64) -> Self {
        let shape = [1, channels, 1, 1];
        Self { weight: p.ones("weight", &shape), bias: p.zeros("bias", &shape), eps }
    }

    /// Normalises `x` over dimension 1.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let var = x.var_dim(1, false, true);
        let mean = x.mean_dim(1, true, Kind::Float);
        (x - mean) * (var + self.eps).rsqrt() * &self.weight + &self.bias
    }
}

/// Intermediates recorded during a forward pass, by name; off unless a test asks.
#[derive(Default)]
pub struct Trace(Option<BTreeMap<String, Tensor>>);

impl Trace {
    /// A trace that records nothing.
    pub fn off() -> Self {
        Self(None)
    }

    /// A trace that records every named intermediate.
    pub fn on() -> Self {
        Self(Some(BTreeMap::new()))
    }

    /// Records a detached copy of `t` under `name`.
    pub fn record(&mut self, name: &str, t: &Tensor) {
        if let Some(map) = &mut self.0 {
            map.insert(name.to_string(), t.detach().copy());
        }
    }

    /// A recorded intermediate.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.0.as_ref()?.get(name)
    }
}

/// `SinusoidalPosEmb(dim)` of `models/model_sparse.py`: `[sin(t·f), cos(t·f)]`, sin first,
/// `f_i = exp(−i·ln(10000)/(dim/2 − 1))`, in float32 as the reference computes it.
pub fn sinusoidal_embedding(t: &Tensor, dim: i64) -> Tensor {
    let half = dim / 2;
    let step = (10000f64).ln() / (half - 1) as f64;
    let freqs = (Tensor::arange(half, (Kind::Float, t.device())) * -step).exp();
    let args = t.unsqueeze(1) * freqs.unsqueeze(0);
    Tensor::cat(&[args.sin(), args.cos()], -1)
}
