//! Small layers the reference builds from PyTorch modules, with PyTorch's parameter
//! names, and the optional trace the parity tests read intermediates from.

use std::collections::BTreeMap;
use std::time::Instant;

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

    /// Normalises `x` over dimension 1: one native LayerNorm over the channels of the
    /// NHWC view. In the grid U-Net's channels-last layout that view is contiguous, so
    /// this is a single pass (a `var` and a `mean` over a strided dimension cost 20% of
    /// the reference's U-Net; docs/network.md#profile).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let c = self.weight.size()[1];
        let (weight, bias) = (self.weight.view([c]), self.bias.view([c]));
        let nhwc = x.permute([0, 2, 3, 1]);
        nhwc.layer_norm([c], Some(&weight), Some(&bias), self.eps, false).permute([0, 3, 1, 2])
    }
}

/// `x` `(B, C, H, W)` with channels-last strides: the layout every op of the grid U-Net
/// keeps (oneDNN's convolutions prefer it, and `ChannelNorm` needs it to be one pass).
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// What a forward pass reports at each named stage boundary: nothing, a copy of the
/// intermediate (the parity tests), or the wall time since the previous boundary (the
/// profile of `bench/net`; on a CPU every op has finished when it returns).
#[derive(Default)]
pub enum Trace {
    /// Nothing recorded.
    #[default]
    Off,
    /// Every named intermediate.
    Tensors(BTreeMap<String, Tensor>),
    /// Seconds spent per stage, in order, and when the last stage ended.
    Times(Vec<(String, f64)>, Instant),
}

impl Trace {
    /// A trace that records nothing.
    pub fn off() -> Self {
        Self::Off
    }

    /// A trace that records every named intermediate.
    pub fn on() -> Self {
        Self::Tensors(BTreeMap::new())
    }

    /// A trace that times the stages between named intermediates, from now.
    pub fn timed() -> Self {
        Self::Times(Vec::new(), Instant::now())
    }

    /// Records a detached copy of `t` under `name`, or the time since the last record.
    pub fn record(&mut self, name: &str, t: &Tensor) {
        match self {
            Self::Off => {}
            Self::Tensors(map) => {
                map.insert(name.to_string(), t.detach().copy());
            }
            Self::Times(times, since) => {
                times.push((name.to_string(), since.elapsed().as_secs_f64()));
                *since = Instant::now();
            }
        }
    }

    /// A recorded intermediate.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        match self {
            Self::Tensors(map) => map.get(name),
            _ => None,
        }
    }

    /// The stage times recorded, in order.
    pub fn times(&self) -> &[(String, f64)] {
        match self {
            Self::Times(times, _) => times,
            _ => &[],
        }
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
