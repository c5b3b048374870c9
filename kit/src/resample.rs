//! Resampling for super-resolution guides: antialiased area downscaling, and bicubic
//! evaluation of a low-resolution image at the centres of higher-resolution pixels.
//! Training (which makes guides from clean crops) and upscaling (which makes them from
//! the input, tile by tile) use these same functions, so the model sees the same guide.

use infty_sdk::{FieldRef, PluginError, RasterInfo, Window};

/// Box-filter weights from `n_in` samples to `n_out`: output `i` averages the input
/// over `[i, i + 1)·n_in/n_out`, with fractional coverage at both ends.
fn area_weights(n_in: usize, n_out: usize) -> Vec<Vec<(usize, f32)>> {
    let ratio = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|i| {
            let (lo, hi) = (i as f64 * ratio, (i + 1) as f64 * ratio);
            let last = (hi.ceil() as usize).min(n_in);
            (lo.floor() as usize..last)
                .map(|j| {
                    let cover = (hi.min(j as f64 + 1.0) - lo.max(j as f64)).max(0.0);
                    (j, (cover / ratio) as f32)
                })
                .filter(|&(_, w)| w > 0.0)
                .collect()
        })
        .collect()
}

/// Area resampling of a planar `channels × height × width` image to
/// `out_width × out_height` (each output pixel is the mean of the input it covers):
/// the antialiased downscale of libvips' `reduce` with a box kernel, or OpenCV's
/// `INTER_AREA`, for any ratio ≥ 1.
pub fn area(src: &[f32], width: usize, height: usize, out_width: usize, out_height: usize) -> Vec<f32> {
    let channels = src.len() / (width * height).max(1);
    let (wx, wy) = (area_weights(width, out_width), area_weights(height, out_height));
    let mut rows = vec![0f32; channels * height * out_width];
    for (src_row, out_row) in src.chunks_exact(width).zip(rows.chunks_exact_mut(out_width)) {
        for (o, taps) in out_row.iter_mut().zip(&wx) {
            *o = taps.iter().map(|&(j, w)| src_row[j] * w).sum();
        }
    }
    let mut out = vec![0f32; channels * out_height * out_width];
    for c in 0..channels {
        let plane = &rows[c * height * out_width..(c + 1) * height * out_width];
        for (y, taps) in wy.iter().enumerate() {
            let out_row = &mut out[(c * out_height + y) * out_width..][..out_width];
            for &(j, w) in taps {
                for (o, v) in out_row.iter_mut().zip(&plane[j * out_width..][..out_width]) {
                    *o += v * w;
                }
            }
        }
    }
    out
}

/// Keys' cubic convolution kernel with a = −0.5 (Catmull–Rom; PIL's and libvips'
/// bicubic).
fn cubic(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        (1.5 * x - 2.5) * x * x + 1.0
    } else if x < 2.0 {
        ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    } else {
        0.0
    }
}

/// The four taps of output pixel `i` on an axis of `n` input pixels, `ratio` input
/// pixels per output pixel: centres align, `u = (i + ½)·ratio − ½`; indices clamp at
/// the image edges.
fn cubic_taps(i: i64, ratio: f64, n: i64) -> [(i64, f32); 4] {
    let u = (i as f64 + 0.5) * ratio - 0.5;
    let base = u.floor() as i64;
    std::array::from_fn(|k| {
        let j = base - 1 + k as i64;
        (j.clamp(0, n - 1), cubic(u - j as f64) as f32)
    })
}

/// The margin, in low-resolution pixels, that `src` needs around the footprint of
/// an output window for [`bicubic`].
pub const BICUBIC_MARGIN: u32 = 2;

