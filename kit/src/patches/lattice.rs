//! Where the model's patches lie on the output raster and how overlapping patches
//! blend. The lattice depends only on the raster and the patch size, never on the
//! window the host asks for, so every tiling of the output computes the same patches
//! and blends them the same way: tiles of any size give the same pixels.

use infty_sdk::Window;

/// Square patches of `side` pixels every `side − overlap` pixels, the last one on each
/// axis flush with the far edge, so every patch lies inside the raster.
#[derive(Clone, Debug, PartialEq)]
pub struct Lattice {
    /// The patch side in pixels.
    pub side: u32,
    overlap: u32,
    xs: Vec<u32>,
    ys: Vec<u32>,
}

impl Lattice {
    /// The lattice of a `width × height` raster; both must be at least `side`, and
    /// `overlap` at most half of `side`.
    pub fn new(width: u32, height: u32, side: u32, overlap: u32) -> Lattice {
        assert!(width >= side && height >= side && 2 * overlap <= side, "checked by the caller");
        Lattice {
            side,
            overlap,
            xs: origins(width, side, side - overlap),
            ys: origins(height, side, side - overlap),
        }
    }

    /// The origins of the patches that touch `window`, row by row.
    pub fn patches_over(&self, window: Window) -> Vec<(u32, u32)> {
        let touching = |origins: &[u32], start: i64, end: i64| -> Vec<u32> {
            origins
                .iter()
                .copied()
                .filter(|&o| i64::from(o) < end && i64::from(o + self.side) > start)
                .collect()
        };
        let xs = touching(&self.xs, window.x, window.right());
        let ys = touching(&self.ys, window.y, window.bottom());
        ys.iter().flat_map(|&y| xs.iter().map(move |&x| (x, y))).collect()
    }

    /// The patches sampled together with the one at `origin`: its row's patches in runs
    /// of `size`, fixed by the lattice. A patch's batch never depends on the tile being
    /// computed, so neither do its samples, to the bit.
    pub fn batch_of(&self, origin: (u32, u32), size: usize) -> Vec<(u32, u32)> {
        let index = self.xs.partition_point(|&x| x < origin.0);
        let start = index / size * size;
        self.xs[start..(start + size).min(self.xs.len())].iter().map(|&x| (x, origin.1)).collect()
    }

    /// Every patch in the batches of the patches that touch `window`.
    pub fn batches_over(&self, window: Window, size: usize) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> =
            self.patches_over(window).into_iter().flat_map(|o| self.batch_of(o, size)).collect();
        all.sort_unstable_by_key(|&(x, y)| (y, x));
        all.dedup();
        all
    }

    /// The blending weight of pixel `i` of a patch at `origin` along an axis: a `sin²`
    /// ramp over `overlap` pixels at each side that has a neighbour, 1 elsewhere. Every
    /// weight is positive, and blended values are divided by the weights' sum.
    fn axis_weight(&self, origins: &[u32], origin: u32, i: u32) -> f32 {
        let ramp = |d: u32| {
            if d >= self.overlap {
                1.0
            } else {
                let s = (std::f32::consts::FRAC_PI_2 * (d as f32 + 0.5) / self.overlap as f32).sin();
                s * s
            }
        };
        let first = origins.first() == Some(&origin);
        let last = origins.last() == Some(&origin);
        let from_start = if first { 1.0 } else { ramp(i) };
        let from_end = if last { 1.0 } else { ramp(self.side - 1 - i) };
        from_start * from_end
    }

    /// The weights of a patch at `origin`, row-major, `side²` values.
    pub fn weights(&self, origin: (u32, u32)) -> Vec<f32> {
        let wx: Vec<f32> = (0..self.side).map(|i| self.axis_weight(&self.xs, origin.0, i)).collect();
        (0..self.side)
            .flat_map(|j| {
                let wy = self.axis_weight(&self.ys, origin.1, j);
                wx.iter().map(move |w| w * wy)
            })
            .collect()
    }
}

/// Origins along an axis of `len` pixels, every `stride`, the last at `len − side`.
fn origins(len: u32, side: u32, stride: u32) -> Vec<u32> {
    let mut out: Vec<u32> = (0..).map(|k| k * stride).take_while(|&o| o + side < len).collect();
    out.push(len - side);
    out
}

/// Accumulates weighted patches over one output window.
pub struct Blend {
    window: Window,
    channels: usize,
    sum: Vec<f32>,
    weight: Vec<f32>,
}

impl Blend {
    /// An empty blend of `channels` planes over `window`.
    pub fn new(window: Window, channels: usize) -> Blend {
        let area = window.area() as usize;
        Blend { window, channels, sum: vec![0.0; area * channels], weight: vec![0.0; area] }
    }

