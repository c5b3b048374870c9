//! The TIFF reader: any bytes opened as a file the way `read` opens one
//! (`codecs::input::open_source`: sniffing, header and chunk-table checks, the lazy
//! chunk-by-chunk source), then every pixel read in 256x256 windows through `Source`
//! (tiled and stripped, every compression and sample type the reader takes).
//!
//! Must hold: no panic, no abort, memory bounded by the limits (libFuzzer's
//! -rss_limit_mb); errors are the expected outcome for most inputs.
#![no_main]

use std::sync::OnceLock;

use infty_fuzz::{read_every_pixel, MemFile};
use libfuzzer_sys::fuzz_target;

static FILE: OnceLock<MemFile> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = FILE.get_or_init(MemFile::new).holding(data);
    if let Ok(source) = infty::codecs::input::open_source(path, None, false) {
        read_every_pixel(source.as_ref());
    }
});
