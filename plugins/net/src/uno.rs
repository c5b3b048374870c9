//! The grid U-Net (`models/conv_uno.py:UNO`, `UNOEncoder`; docs/reference.md §4.4) on the
//! fixed R×R grid, with time and latent modulation in every ConvBlock.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::config::NetConfig;
use crate::layers::{
    channels_last, conv2d, conv_transpose2d, gelu, layer_norm, linear, modulation, ChannelNorm, Conv,
    ConvTranspose, LayerNorm, Linear,
};

/// `ConvBlock(nin, nout)`: LN → GELU → conv3×3, LN, time scale/shift, latent scale,
/// GELU → dropout → conv3×3, plus a 1×1 residual projection when widths differ.
#[derive(Debug)]
struct ConvBlock {
    norm_in: ChannelNorm,
    conv_in: Conv,
    norm: ChannelNorm,
    time: Linear,
    z: Option<(Linear, Linear)>,
    conv_out: Conv,
    res_conv: Option<Conv>,
    dropout: f64,
}

impl ConvBlock {
    fn new(
        p: nn::Path,
        nin: i64,
        nout: i64,
        cfg: &NetConfig,
        temb_dim: i64,
        z_dim: Option<i64>,
        dropout: f64,
    ) -> Self {
        let eps = cfg.layer_norm_eps;
        Self {
            norm_in: ChannelNorm::new(&p / "in_layers" / 0, nin, eps),
            conv_in: conv2d(&p / "in_layers" / 2, nin, nout, 3, 1),
            norm: ChannelNorm::new(&p / "norm", nout, eps),
            time: linear(&p / "time" / 1, temb_dim, 2 * nout),
            z: z_dim.map(|z| (linear(&p / "z_mlp" / 0, z, nout), linear(&p / "z_mlp" / 2, nout, nout))),
            conv_out: conv2d(&p / "out_layers" / 2, nout, nout, 3, 1),
            res_conv: (nin != nout).then(|| conv2d(&p / "res_conv", nin, nout, 1, 1)),
            dropout,
        }
    }

    fn forward(&self, x: &Tensor, temb: Option<&Tensor>, z: Option<&Tensor>, train: bool) -> Tensor {
        let h = self.conv_in.forward(&gelu(&self.norm_in.forward(x)));
        let per_channel = |t: Tensor| t.unsqueeze(-1).unsqueeze(-1);
        let zs = match (&self.z, z) {
            (Some((z1, z2)), Some(z)) => Some(1 + per_channel(z2.forward(&gelu(&z1.forward(z))))),
            _ => None,
        };
        let h = match temb {
            Some(temb) => {
                let st = per_channel(self.time.forward(&gelu(temb))).chunk(2, 1);
                let (scale, shift) = modulation(&st[0], &st[1], zs.as_ref());
                self.norm.modulated(&h, &scale, &shift)
            }
            None => {
                let f = self.norm.forward(&h);
                zs.map_or_else(|| f.shallow_clone(), |zs| &f * zs)
            }
        };
        let h = self.conv_out.forward(&gelu(&h).dropout(self.dropout, train));
        let res = self.res_conv.as_ref().map_or_else(|| x.shallow_clone(), |conv| conv.forward(x));
        h + res
    }
}

/// `FlashAttnBlock(dim)`: pre-LayerNorm softmax self-attention over the grid, heads of
/// 32 channels (`max(dim/32, 4)` heads), qkv laid out `(three, heads, 32)`, residual.
#[derive(Debug)]
struct Attention {
    norm: LayerNorm,
    qkv: Linear,
    out: Linear,
    heads: i64,
}

const HEAD_DIM: i64 = 32;

impl Attention {
    fn new(p: nn::Path, dim: i64) -> Self {
        let heads = (dim / HEAD_DIM).max(4);
        Self {
            norm: layer_norm(&p / "norm", dim),
            qkv: linear(&p / "qkv", dim, heads * HEAD_DIM * 3),
            out: linear(&p / "attn_linear", heads * HEAD_DIM, dim),
            heads,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let (b, c, h, w) = x.size4().unwrap_or_default();
        let seq = x.flatten(2, 3).transpose(1, 2); // (B, L, C)
        let qkv = self.qkv.forward(&self.norm.forward(&seq)).view([b, h * w, 3, self.heads, HEAD_DIM]);
        let qkv = qkv.permute([2, 0, 3, 1, 4]); // (3, B, heads, L, 32)
                                                // softmax(q·kᵀ/√32)·v, fused (flash attention on CPU and CUDA).
        let attended = Tensor::scaled_dot_product_attention(
            &qkv.get(0),
            &qkv.get(1),
            &qkv.get(2),
            None::<Tensor>,
            0.0,
            false,
            None,
            false,
        ); // (B, heads, L, 32)
        let merged = attended.transpose(1, 2).reshape([b, h * w, self.heads * HEAD_DIM]);
        let out = self.out.forward(&merged).transpose(1, 2).view([b, c, h, w]);
        x + out
    }
}

/// One (ConvBlock, attention-or-identity) pair of a level.
#[derive(Debug)]
struct Pair {
    block: ConvBlock,
    attention: Option<Attention>,
}

impl Pair {
    fn forward(&self, x: &Tensor, temb: Option<&Tensor>, z: Option<&Tensor>, train: bool) -> Tensor {
        let x = self.block.forward(x, temb, z, train);
        self.attention.as_ref().map_or(x.shallow_clone(), |a| a.forward(&x))
    }
}

/// A resolution change (or, on the last level, a same-size conv).
#[derive(Debug)]
enum Resample {
    Conv(Conv),
    Up(ConvTranspose),
}

impl Resample {
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Resample::Conv(conv) => conv.forward(x),
            Resample::Up(conv) => conv.forward(x),
        }
    }
}

