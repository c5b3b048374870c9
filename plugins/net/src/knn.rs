//! KNN interpolation from a point set onto the fixed R×R grid (docs/reference.md §4.3,
//! `SparseUNet.knn_interpolate_to_grid`, pytorch3d `knn_points`), searched on the pixel
//! lattice instead of by brute force over all R²×N pairs.

use tch::{Device, Kind, Tensor};

use crate::sparse::Layout;

/// `linspace(0, 1, n)` exactly as torch computes it in float32.
pub fn linspace(n: i64) -> Vec<f32> {
    Vec::<f32>::try_from(Tensor::linspace(0.0, 1.0, n, (Kind::Float, Device::Cpu))).unwrap_or_default()
}

/// The K nearest points of one item to every grid node, nearest first: positions into
/// the item's point list and squared distances, each `R²·K` long.
#[derive(Clone, Debug, Default)]
pub struct Neighbours {
    /// Positions n into the point list.
    pub index: Vec<i64>,
    /// Squared distances in [0,1]² coordinates.
    pub dist2: Vec<f32>,
}

/// Finds the `k` nearest points of one item to each of the R×R grid nodes
/// (`nodes = linspace(0,1,R)`, 'ij' order, row-major).
///
/// The rule is pytorch3d's on CPU (golden manifest `knn_rule`): squared distance in
/// float32 as `(q_row − p_row)² + (q_col − p_col)²`, the k smallest by (distance,
/// position in the list), so exact ties go to the lower position. The search visits
/// square rings of pixels around each node and stops once no unvisited pixel can be
/// closer than the k-th found, so it costs a few rings per node, not N.
pub fn nearest_to_grid(size: usize, pixels: Option<&[i64]>, nodes: &[f32], k: usize) -> Neighbours {
    let axis = linspace(size as i64);
    // map[p] = place of pixel p in the point list, or -1 where no point lies. Every
    // pixel, in row-major order, needs no map: pixel p is point p.
    let map: Option<Vec<i64>> = pixels.map(|list| {
        let mut map = vec![-1; size * size];
        for (n, &p) in list.iter().enumerate() {
            map[p as usize] = n as i64;
        }
        map
    });
    let position = |flat: usize| map.as_ref().map_or(flat as i64, |m| m[flat]);
    let scale = (size - 1).max(1) as f64;
    let mut out = Neighbours::default();
    let mut best: Vec<(f32, i64)> = Vec::with_capacity(k + 1);
    for &qr in nodes {
        for &qc in nodes {
            best.clear();
            let centre = |q: f32| ((q as f64 * scale).round() as i64).clamp(0, size as i64 - 1);
            let (cr, cc) = (centre(qr), centre(qc));
            for radius in 0..size as i64 {
                for (row, col) in ring(cr, cc, radius, size as i64) {
                    let n = position((row * size as i64 + col) as usize);
                    if n < 0 {
                        continue;
                    }
                    let dr = qr - axis[row as usize];
                    let dc = qc - axis[col as usize];
                    insert(&mut best, k, (dr * dr + dc * dc, n));
                }
                // Unvisited pixels lie at least radius + ½ pixels away on some axis.
                let reach = (radius as f64 + 0.5) / scale;
                if best.len() == k && (best[k - 1].0 as f64) < reach * reach * (1.0 - 1e-4) {
                    break;
                }
            }
            for &(d2, n) in &best {
                out.index.push(n);
                out.dist2.push(d2);
            }
        }
    }
    out
}

/// Keeps `best` as the `k` smallest (distance, position) pairs, sorted.
fn insert(best: &mut Vec<(f32, i64)>, k: usize, candidate: (f32, i64)) {
    let at = best.partition_point(|&(d, n)| (d, n) < candidate);
    if at < k {
        best.insert(at, candidate);
        best.truncate(k);
    }
}

