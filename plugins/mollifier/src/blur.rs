//! T on a window: a separable convolution (columns, then rows) with the kernel of
//! [`crate::kernel`], mirror boundaries at the raster's edges. The input must cover
//! the output window grown by [`crate::kernel::radius`] on each axis (clipped to the
//! raster), which is what `Mollify::input_window` asks the host for.

use infty_sdk::{FieldMut, FieldRef, PluginError};

use crate::kernel::{mirror, radius, TapCache};

/// `out = h[0]·centre + Σ_m h[m]·(before_m + after_m)`: one output row from its
/// neighbour rows. Written as slice-wide steps so the compiler vectorises it.
fn combine_rows<'a>(out: &mut [f32], taps: &[f32], row: impl Fn(i64) -> &'a [f32]) {
    for (o, &c) in out.iter_mut().zip(row(0)) {
        *o = taps[0] * c;
    }
    for (m, &h) in taps.iter().enumerate().skip(1) {
        let (before, after) = (row(-(m as i64)), row(m as i64));
        for ((o, &b), &a) in out.iter_mut().zip(before).zip(after) {
            *o += h * (b + a);
        }
    }
}

/// Applies T to `input`, writing `output.window`; `cache` keeps the kernels between tiles.
pub fn blur(
    input: FieldRef<'_>,
    mut output: FieldMut<'_>,
    sigma: f64,
    cache: &TapCache,
) -> Result<(), PluginError> {
    let raster = output.raster;
    let (width, height) = (i64::from(raster.width), i64::from(raster.height));
    let (rx, ry) = (radius(sigma, raster.width) as i64, radius(sigma, raster.height) as i64);
    let (hx, hy) = (cache.get(sigma, raster.width), cache.get(sigma, raster.height));
    let (win, out_win) = (input.window, output.window);
    // Every sample the kernel reaches must lie in the input window (after mirroring).
    let needs = |lo: i64, hi: i64, r: i64, len: i64, have_lo: i64, have_hi: i64| {
        (lo - r..hi + r).all(|i| (have_lo..have_hi).contains(&mirror(i, len)))
    };
    if !needs(out_win.x, out_win.right(), rx, width, win.x, win.right())
        || !needs(out_win.y, out_win.bottom(), ry, height, win.y, win.bottom())
    {
        return Err(PluginError::invalid_input(format!(
            "input window {win:?} does not cover output {out_win:?} plus the {rx}x{ry} halo"
        )));
    }
    let (in_w, out_w) = (win.width as usize, out_win.width as usize);
    let mut columns = vec![0.0f32; in_w * out_win.height as usize];
    let mut padded = vec![0.0f32; out_w + 2 * rx as usize];
    for c in 0..output.channels() {
        // Columns: each output row from the input rows around it.
        for (y, row_out) in columns.chunks_exact_mut(in_w).enumerate() {
            let gy = out_win.y + y as i64;
            combine_rows(row_out, &hy, |m| input.row(c, (mirror(gy + m, height) - win.y) as usize));
        }
        // Rows: mirror-pad each row once, then the same combination along it.
        for (y, row_in) in columns.chunks_exact(in_w).enumerate() {
            for (j, p) in padded.iter_mut().enumerate() {
                *p = row_in[(mirror(out_win.x - rx + j as i64, width) - win.x) as usize];
            }
            let centre = rx as usize;
            combine_rows(output.row_mut(c, y), &hx, |m| &padded[(centre as i64 + m) as usize..]);
        }
    }
    Ok(())
}
