//! Where a batch's features live, and the sparse depthwise convolution over them
//! (docs/reference.md §4.2, §8.3).
//!
//! Features are always `(B, N, C)`: N points per item, either every pixel of an S'×S'
//! raster in row-major order (the dense path of `dense_forward`), or a subset given by
//! flat pixel indices (the sparse path of `forward`, in the list's order). The depthwise
//! convolution scatters the points into a zero-filled S'×S' grid, runs `conv2d` with
//! groups = C, and gathers back: exactly the submanifold convolution, since absent
//! pixels contribute zero (docs/reference.md §8.3).

use tch::{Device, Kind, Tensor};

/// The point set of a batch: a square raster of side `size`, and either every pixel or
/// `n` chosen pixels per item.
#[derive(Debug)]
pub struct Layout {
    /// Items in the batch.
    pub batch: i64,
    /// Side S' of the raster the points lie on.
    pub size: i64,
    /// Points per item.
    pub n: i64,
    /// Flat pixel index `row·S' + col` of each point, item by item; `None`: every pixel.
    pub pixels: Option<Vec<Vec<i64>>>,
    /// The same indices offset by `b·S'²`, on the device (sparse layouts only).
    global: Option<Tensor>,
    device: Device,
}

impl Layout {
    /// Every pixel of `batch` rasters of side `size`.
    pub fn dense(batch: i64, size: i64, device: Device) -> Self {
        Self { batch, size, n: size * size, pixels: None, global: None, device }
    }

    /// Chosen pixels (flat indices, `n` per item, each below `size²`).
    pub fn sparse(size: i64, pixels: Vec<Vec<i64>>, device: Device) -> Self {
        let n = pixels.first().map_or(0, |p| p.len() as i64);
        let area = size * size;
        let global: Vec<i64> = pixels
            .iter()
            .enumerate()
            .flat_map(|(b, item)| item.iter().map(move |p| b as i64 * area + p))
            .collect();
        let global = Some(Tensor::from_slice(&global).to_device(device));
        Self { batch: pixels.len() as i64, size, n, pixels: Some(pixels), global, device }
    }

    /// The device the features live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// `(B, N, C)` features → `(B, C, S', S')` grid, zero where no point lies.
    fn scatter_grid(&self, h: &Tensor) -> Tensor {
        let (b, s, c) = (self.batch, self.size, h.size()[2]);
        let rows = match &self.global {
            None => h.shallow_clone(),
            Some(index) => {
                // In place: index_copy would first copy the whole zero grid.
                let mut grid = Tensor::zeros([b * s * s, c], (h.kind(), h.device()));
                let _ = grid.index_copy_(0, index, &h.reshape([b * self.n, c]));
                grid
            }
        };
        rows.view([b, s, s, c]).permute([0, 3, 1, 2])
    }

    /// `(B, C, S', S')` grid → `(B, N, C)` features at the points.
    fn gather_grid(&self, grid: &Tensor) -> Tensor {
        let (b, s, c) = (self.batch, self.size, grid.size()[1]);
        let rows = grid.permute([0, 2, 3, 1]).reshape([b * s * s, c]);
        match &self.global {
            None => rows.view([b, s * s, c]),
            Some(index) => rows.index_select(0, index).view([b, self.n, c]),
        }
    }

    /// Depthwise cross-correlation of `(B, N, C)` features with `weight` `(C, 1, k, k)`,
    /// zero padding `k/2`, evaluated at the points only.
    pub fn depthwise(&self, h: &Tensor, weight: &Tensor) -> Tensor {
        let (c, k) = (h.size()[2], weight.size()[2]);
        let grid = self.scatter_grid(h);
        let out = if k >= FFT_KERNEL {
            // libtorch's FFTs take float32 only.
            fft_depthwise(&grid.to_kind(Kind::Float), &weight.to_kind(Kind::Float)).to_kind(grid.kind())
        } else {
            grid.conv2d(weight, None::<Tensor>, [1, 1], [k / 2, k / 2], [1, 1], c)
        };
        self.gather_grid(&out)
    }

