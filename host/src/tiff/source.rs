//! A TIFF or BigTIFF read lazily, chunk by chunk (tiles or strips), as the engine's
//! source, with a small cache of decoded chunks shared by the worker threads. The
//! header is checked (see `limits`) before anything is read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use ::tiff::decoder::DecodingResult;
use infty_sdk::{FieldMut, RasterInfo, SamplesMut, TypedMut, Window};

use super::codec::{is_jpeg_ycbcr, reason, sample_format_of, signed_as_f32, ycbcr_to_rgb};
use super::layout::Layout;
use super::limits::{self, Checked, StoredChunks, TiffDecoder};
use super::regions::{copy_region, Region};
use crate::engine::grid::TILE;
use crate::engine::source::Source;
use crate::error::{Error, Result};
use crate::format::{Depth, Header};
use crate::metadata::{tiff_tags, Metadata};
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
    stored: StoredChunks,
    /// The file, for reading stored chunks as they are.
    file: File,
    metadata: Metadata,
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
        let Checked { mut decoder, header, chunk, chunk_bytes: bytes, stored } =
            limits::open_checked(path, unlimited)?;
        let file = File::open(path).map_err(|e| Error::input(format!("cannot open '{path}': {e}")))?;
        let width = header.info.width;
        let ycbcr = is_jpeg_ycbcr(&mut decoder);
        let metadata = tiff_tags::read(&mut decoder);
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
            stored,
            file,
            metadata,
        })
    }

    /// Whether an output of `layout` (the same raster) can take this file's chunks as
    /// they are stored: tiles of its size, depth, sample format (signed samples are read
    /// as f32), compression, predictor and byte order.
    pub fn chunks_fit(&self, layout: &Layout) -> bool {
        let s = &self.stored;
        s.tiled
            && self.chunk == (layout.tile, layout.tile)
            && self.header.depth == layout.depth
            && s.sample_format == sample_format_of(layout.depth)
            && s.compression == layout.compression.tag()
            && s.predictor == layout.predictor.tag()
            && (s.little_endian || layout.depth == Depth::U8)
            && !self.ycbcr
    }

    /// Where chunk `index` is stored: its offset and length in bytes.
    pub fn stored_at(&self, index: u32) -> (u64, u64) {
        (self.stored.offsets[index as usize], self.stored.counts[index as usize])
    }

    /// The stored (still encoded) bytes of chunk `index`.
    pub fn stored_bytes(&self, index: u32) -> io::Result<Vec<u8>> {
        let (at, len) = self.stored_at(index);
        let mut bytes = vec![0; len as usize];
        self.file.read_exact_at(&mut bytes, at).map(|()| bytes)
    }

    /// Copies `len` stored bytes from `from` into `out` at `offset`, through a buffer
    /// kept by the calling thread.
    pub fn copy_stored(&self, from: u64, len: u64, out: &File, offset: u64) -> io::Result<()> {
        // Tiles are usually stored in order: have the kernel read the bytes after these
        // while they are copied. Only a hint.
        // SAFETY: the descriptor belongs to an open file.
        unsafe {
            libc::posix_fadvise(
                self.file.as_raw_fd(),
                (from + len) as i64,
                len as i64,
                libc::POSIX_FADV_WILLNEED,
            )
        };
        thread_local!(static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) });
        BUFFER.with_borrow_mut(|buffer| {
            buffer.resize(len as usize, 0);
            self.file.read_exact_at(buffer, from)?;
            out.write_all_at(buffer, offset)
        })
    }

    /// Calls `copy` with each decoded chunk `window` overlaps and where: the chunk's
    /// width, the channels, its top-left pixel and the part of `window` inside it.
    fn each_chunk(
        &self,
        window: Window,
        mut copy: impl FnMut(&DecodingResult, Region) -> Result<()>,
    ) -> Result<()> {
        let (cw, ch) = (i64::from(self.chunk.0), i64::from(self.chunk.1));
        let channels = self.header.info.channels as usize;
        for cy in window.y / ch..=(window.bottom() - 1) / ch {
            for cx in window.x / cw..=(window.right() - 1) / cw {
                let chunk = self.chunk(cy as u32 * self.chunks_across + cx as u32)?;
                let area = window.intersect(&Window::new(cx * cw, cy * ch, self.chunk.0, self.chunk.1));
                copy(&chunk.samples, (chunk.width, channels, (cx * cw, cy * ch), area))?;
            }
        }
        Ok(())
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
        let mut samples = signed_as_f32(decoded.map_err(|e| {
            Error::input(format!("'{}': cannot decode chunk {index}: {}", self.path, reason(e)))
                .with_help("the file is truncated or corrupt")
        })?);
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

    fn read(&self, window: Window, out: FieldMut<'_>) -> Result<()> {
        let mut out = SamplesMut::from(out);
        self.each_chunk(window, |samples, at| {
            match samples {
                DecodingResult::U8(v) => copy_region(v, at, &mut out, u8::to_field),
                DecodingResult::U16(v) => copy_region(v, at, &mut out, u16::to_field),
                DecodingResult::F32(v) => copy_region(v, at, &mut out, |s| s),
                _ => return Err(Error::failed(format!("'{}': samples of an unexpected type", self.path))),
            }
            Ok(())
        })
    }

    fn native_depth(&self) -> Depth {
        self.header.depth
    }

    fn read_typed(&self, window: Window, mut out: TypedMut<'_>) -> Result<()> {
        self.each_chunk(window, |samples, at| {
            match (samples, &mut out) {
                (DecodingResult::U8(v), TypedMut::U8(o)) => copy_region(v, at, o, |s| s),
                (DecodingResult::U16(v), TypedMut::U16(o)) => copy_region(v, at, o, |s| s),
                _ => {
                    return Err(Error::failed(format!("'{}': samples are not at the depth asked", self.path)))
                }
            }
            Ok(())
        })
    }

    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn as_tiff(&self) -> Option<&TiffSource> {
        Some(self)
    }
}
