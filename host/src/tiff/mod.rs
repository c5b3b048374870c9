//! Everything TIFF: whole images through the `tiff` crate, files read lazily chunk by
//! chunk as the engine's source, and tiled output written tile by tile (with its
//! resume journal, pyramid levels and the merging of shards).

pub mod codec;
mod ifd;
pub mod journal;
pub mod layout;
mod limits;
pub mod merge;
pub mod predictor;
mod pyramid;
mod regions;
pub mod sink;
pub mod source;
mod writer;
