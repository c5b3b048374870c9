//! The streaming tile engine: a chain of built operators computing output tiles from
//! a source, in a grid, in parallel, with halos and blended overlaps; which tiles a
//! shard computes; the progress bar. It knows no file format (but lets a TIFF source
//! hand its stored chunks to the TIFF sink, `Source::as_tiff`).

mod blend;
pub mod grid;
pub mod job;
pub mod planes;
pub mod progress;
pub mod shard;
pub mod source;
pub mod workers;
