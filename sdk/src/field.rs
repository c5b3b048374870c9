//! Fields: an image seen as a function, sampled on a window of a raster or on a
//! sparse set of pixel coordinates. Buffers belong to the caller; fields only view them.
//!
//! Samples are planar (channel-major): sample `(c, x, y)` of a window lies at
//! `c * plane_stride + (y - window.y) * row_stride + (x - window.x)`.

use abi_stable::std_types::{RSlice, RSliceMut};
use abi_stable::StableAbi;

use crate::PluginError;

/// A rectangle of pixels in the global coordinates of one raster.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Window {
    /// Left column (may be negative while planning halos).
    pub x: i64,
    /// Top row (may be negative while planning halos).
    pub y: i64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Window {
    /// The window with top-left corner `(x, y)` and the given size.
    pub const fn new(x: i64, y: i64, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// One past the right-most column (saturating: a window placed at the far end of
    /// `i64` by a hostile parameter must compare, not overflow).
    pub fn right(&self) -> i64 {
        self.x.saturating_add(i64::from(self.width))
    }

    /// One past the bottom row (saturating, as [`Window::right`]).
    pub fn bottom(&self) -> i64 {
        self.y.saturating_add(i64::from(self.height))
    }

    /// Number of pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// True when the window holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// The pixels in both windows (an empty window when they do not meet).
    pub fn intersect(&self, other: &Window) -> Window {
        let (x0, y0) = (self.x.max(other.x), self.y.max(other.y));
        let (x1, y1) = (self.right().min(other.right()), self.bottom().min(other.bottom()));
        if x1 <= x0 || y1 <= y0 {
            return Window::new(x0, y0, 0, 0);
        }
        Window::new(x0, y0, (x1 - x0) as u32, (y1 - y0) as u32)
    }

    /// The part of this requested window inside `bounds`, as the host passes it to an
    /// operator: an empty request becomes the empty window at the origin.
    pub fn clipped_to(&self, bounds: &Window) -> Window {
        let clipped = self.intersect(bounds);
        if clipped.is_empty() {
            Window::default()
        } else {
            clipped
        }
    }

    /// True when every pixel of `other` lies in `self`.
    pub fn contains(&self, other: &Window) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// The window grown by `halo` pixels on every side.
    pub fn expand(&self, halo: u32) -> Window {
        let h = i64::from(halo);
        Window::new(self.x - h, self.y - h, self.width + 2 * halo, self.height + 2 * halo)
    }
}

/// What a raster is: its whole size at its own resolution, its channels, and its
/// resolution relative to the source image (1.0 for the source, 4.0 after a 4× upscale).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct RasterInfo {
    /// Width of the whole raster in pixels.
    pub width: u32,
    /// Height of the whole raster in pixels.
    pub height: u32,
    /// Samples per pixel.
    pub channels: u32,
    /// Resolution relative to the source image.
    pub scale: f64,
}

impl RasterInfo {
    /// A raster at the source resolution.
    pub const fn new(width: u32, height: u32, channels: u32) -> Self {
        Self { width, height, channels, scale: 1.0 }
    }

    /// The window covering the whole raster.
    pub fn bounds(&self) -> Window {
        Window::new(0, 0, self.width, self.height)
    }
}

/// Length a planar buffer needs for `channels` planes of `window` at the given strides.
fn needed_len(window: &Window, channels: u32, row_stride: usize, plane_stride: usize) -> usize {
    if window.is_empty() || channels == 0 {
        return 0;
    }
    (channels as usize - 1) * plane_stride + (window.height as usize - 1) * row_stride + window.width as usize
}

pub(crate) fn check_layout(
    raster: &RasterInfo,
    window: &Window,
    row_stride: usize,
    plane_stride: usize,
    len: usize,
) -> Result<(), PluginError> {
    if !raster.bounds().contains(window) {
        return Err(PluginError::invalid_input(format!(
            "window {window:?} lies outside the {}x{} raster",
            raster.width, raster.height
        )));
    }
    let rows_fit = row_stride >= window.width as usize;
    let planes_fit = raster.channels <= 1 || plane_stride >= row_stride * window.height as usize;
    if !rows_fit || !planes_fit || len < needed_len(window, raster.channels, row_stride, plane_stride) {
        return Err(PluginError::invalid_input(format!(
            "buffer of {len} samples with strides (row {row_stride}, plane {plane_stride}) \
             cannot hold {} channels of {window:?}",
            raster.channels
        )));
    }
    Ok(())
}

