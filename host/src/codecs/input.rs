//! Opening an input image: the format from its first bytes, its header, and either its
//! pixels decoded whole (PNG, JPEG, TIFF on standard input) or, for a TIFF file, an
//! engine source that reads it chunk by chunk. Whole decodes are checked from the
//! header against the limits below before any pixel is decoded; `read --unlimited`
//! lifts them, as it lifts the TIFF limits (see `tiff::limits`).

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};

use crate::engine::source::{MemorySource, Source};
use crate::error::{Error, Result};
use crate::format::{Format, Header, MAX_SIDE};
use crate::metadata::Metadata;
use crate::raster::Raster;
use crate::tiff::codec as tiff_codec;
use crate::tiff::source::TiffSource;

use super::png_jpeg;

/// The largest image decoded whole into memory: its f32 samples.
const MAX_RASTER_BYTES: u64 = 2 << 30;
/// The most bytes read from standard input (an image's encoded bytes are rarely more
/// than its f32 samples).
const MAX_STDIN_BYTES: u64 = 2 << 30;
const UNLIMITED_HELP: &str = "if the image is genuine, give `read --unlimited`";

/// Opens `path` (`-`: standard input) as a source: TIFF files are read lazily, chunk by
/// chunk; other formats and standard input are decoded into memory. `unlimited` lifts
/// the size checks.
pub fn open_source(path: &str, format: Option<Format>, unlimited: bool) -> Result<Box<dyn Source>> {
    let input = Input::open(path, format, unlimited)?;
    if input.header.format == Format::Tiff && path != "-" {
        return Ok(Box::new(TiffSource::open(path, unlimited)?));
    }
    let depth = input.header.depth;
    let (raster, metadata) = input.decode()?;
    Ok(Box::new(MemorySource { raster, depth, metadata }))
}

/// A readable, seekable byte source.
trait ByteSource: BufRead + Seek {}
impl<T: BufRead + Seek> ByteSource for T {}

/// An input image, opened but not yet decoded.
pub struct Input {
    name: String,
    source: Box<dyn ByteSource>,
    pub header: Header,
    unlimited: bool,
}

impl Input {
    /// Opens `path` (`-` for standard input) and reads its header; `unlimited` lifts the
    /// limits on standard input and on decoding.
    pub fn open(path: &str, format: Option<Format>, unlimited: bool) -> Result<Input> {
        let name = if path == "-" { "standard input".to_string() } else { format!("'{path}'") };
        let (format, mut source): (Format, Box<dyn ByteSource>) = if path == "-" {
            let (format, bytes) = read_stdin(format, unlimited)?;
            (format, Box::new(Cursor::new(bytes)))
        } else {
            let file = File::open(path).map_err(|e| Error::input(format!("cannot open '{path}': {e}")))?;
            let mut source = BufReader::new(file);
            let head = source.fill_buf().map_err(|e| Error::input(format!("cannot read {name}: {e}")))?;
            (sniffed(&name, format, head)?, Box::new(source))
        };
        let header = match format {
            Format::Tiff => tiff_codec::header(&mut source),
            Format::Png | Format::Jpeg => png_jpeg::header(&mut source, format),
            Format::Dzi => Err("DeepZoom is written, not read".to_string()),
        }
        .map_err(|e| corrupt(&name, format, e))?;
        Ok(Input { name, source, header, unlimited })
    }

    /// Decodes every pixel and the metadata, once the header's size passes the limits.
    pub fn decode(mut self) -> Result<(Raster, Metadata)> {
        let format = self.header.format;
        check_size(&self.name, &self.header, self.unlimited)?;
        self.source
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::input(format!("cannot read {}: {e}", self.name)))?;
        match format {
            Format::Tiff => tiff_codec::decode(&mut self.source, &self.header, self.unlimited),
            Format::Png | Format::Jpeg => png_jpeg::decode(&mut self.source, &self.header, self.unlimited),
            Format::Dzi => Err("DeepZoom is written, not read".to_string()),
        }
        .map_err(|e| corrupt(&self.name, format, e))
    }
}

/// The format given, or else the one `head` (the first bytes) shows.
fn sniffed(name: &str, format: Option<Format>, head: &[u8]) -> Result<Format> {
    format.or_else(|| Format::sniff(head)).ok_or_else(|| {
        Error::input(format!("{name} is not a PNG, JPEG or TIFF image"))
            .with_help("check the file, or give `read --format png|jpeg|tiff`")
    })
}

