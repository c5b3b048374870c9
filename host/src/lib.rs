//! The host's library: everything `infty` does, as modules, so the binary stays a thin
//! shell and the fuzz targets (`fuzz/`) drive the same readers, parsers and checks.

pub mod cli;
pub mod codecs;
pub mod engine;
pub mod error;
pub mod format;
pub mod interrupt;
pub mod metadata;
pub mod pipeline;
pub mod plugins;
pub mod raster;
pub mod suggest;
pub mod tiff;