    /// The density normalisation `(B, N, 1)`: the number of points in the k×k window
    /// centred on each point, divided by `divisor` (`calculate_norm`; in the dense
    /// forward `conv2d(ones, ones(k,k)/49)`, docs/reference.md §4.1).
    pub fn density_norm(&self, k: i64, divisor: f64) -> Tensor {
        let ones = Tensor::ones([self.batch, self.n, 1], (Kind::Float, self.device));
        let kernel = Tensor::ones([1, 1, k, k], (Kind::Float, self.device)) / divisor;
        self.depthwise(&ones, &kernel)
    }

    /// The points' coordinates `(B, N, 2)` as (row, col) in [0, 1]:
    /// `linspace(0, 1, S')` at the row and column (docs/reference.md §4.1 step 1).
    pub fn coords(&self) -> Tensor {
        let axis = Tensor::linspace(0.0, 1.0, self.size, (Kind::Float, Device::Cpu));
        let s = self.size;
        let flat: Tensor = match &self.pixels {
            None => Tensor::arange(s * s, (Kind::Int64, Device::Cpu)).repeat([self.batch]),
            Some(pixels) => Tensor::from_slice(&pixels.concat()),
        };
        let rows = axis.index_select(0, &flat.divide_scalar_mode(s, "floor"));
        let cols = axis.index_select(0, &flat.remainder(s));
        Tensor::stack(&[rows, cols], -1).view([self.batch, self.n, 2]).to_device(self.device)
    }
}

/// Kernels this wide and wider (the resized kernels of a 8× dense forward) are applied
/// through the FFT. Below, oneDNN's direct depthwise convolution on channels-last
/// features is faster: at 512², 64 channels, 224 ms against 302 ms for 29 taps, 411
/// against 745 for 45; at 57 taps the FFT wins, 500 against 842 (docs/network.md#profile).
const FFT_KERNEL: i64 = 49;

/// `conv2d(x, weight, padding k/2, groups C)` computed as a product of spectra: the
/// linear convolution with the flipped kernel, on a transform large enough that
/// nothing wraps around, cropped to the input's size (zero padding, as conv2d).
fn fft_depthwise(x: &Tensor, weight: &Tensor) -> Tensor {
    let (h, w, k) = (x.size()[2], x.size()[3], weight.size()[2]);
    let size = [h + k - 1, w + k - 1];
    let kernel = weight.flip([2, 3]).squeeze_dim(1);
    let spectrum = x.fft_rfft2(size.as_slice(), [-2i64, -1].as_slice(), "backward")
        * kernel.fft_rfft2(size.as_slice(), [-2i64, -1].as_slice(), "backward");
    let full = spectrum.fft_irfft2(size.as_slice(), [-2i64, -1].as_slice(), "backward");
    full.narrow(2, k / 2, h).narrow(3, k / 2, w)
}

/// The depthwise kernel as a conv2d weight `(C, 1, k, k)` from the torchsparse layout
/// `(k², 1, C)`: `W2d[c, 0, i_row, i_col] = kernel[i_col·k + i_row, 0, c]` (docs/reference.md §4.2).
pub fn conv2d_weight(kernel: &Tensor) -> Tensor {
    let (area, c) = (kernel.size()[0], kernel.size()[2]);
    let k = (area as f64).sqrt().round() as i64;
    kernel.view([k, k, c]).permute([2, 1, 0]).unsqueeze(1)
}

/// The kernel resized to side `k` for another resolution: `F.interpolate(W2d, size=k,
/// mode="bilinear")`, align_corners false, no antialias (`get_torch_kernel`).
pub fn resized(weight: &Tensor, k: i64) -> Tensor {
    if weight.size()[2] == k {
        return weight.shallow_clone();
    }
    weight.upsample_bilinear2d([k, k], false, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fft_path_equals_conv2d_for_wide_kernels() {
        tch::manual_seed(1);
        for (size, k) in [(40, 15), (64, 29), (33, 17)] {
            let x = Tensor::randn([2, 5, size, size], (Kind::Float, Device::Cpu));
            let w = Tensor::randn([5, 1, k, k], (Kind::Float, Device::Cpu)) / k as f64;
            let direct = x.conv2d(&w, None::<Tensor>, [1, 1], [k / 2, k / 2], [1, 1], 5);
            let err = (fft_depthwise(&x, &w) - &direct).abs().max().double_value(&[]);
            assert!(err < 2e-5, "size {size} k {k}: {err:e}");
        }
    }
}