/// The grid U-Net. The encoder variant keeps only the down path and the middle, and its
/// head maps to z (`UNOEncoder`).
#[derive(Debug)]
pub struct Uno {
    fc0: Conv,
    downs: Vec<(Vec<Pair>, Resample)>,
    mid: (ConvBlock, Attention, ConvBlock),
    ups: Vec<(Vec<Pair>, Resample)>,
    head: (Conv, Option<Conv>),
}

impl Uno {
    /// Builds the U-Net under `p` (`…/uno`). `z_dim` is `None` for the encoder, whose
    /// head is `fc1: dims[-1] → nout` and which has no up path.
    pub fn new(
        p: nn::Path,
        cfg: &NetConfig,
        temb_dim: i64,
        z_dim: Option<i64>,
        nout: i64,
        encoder: bool,
    ) -> Self {
        let width = cfg.uno_base_channels;
        let dims: Vec<i64> = std::iter::once(width).chain(cfg.uno_mults.iter().map(|m| width * m)).collect();
        let levels = cfg.uno_mults.len();
        let dropout_at =
            |res: i64| if res <= cfg.uno_dropout_from_resolution { cfg.uno_dropout } else { 0.0 };
        let pairs = |p: nn::Path, count: i64, nin: i64, nout: i64, res: i64| -> Vec<Pair> {
            (0..count)
                .map(|j| Pair {
                    block: ConvBlock::new(&p / j / 0, nin, nout, cfg, temb_dim, z_dim, dropout_at(res)),
                    attention: cfg
                        .uno_attn_resolutions
                        .contains(&res)
                        .then(|| Attention::new(&p / j / 1, nout)),
                })
                .collect()
        };
        let mut res = cfg.uno_res;
        let mut downs = Vec::new();
        for i in 0..levels {
            let (din, dout, count) = (dims[i], dims[i + 1], cfg.uno_blocks_per_level[i]);
            let last = i == levels - 1;
            let level = pairs(&p / "downs" / i / 0, count, din, din, res);
            let stride = if last { 1 } else { 2 };
            downs.push((level, Resample::Conv(conv2d(&p / "downs" / i / 1, din, dout, 3, stride))));
            res = if last { res } else { res / 2 };
        }
        let d = dims[levels];
        let mid = (
            ConvBlock::new(&p / "mid_block1", d, d, cfg, temb_dim, z_dim, dropout_at(res)),
            Attention::new(&p / "mid_attn", d),
            ConvBlock::new(&p / "mid_block2", d, d, cfg, temb_dim, z_dim, dropout_at(res)),
        );
        let mut ups = Vec::new();
        if !encoder {
            for (ind, i) in (0..levels).rev().enumerate() {
                let (din, dout, count) = (dims[i], dims[i + 1], cfg.uno_blocks_per_level[i]);
                let last = ind == levels - 1;
                let level = pairs(&p / "ups" / ind / 0, count, dout + din, dout, res);
                let up = if last {
                    Resample::Conv(conv2d(&p / "ups" / ind / 1, dout, din, 3, 1))
                } else {
                    Resample::Up(conv_transpose2d(&p / "ups" / ind / 1, dout, din))
                };
                ups.push((level, up));
                res = if last { res } else { res * 2 };
            }
        }
        let head = if encoder {
            (conv2d(&p / "fc1", d, nout, 1, 1), None)
        } else {
            (conv2d(&p / "fc1", width, 128, 1, 1), Some(conv2d(&p / "fc2", 128, nout, 1, 1)))
        };
        Self { fc0: conv2d(&p / "fc0", width, width, 1, 1), downs, mid, ups, head }
    }

    /// `(B, Cb, R, R)` → `(B, nout, R', R')`; skips are pushed after every pair and
    /// concatenated (x first) before every pair on the way up.
    pub fn forward(&self, x: &Tensor, temb: Option<&Tensor>, z: Option<&Tensor>, train: bool) -> Tensor {
        let mut x = self.fc0.forward(&channels_last(x));
        let mut skips = Vec::new();
        for (level, down) in &self.downs {
            for pair in level {
                x = pair.forward(&x, temb, z, train);
                skips.push(x.shallow_clone());
            }
            x = down.forward(&x);
        }
        x = self.mid.0.forward(&x, temb, z, train);
        x = self.mid.1.forward(&x);
        x = self.mid.2.forward(&x, temb, z, train);
        for (level, up) in &self.ups {
            for pair in level {
                let skip = skips.pop().expect("one skip per pair");
                x = pair.forward(&Tensor::cat(&[&x, &skip], 1), temb, z, train);
            }
            x = up.forward(&x);
        }
        match &self.head {
            (fc1, Some(fc2)) => fc2.forward(&gelu(&fc1.forward(&x))),
            (fc1, None) => fc1.forward(&x),
        }
    }
}