/// Evaluates the low-resolution image `src` bicubically at the centres of the pixels
/// of `out` (a window of the high-resolution raster), `ratio` = low-resolution pixels
/// per high-resolution pixel on each axis. `src.raster` is the whole low-resolution
/// image (its edges clamp); `src.window` must hold every tap: the footprint of `out`
/// plus [`BICUBIC_MARGIN`] (clipped to the image). Planar output, `out`'s size.
pub fn bicubic(src: &FieldRef<'_>, ratio: (f64, f64), out: Window) -> Vec<f32> {
    let (w, h) = (i64::from(src.raster.width), i64::from(src.raster.height));
    let tx: Vec<_> = (out.x..out.right()).map(|x| cubic_taps(x, ratio.0, w)).collect();
    let ty: Vec<_> = (out.y..out.bottom()).map(|y| cubic_taps(y, ratio.1, h)).collect();
    let (ow, oh) = (out.width as usize, out.height as usize);
    let mut result = vec![0f32; src.channels() * ow * oh];
    for c in 0..src.channels() {
        for (y, row_taps) in ty.iter().enumerate() {
            let out_row = &mut result[(c * oh + y) * ow..][..ow];
            for &(sy, wy) in row_taps {
                for (o, col_taps) in out_row.iter_mut().zip(&tx) {
                    let sum: f32 = col_taps.iter().map(|&(sx, wx)| src.at(c, sx, sy) * wx).sum();
                    *o += wy * sum;
                }
            }
        }
    }
    result
}

/// A square `size²` image of any channels (planar) downscaled `factor` times by
/// [`area`] and evaluated back at every pixel by [`bicubic`]: the low-resolution guide
/// a super-resolution model is trained with, and what an upscaler's output must give
/// back when downscaled again.
pub fn lowres_guide(planes: &[f32], size: u32, factor: f64) -> Result<Vec<f32>, PluginError> {
    let channels = (planes.len() / (size as usize * size as usize).max(1)) as u32;
    let small = ((f64::from(size) / factor).round() as u32).max(1);
    let lowres = area(planes, size as usize, size as usize, small as usize, small as usize);
    let raster = RasterInfo::new(small, small, channels);
    let field = FieldRef::new(raster, raster.bounds(), &lowres)?;
    let ratio = f64::from(small) / f64::from(size);
    Ok(bicubic(&field, (ratio, ratio), Window::new(0, 0, size, size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_averages_blocks_and_keeps_the_mean() {
        let src: Vec<f32> = (0..16).map(|v| v as f32).collect();
        assert_eq!(area(&src, 4, 4, 2, 2), [2.5, 4.5, 10.5, 12.5]);
        // A non-integer ratio (5 → 2) covers 2.5 pixels per output and keeps the mean.
        let row = [1.0, 2.0, 3.0, 4.0, 5.0];
        let out = area(&row, 5, 1, 2, 1);
        assert!((out[0] - (1.0 + 2.0 + 1.5) / 2.5).abs() < 1e-6, "{out:?}");
        assert!(((out[0] + out[1]) / 2.0 - 3.0).abs() < 1e-6);
    }

    #[test]
    fn bicubic_is_exact_on_linear_ramps_and_windows_agree() {
        // A linear ramp is reproduced exactly away from the clamped edges.
        let (w, h) = (16usize, 8usize);
        let src: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 * 0.5 + (i / w) as f32).collect();
        let raster = RasterInfo::new(w as u32, h as u32, 1);
        let field = FieldRef::new(raster, raster.bounds(), &src).unwrap();
        let full = bicubic(&field, (0.25, 0.25), Window::new(0, 0, 64, 32));
        let (x, y) = (30usize, 13usize);
        let (u, v) = ((x as f64 + 0.5) * 0.25 - 0.5, (y as f64 + 0.5) * 0.25 - 0.5);
        assert!((full[y * 64 + x] as f64 - (u * 0.5 + v)).abs() < 1e-5);
        // A window gives the same samples as the whole output.
        let part = bicubic(&field, (0.25, 0.25), Window::new(20, 10, 8, 4));
        for (i, v) in part.iter().enumerate() {
            assert_eq!(*v, full[(10 + i / 8) * 64 + 20 + i % 8]);
        }
    }
}