/// A read-only window of a raster with its samples.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct FieldRef<'a> {
    /// The raster this window belongs to (its edges are the image edges).
    pub raster: RasterInfo,
    /// Where the samples lie; inside `raster.bounds()`.
    pub window: Window,
    /// Samples from one row to the next.
    pub row_stride: usize,
    /// Samples from one channel plane to the next.
    pub plane_stride: usize,
    /// The samples, planar.
    pub samples: RSlice<'a, f32>,
}

impl<'a> FieldRef<'a> {
    /// A view of a contiguous planar buffer holding exactly `window`.
    pub fn new(raster: RasterInfo, window: Window, samples: &'a [f32]) -> Result<Self, PluginError> {
        let row = window.width as usize;
        Self::with_strides(raster, window, row, row * window.height as usize, samples)
    }

    /// A view with explicit strides, e.g. a window inside a larger buffer.
    pub fn with_strides(
        raster: RasterInfo,
        window: Window,
        row_stride: usize,
        plane_stride: usize,
        samples: &'a [f32],
    ) -> Result<Self, PluginError> {
        check_layout(&raster, &window, row_stride, plane_stride, samples.len())?;
        Ok(Self { raster, window, row_stride, plane_stride, samples: samples.into() })
    }

    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.raster.channels as usize
    }

    /// Row `y` (counted from the window's top) of channel `c`.
    pub fn row(&self, c: usize, y: usize) -> &'a [f32] {
        let start = c * self.plane_stride + y * self.row_stride;
        &self.samples.as_slice()[start..start + self.window.width as usize]
    }

    /// The sample of channel `c` at global pixel `(x, y)`, which must lie in the window.
    pub fn at(&self, c: usize, x: i64, y: i64) -> f32 {
        let (dx, dy) = ((x - self.window.x) as usize, (y - self.window.y) as usize);
        self.samples[c * self.plane_stride + dy * self.row_stride + dx]
    }
}

/// A writable window of a raster; the caller owns the buffer.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct FieldMut<'a> {
    /// The raster this window belongs to.
    pub raster: RasterInfo,
    /// Where the samples lie; inside `raster.bounds()`.
    pub window: Window,
    /// Samples from one row to the next.
    pub row_stride: usize,
    /// Samples from one channel plane to the next.
    pub plane_stride: usize,
    /// The samples, planar.
    pub samples: RSliceMut<'a, f32>,
}

impl<'a> FieldMut<'a> {
    /// A view of a contiguous planar buffer holding exactly `window`.
    pub fn new(raster: RasterInfo, window: Window, samples: &'a mut [f32]) -> Result<Self, PluginError> {
        let row = window.width as usize;
        check_layout(&raster, &window, row, row * window.height as usize, samples.len())?;
        Ok(Self {
            raster,
            window,
            row_stride: row,
            plane_stride: row * window.height as usize,
            samples: samples.into(),
        })
    }

    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.raster.channels as usize
    }

    /// Row `y` (counted from the window's top) of channel `c`.
    pub fn row_mut(&mut self, c: usize, y: usize) -> &mut [f32] {
        let start = c * self.plane_stride + y * self.row_stride;
        let width = self.window.width as usize;
        &mut self.samples.as_mut_slice()[start..start + width]
    }
}

/// A pixel coordinate in a raster.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Point {
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

/// Samples at a sparse set of pixel coordinates (the ∞-Diff training unit).
/// `values[c * points.len() + i]` is channel `c` at `points[i]`.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct SparseRef<'a> {
    /// The raster the points belong to.
    pub raster: RasterInfo,
    /// The coordinates, each inside the raster.
    pub points: RSlice<'a, Point>,
    /// The samples, channel-major.
    pub values: RSlice<'a, f32>,
}

