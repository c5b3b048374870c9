//! Where the engine's pixels come from: any window of the input raster on demand. A
//! TIFF file is its own source (`crate::tiff::source`); `crate::codecs::input` opens
//! the right one for a file.

use infty_sdk::{FieldMut, RasterInfo, TypedMut, Window};

use crate::error::{Error, Result};
use crate::format::Depth;
use crate::metadata::Metadata;
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
    /// The depth the source holds samples at without converting: the file's own for a
    /// TIFF read chunk by chunk, f32 for an image decoded whole.
    fn native_depth(&self) -> Depth {
        Depth::F32
    }
    /// Fills `out` with `window` at the native integer depth, samples as stored.
    fn read_typed(&self, window: Window, out: TypedMut<'_>) -> Result<()> {
        let _ = (window, out);
        Err(Error::failed("this source holds f32 samples only"))
    }
    /// What the image carries besides its pixels.
    fn metadata(&self) -> Metadata {
        Metadata::default()
    }
    /// The source as a TIFF, whose stored chunks a write may copy as they are.
    fn as_tiff(&self) -> Option<&TiffSource> {
        None
    }
}

/// A source decoded whole into memory (PNG, JPEG, standard input).
pub struct MemorySource {
    pub raster: Raster,
    pub depth: Depth,
    pub metadata: Metadata,
}

impl Source for MemorySource {
    fn info(&self) -> RasterInfo {
        self.raster.info
    }

    fn depth(&self) -> Depth {
        self.depth
    }

    fn metadata(&self) -> Metadata {
        self.metadata.clone()
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
