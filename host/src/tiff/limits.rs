//! The checks a TIFF passes before any pixel is decoded: its chunk tables must match
//! the image size and lie inside the file, and absurd sizes are refused unless
//! `read --unlimited` is given. Its decoders are opened with the same limits.

use std::fs::File;
use std::io::BufReader;

use ::tiff::decoder::{ChunkType, Decoder, Limits};
use ::tiff::tags::Tag;
use infty_sdk::RasterInfo;

use super::codec::{header_of, reason, sample_format};
use crate::error::{Error, Result};
use crate::format::{Header, MAX_SIDE};

/// Largest decoded chunk accepted without `--unlimited`, and with it.
const MAX_CHUNK_BYTES: u64 = 256 << 20;
const UNLIMITED_CHUNK_BYTES: u64 = 4 << 30;

pub type TiffDecoder = Decoder<BufReader<File>>;

/// A TIFF file opened for reading chunk by chunk, its header checked.
pub struct Checked {
    pub decoder: TiffDecoder,
    pub header: Header,
    /// The size of one chunk (tile or strip) in pixels.
    pub chunk: (u32, u32),
    /// The decoded size of one chunk.
    pub chunk_bytes: u64,
    /// Where each chunk's stored bytes lie.
    pub stored: StoredChunks,
}

/// The chunks as stored: where each lies in the file and how it is encoded, for
/// copying them into an output without decoding.
pub struct StoredChunks {
    pub offsets: Vec<u64>,
    pub counts: Vec<u64>,
    pub tiled: bool,
    /// The TIFF Compression and Predictor tags.
    pub compression: u16,
    pub predictor: u16,
    /// Samples stored little-endian, as the output's are.
    pub little_endian: bool,
    /// The TIFF SampleFormat: signed samples are stored as integers but read as f32.
    pub sample_format: u16,
}

/// Opens `path` and checks its header and chunk tables.
pub fn open_checked(path: &str, unlimited: bool) -> Result<Checked> {
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
        return Err(bad("planar-separate TIFF (one plane per channel) is not supported".into()).with_help(
            "convert it first, e.g. `tiffcp -p contig in.tif out.tif` or `vips copy in.tif out.tif`",
        ));
    }
    let chunk = decoder.chunk_dimensions();
    let bytes = u64::from(chunk.0) * u64::from(chunk.1) * u64::from(channels) * header.depth.bytes() as u64;
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
    let stored = check_chunk_table(&mut decoder, &header, chunk, path)?;
    Ok(Checked { decoder, header, chunk, chunk_bytes: bytes, stored })
}

/// A decoder of `path` with the decoding limits for `unlimited`.
pub fn open_decoder(path: &str, unlimited: bool) -> Result<TiffDecoder> {
    let file = File::open(path).map_err(|e| Error::input(format!("cannot open '{path}': {e}")))?;
    let mut limits = Limits::default();
    limits.decoding_buffer_size = chunk_limit(unlimited) as usize;
    limits.intermediate_buffer_size = chunk_limit(unlimited) as usize;
    Decoder::new(BufReader::new(file))
        .map(|d| d.with_limits(limits))
        .map_err(|e| Error::input(format!("'{path}': cannot decode TIFF: {}", reason(e))))
}

fn chunk_limit(unlimited: bool) -> u64 {
    if unlimited {
        UNLIMITED_CHUNK_BYTES
    } else {
        MAX_CHUNK_BYTES
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
) -> Result<StoredChunks> {
    let info = header.info;
    // As stored, which for signed samples is not the depth they are read at.
    let bits = decoder.colortype().map_err(|e| Error::input(format!("'{path}': {}", reason(e))))?.bit_depth();
    let pixel_bytes = u64::from(info.channels) * u64::from(bits.div_ceil(8));
    let (offsets_tag, counts_tag) = match decoder.get_chunk_type() {
        ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
        ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    };
    let bad = |reason: String| {
        Error::input(format!("'{path}': {reason}")).with_help("the file is truncated or corrupt")
    };
    let table = |decoder: &mut TiffDecoder, tag| {
        decoder.get_tag_u64_vec(tag).map_err(|e| bad(format!("cannot read its {tag:?} table: {}", reason(e))))
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
    let compression = decoder.find_tag_unsigned::<u16>(Tag::Compression).ok().flatten().unwrap_or(1);
    let predictor = decoder.find_tag_unsigned::<u16>(Tag::Predictor).ok().flatten().unwrap_or(1);
    let uncompressed = compression == 1;
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
    let tiled = decoder.get_chunk_type() == ChunkType::Tile;
    let little_endian = decoder.byte_order() == ::tiff::tags::ByteOrder::LittleEndian;
    let sample_format = sample_format(decoder);
    Ok(StoredChunks { offsets, counts, tiled, compression, predictor, little_endian, sample_format })
}
