//! Overlapping tiles for operators whose result depends on the window (a diffusion
//! sampler on a tile): each output tile is computed `overlap` pixels larger on every
//! side, and the overlaps are blended with weights that sum to one, so seams fade
//! over `2·overlap` pixels instead of showing as edges.
//!
//! Across a border between two tiles the weights are `sin²` and `cos²` of the same
//! angle, ramping over the `2·overlap` pixels both tiles cover; in 2-D the weight is
//! the product of the two axes' weights. At the image's own edges there is no ramp.
//! A stored tile is final once every computed tile touching it has been added.

use std::collections::HashMap;
use std::sync::Mutex;

use infty_sdk::Window;

use super::grid::Grid;

pub struct Blender {
    grid: Grid,
    overlap: u32,
    channels: usize,
    /// Stored tiles being accumulated: weighted sum so far, contributions still due.
    pending: Mutex<HashMap<u32, (Vec<f32>, u32)>>,
}

impl Blender {
    /// A blender of tiles of `channels` channels in `grid`, overlapping by `overlap`.
    pub fn new(grid: Grid, channels: u32, overlap: u32) -> Blender {
        let channels = channels as usize;
        Blender { grid, overlap: overlap.min(grid.tile / 2), channels, pending: Mutex::default() }
    }

    /// The window computed for tile `index`: the tile grown by the overlap, clipped.
    pub fn computed_window(&self, index: u32) -> Window {
        let bounds = Window::new(0, 0, self.grid.width, self.grid.height);
        self.grid.tile_window(index).expand(self.overlap).clipped_to(&bounds)
    }

    /// The tiles to compute so that every tile of `stored` can be finished: those
    /// and their neighbours (whose overlaps reach into them), in row-major order.
    pub fn tiles_to_compute(&self, stored: &[u32]) -> Vec<u32> {
        let mut all: Vec<u32> = stored.iter().flat_map(|&t| self.neighbours(t)).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Tile `index` and its up to 8 neighbours in the grid.
    fn neighbours(&self, index: u32) -> impl Iterator<Item = u32> {
        let (across, down) = (self.grid.tiles_across(), self.grid.tile_count() / self.grid.tiles_across());
        let (tx, ty) = ((index % across) as i64, (index / across) as i64);
        let inside =
            move |&(x, y): &(i64, i64)| x >= 0 && y >= 0 && x < i64::from(across) && y < i64::from(down);
        (-1..=1i64)
            .flat_map(move |dy| (-1..=1i64).map(move |dx| (tx + dx, ty + dy)))
            .filter(inside)
            .map(move |(x, y)| (y as u32) * across + x as u32)
    }

    /// Adds computed tile `index` (planar samples of its computed window) to the
    /// stored tiles of `wanted` it overlaps; returns those now complete.
    pub fn add(&self, index: u32, samples: &[f32], wanted: impl Fn(u32) -> bool) -> Vec<(u32, Vec<f32>)> {
        let window = self.computed_window(index);
        let (wx, wy) = (self.weights(index, true), self.weights(index, false));
        let mut done = Vec::new();
        let mut pending = self.pending.lock().expect("blend lock");
        for target in self.neighbours(index).filter(|&t| wanted(t)) {
            let tile = self.grid.tile_window(target);
            let due = self.neighbours(target).count() as u32;
            let (sum, left) = pending
                .entry(target)
                .or_insert_with(|| (vec![0.0; tile.area() as usize * self.channels], due));
            let area = tile.intersect(&window);
            for c in 0..self.channels {
                for y in area.y..area.bottom() {
                    let w_y = wy[(y - window.y) as usize];
                    let src = &samples
                        [(c * window.height as usize + (y - window.y) as usize) * window.width as usize..];
                    let dst =
                        &mut sum[(c * tile.height as usize + (y - tile.y) as usize) * tile.width as usize..];
                    for x in area.x..area.right() {
                        let (sx, dx) = ((x - window.x) as usize, (x - tile.x) as usize);
                        dst[dx] += w_y * wx[sx] * src[sx];
                    }
                }
            }
            *left -= 1;
            if *left == 0 {
                done.push((target, pending.remove(&target).expect("present").0));
            }
        }
        done
    }

    /// The weights along one axis of tile `index`'s computed window: towards each
    /// neighbour, a `sin²` ramp over the `2·overlap` pixels centred on the tile's
    /// border (the neighbour's ramp is the matching `cos²`); none at the image edge.
    fn weights(&self, index: u32, horizontal: bool) -> Vec<f32> {
        let (core, window) = (self.grid.tile_window(index), self.computed_window(index));
        let (core_start, core_end, start, end, image) = if horizontal {
            (core.x, core.right(), window.x, window.right(), i64::from(self.grid.width))
        } else {
            (core.y, core.bottom(), window.y, window.bottom(), i64::from(self.grid.height))
        };
        let (o, ramp) = (i64::from(self.overlap), 2 * i64::from(self.overlap));
        let up = |d: i64| -> f32 {
            if d >= ramp {
                return 1.0;
            }
            let s = (std::f64::consts::FRAC_PI_2 * (d as f64 + 0.5) / ramp as f64).sin();
            (s * s) as f32
        };
        (start..end)
            .map(|p| {
                let from_start = if core_start == 0 { ramp } else { p - (core_start - o) };
                let from_end = if core_end == image { ramp } else { core_end + o - 1 - p };
                up(from_start) * up(from_end)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blender(width: u32, height: u32, overlap: u32) -> Blender {
        Blender::new(Grid { width, height, tile: 16 }, 1, overlap)
    }

    #[test]
    fn weights_sum_to_one_and_every_tile_completes_once() {
        // 35 = 2 × 16 + 3: the last tile row is narrower than the overlap.
        let b = blender(40, 35, 4);
        let all: Vec<u32> = (0..b.grid.tile_count()).collect();
        let mut finished = Vec::new();
        for &i in &b.tiles_to_compute(&all) {
            let window = b.computed_window(i);
            let ones = vec![1.0; window.area() as usize];
            finished.extend(b.add(i, &ones, |_| true));
        }
        finished.sort_by_key(|(i, _)| *i);
        assert_eq!(finished.iter().map(|(i, _)| *i).collect::<Vec<_>>(), all);
        for (i, sum) in finished {
            let worst = sum.iter().map(|v| (v - 1.0).abs()).fold(0.0, f32::max);
            assert!(worst < 1e-6, "tile {i}: weights sum off by {worst}");
        }
    }

    #[test]
    fn a_shard_computes_its_neighbours_but_finishes_only_its_tiles() {
        let b = blender(64, 16, 4); // 4 tiles in a row
        assert_eq!(b.tiles_to_compute(&[1]), [0, 1, 2]);
        let mut finished = Vec::new();
        for i in [0, 1, 2] {
            let window = b.computed_window(i);
            finished.extend(b.add(i, &vec![0.5; window.area() as usize], |t| t == 1));
        }
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].0, 1);
    }
}
