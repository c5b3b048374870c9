//! T on a window: a separable convolution (columns, then rows) with the kernel of
//! [`crate::kernel`], mirror boundaries at the raster's edges. The input must cover
//! the output window grown by [`crate::kernel::radius`] on each axis (clipped to the
//! raster), which is what `Mollify::input_window` asks the host for.
//!
//! Integer samples are widened to f32 a strip of rows at a time and the results rounded
//! back a row at a time, so the result is exactly the f32 blur written at that depth.

use std::cell::RefCell;

use infty_sdk::{PluginError, Sample, Samples, SamplesMut};

use crate::kernel::{mirror, radius, TapCache};
use crate::taps_sum::{narrow_row, symmetric_taps, widen_row};

/// Rows per strip: the column pass's output for a strip stays in L1 for the row pass.
const STRIP: usize = 16;

/// A sample type T blurs: f32 rows are read and written in place, integer rows
/// through f32 copies.
pub trait BlurSample: Sample {
    /// The samples as f32, when they are.
    fn as_f32(samples: &[Self]) -> Option<&[f32]>;
    /// The samples as mutable f32, when they are.
    fn as_f32_mut(samples: &mut [Self]) -> Option<&mut [f32]>;
}

impl BlurSample for f32 {
    fn as_f32(samples: &[f32]) -> Option<&[f32]> {
        Some(samples)
    }
    fn as_f32_mut(samples: &mut [f32]) -> Option<&mut [f32]> {
        Some(samples)
    }
}

macro_rules! integer_blur_sample {
    ($($t:ty),*) => {$(
        impl BlurSample for $t {
            fn as_f32(_: &[$t]) -> Option<&[f32]> {
                None
            }
            fn as_f32_mut(_: &mut [$t]) -> Option<&mut [f32]> {
                None
            }
        }
    )*};
}
integer_blur_sample!(u8, u16);

