//! A tile's samples as the engine carries them between stages: planar, contiguous, at
//! the chain's sample depth (the file's own u8/u16 where the chain allows it, else f32).

use infty_sdk::{Depth, RasterInfo, Sample, Samples, SamplesMut, TypedMut, TypedRef, Window};

/// Planar samples of one window, channel-major, at one depth.
#[derive(Debug)]
pub enum Planes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    F32(Vec<f32>),
}

impl Planes {
    /// Zeros for `channels` planes of `window`.
    pub fn zeros(depth: Depth, window: Window, channels: u32) -> Planes {
        let len = window.area() as usize * channels as usize;
        match depth {
            Depth::U8 => Planes::U8(vec![0; len]),
            Depth::U16 => Planes::U16(vec![0; len]),
            Depth::F32 => Planes::F32(vec![0.0; len]),
        }
    }

    /// Integer samples viewed as `window` of `raster` (they must hold exactly it); None
    /// for f32.
    pub fn typed(&self, raster: RasterInfo, window: Window) -> Option<TypedRef<'_>> {
        let fits = "a buffer sized for its window";
        match self {
            Planes::U8(v) => Some(Samples::new(raster, window, v).expect(fits).into()),
            Planes::U16(v) => Some(Samples::new(raster, window, v).expect(fits).into()),
            Planes::F32(_) => None,
        }
    }

    /// Writable integer samples viewed as `window` of `raster`; None for f32.
    pub fn typed_mut(&mut self, raster: RasterInfo, window: Window) -> Option<TypedMut<'_>> {
        let fits = "a buffer sized for its window";
        match self {
            Planes::U8(v) => Some(SamplesMut::new(raster, window, v).expect(fits).into()),
            Planes::U16(v) => Some(SamplesMut::new(raster, window, v).expect(fits).into()),
            Planes::F32(_) => None,
        }
    }

    /// The samples as field values (integers normalised).
    pub fn into_f32(self) -> Vec<f32> {
        fn widen<T: Sample>(v: &[T]) -> Vec<f32> {
            v.iter().map(|s| s.to_field()).collect()
        }
        match self {
            Planes::U8(v) => widen(&v),
            Planes::U16(v) => widen(&v),
            Planes::F32(v) => v,
        }
    }
}
