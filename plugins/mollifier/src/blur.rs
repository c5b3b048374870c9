//! T on a window: a separable convolution (columns, then rows) with the kernel of
//! [`crate::kernel`], mirror boundaries at the raster's edges. The input must cover
//! the output window grown by [`crate::kernel::radius`] on each axis (clipped to the
//! raster), which is what `Mollify::input_window` asks the host for.

use std::cell::RefCell;

use infty_sdk::{FieldMut, FieldRef, PluginError};

use crate::kernel::{mirror, radius, TapCache};
use crate::taps_sum::symmetric_taps;

/// Buffers reused from tile to tile on one thread.
#[derive(Default)]
struct Scratch {
    /// The column pass's output: the tile's rows over the input window's columns.
    columns: Vec<f32>,
    /// One mirror-padded row, for tiles at the raster's left or right edge.
    padded: Vec<f32>,
    /// Where each tap's source row starts.
    offsets: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Applies T to `input`, writing `output.window`; `cache` keeps the kernels between tiles.
pub fn blur(
    input: FieldRef<'_>,
    mut output: FieldMut<'_>,
    sigma: f64,
    cache: &TapCache,
) -> Result<(), PluginError> {
    let raster = output.raster;
    let (rx, ry) = (radius(sigma, raster.width) as i64, radius(sigma, raster.height) as i64);
    let (win, out) = (input.window, output.window);
    // Every sample the kernel reaches must lie in the input window (after mirroring).
    let covered = |lo: i64, hi: i64, r: i64, len: u32, have_lo: i64, have_hi: i64| {
        (lo - r..hi + r).all(|i| (have_lo..have_hi).contains(&mirror(i, len.into())))
    };
    if !covered(out.x, out.right(), rx, raster.width, win.x, win.right())
        || !covered(out.y, out.bottom(), ry, raster.height, win.y, win.bottom())
    {
        return Err(PluginError::invalid_input(format!(
            "input window {win:?} does not cover output {out:?} plus the {rx}x{ry} halo"
        )));
    }
    let (hx, hy) = (cache.get(sigma, raster.width), cache.get(sigma, raster.height));
    SCRATCH.with_borrow_mut(|scratch| scratch.blur(&input, &mut output, &hx, &hy));
    Ok(())
}

impl Scratch {
    fn blur(&mut self, input: &FieldRef<'_>, output: &mut FieldMut<'_>, hx: &[f32], hy: &[f32]) {
        let (win, out) = (input.window, output.window);
        let (width, height) = (i64::from(output.raster.width), i64::from(output.raster.height));
        let (rx, ry) = (hx.len() as i64 - 1, hy.len() as i64 - 1);
        let in_w = win.width as usize;
        self.columns.resize(in_w * out.height as usize, 0.0);
        self.padded.resize(out.width as usize + 2 * rx as usize, 0.0);
        self.offsets.resize(2 * rx.max(ry) as usize + 1, 0);
        let (x_taps, y_taps) = (2 * rx as usize + 1, 2 * ry as usize + 1);
        // Reading rows in place needs the whole halo inside the raster.
        let start = out.x - rx;
        let inside = start >= 0 && out.right() + rx <= width;
        for c in 0..output.channels() {
            // Columns: each output row from the input rows around it (mirrored at the edges).
            let plane = c * input.plane_stride;
            for (y, row) in self.columns.chunks_exact_mut(in_w).enumerate() {
                let gy = out.y + y as i64;
                for (m, offset) in (-ry..=ry).zip(self.offsets.iter_mut()) {
                    *offset = plane + (mirror(gy + m, height) - win.y) as usize * input.row_stride;
                }
                symmetric_taps(row, hy, &input.samples, &self.offsets[..y_taps]);
            }
            // Rows: the same sum along each row of the column pass.
            let shift = if inside { (start - win.x) as usize } else { 0 };
            for (j, offset) in self.offsets[..x_taps].iter_mut().enumerate() {
                *offset = shift + j;
            }
            for (y, row) in self.columns.chunks_exact(in_w).enumerate() {
                let source: &[f32] = if inside {
                    row
                } else {
                    for (j, p) in self.padded.iter_mut().enumerate() {
                        *p = row[(mirror(start + j as i64, width) - win.x) as usize];
                    }
                    &self.padded
                };
                symmetric_taps(output.row_mut(c, y), hx, source, &self.offsets[..x_taps]);
            }
        }
    }
}