/// Standard input's format and bytes, at most `MAX_STDIN_BYTES` unless `unlimited`. The
/// first bytes must show an image before the rest is read.
fn read_stdin(format: Option<Format>, unlimited: bool) -> Result<(Format, Vec<u8>)> {
    let failed = |e: std::io::Error| Error::input(format!("cannot read standard input: {e}"));
    let mut stdin = std::io::stdin().lock();
    let mut bytes = Vec::new();
    (&mut stdin).take(16).read_to_end(&mut bytes).map_err(failed)?;
    let format = sniffed("standard input", format, &bytes)?;
    read_capped(&mut stdin, &mut bytes, if unlimited { u64::MAX } else { MAX_STDIN_BYTES })
        .map_err(failed)?;
    if !unlimited && bytes.len() as u64 > MAX_STDIN_BYTES {
        return Err(Error::input(format!(
            "standard input holds more than {} MiB, the limit for standard input",
            MAX_STDIN_BYTES >> 20
        ))
        .with_help("write the data to a file and read that, or give `read --unlimited`"));
    }
    Ok((format, bytes))
}

/// Reads `source` to its end onto `bytes`, but at most one byte past `cap` in all.
fn read_capped(source: &mut impl Read, bytes: &mut Vec<u8>, cap: u64) -> std::io::Result<()> {
    let left = cap.saturating_add(1).saturating_sub(bytes.len() as u64);
    source.take(left).read_to_end(bytes).map(|_| ())
}

/// Refuses an image decoded whole whose header claims more than the limits allow:
/// a side over `MAX_SIDE`, or f32 samples over `MAX_RASTER_BYTES`.
fn check_size(name: &str, header: &Header, unlimited: bool) -> Result<()> {
    let info = header.info;
    if unlimited {
        return Ok(());
    }
    let claims = format!("{name} claims {}x{} pixels", info.width, info.height);
    if info.width > MAX_SIDE || info.height > MAX_SIDE {
        return Err(
            Error::input(format!("{claims}, more than {MAX_SIDE} per side")).with_help(UNLIMITED_HELP)
        );
    }
    let bytes = u64::from(info.width) * u64::from(info.height) * u64::from(info.channels) * 4;
    if bytes > MAX_RASTER_BYTES {
        let help = if header.format == Format::Tiff && name == "standard input" {
            "write it to a file, which is read chunk by chunk, or give `read --unlimited`"
        } else {
            UNLIMITED_HELP
        };
        return Err(Error::input(format!(
            "{claims}, {} MiB of samples in memory, more than the {} MiB limit",
            bytes >> 20,
            MAX_RASTER_BYTES >> 20
        ))
        .with_help(help));
    }
    Ok(())
}

fn corrupt(name: &str, format: Format, reason: String) -> Error {
    Error::input(format!("{name}: cannot decode {}: {reason}", format.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Depth;
    use infty_sdk::RasterInfo;

    #[test]
    fn reading_stops_one_byte_past_the_cap() {
        let mut bytes = b"head".to_vec();
        read_capped(&mut std::io::repeat(0), &mut bytes, 10).unwrap();
        assert_eq!(bytes.len(), 11);
        let mut bytes = Vec::new();
        read_capped(&mut &[1u8; 5][..], &mut bytes, 10).unwrap();
        assert_eq!(bytes.len(), 5);
    }

    #[test]
    fn sizes_are_checked_from_the_header() {
        let header =
            |w, h, c| Header { info: RasterInfo::new(w, h, c), depth: Depth::U8, format: Format::Jpeg };
        assert!(check_size("x", &header(16384, 8192, 4), false).is_ok());
        let error = check_size("'x.jpg'", &header(16384, 8193, 4), false).unwrap_err();
        assert!(error.to_string().contains("claims 16384x8193 pixels, 2048 MiB of samples"), "{error}");
        assert_eq!(error.exit_code(), 2);
        assert!(check_size("x", &header(MAX_SIDE + 1, 1, 1), false).is_err());
        assert!(check_size("x", &header(MAX_SIDE + 1, 1 << 20, 4), true).is_ok());
    }
}
