//! Built-in image reading and writing: PNG, JPEG and TIFF; gray, gray+alpha, RGB and
//! RGBA; u8, u16 and f32 samples as each format allows.

mod codec_image;
pub mod codec_tiff;
mod output;

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use infty_sdk::RasterInfo;

pub use output::{check_destination, write_output};

use crate::error::{Error, Result};
use crate::raster::Raster;

/// An image file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
}

/// How a file stores samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    U8,
    U16,
    F32,
}

impl Depth {
    /// Parses `u8`, `u16` or `f32`.
    pub fn from_name(name: &str) -> Option<Depth> {
        match name {
            "u8" => Some(Depth::U8),
            "u16" => Some(Depth::U16),
            "f32" => Some(Depth::F32),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Depth::U8 => "u8",
            Depth::U16 => "u16",
            Depth::F32 => "f32",
        }
    }
}

impl Format {
    /// Parses a format name as given to `--format`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "tiff" | "tif" => Some(Format::Tiff),
            _ => None,
        }
    }

    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Option<Format> {
        Format::from_name(path.extension()?.to_str()?)
    }

    /// The format of a file from its first bytes.
    fn sniff(head: &[u8]) -> Option<Format> {
        match head {
            [0x89, b'P', b'N', b'G', ..] => Some(Format::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [b'I', b'I', 42 | 43, 0, ..] | [b'M', b'M', 0, 42 | 43, ..] => Some(Format::Tiff),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
        }
    }

    /// The sample depths this format stores.
    pub fn depths(self) -> &'static [Depth] {
        match self {
            Format::Png => &[Depth::U8, Depth::U16],
            Format::Jpeg => &[Depth::U8],
            Format::Tiff => &[Depth::U8, Depth::U16, Depth::F32],
        }
    }

    /// The depth to write when none is asked for: the source's if this format has it,
    /// else the deepest this format has.
    pub fn default_depth(self, source: Depth) -> Depth {
        let depths = self.depths();
        if depths.contains(&source) {
            source
        } else {
            *depths.last().expect("every format has a depth")
        }
    }

    /// Checks that this format can store `channels` channels at `depth`.
    pub fn check(self, channels: u32, depth: Depth) -> Result<()> {
        let channels_ok = match self {
            Format::Jpeg => channels == 1 || channels == 3,
            Format::Png | Format::Tiff => (1..=4).contains(&channels),
        };
        if !channels_ok {
            let can = if self == Format::Jpeg { "1 (gray) or 3 (RGB)" } else { "1 to 4" };
            return Err(Error::input(format!(
                "{} stores {can} channels; the image has {channels}",
                self.name()
            ))
            .with_help("write PNG or TIFF, or change the channels (e.g. `to-gray`)"));
        }
        if !self.depths().contains(&depth) {
            let names: Vec<&str> = self.depths().iter().map(|d| d.name()).collect();
            return Err(Error::usage(format!(
                "{} stores {} samples, not {}",
                self.name(),
                names.join(" or "),
                depth.name()
            ))
            .with_help("choose another --depth, or write TIFF for f32"));
        }
        Ok(())
    }
}

/// What an image file holds, known before its pixels are decoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Header {
    pub info: RasterInfo,
    pub depth: Depth,
    pub format: Format,
}

/// A readable, seekable byte source.
trait Source: BufRead + Seek {}
impl<T: BufRead + Seek> Source for T {}

/// An input image, opened but not yet decoded.
pub struct Input {
    name: String,
    source: Box<dyn Source>,
    pub header: Header,
}

impl Input {
    /// Opens `path` (`-` for standard input) and reads its header.
    pub fn open(path: &str, format: Option<Format>) -> Result<Input> {
        let (name, mut source): (String, Box<dyn Source>) = if path == "-" {
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
            Format::Tiff => codec_tiff::header(&mut source),
            Format::Png | Format::Jpeg => codec_image::header(&mut source, format),
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
            Format::Tiff => codec_tiff::decode(&mut self.source, &self.header),
            Format::Png | Format::Jpeg => codec_image::decode(&mut self.source, &self.header),
        }
        .map_err(|e| corrupt(&self.name, format, e))
    }
}

fn corrupt(name: &str, format: Format, reason: String) -> Error {
    Error::input(format!("{name}: cannot decode {}: {reason}", format.name()))
}

/// How to encode an output image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Encoding {
    pub format: Format,
    pub depth: Depth,
    /// TIFF compression: `none`, `deflate`, `lzw` or `packbits`.
    pub compression: TiffCompression,
    /// JPEG quality, 1 to 100.
    pub quality: u8,
}

/// TIFF compression choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TiffCompression {
    None,
    Deflate,
    Lzw,
    Packbits,
    /// Tiled output only.
    Zstd,
}

/// Encodes `raster` into `out`.
pub fn encode<W: std::io::Write + Seek>(raster: &Raster, encoding: &Encoding, out: &mut W) -> Result<()> {
    match encoding.format {
        Format::Tiff => codec_tiff::encode(raster, encoding, out),
        Format::Png | Format::Jpeg => codec_image::encode(raster, encoding, out),
    }
    .map_err(|e| Error::failed(format!("cannot encode {}: {e}", encoding.format.name())))
}
