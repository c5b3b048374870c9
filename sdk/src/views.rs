//! Windows of integer samples, as operators that take them see them: [`Samples`] and
//! [`SamplesMut`] are [`FieldRef`] and [`FieldMut`] for any sample type (same layout
//! rules), and [`TypedRef`] / [`TypedMut`] hold one of the integer depths.

use abi_stable::std_types::{RSlice, RSliceMut};
use abi_stable::StableAbi;

use crate::field::check_layout;
use crate::{FieldMut, FieldRef, PluginError, RasterInfo, Window};

/// A read-only window of a raster with samples of type `T`: a [`FieldRef`] of any depth,
/// with the same layout rules.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct Samples<'a, T> {
    /// The raster this window belongs to.
    pub raster: RasterInfo,
    /// Where the samples lie; inside `raster.bounds()`.
    pub window: Window,
    /// Samples from one row to the next.
    pub row_stride: usize,
    /// Samples from one channel plane to the next.
    pub plane_stride: usize,
    /// The samples, planar.
    pub samples: RSlice<'a, T>,
}

impl<'a, T: Copy> Samples<'a, T> {
    /// A view of a contiguous planar buffer holding exactly `window`.
    pub fn new(raster: RasterInfo, window: Window, samples: &'a [T]) -> Result<Self, PluginError> {
        let (row, plane) = (window.width as usize, window.area() as usize);
        check_layout(&raster, &window, row, plane, samples.len())?;
        Ok(Self { raster, window, row_stride: row, plane_stride: plane, samples: samples.into() })
    }

    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.raster.channels as usize
    }

    /// Row `y` (counted from the window's top) of channel `c`.
    pub fn row(&self, c: usize, y: usize) -> &'a [T] {
        let start = c * self.plane_stride + y * self.row_stride;
        &self.samples.as_slice()[start..start + self.window.width as usize]
    }
}

impl<'a> From<FieldRef<'a>> for Samples<'a, f32> {
    fn from(f: FieldRef<'a>) -> Self {
        let (raster, window, row_stride, plane_stride) = (f.raster, f.window, f.row_stride, f.plane_stride);
        Samples { raster, window, row_stride, plane_stride, samples: f.samples }
    }
}

/// A writable window of a raster with samples of type `T`; the caller owns the buffer.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct SamplesMut<'a, T> {
    /// The raster this window belongs to.
    pub raster: RasterInfo,
    /// Where the samples lie; inside `raster.bounds()`.
    pub window: Window,
    /// Samples from one row to the next.
    pub row_stride: usize,
    /// Samples from one channel plane to the next.
    pub plane_stride: usize,
    /// The samples, planar.
    pub samples: RSliceMut<'a, T>,
}

impl<'a, T> SamplesMut<'a, T> {
    /// A view of a contiguous planar buffer holding exactly `window`.
    pub fn new(raster: RasterInfo, window: Window, samples: &'a mut [T]) -> Result<Self, PluginError> {
        let (row, plane) = (window.width as usize, window.area() as usize);
        check_layout(&raster, &window, row, plane, samples.len())?;
        Ok(Self { raster, window, row_stride: row, plane_stride: plane, samples: samples.into() })
    }

    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.raster.channels as usize
    }

    /// Row `y` (counted from the window's top) of channel `c`.
    pub fn row_mut(&mut self, c: usize, y: usize) -> &mut [T] {
        let start = c * self.plane_stride + y * self.row_stride;
        let width = self.window.width as usize;
        &mut self.samples.as_mut_slice()[start..start + width]
    }
}

impl<'a> From<FieldMut<'a>> for SamplesMut<'a, f32> {
    fn from(f: FieldMut<'a>) -> Self {
        let (raster, window, row_stride, plane_stride) = (f.raster, f.window, f.row_stride, f.plane_stride);
        SamplesMut { raster, window, row_stride, plane_stride, samples: f.samples }
    }
}

/// Integer samples of either depth.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub enum TypedRef<'a> {
    /// 8-bit samples.
    U8(Samples<'a, u8>),
    /// 16-bit samples.
    U16(Samples<'a, u16>),
}

/// Writable integer samples of either depth.
#[repr(u8)]
#[derive(StableAbi, Debug)]
pub enum TypedMut<'a> {
    /// 8-bit samples.
    U8(SamplesMut<'a, u8>),
    /// 16-bit samples.
    U16(SamplesMut<'a, u16>),
}

macro_rules! typed_from {
    ($($t:ty => $variant:ident),*) => {$(
        impl<'a> From<Samples<'a, $t>> for TypedRef<'a> {
            fn from(field: Samples<'a, $t>) -> Self {
                TypedRef::$variant(field)
            }
        }
        impl<'a> From<SamplesMut<'a, $t>> for TypedMut<'a> {
            fn from(field: SamplesMut<'a, $t>) -> Self {
                TypedMut::$variant(field)
            }
        }
    )*};
}
typed_from!(u8 => U8, u16 => U16);
