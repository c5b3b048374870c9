//! Where the engine's pixels come from: any window of the input raster on demand. A
//! TIFF file is its own source (`crate::tiff::source`); `crate::codecs::input` opens
//! the right one for a file.

use infty_sdk::{FieldMut, RasterInfo, Window};

use crate::error::Result;
use crate::format::Depth;
use crate::raster::Raster;
use crate::tiff::source::TiffSource;

/// An input raster read window by window, from any thread.
pub trait Source: Send + Sync {
    /// The raster.
    fn info(&self) -> RasterInfo;
    /// How the file stores samples (the default output depth).
    fn depth(&self) -> Depth;
    /// Fills `out` with `window` (inside the raster), planar, normalised samples.
    fn read(&self, window: Window, out: FieldMut<'_>) -> Result<()>;
    /// The source as a TIFF, whose stored chunks a write may copy as they are.
    fn as_tiff(&self) -> Option<&TiffSource> {
        None
    }
}

/// A source decoded whole into memory (PNG, JPEG, standard input).
pub struct MemorySource {
    pub raster: Raster,
    pub depth: Depth,
}

impl Source for MemorySource {
    fn info(&self) -> RasterInfo {
        self.raster.info
    }

    fn depth(&self) -> Depth {
        self.depth
    }

    fn read(&self, window: Window, mut out: FieldMut<'_>) -> Result<()> {
        let view = self.raster.view(window);
        for c in 0..view.channels() {
            for y in 0..window.height as usize {
                out.row_mut(c, y).copy_from_slice(view.row(c, y));
            }
        }
        Ok(())
    }
}
