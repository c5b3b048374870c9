//! Test images: deterministic patterns written and read with the `image` and `tiff`
//! crates directly, independent of the host's own I/O code.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageBuffer, ImageFormat};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{colortype, Compression, TiffEncoder};

/// Interleaved samples of one of the depths we support.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
    F32(Vec<f32>),
}

/// A decoded image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub samples: Samples,
}

/// A cheap deterministic hash of a sample position.
fn hash(i: usize) -> u32 {
    let mut v = (i as u32).wrapping_mul(0x9E37_79B9) ^ 0x5bd1_e995;
    v ^= v >> 15;
    v.wrapping_mul(0x2c1b_3c6d)
}

impl Image {
    /// A pattern covering the whole range of the depth, extremes included.
    pub fn pattern(width: u32, height: u32, channels: u32, depth: &str) -> Image {
        let n = (width * height * channels) as usize;
        let samples = match depth {
            "u8" => Samples::U8((0..n).map(|i| if i < 256 { i as u8 } else { hash(i) as u8 }).collect()),
            "u16" => {
                Samples::U16((0..n).map(|i| if i < 2 { [0, 65535][i] } else { hash(i) as u16 }).collect())
            }
            "f32" => Samples::F32((0..n).map(|i| (hash(i) as f32 / u32::MAX as f32) * 3.0 - 1.0).collect()),
            other => panic!("unknown depth {other}"),
        };
        Image { width, height, channels, samples }
    }

    /// A smooth colour gradient (compresses well in JPEG).
    pub fn gradient(width: u32, height: u32, channels: u32) -> Image {
        let mut data = Vec::new();
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    data.push(((x * 255 / width.max(2)) as u8).wrapping_add((y * 3 + c * 40) as u8 / 2));
                }
            }
        }
        Image { width, height, channels, samples: Samples::U8(data) }
    }

    /// The samples as f64, for numeric comparisons.
    pub fn values(&self) -> Vec<f64> {
        match &self.samples {
            Samples::U8(v) => v.iter().map(|&s| f64::from(s)).collect(),
            Samples::U16(v) => v.iter().map(|&s| f64::from(s)).collect(),
            Samples::F32(v) => v.iter().map(|&s| f64::from(s)).collect(),
        }
    }

    fn dynamic(&self) -> DynamicImage {
        let (w, h) = (self.width, self.height);
        match (&self.samples, self.channels) {
            (Samples::U8(v), 1) => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, v.clone()).unwrap()),
            (Samples::U8(v), 2) => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, v.clone()).unwrap()),
            (Samples::U8(v), 3) => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, v.clone()).unwrap()),
            (Samples::U8(v), 4) => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, v.clone()).unwrap()),
            (Samples::U16(v), 1) => {
                DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, v.clone()).unwrap())
            }
            (Samples::U16(v), 2) => {
                DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, v.clone()).unwrap())
            }
            (Samples::U16(v), 3) => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, v.clone()).unwrap()),
            (Samples::U16(v), 4) => {
                DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, v.clone()).unwrap())
            }
            other => panic!("no image-crate type for {:?} with {} channels", other.0, other.1),
        }
    }

    /// Encodes as PNG or JPEG with the `image` crate.
    pub fn encode(&self, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        self.dynamic().write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// Encodes as TIFF with the `tiff` crate (gray, RGB, RGBA).
    pub fn encode_tiff(&self) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut enc = TiffEncoder::new(&mut out).unwrap().with_compression(Compression::Uncompressed);
        let (w, h) = (self.width, self.height);
        match (&self.samples, self.channels) {
            (Samples::U8(v), 1) => enc.write_image::<colortype::Gray8>(w, h, v),
            (Samples::U8(v), 3) => enc.write_image::<colortype::RGB8>(w, h, v),
            (Samples::U8(v), 4) => enc.write_image::<colortype::RGBA8>(w, h, v),
            (Samples::U16(v), 1) => enc.write_image::<colortype::Gray16>(w, h, v),
            (Samples::U16(v), 3) => enc.write_image::<colortype::RGB16>(w, h, v),
            (Samples::U16(v), 4) => enc.write_image::<colortype::RGBA16>(w, h, v),
            (Samples::F32(v), 1) => enc.write_image::<colortype::Gray32Float>(w, h, v),
            (Samples::F32(v), 3) => enc.write_image::<colortype::RGB32Float>(w, h, v),
            (Samples::F32(v), 4) => enc.write_image::<colortype::RGBA32Float>(w, h, v),
            other => panic!("no tiff type for {:?} with {} channels", other.0, other.1),
        }
        .unwrap();
        out.into_inner()
    }

    /// Decodes PNG, JPEG or TIFF bytes.
    pub fn decode(bytes: &[u8]) -> Image {
        if bytes.starts_with(b"II") || bytes.starts_with(b"MM") {
            return decode_tiff(bytes);
        }
        let image = image::load_from_memory(bytes).unwrap();
        let (width, height, channels) =
            (image.width(), image.height(), u32::from(image.color().channel_count()));
        let samples = match image {
            DynamicImage::ImageLuma8(b) => Samples::U8(b.into_raw()),
            DynamicImage::ImageLumaA8(b) => Samples::U8(b.into_raw()),
            DynamicImage::ImageRgb8(b) => Samples::U8(b.into_raw()),
            DynamicImage::ImageRgba8(b) => Samples::U8(b.into_raw()),
            DynamicImage::ImageLuma16(b) => Samples::U16(b.into_raw()),
            DynamicImage::ImageLumaA16(b) => Samples::U16(b.into_raw()),
            DynamicImage::ImageRgb16(b) => Samples::U16(b.into_raw()),
            DynamicImage::ImageRgba16(b) => Samples::U16(b.into_raw()),
            other => panic!("unexpected colour type {:?}", other.color()),
        };
        Image { width, height, channels, samples }
    }

    /// Reads and decodes a file.
    pub fn load(path: &Path) -> Image {
        Image::decode(&std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
    }
}

fn decode_tiff(bytes: &[u8]) -> Image {
    let mut decoder = Decoder::new(Cursor::new(bytes)).unwrap();
    let (width, height) = decoder.dimensions().unwrap();
    let channels = match decoder.colortype().unwrap() {
        tiff::ColorType::Gray(_) => 1,
        tiff::ColorType::GrayA(_) | tiff::ColorType::Multiband { num_samples: 2, .. } => 2,
        tiff::ColorType::RGB(_) => 3,
        tiff::ColorType::RGBA(_) => 4,
        other => panic!("unexpected TIFF colour type {other:?}"),
    };
    let samples = match decoder.read_image().unwrap() {
        DecodingResult::U8(v) => Samples::U8(v),
        DecodingResult::U16(v) => Samples::U16(v),
        DecodingResult::F32(v) => Samples::F32(v),
        _ => panic!("unexpected TIFF sample type"),
    };
    Image { width, height, channels, samples }
}

/// A hand-made little-endian classic TIFF: one directory of single-valued entries
/// `(tag, type, value)` at offset 8, then `data` right after it. For bad-input tests
/// that need headers no encoder would write.
pub fn handmade_tiff(entries: &[(u16, u16, u32)], data: &[u8]) -> Vec<u8> {
    let mut out = b"II*\x00\x08\x00\x00\x00".to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for &(tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// Where `handmade_tiff` puts its data.
pub fn handmade_data_offset(entries: usize) -> u32 {
    8 + 2 + 12 * entries as u32 + 4
}
