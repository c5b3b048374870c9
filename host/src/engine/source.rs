//! Where a pipeline's pixels come from: any window of the input raster on demand.

use infty_sdk::{FieldMut, RasterInfo, Window};

use super::tiff_source::TiffSource;
use crate::error::Result;
use crate::io::{Depth, Format, Input};
use crate::raster::Raster;

/// An input raster read window by window, from any thread.
pub trait Source: Send + Sync {
    /// The raster.
    fn info(&self) -> RasterInfo;
    /// How the file stores samples (the default output depth).
    fn depth(&self) -> Depth;
    /// Fills `out` with `window` (inside the raster), planar, normalised samples.
    fn read(&self, window: Window, out: FieldMut<'_>) -> Result<()>;
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

/// Opens `path` (`-`: standard input) as a source: TIFF files are read lazily, chunk by
/// chunk; other formats and standard input are decoded into memory. `unlimited` lifts
/// the TIFF size checks.
pub fn open(path: &str, format: Option<Format>, unlimited: bool) -> Result<Box<dyn Source>> {
    let input = Input::open(path, format)?;
    if input.header.format == Format::Tiff && path != "-" {
        return Ok(Box::new(TiffSource::open(path, unlimited)?));
    }
    let depth = input.header.depth;
    Ok(Box::new(MemorySource { raster: input.decode()?, depth }))
}
