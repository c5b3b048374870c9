//! The PNG and JPEG readers: any bytes opened as `read` opens a file
//! (`codecs::input::Input`: format sniffed from the first bytes, header read, size
//! checked against the decode limits), then, for images of at most 4M pixels, decoded
//! whole (with the cut-JPEG check) and every pixel read through `Source`. TIFFs are
//! left to the `tiff` target.
//!
//! Must hold: no panic, no abort, memory bounded by the decode caps; errors are fine.
#![no_main]

use std::sync::OnceLock;

use infty::codecs::input::Input;
use infty::engine::source::MemorySource;
use infty::format::Format;
use infty_fuzz::{read_every_pixel, MemFile, MAX_READ_PIXELS};
use libfuzzer_sys::fuzz_target;

static FILE: OnceLock<MemFile> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = FILE.get_or_init(MemFile::new).holding(data);
    let Ok(input) = Input::open(path, None, false) else { return };
    let (info, depth) = (input.header.info, input.header.depth);
    if input.header.format == Format::Tiff || u64::from(info.width) * u64::from(info.height) > MAX_READ_PIXELS
    {
        return;
    }
    if let Ok((raster, metadata)) = input.decode() {
        read_every_pixel(&MemorySource { raster, depth, metadata });
    }
});