/// The pixels at Chebyshev distance exactly `radius` from (r, c), inside the raster.
fn ring(r: i64, c: i64, radius: i64, size: i64) -> impl Iterator<Item = (i64, i64)> {
    let inside = move |&(y, x): &(i64, i64)| y >= 0 && x >= 0 && y < size && x < size;
    let rows = (r - radius)..=(r + radius);
    rows.flat_map(move |y| {
        let edge = y == r - radius || y == r + radius;
        let step = if edge || radius == 0 { 1 } else { 2 * radius };
        ((c - radius)..=(c + radius)).step_by(step as usize).map(move |x| (y, x))
    })
    .filter(inside)
}

/// Interpolates `(B, N, C)` features onto the R×R grid, `(B, R², C)`: the inverse
/// squared distance weighted mean of the K nearest points (PointNet++ eq. 2), weights
/// `1/max(d², 1e-16)`, with gradients to the features only; in float32 whatever the
/// features' precision (it is a small part of the work), returned in theirs. Also returns the
/// neighbours of every item, for tracing.
pub fn interpolate_to_grid(
    features: &Tensor,
    layout: &Layout,
    uno_res: i64,
    k: i64,
) -> (Tensor, Vec<Neighbours>) {
    let nodes = linspace(uno_res);
    let (b, n) = (layout.batch, layout.n);
    let search = |pixels| nearest_to_grid(layout.size as usize, pixels, &nodes, k as usize);
    let found: Vec<Neighbours> = match &layout.pixels {
        Some(lists) => lists.iter().map(|list| search(Some(list))).collect(),
        // Every pixel of every item: one search serves the whole batch.
        None => vec![search(None); b as usize],
    };
    let global: Vec<i64> = found
        .iter()
        .enumerate()
        .flat_map(|(item, nb)| nb.index.iter().map(move |i| item as i64 * n + i))
        .collect();
    let dist2: Vec<f32> = found.iter().flat_map(|nb| nb.dist2.iter().copied()).collect();
    let device = layout.device();
    let c = features.size()[2];
    let index = Tensor::from_slice(&global).to_device(device);
    let neighbours = features.reshape([b * n, c]).index_select(0, &index).view([b, uno_res * uno_res, k, c]);
    let neighbours = neighbours.to_kind(Kind::Float);
    let weights = Tensor::from_slice(&dist2)
        .to_device(device)
        .view([b, uno_res * uno_res, k, 1])
        .clamp_min(1e-16)
        .reciprocal();
    let sum = |t: &Tensor| t.sum_dim_intlist(2, false, Kind::Float);
    ((sum(&(neighbours * &weights)) / sum(&weights)).to_kind(features.kind()), found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every point, the reference's definition.
    fn brute(size: usize, pixels: &[i64], nodes: &[f32], k: usize) -> Neighbours {
        let axis = linspace(size as i64);
        let mut out = Neighbours::default();
        for &qr in nodes {
            for &qc in nodes {
                let mut all: Vec<(f32, i64)> = pixels
                    .iter()
                    .enumerate()
                    .map(|(n, &p)| {
                        let (dr, dc) = (qr - axis[p as usize / size], qc - axis[p as usize % size]);
                        (dr * dr + dc * dc, n as i64)
                    })
                    .collect();
                all.sort_by(|a, b| a.partial_cmp(b).unwrap());
                for &(d, n) in &all[..k] {
                    out.index.push(n);
                    out.dist2.push(d);
                }
            }
        }
        out
    }

    #[test]
    fn lattice_search_equals_brute_force() {
        // A scattered subset (with ties) and a very sparse one, at several grid sizes.
        for (size, step, res) in [(32usize, 4i64, 16i64), (64, 3, 16), (30, 17, 8), (40, 1, 16)] {
            let pixels: Vec<i64> =
                (0..(size * size) as i64).filter(|p| (p * 7919) % 13 < 13 / step.max(1)).collect();
            let pixels =
                if pixels.len() < 3 { (0..(size * size) as i64).step_by(97).collect() } else { pixels };
            let nodes = linspace(res);
            let fast = nearest_to_grid(size, Some(&pixels), &nodes, 3);
            let slow = brute(size, &pixels, &nodes, 3);
            assert_eq!(fast.index, slow.index, "size {size} step {step}");
            assert_eq!(fast.dist2, slow.dist2);
        }
    }
}
