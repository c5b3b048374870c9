//! Finished patches kept between the tiles of one raster, so each patch is sampled
//! about once however the host tiles the image.

use std::collections::HashMap;

use infty_sdk::{RasterInfo, Window};

/// Finished patches (by origin) that a later tile may still need, for one raster.
#[derive(Default)]
pub struct PatchCache {
    raster: Option<RasterInfo>,
    patches: HashMap<(u32, u32), Vec<f32>>,
}

impl PatchCache {
    /// Starts over when `raster` is not the raster the kept patches belong to.
    pub fn use_raster(&mut self, raster: RasterInfo) {
        if self.raster != Some(raster) {
            *self = PatchCache { raster: Some(raster), patches: HashMap::new() };
        }
    }

    /// The kept patch at `origin`.
    pub fn get(&self, origin: (u32, u32)) -> Option<&[f32]> {
        self.patches.get(&origin).map(Vec::as_slice)
    }

    /// Keeps the patches at `origins`.
    pub fn keep(&mut self, origins: Vec<(u32, u32)>, samples: Vec<Vec<f32>>) {
        self.patches.extend(origins.into_iter().zip(samples));
    }

    /// Forgets the patches of `side` pixels that no tile after `window`, in row-major
    /// order, overlaps. The host asks for tiles in that order, so each patch is sampled
    /// about once; out of order (shards, resume) a patch is sampled again, to the same bits.
    pub fn done_with(&mut self, window: Window, side: u32) {
        self.patches.retain(|&(x, y), _| {
            i64::from(x + side) > window.right() || i64::from(y + side) > window.bottom()
        });
    }
}
