//! Small layers the reference builds from PyTorch modules, with PyTorch's parameter
//! names. Each runs in its input's precision: its weights are cast to the input's kind
//! (a no-op when they match), so a bf16 forward over fp32 weights trains with fp32
//! master weights, as autocast does (docs/network.md#precision).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::fused;

/// PyTorch's default initialisation of Linear and Conv layers (kaiming_uniform with
/// a = √5, and the bias alike): U(±1/√fan_in) (docs/reference.md §4.7).
fn torch_default(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform { lo: -bound, up: bound }
}

/// `t` in `x`'s precision.
pub fn like(t: &Tensor, x: &Tensor) -> Tensor {
    t.to_kind(x.kind())
}

/// `nn.Linear`, applied to the last dimension.
#[derive(Debug)]
pub struct Linear(nn::Linear);

/// `nn.Linear(inputs, outputs)`.
pub fn linear(p: nn::Path, inputs: i64, outputs: i64) -> Linear {
    let init = torch_default(inputs);
    Linear(nn::linear(
        p,
        inputs,
        outputs,
        nn::LinearConfig { ws_init: init, bs_init: Some(init), bias: true },
    ))
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&like(&self.0.ws, x), self.0.bs.as_ref().map(|b| like(b, x)))
    }
}

/// `nn.Conv2d` with square kernels, `padding = k/2`.
#[derive(Debug)]
pub struct Conv {
    inner: nn::Conv2D,
    stride: i64,
    padding: i64,
}

/// `nn.Conv2d(inputs, outputs, k, stride, padding = k/2)`.
pub fn conv2d(p: nn::Path, inputs: i64, outputs: i64, k: i64, stride: i64) -> Conv {
    let init = torch_default(inputs * k * k);
    let config =
        nn::ConvConfig { stride, padding: k / 2, ws_init: init, bs_init: init, ..Default::default() };
    Conv { inner: nn::conv2d(p, inputs, outputs, k, config), stride, padding: k / 2 }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (s, pad) = (self.stride, self.padding);
        let bias = self.inner.bs.as_ref().map(|b| like(b, x));
        x.conv2d(&like(&self.inner.ws, x), bias, [s, s], [pad, pad], [1, 1], 1)
    }
}

/// `nn.ConvTranspose2d(inputs, outputs, 4, stride 2, padding 1)`, the U-Net's upsampling.
#[derive(Debug)]
pub struct ConvTranspose(nn::ConvTranspose2D);

/// The upsampling layer; PyTorch takes fan_in from the weight's second dimension,
/// `outputs`.
pub fn conv_transpose2d(p: nn::Path, inputs: i64, outputs: i64) -> ConvTranspose {
    let init = torch_default(outputs * 16);
    let config =
        nn::ConvTransposeConfig { stride: 2, padding: 1, ws_init: init, bs_init: init, ..Default::default() };
    ConvTranspose(nn::conv_transpose2d(p, inputs, outputs, 4, config))
}

impl Module for ConvTranspose {
    fn forward(&self, x: &Tensor) -> Tensor {
        let bias = self.0.bs.as_ref().map(|b| like(b, x));
        x.conv_transpose2d(&like(&self.0.ws, x), bias, [2, 2], [1, 1], [0, 0], 1, [1, 1])
    }
}

/// `nn.LayerNorm(C)` over the last dimension (eps 1e-5, PyTorch's default).
#[derive(Debug)]
pub struct LayerNorm(nn::LayerNorm);

/// `nn.LayerNorm(channels)`.
pub fn layer_norm(p: nn::Path, channels: i64) -> LayerNorm {
    LayerNorm(nn::layer_norm(p, vec![channels], Default::default()))
}

impl LayerNorm {
    /// `LN(x)·scale + shift` with a per-item `(scale, shift)` (each `(B, 1, C)`).
    pub fn modulated(&self, x: &Tensor, scale: &Tensor, shift: &Tensor) -> Tensor {
        self.apply(x, Some((scale, shift)))
    }

    fn apply(&self, x: &Tensor, modulation: Option<(&Tensor, &Tensor)>) -> Tensor {
        let (w, b) = (self.0.ws.as_ref().expect("affine"), self.0.bs.as_ref().expect("affine"));
        fused::layer_norm(x, &like(w, x), &like(b, x), 1e-5, modulation)
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.apply(x, None)
    }
}

/// The reference's time then latent modulation, `(f·(1 + s) + b)·zs` with `zs` =
/// `1 + z_mlp(z)` (or 1 without a latent), as the `(scale, shift)` of `f·scale + shift`:
/// the small per-item factors are combined first, `f·((1 + s)·zs) + b·zs`.
pub fn modulation(s: &Tensor, b: &Tensor, zs: Option<&Tensor>) -> (Tensor, Tensor) {
    match zs {
        Some(zs) => ((1 + s) * zs, b * zs),
        None => (1 + s, b.shallow_clone()),
    }
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

    /// Normalises `x` over dimension 1: one LayerNorm over the channels of the NHWC
    /// view. In the grid U-Net's channels-last layout that view is contiguous, so this is
    /// a single pass (a `var` and a `mean` over a strided dimension cost 20% of the
    /// reference's U-Net; docs/network.md#profile).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.apply(x, None)
    }

    /// `LN(x)·scale + shift` with a per-item `(scale, shift)` (each `(B, C, 1, 1)`).
    pub fn modulated(&self, x: &Tensor, scale: &Tensor, shift: &Tensor) -> Tensor {
        let nhwc = |t: &Tensor| t.permute([0, 2, 3, 1]);
        self.apply(x, Some((&nhwc(scale), &nhwc(shift))))
    }

    fn apply(&self, x: &Tensor, modulation: Option<(&Tensor, &Tensor)>) -> Tensor {
        let c = self.weight.size()[1];
        let (weight, bias) = (like(&self.weight, x).view([c]), like(&self.bias, x).view([c]));
        let nhwc = x.permute([0, 2, 3, 1]);
        fused::layer_norm(&nhwc, &weight, &bias, self.eps, modulation).permute([0, 3, 1, 2])
    }
}

/// `x` `(B, C, H, W)` with channels-last strides: the layout every op of the grid U-Net
/// keeps (oneDNN's convolutions prefer it, and `ChannelNorm` needs it to be one pass).
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
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
