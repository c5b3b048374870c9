//! Image files read or written whole: PNG and JPEG through the `image` crate, TIFF
//! through `crate::tiff`; an input opened as the engine's source; an output written
//! atomically; DeepZoom pyramids written band by band.

pub mod dzi;
pub mod input;
pub mod output;
mod png_jpeg;