impl<'a> SparseRef<'a> {
    /// Checks that every point lies in the raster and `values` holds every channel.
    pub fn new(raster: RasterInfo, points: &'a [Point], values: &'a [f32]) -> Result<Self, PluginError> {
        check_sparse(&raster, points, values.len())?;
        Ok(Self { raster, points: points.into(), values: values.into() })
    }
}

/// Writable samples at a sparse set of pixel coordinates; same layout as [`SparseRef`].
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct SparseMut<'a> {
    /// The raster the points belong to.
    pub raster: RasterInfo,
    /// The coordinates, each inside the raster.
    pub points: RSlice<'a, Point>,
    /// The samples, channel-major.
    pub values: RSliceMut<'a, f32>,
}

impl<'a> SparseMut<'a> {
    /// Checks that every point lies in the raster and `values` holds every channel.
    pub fn new(raster: RasterInfo, points: &'a [Point], values: &'a mut [f32]) -> Result<Self, PluginError> {
        check_sparse(&raster, points, values.len())?;
        Ok(Self { raster, points: points.into(), values: values.into() })
    }
}

fn check_sparse(raster: &RasterInfo, points: &[Point], len: usize) -> Result<(), PluginError> {
    if len != points.len() * raster.channels as usize {
        return Err(PluginError::invalid_input(format!(
            "{len} values for {} points of {} channels",
            points.len(),
            raster.channels
        )));
    }
    if let Some(p) = points.iter().find(|p| p.x >= raster.width || p.y >= raster.height) {
        return Err(PluginError::invalid_input(format!(
            "point ({}, {}) lies outside the {}x{} raster",
            p.x, p.y, raster.width, raster.height
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersect_and_contain() {
        let a = Window::new(-2, -2, 10, 10);
        let b = Window::new(0, 0, 4, 20);
        assert_eq!(a.intersect(&b), Window::new(0, 0, 4, 8));
        assert!(a.intersect(&Window::new(50, 50, 1, 1)).is_empty());
        assert_eq!(Window::new(50, 50, 1, 1).clipped_to(&a), Window::default());
        assert_eq!(b.clipped_to(&a), Window::new(0, 0, 4, 8));
        assert!(a.contains(&Window::new(-2, 7, 10, 1)));
        assert!(!a.contains(&Window::new(-2, 7, 10, 2)));
        assert_eq!(Window::new(3, 4, 2, 2).expand(3), Window::new(0, 1, 8, 8));
        // At the far end of i64 edges saturate instead of overflowing.
        let far = Window::new(i64::MAX, i64::MAX, 5, 5);
        assert!(!a.contains(&far));
        assert!(a.intersect(&far).is_empty());
    }

    #[test]
    fn strided_view_reads_the_right_samples() {
        // A 4x3 two-channel buffer; view the 2x2 window at (1, 1).
        let raster = RasterInfo::new(4, 3, 2);
        let buf: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let whole = FieldRef::new(raster, raster.bounds(), &buf).unwrap();
        let offset = 4 + 1;
        let view = FieldRef::with_strides(raster, Window::new(1, 1, 2, 2), 4, 12, &buf[offset..]).unwrap();
        assert_eq!(view.row(1, 1), &[21.0, 22.0]);
        assert_eq!(view.at(0, 2, 2), whole.at(0, 2, 2));
        assert_eq!(view.at(1, 1, 1), 17.0);
    }

    #[test]
    fn layouts_that_do_not_fit_are_refused() {
        let raster = RasterInfo::new(4, 4, 3);
        let short = vec![0.0; 47];
        assert!(FieldRef::new(raster, raster.bounds(), &short).is_err());
        let buf = vec![0.0; 48];
        assert!(FieldRef::new(raster, Window::new(2, 2, 4, 1), &buf).is_err());
        let points = [Point { x: 4, y: 0 }];
        assert!(SparseRef::new(raster, &points, &[0.0; 3]).is_err());
        let points = [Point { x: 3, y: 3 }];
        assert!(SparseRef::new(raster, &points, &[0.0; 2]).is_err());
        assert!(SparseRef::new(raster, &points, &[0.0; 3]).is_ok());
    }
}
