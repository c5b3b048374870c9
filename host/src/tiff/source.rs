//! A TIFF or BigTIFF read lazily, chunk by chunk (tiles or strips), as the engine's
//! source, with a small cache of decoded chunks shared by the worker threads. The
//! header is checked (see `limits`) before anything is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ::tiff::decoder::DecodingResult;
use infty_sdk::{FieldMut, RasterInfo, Window};

use super::codec::{is_jpeg_ycbcr, ycbcr_to_rgb};
use super::limits::{self, Checked, TiffDecoder};
use crate::engine::grid::TILE;
use crate::engine::source::Source;
use crate::error::{Error, Result};
use crate::format::{Depth, Header};
use crate::raster::Sample;

/// The cache keeps the chunks of about two bands of output tiles (a tile row plus
/// halos), so each chunk is decoded about once; within these bounds.
const CACHE_MIN_BYTES: u64 = 8 << 20;
const CACHE_MAX_BYTES: u64 = 128 << 20;

/// One decoded chunk, interleaved, `width` samples per row.
struct Chunk {
    samples: DecodingResult,
    width: usize,
    bytes: usize,
}

pub struct TiffSource {
    path: String,
    header: Header,
    unlimited: bool,
    chunk: (u32, u32),
    chunks_across: u32,
    /// JPEG-compressed YCbCr, converted to RGB as chunks are decoded.
    ycbcr: bool,
    decoders: Mutex<Vec<TiffDecoder>>,
    cache: Mutex<Cache>,
}

struct Cache {
    chunks: HashMap<u32, (Arc<Chunk>, u64)>,
    bytes: usize,
    budget: usize,
    clock: u64,
}

impl TiffSource {
    /// Opens `path` and checks its header and chunk tables.
    pub fn open(path: &str, unlimited: bool) -> Result<TiffSource> {
        let Checked { mut decoder, header, chunk, chunk_bytes: bytes } =
            limits::open_checked(path, unlimited)?;
        let width = header.info.width;
        let ycbcr = is_jpeg_ycbcr(&mut decoder);
        let chunks_across = width.div_ceil(chunk.0);
        // Chunk rows under one band of 256-px output tiles and their halos, twice.
        let band_rows = u64::from((TILE + 64).div_ceil(chunk.1) + 1);
        let budget =
            (2 * band_rows * u64::from(chunks_across) * bytes).clamp(CACHE_MIN_BYTES, CACHE_MAX_BYTES);
        let cache = Cache { chunks: HashMap::new(), bytes: 0, budget: budget as usize, clock: 0 };
        Ok(TiffSource {
            path: path.to_string(),
            header,
            unlimited,
            chunk,
            chunks_across,
            ycbcr,
            decoders: Mutex::new(vec![decoder]),
            cache: Mutex::new(cache),
        })
    }

    /// Decoded chunk `index`, from the cache or the file.
    fn chunk(&self, index: u32) -> Result<Arc<Chunk>> {
        if let Some(entry) = self.cache.lock().expect("cache lock").get(index) {
            return Ok(entry);
        }
        let mut decoder = match self.decoders.lock().expect("decoder pool").pop() {
            Some(d) => d,
            None => limits::open_decoder(&self.path, self.unlimited)?,
        };
        let decoded = decoder.read_chunk(index);
        let width = decoder.chunk_data_dimensions(index).0 as usize;
        self.decoders.lock().expect("decoder pool").push(decoder);
        let mut samples = decoded.map_err(|e| {
            Error::input(format!("'{}': cannot decode chunk {index}: {e}", self.path))
                .with_help("the file is truncated or corrupt")
        })?;
        if let (true, DecodingResult::U8(v)) = (self.ycbcr, &mut samples) {
            ycbcr_to_rgb(v);
        }
        let bytes = match &samples {
            DecodingResult::U8(v) => v.len(),
            DecodingResult::U16(v) => v.len() * 2,
            DecodingResult::F32(v) => v.len() * 4,
            _ => 0,
        };
        let chunk = Arc::new(Chunk { samples, width, bytes });
        self.cache.lock().expect("cache lock").insert(index, chunk.clone());
        Ok(chunk)
    }
}

impl Cache {
    fn get(&mut self, index: u32) -> Option<Arc<Chunk>> {
        self.clock += 1;
        let clock = self.clock;
        self.chunks.get_mut(&index).map(|(chunk, used)| {
            *used = clock;
            chunk.clone()
        })
    }

    /// Keeps `chunk`, dropping the least recently used chunks past the budget.
    fn insert(&mut self, index: u32, chunk: Arc<Chunk>) {
        self.clock += 1;
        self.bytes += chunk.bytes;
        if let Some((old, _)) = self.chunks.insert(index, (chunk, self.clock)) {
            self.bytes -= old.bytes;
        }
        while self.bytes > self.budget && self.chunks.len() > 1 {
            let (&oldest, _) = self.chunks.iter().min_by_key(|(_, (_, used))| *used).expect("not empty");
            let (old, _) = self.chunks.remove(&oldest).expect("present");
            self.bytes -= old.bytes;
        }
    }
}

impl Source for TiffSource {
    fn info(&self) -> RasterInfo {
        self.header.info
    }

    fn depth(&self) -> Depth {
        self.header.depth
    }

    fn read(&self, window: Window, mut out: FieldMut<'_>) -> Result<()> {
        let (cw, ch) = (i64::from(self.chunk.0), i64::from(self.chunk.1));
        let channels = self.header.info.channels as usize;
        for cy in window.y / ch..=(window.bottom() - 1) / ch {
            for cx in window.x / cw..=(window.right() - 1) / cw {
                let chunk = self.chunk(cy as u32 * self.chunks_across + cx as u32)?;
                let area = window.intersect(&Window::new(cx * cw, cy * ch, self.chunk.0, self.chunk.1));
                let origin = (cx * cw, cy * ch);
                match &chunk.samples {
                    DecodingResult::U8(v) => copy_region(v, chunk.width, channels, origin, area, &mut out),
                    DecodingResult::U16(v) => copy_region(v, chunk.width, channels, origin, area, &mut out),
                    DecodingResult::F32(v) => copy_region(v, chunk.width, channels, origin, area, &mut out),
                    _ => unreachable!("the header check admits u8, u16 and f32 only"),
                }
            }
        }
        Ok(())
    }
}

/// Copies `area` (global coordinates) of an interleaved chunk whose top-left pixel is
/// `origin` into the planar field `out`.
fn copy_region<T: Sample>(
    chunk: &[T],
    chunk_width: usize,
    channels: usize,
    origin: (i64, i64),
    area: Window,
    out: &mut FieldMut<'_>,
) {
    let (ox, oy) = ((area.x - out.window.x) as usize, (area.y - out.window.y) as usize);
    for y in 0..area.height as usize {
        let row = (area.y - origin.1) as usize + y;
        let start = (row * chunk_width + (area.x - origin.0) as usize) * channels;
        let src = &chunk[start..start + area.width as usize * channels];
        for c in 0..channels {
            let dst = &mut out.row_mut(c, oy + y)[ox..ox + area.width as usize];
            for (x, d) in dst.iter_mut().enumerate() {
                *d = src[x * channels + c].to_field();
            }
        }
    }
}
