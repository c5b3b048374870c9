//! What the fuzz targets share: an in-memory file to hand the readers a path, and a
//! read of every pixel of a source.

use std::fs::File;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;

use infty::engine::source::Source;
use infty_sdk::{FieldMut, Window};

/// Sources larger than this many pixels are opened (their headers checked) but not
/// read, to keep executions fast.
pub const MAX_READ_PIXELS: u64 = 4 << 20;

/// A file in memory (memfd), reachable by path as `/proc/self/fd/N`: the readers open
/// paths, and a memfd leaves nothing behind when libFuzzer exits without cleaning up.
pub struct MemFile {
    file: File,
    path: String,
}

impl MemFile {
    pub fn new() -> MemFile {
        // SAFETY: the name is a NUL-terminated literal; the descriptor returned is new
        // and owned by the `File` from here on.
        let fd = unsafe { libc::memfd_create(c"infty-fuzz".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        let file = unsafe { File::from_raw_fd(fd) };
        MemFile { file, path: format!("/proc/self/fd/{fd}") }
    }

    /// Replaces the file's contents with `bytes` and returns its path.
    pub fn holding(&self, bytes: &[u8]) -> &str {
        self.file.set_len(0).expect("truncate memfd");
        self.file.write_all_at(bytes, 0).expect("write memfd");
        &self.path
    }
}

impl Default for MemFile {
    fn default() -> Self {
        MemFile::new()
    }
}

/// Reads every pixel of `source` in 256x256 windows, as the engine would; stops at the
/// first error (a corrupt chunk). Rasters over `MAX_READ_PIXELS` are skipped.
pub fn read_every_pixel(source: &dyn Source) {
    let info = source.info();
    if u64::from(info.width) * u64::from(info.height) > MAX_READ_PIXELS {
        return;
    }
    const SIDE: u32 = 256;
    let mut buffer = Vec::new();
    for y in (0..info.height).step_by(SIDE as usize) {
        for x in (0..info.width).step_by(SIDE as usize) {
            let window = Window::new(x.into(), y.into(), SIDE.min(info.width - x), SIDE.min(info.height - y));
            buffer.resize(info.channels as usize * window.area() as usize, 0.0);
            let out = FieldMut::new(info, window, &mut buffer).expect("a buffer sized for its window");
            if source.read(window, out).is_err() {
                return;
            }
        }
    }
}
