//! The decoder `SparseUNet` and the `SparseEncoder` (`models/model_sparse.py`,
//! docs/reference.md §4.1 and §4.5): sparse blocks on the points, KNN onto the R×R grid,
//! the grid U-Net, and back to the points.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::block::{BlockContext, SparseResBlock};
use crate::config::NetConfig;
use crate::knn::{interpolate_to_grid, linspace, Neighbours};
use crate::layers::{gelu, like, linear, sinusoidal_embedding, Linear};
use crate::sparse::Layout;
use crate::trace::Trace;
use crate::uno::Uno;

/// The reference's buffers and frozen parameters: `uno_coords` and the 1/k² normalising
/// kernel. Nothing reads them (they are recomputed), but real checkpoints carry them,
/// so they are kept for one-to-one loading.
fn frozen_buffers(p: &nn::Path, cfg: &NetConfig) {
    let r = cfg.uno_res;
    let axis = Tensor::from_slice(&linspace(r));
    let coords = Tensor::stack(&[axis.repeat_interleave_self_int(r, 0, None), axis.repeat([r])], -1);
    let buffer = p.zeros_no_train("uno_coords", &[1, r * r, 2]);
    let k = cfg.kernel_size;
    let kernel = (p / "normalising_conv").zeros_no_train("kernel", &[k * k, 1, 1]);
    tch::no_grad(|| {
        buffer.shallow_clone().copy_(&coords.unsqueeze(0));
        let _ = kernel.shallow_clone().fill_(1.0 / (k * k) as f64);
    });
}

/// Interpolates `(B, N, Cb)` features onto the grid as `(B, Cb, R, R)`.
fn to_grid(h: &Tensor, layout: &Layout, cfg: &NetConfig, trace: &mut Trace) -> Tensor {
    let r = cfg.uno_res;
    let (grid, found) = interpolate_to_grid(h, layout, r, cfg.knn_neighbours);
    let grid = grid.view([layout.batch, r, r, -1]).permute([0, 3, 1, 2]);
    if matches!(trace, Trace::Tensors(_)) {
        trace_neighbours(trace, &found, r * r, cfg.knn_neighbours);
    }
    trace.record("knn_grid", &grid);
    grid
}

fn trace_neighbours(trace: &mut Trace, found: &[Neighbours], nodes: i64, k: i64) {
    let index: Vec<i64> = found.iter().flat_map(|f| f.index.iter().copied()).collect();
    let dist2: Vec<f32> = found.iter().flat_map(|f| f.dist2.iter().copied()).collect();
    let b = found.len() as i64;
    trace.record("knn_idx", &Tensor::from_slice(&index).view([b, nodes, k]));
    trace.record("knn_dist2", &Tensor::from_slice(&dist2).view([b, nodes, k]));
}

/// The density norm and kernel side for a layout (docs/reference.md §4.1 step 5 and
/// `dense_forward`): the divisor stays k² of the training kernel.
fn norm_for(layout: &Layout, cfg: &NetConfig) -> (Tensor, i64) {
    let k = cfg.kernel_size_at(layout.size);
    (layout.density_norm(k, (cfg.kernel_size * cfg.kernel_size) as f64), k)
}

/// The diffusion decoder.
#[derive(Debug)]
pub struct Decoder {
    cfg: NetConfig,
    linear_in: Linear,
    linear_out: Linear,
    time_mlp: (Linear, Linear),
    down_blocks: Vec<SparseResBlock>,
    up_blocks: Vec<SparseResBlock>,
    uno_linear_in: Linear,
    uno_linear_out: Linear,
    uno: Uno,
}

impl Decoder {
    /// Parameters under `p` (`decoder`), named as the reference's state_dict.
    pub fn new(p: nn::Path, cfg: &NetConfig) -> Self {
        let (nf, td, cb, k) = (cfg.nf, cfg.time_emb_dim, cfg.uno_base_channels, cfg.kernel_size);
        let z = Some(cfg.z_dim);
        let blocks = |name: &str, skip: bool| -> Vec<SparseResBlock> {
            (0..cfg.num_conv_blocks)
                .map(|i| SparseResBlock::new(&p / name / i / "block", nf, k, td, z, skip))
                .collect()
        };
        frozen_buffers(&p, cfg);
        Self {
            cfg: cfg.clone(),
            linear_in: linear(&p / "linear_in", cfg.channels + cfg.guide_channels, nf),
            linear_out: linear(&p / "linear_out", nf, cfg.channels),
            time_mlp: (linear(&p / "time_mlp" / 1, td, td), linear(&p / "time_mlp" / 3, td, td)),
            down_blocks: blocks("down_blocks", false),
            up_blocks: blocks("up_blocks", true),
            uno_linear_in: linear(&p / "uno_linear_in", nf, cb),
            uno_linear_out: linear(&p / "uno_linear_out", cb, nf),
            uno: Uno::new(&p / "uno", cfg, td, z, cb, false),
        }
    }

