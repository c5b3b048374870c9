//! What image files are: the formats infty reads and writes (PNG, JPEG, TIFF; DeepZoom
//! written only), how
//! they store samples (u8, u16, f32), what a header tells before decoding, and how an
//! output is to be encoded. The vocabulary the codecs, the TIFF side and the planner share.

use std::path::Path;

use infty_sdk::RasterInfo;

use crate::error::{Error, Result};

/// Largest image side accepted without `read --unlimited` (libvips' own limit is 10M).
pub const MAX_SIDE: u32 = 1 << 24;

/// An image file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
    /// A DeepZoom pyramid (`.dzi` and a folder of tiles), written only.
    Dzi,
}

pub use infty_sdk::Depth;

impl Format {
    /// Parses a format name as given to `--format`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "png" => Some(Format::Png),
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "tiff" | "tif" => Some(Format::Tiff),
            "dzi" => Some(Format::Dzi),
            _ => None,
        }
    }

    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Option<Format> {
        Format::from_name(path.extension()?.to_str()?)
    }

    /// The format of a file from its first bytes.
    pub fn sniff(head: &[u8]) -> Option<Format> {
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
            Format::Dzi => "DeepZoom",
        }
    }

    /// The sample depths this format stores.
    pub fn depths(self) -> &'static [Depth] {
        match self {
            Format::Png => &[Depth::U8, Depth::U16],
            Format::Jpeg | Format::Dzi => &[Depth::U8],
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
            Format::Png | Format::Tiff | Format::Dzi => (1..=4).contains(&channels),
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

/// How to encode an output image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Encoding {
    pub format: Format,
    pub depth: Depth,
    /// TIFF compression: `none`, `deflate`, `lzw` or `packbits`.
    pub compression: TiffCompression,
    /// TIFF predictor, chosen for the depth and compression.
    pub predictor: crate::tiff::predictor::Predictor,
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

/// A decoder's reason, kept to one short line: some list every value of a tag, and a
/// hostile file can make that thousands of values.
pub fn brief(reason: impl std::fmt::Display) -> String {
    const MAX_CHARS: usize = 200;
    let text = reason.to_string().replace(['\n', '\r'], " ");
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{} …", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_reasons_are_one_short_line() {
        assert_eq!(brief("short\nreason"), "short reason");
        let long = brief(format!("{:?}", vec![8u8; 65535]));
        assert!(long.chars().count() <= 202 && long.ends_with('…'), "{long}");
    }
}
