//! A whole raster in memory: planar f32 samples with its [`RasterInfo`], and the
//! conversions between file samples (interleaved u8/u16/f32) and field samples.
//!
//! Integer samples map to [0, 1] (`v / 255`, `v / 65535`) and back with rounding and
//! clamping, so u8 and u16 images round-trip exactly; f32 samples pass unchanged.
//! Signed samples (i8, i16; read only) map to [-1, 1] like GPU SNORM formats.

use infty_sdk::{FieldRef, RasterInfo, Window};

pub use infty_sdk::Sample;

/// A raster held whole in memory, planar.
pub struct Raster {
    pub info: RasterInfo,
    pub samples: Vec<f32>,
}

impl Raster {
    /// A raster of zeros.
    pub fn zeros(info: RasterInfo) -> Self {
        Raster { info, samples: vec![0.0; info.channels as usize * plane_len(&info)] }
    }

    /// Converts interleaved file samples (`channels` per pixel, row by row).
    pub fn from_interleaved<T: Sample>(info: RasterInfo, data: &[T]) -> Self {
        let channels = info.channels as usize;
        let plane = plane_len(&info);
        let mut samples = vec![0.0; channels * plane];
        for (i, pixel) in data.chunks_exact(channels).take(plane).enumerate() {
            for (c, &v) in pixel.iter().enumerate() {
                samples[c * plane + i] = v.to_field();
            }
        }
        Raster { info, samples }
    }

    /// Converts to interleaved file samples.
    pub fn to_interleaved<T: Sample>(&self) -> Vec<T> {
        let channels = self.info.channels as usize;
        let plane = plane_len(&self.info);
        let mut data = vec![T::default(); channels * plane];
        for (i, pixel) in data.chunks_exact_mut(channels).enumerate() {
            for (c, v) in pixel.iter_mut().enumerate() {
                *v = T::from_field(self.samples[c * plane + i]);
            }
        }
        data
    }

    /// A view of `window`, which must lie inside the raster.
    pub fn view(&self, window: Window) -> FieldRef<'_> {
        let row = self.info.width as usize;
        let start = (window.y as usize * row + window.x as usize).min(self.samples.len());
        FieldRef::with_strides(self.info, window, row, plane_len(&self.info), &self.samples[start..])
            .expect("a window inside the raster always fits its buffer")
    }

    /// Copies a contiguous planar tile holding `window` into the raster.
    pub fn put(&mut self, window: Window, tile: &[f32]) {
        let (row, plane) = (self.info.width as usize, plane_len(&self.info));
        let width = window.width as usize;
        let tile_plane = width * window.height as usize;
        for c in 0..self.info.channels as usize {
            for y in 0..window.height as usize {
                let dst = c * plane + (window.y as usize + y) * row + window.x as usize;
                let src = c * tile_plane + y * width;
                self.samples[dst..dst + width].copy_from_slice(&tile[src..src + width]);
            }
        }
    }
}

/// An i8 sample as a field value: `v / 127`, and -128 is -1 too (GPU SNORM).
pub fn snorm8(v: i8) -> f32 {
    (f32::from(v) / 127.0).max(-1.0)
}

/// An i16 sample as a field value: `v / 32767`, and -32768 is -1 too (GPU SNORM).
pub fn snorm16(v: i16) -> f32 {
    (f32::from(v) / 32767.0).max(-1.0)
}

fn plane_len(info: &RasterInfo) -> usize {
    info.width as usize * info.height as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_samples_round_trip_exactly() {
        let info = RasterInfo::new(256, 1, 1);
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(Raster::from_interleaved(info, &bytes).to_interleaved::<u8>(), bytes);
        let info = RasterInfo::new(65536 / 4, 4, 1);
        let words: Vec<u16> = (0..=65535).collect();
        assert_eq!(Raster::from_interleaved(info, &words).to_interleaved::<u16>(), words);
    }

    #[test]
    fn signed_samples_map_like_snorm() {
        assert_eq!([snorm8(-128), snorm8(-127), snorm8(0), snorm8(127)], [-1.0, -1.0, 0.0, 1.0]);
        assert_eq!(
            [snorm16(i16::MIN), snorm16(-32767), snorm16(0), snorm16(i16::MAX)],
            [-1.0, -1.0, 0.0, 1.0]
        );
    }

    #[test]
    fn interleaved_becomes_planar() {
        let raster = Raster::from_interleaved(RasterInfo::new(2, 1, 3), &[0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6]);
        assert_eq!(raster.samples, [0.1, 0.4, 0.2, 0.5, 0.3, 0.6]);
        assert_eq!(u8::from_field(f32::NAN), 0);
        assert_eq!(u8::from_field(7.0), 255);
    }

    #[test]
    fn views_and_puts_address_the_same_pixels() {
        let mut raster = Raster::zeros(RasterInfo::new(4, 3, 2));
        let window = Window::new(1, 1, 2, 2);
        raster.put(window, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let view = raster.view(window);
        assert_eq!(view.row(0, 1), &[3.0, 4.0]);
        assert_eq!(view.at(1, 1, 1), 5.0);
        assert_eq!(raster.samples[4 + 1], 1.0);
        assert_eq!(raster.view(Window::new(3, 2, 1, 1)).at(1, 3, 2), 0.0);
    }
}
