//! Finished patches kept between the tiles of one raster, so each patch is sampled
//! about once however the host tiles the image; and the blend of a tile from them, the
//! loop every patch-sampling operator runs.

use std::collections::HashMap;

use infty_sdk::{PluginError, RasterInfo, Window};

use super::{Blend, Lattice};

/// Finished patches (by origin) that a later tile may still need, for one raster.
#[derive(Default)]
pub struct PatchCache {
    raster: Option<RasterInfo>,
    patches: HashMap<(u32, u32), Vec<f32>>,
}

impl PatchCache {
    /// Blends over `window` of `raster` the patches of `lattice` in `touching`, each
    /// given with the batch it is sampled in (3 planes in [−1, 1] per patch, from
    /// `sample`). Patches kept from earlier tiles are not sampled again; finished
    /// patches that a later tile, in row-major order, still overlaps are kept. The host
    /// asks for tiles in that order, so each patch is sampled about once; out of order
    /// (shards, resume) a patch is sampled again, to the same bits.
    pub fn blend(
        &mut self,
        raster: RasterInfo,
        window: Window,
        lattice: &Lattice,
        touching: impl IntoIterator<Item = ((u32, u32), Vec<(u32, u32)>)>,
        mut sample: impl FnMut(&[(u32, u32)]) -> Result<Vec<Vec<f32>>, PluginError>,
    ) -> Result<Vec<f32>, PluginError> {
        if self.raster != Some(raster) {
            *self = PatchCache { raster: Some(raster), patches: HashMap::new() };
        }
        let side = lattice.side;
        let mut blend = Blend::new(window, 3);
        for (origin, batch) in touching {
            if !self.patches.contains_key(&origin) {
                let samples = sample(&batch)?;
                self.patches.extend(batch.into_iter().zip(samples));
            }
            blend.add(origin, side, &self.patches[&origin], &lattice.weights(origin));
        }
        self.patches.retain(|&(x, y), _| {
            i64::from(x + side) > window.right() || i64::from(y + side) > window.bottom()
        });
        Ok(blend.finish())
    }
}