/// Buffers reused from tile to tile on one thread.
#[derive(Default)]
struct Scratch {
    /// The column pass's output: a strip of rows over the input window's columns.
    columns: Vec<f32>,
    /// One mirror-padded row, for tiles at the raster's left or right edge.
    padded: Vec<f32>,
    /// Where each tap's source row starts.
    offsets: Vec<usize>,
    /// The input rows one strip reads, widened to f32 (integer samples only).
    widened: Vec<f32>,
    /// One output row before rounding (integer samples only).
    row: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Applies T to `input`, writing `output.window`; `cache` keeps the kernels between tiles.
pub fn blur<T: BlurSample>(
    input: Samples<'_, T>,
    mut output: SamplesMut<'_, T>,
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
    fn blur<T: BlurSample>(
        &mut self,
        input: &Samples<'_, T>,
        output: &mut SamplesMut<'_, T>,
        hx: &[f32],
        hy: &[f32],
    ) {
        let (win, out) = (input.window, output.window);
        let (width, height) = (i64::from(output.raster.width), i64::from(output.raster.height));
        let (rx, ry) = (hx.len() as i64 - 1, hy.len() as i64 - 1);
        let in_w = win.width as usize;
        self.columns.resize(in_w * STRIP, 0.0);
        self.padded.resize(out.width as usize + 2 * rx as usize, 0.0);
        self.offsets.resize(2 * rx.max(ry) as usize + 1, 0);
        self.row.resize(out.width as usize, 0.0);
        let (x_taps, y_taps) = (2 * rx as usize + 1, 2 * ry as usize + 1);
        // Reading rows in place needs the whole halo inside the raster.
        let start = out.x - rx;
        let inside = start >= 0 && out.right() + rx <= width;
        let shift = if inside { (start - win.x) as usize } else { 0 };
        let in_place = T::as_f32(&input.samples);
        for c in 0..output.channels() {
            // A strip of rows at a time, so the column pass's output is still in L1
            // when the row pass reads it.
            for strip in (0..out.height as usize).step_by(STRIP) {
                let rows = STRIP.min(out.height as usize - strip);
                // The window rows this strip reads (mirrored at the raster's edges).
                let row_of =
                    |y: usize, m: i64| (mirror(out.y + (strip + y) as i64 + m, height) - win.y) as usize;
                let (source, first, stride) = match in_place {
                    Some(samples) => (&samples[c * input.plane_stride..], 0, input.row_stride),
                    None => {
                        let read = || (0..rows).flat_map(|y| (-ry..=ry).map(move |m| row_of(y, m)));
                        let (first, last) = (read().min().expect("rows"), read().max().expect("rows"));
                        self.widened.resize((last - first + 1) * in_w, 0.0);
                        for (j, row) in self.widened.chunks_exact_mut(in_w).enumerate() {
                            widen_row(input.row(c, first + j), row);
                        }
                        (&self.widened[..], first, in_w)
                    }
                };
                // Columns: each output row from the input rows around it.
                for (y, row) in self.columns[..rows * in_w].chunks_exact_mut(in_w).enumerate() {
                    for (m, offset) in (-ry..=ry).zip(self.offsets.iter_mut()) {
                        *offset = (row_of(y, m) - first) * stride;
                    }
                    symmetric_taps(row, hy, source, &self.offsets[..y_taps]);
                }
                // Rows: the same sum along each row of the column pass.
                for (j, offset) in self.offsets[..x_taps].iter_mut().enumerate() {
                    *offset = shift + j;
                }
                for (y, row) in self.columns[..rows * in_w].chunks_exact(in_w).enumerate() {
                    let source: &[f32] = if inside {
                        row
                    } else {
                        for (j, p) in self.padded.iter_mut().enumerate() {
                            *p = row[(mirror(start + j as i64, width) - win.x) as usize];
                        }
                        &self.padded
                    };
                    let target = output.row_mut(c, strip + y);
                    match T::as_f32_mut(target) {
                        Some(target) => symmetric_taps(target, hx, source, &self.offsets[..x_taps]),
                        None => {
                            symmetric_taps(&mut self.row, hx, source, &self.offsets[..x_taps]);
                            narrow_row(&self.row, output.row_mut(c, strip + y));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::gain;
    use crate::wiener::filter_2d;
    use infty_sdk::RasterInfo;

    /// The reference's operator itself: a 2-D DCT of the whole raster times g.
    fn reference_t(x: &[f32], width: usize, height: usize, sigma: f64) -> Vec<f32> {
        let mut buf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let pi = std::f64::consts::PI;
        filter_2d(&mut buf, height, width, |k1, k2| {
            gain(pi * k1 as f64 / height as f64, sigma) * gain(pi * k2 as f64 / width as f64, sigma)
        });
        buf.into_iter().map(|v| v as f32).collect()
    }

    /// Measures the documented deviation of the truncated kernel (axes > 256 px) from
    /// the reference's untruncated operator, on white noise and on smooth content.
    #[test]
    fn long_axes_stay_within_the_documented_deviation_from_the_reference() {
        let (width, height) = (640usize, 300usize);
        let raster = RasterInfo::new(width as u32, height as u32, 1);
        let mut state = 1u64;
        let noise: Vec<f32> = (0..width * height)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect();
        let smooth: Vec<f32> = (0..width * height)
            .map(|i| ((i % width) as f32 / 29.0).sin() * ((i / width) as f32 / 17.0).cos())
            .collect();
        // (σ, bound on noise, bound on smooth content): the kink of the reference's
        // response at the Nyquist frequency dominates at σ = 1.
        for (sigma, noise_bound, smooth_bound) in [(1.0, 1.5e-3, 1e-4), (2.0, 1e-6, 1e-6), (4.0, 1e-6, 1e-6)]
        {
            let cache = TapCache::default();
            for (name, x, bound) in [("noise", &noise, noise_bound), ("smooth", &smooth, smooth_bound)] {
                let mut out = vec![0.0f32; width * height];
                let input = Samples::new(raster, raster.bounds(), x).unwrap();
                blur(input, SamplesMut::new(raster, raster.bounds(), &mut out).unwrap(), sigma, &cache)
                    .unwrap();
                let reference = reference_t(x, width, height, sigma);
                let err = out.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                eprintln!("σ={sigma} {name}: max deviation from the reference {err:.1e}");
                assert!(err < bound, "σ={sigma} {name}: {err:e} ≥ {bound:e}");
            }
        }
    }
}
