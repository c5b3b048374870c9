//! Opening an input image: the format from its first bytes, its header, and either its
//! pixels decoded whole (PNG, JPEG, TIFF on standard input) or, for a TIFF file, an
//! engine source that reads it chunk by chunk.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};

use crate::engine::source::{MemorySource, Source};
use crate::error::{Error, Result};
use crate::format::{Format, Header};
use crate::raster::Raster;
use crate::tiff::codec as tiff_codec;
use crate::tiff::source::TiffSource;

use super::png_jpeg;

/// Opens `path` (`-`: standard input) as a source: TIFF files are read lazily, chunk by
/// chunk; other formats and standard input are decoded into memory. `unlimited` lifts
/// the TIFF size checks.
pub fn open_source(path: &str, format: Option<Format>, unlimited: bool) -> Result<Box<dyn Source>> {
    let input = Input::open(path, format)?;
    if input.header.format == Format::Tiff && path != "-" {
        return Ok(Box::new(TiffSource::open(path, unlimited)?));
    }
    let depth = input.header.depth;
    Ok(Box::new(MemorySource { raster: input.decode()?, depth }))
}

/// A readable, seekable byte source.
trait ByteSource: BufRead + Seek {}
impl<T: BufRead + Seek> ByteSource for T {}

/// An input image, opened but not yet decoded.
pub struct Input {
    name: String,
    source: Box<dyn ByteSource>,
    pub header: Header,
}

impl Input {
    /// Opens `path` (`-` for standard input) and reads its header.
    pub fn open(path: &str, format: Option<Format>) -> Result<Input> {
        let (name, mut source): (String, Box<dyn ByteSource>) = if path == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Error::input(format!("cannot read standard input: {e}")))?;
            ("standard input".to_string(), Box::new(Cursor::new(bytes)))
        } else {
            let file = File::open(path).map_err(|e| Error::input(format!("cannot open '{path}': {e}")))?;
            (format!("'{path}'"), Box::new(BufReader::new(file)))
        };
        let format = match format {
            Some(f) => f,
            None => Format::sniff(
                source.fill_buf().map_err(|e| Error::input(format!("cannot read {name}: {e}")))?,
            )
            .ok_or_else(|| {
                Error::input(format!("{name} is not a PNG, JPEG or TIFF image"))
                    .with_help("check the file, or give `read --format png|jpeg|tiff`")
            })?,
        };
        let header = match format {
            Format::Tiff => tiff_codec::header(&mut source),
            Format::Png | Format::Jpeg => png_jpeg::header(&mut source, format),
        }
        .map_err(|e| corrupt(&name, format, e))?;
        Ok(Input { name, source, header })
    }

    /// Decodes every pixel.
    pub fn decode(mut self) -> Result<Raster> {
        let format = self.header.format;
        self.source
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::input(format!("cannot read {}: {e}", self.name)))?;
        match format {
            Format::Tiff => tiff_codec::decode(&mut self.source, &self.header),
            Format::Png | Format::Jpeg => png_jpeg::decode(&mut self.source, &self.header),
        }
        .map_err(|e| corrupt(&self.name, format, e))
    }
}

fn corrupt(name: &str, format: Format, reason: String) -> Error {
    Error::input(format!("{name}: cannot decode {}: {reason}", format.name()))
}