    /// Adds the planar patch `values` (`channels × side²`) at `origin` with `weights`.
    pub fn add(&mut self, origin: (u32, u32), side: u32, values: &[f32], weights: &[f32]) {
        let patch = Window::new(origin.0.into(), origin.1.into(), side, side);
        let common = patch.intersect(&self.window);
        let (w, h, side) = (self.window.width as usize, self.window.height as usize, side as usize);
        for y in common.y..common.bottom() {
            let (py, wy) = ((y - patch.y) as usize, (y - self.window.y) as usize);
            for x in common.x..common.right() {
                let (px, wx) = ((x - patch.x) as usize, (x - self.window.x) as usize);
                let weight = weights[py * side + px];
                self.weight[wy * w + wx] += weight;
                for c in 0..self.channels {
                    self.sum[(c * h + wy) * w + wx] += weight * values[(c * side + py) * side + px];
                }
            }
        }
    }

    /// The blended planes, `channels × window area`.
    pub fn finish(mut self) -> Vec<f32> {
        let area = self.weight.len();
        for (i, v) in self.sum.iter_mut().enumerate() {
            *v /= self.weight[i % area];
        }
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_cover_the_axis_and_stay_inside() {
        assert_eq!(origins(64, 64, 48), [0]);
        assert_eq!(origins(100, 64, 48), [0, 36]);
        assert_eq!(origins(160, 64, 48), [0, 48, 96]);
        assert_eq!(origins(161, 64, 48), [0, 48, 96, 97]);
    }

    #[test]
    fn patches_over_a_window_are_the_ones_touching_it() {
        let lattice = Lattice::new(160, 100, 64, 16);
        assert_eq!(lattice.patches_over(Window::new(0, 0, 10, 10)), [(0, 0)]);
        assert_eq!(lattice.patches_over(Window::new(50, 40, 10, 1)), [(0, 0), (48, 0), (0, 36), (48, 36)]);
        assert_eq!(lattice.patches_over(Window::new(0, 0, 160, 100)).len(), 6);
    }

    #[test]
    fn blending_equal_patches_gives_them_back_and_any_window_agrees() {
        let lattice = Lattice::new(160, 100, 64, 16);
        // Each patch carries a constant plus a ramp in x: blending must reproduce
        // the ramp, which every patch agrees on.
        let patch_values = |(ox, _oy): (u32, u32)| -> Vec<f32> {
            (0..2 * 64 * 64).map(|i| (i / (64 * 64)) as f32 + ((i % 64) as u32 + ox) as f32 * 0.01).collect()
        };
        let render = |window: Window| {
            let mut blend = Blend::new(window, 2);
            for origin in lattice.patches_over(window) {
                blend.add(origin, 64, &patch_values(origin), &lattice.weights(origin));
            }
            blend.finish()
        };
        let whole = render(Window::new(0, 0, 160, 100));
        for (i, v) in whole.iter().enumerate() {
            let (c, x) = (i / 16000, i % 160);
            assert!((v - (c as f32 + x as f32 * 0.01)).abs() < 1e-5, "{i}: {v}");
        }
        let part = render(Window::new(37, 21, 70, 50));
        for y in 0..50 {
            for x in 0..70 {
                assert_eq!(part[y * 70 + x], whole[(21 + y) * 160 + 37 + x]);
            }
        }
    }

    #[test]
    fn batches_are_runs_of_a_row_fixed_by_the_lattice() {
        let lattice = Lattice::new(400, 100, 64, 16);
        assert_eq!(lattice.xs, [0, 48, 96, 144, 192, 240, 288, 336]);
        assert_eq!(lattice.batch_of((144, 36), 3), [(144, 36), (192, 36), (240, 36)]);
        assert_eq!(lattice.batch_of((96, 36), 3), [(0, 36), (48, 36), (96, 36)]);
        assert_eq!(lattice.batch_of((336, 0), 3), [(288, 0), (336, 0)]);
        let over = lattice.batches_over(Window::new(100, 0, 10, 10), 3);
        assert_eq!(over, [(0, 0), (48, 0), (96, 0)]);
    }

    #[test]
    fn weights_ramp_only_towards_neighbours() {
        let lattice = Lattice::new(112, 64, 64, 16);
        let left = lattice.weights((0, 0));
        assert_eq!(left[0], 1.0, "the raster's own edge does not ramp");
        assert!(left[63] < 0.01 && left[63] > 0.0, "towards the right neighbour: {}", left[63]);
        assert_eq!(left[40], 1.0);
    }
}
