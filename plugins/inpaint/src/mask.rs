//! The mask: which pixels to fill, read window by window from an image of the input's
//! size (PNG, JPEG or TIFF, any channels: a pixel is a hole where any colour channel is
//! non-zero, or zero with `--invert-mask`), and how known pixels blend near the holes.

use std::sync::OnceLock;

use infty_sdk::{FieldMut, ImageBox, PluginError, RasterInfo, Window};

/// Rows of the mask read at once when counting its holes.
const CENSUS_ROWS: u32 = 256;

pub struct Mask {
    image: ImageBox,
    path: String,
    invert: bool,
    /// The number of holes, counted once.
    holes: OnceLock<Result<u64, PluginError>>,
}

impl Mask {
    pub fn open(path: &str, invert: bool) -> Result<Mask, PluginError> {
        let image = infty_sdk::host::open_image(path).map_err(|e| {
            PluginError::invalid_param("mask", format!("cannot read the mask '{path}': {}", e.message))
                .with_help("give the mask as a PNG, JPEG or TIFF image of the input's size")
        })?;
        Ok(Mask { image, path: path.to_string(), invert, holes: OnceLock::new() })
    }

    /// Refuses a mask whose size is not the input's, or that marks every pixel; warns
    /// (once) when it marks none. Returns whether there is anything to fill.
    pub fn check(&self, input: RasterInfo) -> Result<bool, PluginError> {
        let info = self.image.info();
        if (info.width, info.height) != (input.width, input.height) {
            return Err(PluginError::invalid_param(
                "mask",
                format!(
                    "the mask '{}' is {}×{} but the input is {}×{}",
                    self.path, info.width, info.height, input.width, input.height
                ),
            )
            .with_help("give a mask of the input's size: non-zero marks the pixels to fill"));
        }
        let holes = self
            .holes
            .get_or_init(|| {
                let holes = self.count_holes()?;
                if holes == 0 {
                    infty_sdk::host::warn(&format!(
                        "the mask '{}' marks no pixel to fill; the output is the input",
                        self.path
                    ));
                }
                Ok(holes)
            })
            .clone()?;
        let area = u64::from(info.width) * u64::from(info.height);
        if holes == area {
            return Err(PluginError::invalid_param(
                "mask",
                format!("the mask '{}' marks every pixel, so nothing is known to fill from", self.path),
            )
            .with_help(if self.invert {
                "drop --invert-mask, or mark only the pixels to fill"
            } else {
                "mark only the pixels to fill (non-zero), or add --invert-mask if zero marks them"
            }));
        }
        Ok(holes > 0)
    }

    fn count_holes(&self) -> Result<u64, PluginError> {
        let info = self.image.info();
        let mut holes = 0;
        for y in (0..info.height).step_by(CENSUS_ROWS as usize) {
            let band = Window::new(0, y.into(), info.width, CENSUS_ROWS.min(info.height - y));
            holes += self.holes(band)?.iter().filter(|&&h| h).count() as u64;
        }
        Ok(holes)
    }

    /// Whether each pixel of `window` is a hole, row-major; pixels outside the image are
    /// known.
    pub fn holes(&self, window: Window) -> Result<Vec<bool>, PluginError> {
        let info = self.image.info();
        let inside = window.clipped_to(&info.bounds());
        let mut out = vec![false; window.area() as usize];
        if inside.is_empty() {
            return Ok(out);
        }
        let channels = info.channels as usize;
        let mut samples = vec![0f32; channels * inside.area() as usize];
        self.image.read(inside, FieldMut::new(info, inside, &mut samples)?).into_result()?;
        // Alpha (the 2nd of 2 or 4th of 4 channels) does not mark holes.
        let colours = if channels.is_multiple_of(2) { channels - 1 } else { channels };
        let area = inside.area() as usize;
        let (w, iw) = (window.width as usize, inside.width as usize);
        for i in 0..area {
            let marked = (0..colours).any(|c| samples[c * area + i] != 0.0);
            let (x, y) = ((inside.x - window.x) as usize + i % iw, (inside.y - window.y) as usize + i / iw);
            out[y * w + x] = marked != self.invert;
        }
        Ok(out)
    }
}

/// The weight of the known pixel value at each pixel of a `width × height` grid of
/// `holes`: 0 in a hole, rising as the distance to the nearest hole grows to 1 beyond
/// `border` pixels. Pixels within `border` of the grid's edge see only the holes in it.
pub fn known_weights(holes: &[bool], width: usize, height: usize, border: u32) -> Vec<f32> {
    let b = border as i64;
    let mut out = vec![1f32; holes.len()];
    for (i, w) in out.iter_mut().enumerate() {
        if holes[i] {
            *w = 0.0;
            continue;
        }
        let (x, y) = ((i % width) as i64, (i / width) as i64);
        let mut nearest = f64::INFINITY;
        for yy in (y - b).max(0)..=(y + b).min(height as i64 - 1) {
            for xx in (x - b).max(0)..=(x + b).min(width as i64 - 1) {
                if holes[yy as usize * width + xx as usize] {
                    nearest = nearest.min((((xx - x).pow(2) + (yy - y).pow(2)) as f64).sqrt());
                }
            }
        }
        *w = (nearest / (f64::from(border) + 1.0)).min(1.0) as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_zero_in_holes_and_one_beyond_the_border() {
        let (w, h) = (9, 1);
        let mut holes = vec![false; w * h];
        holes[4] = true;
        let weights = known_weights(&holes, w, h, 2);
        let third = 1.0 / 3.0;
        assert_eq!(
            weights,
            [1.0, 1.0, 2.0 * third, third, 0.0, third, 2.0 * third, 1.0, 1.0].map(|v: f64| v as f32)
        );
        assert!(known_weights(&holes, w, h, 0).iter().enumerate().all(|(i, &v)| v == f32::from(i != 4)));
    }
}
