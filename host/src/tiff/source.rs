//! A TIFF or BigTIFF read lazily, chunk by chunk (tiles or strips), with a small
//! cache of decoded chunks shared by the worker threads. Headers are checked before
//! anything is read: chunk tables must match the image size and lie inside the file,
//! and absurd sizes are refused unless `read --unlimited` is given.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::sync::{Arc, Mutex};

use infty_sdk::{FieldMut, RasterInfo, Window};
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use super::source::Source;
use crate::error::{Error, Result};
use crate::io::codec_tiff::{header_of, is_jpeg_ycbcr, ycbcr_to_rgb};
use crate::io::{Depth, Header};
use crate::raster::Sample;

/// Largest image side accepted without `--unlimited` (libvips' own limit is 10M).
const MAX_SIDE: u32 = 1 << 24;
/// Largest decoded chunk accepted without `--unlimited`, and with it.
const MAX_CHUNK_BYTES: u64 = 256 << 20;
const UNLIMITED_CHUNK_BYTES: u64 = 4 << 30;
/// The cache keeps the chunks of about two bands of output tiles (a tile row plus
/// halos), so each chunk is decoded about once; within these bounds.
const CACHE_MIN_BYTES: u64 = 8 << 20;
const CACHE_MAX_BYTES: u64 = 128 << 20;

type TiffDecoder = Decoder<BufReader<File>>;

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
        let bad = |reason: String| Error::input(format!("'{path}': {reason}"));
        let mut decoder = open_decoder(path, unlimited)?;
        let header = header_of(&mut decoder).map_err(|e| bad(format!("cannot decode TIFF: {e}")))?;
        let RasterInfo { width, height, channels, .. } = header.info;
        let hint = "if the file is genuine, give `read --unlimited` (no limit per side, 4 GiB per chunk)";
        if width == 0 || height == 0 {
            return Err(bad(format!("the image is empty ({width}x{height})")));
        }
        if !unlimited && (width > MAX_SIDE || height > MAX_SIDE) {
            return Err(
                bad(format!("claims {width}x{height} pixels, more than {MAX_SIDE} per side")).with_help(hint)
            );
        }
        let planar = decoder.find_tag_unsigned::<u16>(Tag::PlanarConfiguration).ok().flatten().unwrap_or(1);
        if planar == 2 && channels > 1 {
            return Err(bad("planar-separate TIFF (one plane per channel) is not supported".into())
                .with_help(
                    "convert it first, e.g. `tiffcp -p contig in.tif out.tif` or `vips copy in.tif out.tif`",
                ));
        }
        let chunk = decoder.chunk_dimensions();
        let bytes =
            u64::from(chunk.0) * u64::from(chunk.1) * u64::from(channels) * sample_bytes(header.depth);
        let limit = chunk_limit(unlimited);
        if bytes > limit {
            let error = bad(format!(
                "one {} of {}x{} pixels decodes to {} MiB, more than the {} MiB limit",
                chunk_name(&decoder),
                chunk.0,
                chunk.1,
                bytes >> 20,
                limit >> 20
            ));
            return Err(if unlimited { error } else { error.with_help(hint) });
        }
        check_chunk_table(&mut decoder, &header, chunk, path)?;
        let ycbcr = is_jpeg_ycbcr(&mut decoder);
        let chunks_across = width.div_ceil(chunk.0);
        // Chunk rows under one band of 256-px output tiles and their halos, twice.
        let band_rows = u64::from((super::layout::TILE + 64).div_ceil(chunk.1) + 1);
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
            None => open_decoder(&self.path, self.unlimited)?,
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

fn open_decoder(path: &str, unlimited: bool) -> Result<TiffDecoder> {
    let file = File::open(path).map_err(|e| Error::input(format!("cannot open '{path}': {e}")))?;
    let mut limits = Limits::default();
    limits.decoding_buffer_size = chunk_limit(unlimited) as usize;
    limits.intermediate_buffer_size = chunk_limit(unlimited) as usize;
    Decoder::new(BufReader::new(file))
        .map(|d| d.with_limits(limits))
        .map_err(|e| Error::input(format!("'{path}': cannot decode TIFF: {e}")))
}

fn chunk_limit(unlimited: bool) -> u64 {
    if unlimited {
        UNLIMITED_CHUNK_BYTES
    } else {
        MAX_CHUNK_BYTES
    }
}

fn sample_bytes(depth: Depth) -> u64 {
    match depth {
        Depth::U8 => 1,
        Depth::U16 => 2,
        Depth::F32 => 4,
    }
}

fn chunk_name(decoder: &TiffDecoder) -> &'static str {
    match decoder.get_chunk_type() {
        ChunkType::Tile => "tile",
        ChunkType::Strip => "strip",
    }
}

/// The chunk offset and byte-count tables must have one entry per chunk, and every
/// chunk must lie inside the file: a header that lies is refused before decoding.
fn check_chunk_table(
    decoder: &mut TiffDecoder,
    header: &Header,
    chunk: (u32, u32),
    path: &str,
) -> Result<()> {
    let info = header.info;
    let pixel_bytes = u64::from(info.channels) * sample_bytes(header.depth);
    let (offsets_tag, counts_tag) = match decoder.get_chunk_type() {
        ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
        ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    };
    let bad = |reason: String| {
        Error::input(format!("'{path}': {reason}")).with_help("the file is truncated or corrupt")
    };
    let table = |decoder: &mut TiffDecoder, tag| {
        decoder.get_tag_u64_vec(tag).map_err(|e| bad(format!("cannot read its {tag:?} table: {e}")))
    };
    let offsets = table(decoder, offsets_tag)?;
    let counts = table(decoder, counts_tag)?;
    let expected = u64::from(info.width.div_ceil(chunk.0)) * u64::from(info.height.div_ceil(chunk.1));
    if offsets.len() as u64 != expected || counts.len() as u64 != expected {
        return Err(bad(format!(
            "its header lists {} chunks ({} byte counts) for a {}x{} image of {}x{} chunks, which needs {expected}",
            offsets.len(),
            counts.len(),
            info.width,
            info.height,
            chunk.0,
            chunk.1
        )));
    }
    let file_len =
        std::fs::metadata(path).map_err(|e| Error::input(format!("cannot read '{path}': {e}")))?.len();
    let uncompressed = decoder.find_tag_unsigned::<u16>(Tag::Compression).ok().flatten().unwrap_or(1) == 1;
    for (i, (&offset, &count)) in offsets.iter().zip(&counts).enumerate() {
        if offset.checked_add(count).is_none_or(|end| end > file_len) {
            return Err(bad(format!(
                "chunk {i} claims bytes {offset}..{} but the file has {file_len} bytes",
                offset.saturating_add(count)
            )));
        }
        let (w, h) = decoder.chunk_data_dimensions(i as u32);
        let needed = u64::from(w) * u64::from(h) * pixel_bytes;
        if uncompressed && count < needed {
            return Err(bad(format!(
                "uncompressed chunk {i} holds {count} bytes but its {w}x{h} pixels need {needed}"
            )));
        }
    }
    Ok(())
}
