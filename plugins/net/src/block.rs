//! The sparse residual block (`models/sparse_conv_block.py:TorchsparseResBlock`,
//! docs/reference.md §4.2), on `(B, N, C)` point features.

use tch::nn::{self, Module};
use tch::Tensor;

use crate::layers::{gelu, layer_norm, like, linear, modulation, LayerNorm, Linear};
use crate::sparse::{conv2d_weight, resized, Layout};

/// What every block of one forward pass shares.
pub struct BlockContext<'a> {
    /// Where the points are.
    pub layout: &'a Layout,
    /// Density normalisation `(B, N, 1)`.
    pub norm: &'a Tensor,
    /// Kernel side at this resolution.
    pub kernel_size: i64,
    /// Time embedding `(B, T)`; `None` in the encoder.
    pub temb: Option<&'a Tensor>,
    /// Latent `(B, Z)`; `None` in the encoder.
    pub z: Option<&'a Tensor>,
}

/// A `GELU → Linear(T, 2C)` time projection and a `Linear(Z, C) → GELU → Linear(C, C)`
/// latent projection around one LayerNorm: `modulate` of the reference.
#[derive(Debug)]
struct Modulation {
    norm: LayerNorm,
    time: Linear,
    z: Option<(Linear, Linear)>,
}

impl Modulation {
    fn new(p: &nn::Path, index: usize, c: i64, temb_dim: i64, z_dim: Option<i64>) -> Self {
        let norm = layer_norm(p / format!("norm{index}"), c);
        let time = linear(p / format!("time_mlp{index}") / 1, temb_dim, 2 * c);
        let z = z_dim.map(|z| {
            let zp = p / format!("z_mlp{index}");
            (linear(&zp / 0, z, c), linear(&zp / 2, c, c))
        });
        Self { norm, time, z }
    }

    /// `f = LN(h)·(1 + s) + b` with `[s, b]` from the time embedding (scale first), then
    /// `f·(1 + z_mlp(z))`.
    fn forward(&self, h: &Tensor, temb: &Tensor, z: Option<&Tensor>) -> Tensor {
        let st = self.time.forward(&gelu(temb)).unsqueeze(1).chunk(2, -1);
        let zs = match (&self.z, z) {
            (Some((z1, z2)), Some(z)) => Some(1 + z2.forward(&gelu(&z1.forward(z))).unsqueeze(1)),
            _ => None,
        };
        let (scale, shift) = modulation(&st[0], &st[1], zs.as_ref());
        self.norm.modulated(h, &scale, &shift)
    }
}

/// One sparse residual block; `up` blocks first merge the skip connection.
#[derive(Debug)]
pub struct SparseResBlock {
    skip_linear: Option<Linear>,
    modulation: [Modulation; 2],
    kernel: Tensor,
    mlp: (Linear, Linear),
}

impl SparseResBlock {
    /// Parameters under `p` (`…/block`), named as the reference's.
    pub fn new(p: nn::Path, c: i64, k: i64, temb_dim: i64, z_dim: Option<i64>, skip: bool) -> Self {
        // torchsparse's _custom_kaiming_uniform_: U(±1/√(C·k²)) (docs/reference.md §4.2).
        let bound = 1.0 / ((c * k * k) as f64).sqrt();
        let kernel = (&p / "conv").var("kernel", &[k * k, 1, c], nn::Init::Uniform { lo: -bound, up: bound });
        Self {
            skip_linear: skip.then(|| linear(&p / "skip_linear", 2 * c, c)),
            modulation: [
                Modulation::new(&p, 1, c, temb_dim, z_dim),
                Modulation::new(&p, 2, c, temb_dim, z_dim),
            ],
            kernel,
            mlp: (linear(&p / "mlp" / 0, c, 2 * c), linear(&p / "mlp" / 2, 2 * c, c)),
        }
    }

    /// The depthwise convolution, not yet divided by the density norm.
    fn conv(&self, h: &Tensor, ctx: &BlockContext) -> Tensor {
        let weight = resized(&conv2d_weight(&like(&self.kernel, h)), ctx.kernel_size);
        ctx.layout.depthwise(h, &weight)
    }

    fn mlp(&self, h: &Tensor) -> Tensor {
        self.mlp.1.forward(&gelu(&self.mlp.0.forward(h)))
    }

    /// The block on `(B, N, C)` features. With a time embedding (decoder):
    /// `h = conv(mod₁(x))/norm; x += h; x += mlp(mod₂(x))`. Without (encoder, t = z =
    /// None): `h = conv(x)/norm; x += h; x += mlp(h)`, the MLP seeing the conv output as
    /// in the reference's sparse path (docs/reference.md §8.1 #4).
    pub fn forward(&self, x: &Tensor, skip: Option<&Tensor>, ctx: &BlockContext) -> Tensor {
        let x = match (&self.skip_linear, skip) {
            (Some(merge), Some(skip)) => merge.forward(&Tensor::cat(&[x, skip], -1)),
            _ => x.shallow_clone(),
        };
        match ctx.temb {
            Some(temb) => {
                // x + conv(…)/norm in one pass.
                let x = x.addcdiv(&self.conv(&self.modulation[0].forward(&x, temb, ctx.z), ctx), ctx.norm);
                let h = self.modulation[1].forward(&x, temb, ctx.z);
                &x + self.mlp(&h)
            }
            None => {
                let h = self.conv(&x, ctx) / ctx.norm;
                let x = x + &h;
                x + self.mlp(&h)
            }
        }
    }
}