    /// Mollified ε̂ `(B, N, C)` from `x` `(B, N, C + G)` (x_t, then any guide channels)
    /// at the layout's points, timesteps `t` `(B,)` in [0, 999] and latents `z` `(B, Z)`.
    pub fn forward(
        &self,
        x: &Tensor,
        t: &Tensor,
        z: &Tensor,
        layout: &Layout,
        train: bool,
        trace: &mut Trace,
    ) -> Tensor {
        let cfg = &self.cfg;
        let sinusoidal = like(&sinusoidal_embedding(t, cfg.time_emb_dim), x);
        let z = &like(z, x);
        trace.record("time_sinusoidal", &sinusoidal);
        let temb = self.time_mlp.1.forward(&gelu(&self.time_mlp.0.forward(&sinusoidal)));
        trace.record("time_emb", &temb);
        let (norm, kernel_size) = norm_for(layout, cfg);
        trace.record("norm", &norm);
        let norm = like(&norm, x);
        let ctx = BlockContext { layout, norm: &norm, kernel_size, temb: Some(&temb), z: Some(z) };

        let mut h = self.linear_in.forward(x);
        let mut skips = Vec::new();
        for (i, block) in self.down_blocks.iter().enumerate() {
            h = block.forward(&h, None, &ctx);
            if i == 0 {
                trace.record("block0_out", &h);
            }
            skips.push(h.shallow_clone());
        }
        trace.record("down_last_out", &h);
        let grid = to_grid(&self.uno_linear_in.forward(&h), layout, cfg, trace);
        let grid = self.uno.forward(&grid, Some(&temb), Some(z), train);
        trace.record("uno_out", &grid);
        let mut h = self.uno_linear_out.forward(&self.sample_grid(&grid, layout));
        trace.record("up_in", &h);
        for block in &self.up_blocks {
            let skip = skips.pop().expect("one skip per block");
            h = block.forward(&h, Some(&skip), &ctx);
        }
        trace.record("up_last_out", &h);
        let out = self.linear_out.forward(&h);
        trace.record("out", &out);
        out
    }

    /// Bilinear reads of the `(B, Cb, R, R)` grid at the points, `(B, N, Cb)`. The
    /// reference passes (row, col) in [0,1] as grid_sample's (x, y) (docs/reference.md
    /// §8.1 #1), which reads a transposed quarter of the grid; the corrected mapping
    /// reads node (i, j) at coordinate (i, j)/(R−1).
    fn sample_grid(&self, grid: &Tensor, layout: &Layout) -> Tensor {
        let coords = layout.coords();
        let (locations, align_corners) = if self.cfg.reference_grid_sample {
            (coords, false)
        } else {
            let (row, col) = (coords.select(2, 0), coords.select(2, 1));
            (Tensor::stack(&[col * 2 - 1, row * 2 - 1], -1), true)
        };
        // In float32 whatever the precision: bf16 coordinates would be off by up to
        // an eighth of a grid cell.
        let sampled = grid.to_kind(Kind::Float).grid_sampler(&locations.unsqueeze(2), 0, 0, align_corners);
        like(&sampled.squeeze_dim(3).transpose(1, 2), grid)
    }
}

/// The encoder of the diffusion autoencoder: clean image at the points → z.
#[derive(Debug)]
pub struct Encoder {
    cfg: NetConfig,
    linear_in: Linear,
    down_blocks: Vec<SparseResBlock>,
    uno_linear_in: Linear,
    uno: Uno,
    linear_out: Linear,
}

impl Encoder {
    /// Parameters under `p` (`encoder`). Its blocks keep the time layers and
    /// LayerNorms a real checkpoint has, though t = z = None never uses them.
    pub fn new(p: nn::Path, cfg: &NetConfig) -> Self {
        let (nf, cb, k) = (cfg.nf, cfg.uno_base_channels, cfg.kernel_size);
        frozen_buffers(&p, cfg);
        Self {
            cfg: cfg.clone(),
            linear_in: linear(&p / "linear_in", cfg.channels, nf),
            down_blocks: (0..cfg.num_conv_blocks)
                .map(|i| SparseResBlock::new(&p / "down_blocks" / i / "block", nf, k, nf, None, false))
                .collect(),
            uno_linear_in: linear(&p / "uno_linear_in", nf, cb),
            uno: Uno::new(&p / "uno", cfg, nf, None, cfg.z_dim, true),
            linear_out: linear(&p / "linear_out", cfg.z_dim, cfg.z_dim),
        }
    }

    /// z `(B, Z)` from a clean image `(B, N, C)` at the layout's points.
    pub fn forward(&self, x: &Tensor, layout: &Layout, train: bool, trace: &mut Trace) -> Tensor {
        let (norm, kernel_size) = norm_for(layout, &self.cfg);
        trace.record("norm", &norm);
        let norm = like(&norm, x);
        let ctx = BlockContext { layout, norm: &norm, kernel_size, temb: None, z: None };
        let mut h = self.linear_in.forward(x);
        for (i, block) in self.down_blocks.iter().enumerate() {
            h = block.forward(&h, None, &ctx);
            if i == 0 {
                trace.record("block0_out", &h);
            }
        }
        let grid = to_grid(&self.uno_linear_in.forward(&h), layout, &self.cfg, trace);
        let out = self.uno.forward(&grid, None, None, train);
        trace.record("uno_out", &out);
        let z = self.linear_out.forward(&out.mean_dim([2, 3].as_slice(), false, Kind::Float));
        trace.record("out", &z);
        z
    }
}
