//! TIFF through the `tiff` crate, whole images in memory (u8, u16, f32, and i8, i16 read
//! as f32; 1–4 channels), and what the streaming side shares with it: a directory's
//! header, signed samples, JPEG's YCbCr, the decoder's errors as short reasons.

use std::io::{Read, Seek, Write};

use ::tiff::decoder::{Decoder, DecodingResult, Limits};
use ::tiff::encoder::colortype::{self, ColorType};
use ::tiff::encoder::{Compression, DeflateLevel, TiffEncoder, TiffValue};
use ::tiff::tags::{PhotometricInterpretation, SampleFormat, Tag};
use ::tiff::TiffError;
use infty_sdk::RasterInfo;

use crate::format::{brief, Depth, Encoding, Format, Header, TiffCompression};
use crate::metadata::tiff_tags::{self, TagValue};
use crate::metadata::Metadata;
use crate::raster::{snorm16, snorm8, Raster, Sample};
use crate::tiff::predictor::Predictor;

/// Decoding stops past this many bytes of decoded samples, unless `unlimited`.
const MAX_DECODED_BYTES: usize = 2 << 30;

fn decoder<R: Read + Seek>(source: R, unlimited: bool) -> Result<Decoder<R>, String> {
    let cap = if unlimited { usize::MAX } else { MAX_DECODED_BYTES };
    let mut limits = Limits::default();
    limits.decoding_buffer_size = cap;
    // Writers such as tifffile put a whole image in one strip.
    limits.intermediate_buffer_size = cap;
    Ok(Decoder::new(source).map_err(reason)?.with_limits(limits))
}

pub fn header<R: Read + Seek>(source: R) -> Result<Header, String> {
    header_of(&mut decoder(source, false)?)
}

/// The decoder's error as a short reason; a file that ends early says so.
pub fn reason(error: TiffError) -> String {
    match error {
        TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "its data ends early: the file is truncated or corrupt".to_string()
        }
        other => brief(other),
    }
}

/// The TIFF SampleFormat values.
const UNSIGNED: u16 = 1;
const SIGNED: u16 = 2;
const FLOAT: u16 = 3;

/// The SampleFormat of the decoder's current image (unsigned when not given).
pub fn sample_format<R: Read + Seek>(decoder: &mut Decoder<R>) -> u16 {
    let formats = decoder.find_tag_unsigned_vec::<u16>(Tag::SampleFormat).ok().flatten();
    formats.and_then(|f| f.first().copied()).unwrap_or(UNSIGNED)
}

/// The SampleFormat a TIFF written at `depth` has.
pub fn sample_format_of(depth: Depth) -> u16 {
    if depth == Depth::F32 {
        FLOAT
    } else {
        UNSIGNED
    }
}

/// Signed samples as f32 field values (see [`snorm8`]); others as they are.
pub fn signed_as_f32(samples: DecodingResult) -> DecodingResult {
    match samples {
        DecodingResult::I8(v) => DecodingResult::F32(v.into_iter().map(snorm8).collect()),
        DecodingResult::I16(v) => DecodingResult::F32(v.into_iter().map(snorm16).collect()),
        other => other,
    }
}

/// What the decoder's current image holds: size, channels and sample depth.
pub fn header_of<R: Read + Seek>(decoder: &mut Decoder<R>) -> Result<Header, String> {
    let (width, height) = decoder.dimensions().map_err(reason)?;
    let color = decoder.colortype().map_err(reason)?;
    let (channels, bits) = match color {
        ::tiff::ColorType::Gray(b) => (1, b),
        ::tiff::ColorType::GrayA(b) | ::tiff::ColorType::Multiband { bit_depth: b, num_samples: 2 } => (2, b),
        ::tiff::ColorType::RGB(b) => (3, b),
        ::tiff::ColorType::RGBA(b) => (4, b),
        ::tiff::ColorType::YCbCr(8) if is_jpeg_ycbcr(decoder) => (3, 8),
        other => {
            return Err(brief(format!(
                "unsupported colour type {other:?}; supported: gray, gray+alpha, RGB, RGBA"
            )))
        }
    };
    // Signed are read as f32 field values in [-1, 1].
    let depth = match (sample_format(decoder), bits) {
        (UNSIGNED, 8) => Depth::U8,
        (UNSIGNED, 16) => Depth::U16,
        (SIGNED, 8 | 16) | (FLOAT, 32) => Depth::F32,
        (format, bits) => {
            let kind = match format {
                UNSIGNED => "integer samples (unsigned)".to_string(),
                SIGNED => "integer samples (signed)".to_string(),
                FLOAT => "float samples".to_string(),
                4 => "samples of SampleFormat 4 (undefined)".to_string(),
                other => format!("samples of unknown SampleFormat {other}"),
            };
            return Err(format!(
                "unsupported {bits}-bit {kind}; supported: 8- and 16-bit integers (unsigned or signed), \
                 32-bit float"
            ));
        }
    };
    Ok(Header { info: RasterInfo::new(width, height, channels), depth, format: Format::Tiff })
}

/// Decodes every pixel, with the image's metadata; `unlimited` lifts the decoder's
/// limit on decoded bytes.
pub fn decode<R: Read + Seek>(
    source: R,
    header: &Header,
    unlimited: bool,
) -> Result<(Raster, Metadata), String> {
    let mut decoder = decoder(source, unlimited)?;
    let info = header.info;
    let ycbcr = is_jpeg_ycbcr(&mut decoder);
    let metadata = tiff_tags::read(&mut decoder);
    let raster = match signed_as_f32(decoder.read_image().map_err(reason)?) {
        DecodingResult::U8(mut data) => {
            if ycbcr {
                ycbcr_to_rgb(&mut data);
            }
            Raster::from_interleaved(info, &data)
        }
        DecodingResult::U16(data) => Raster::from_interleaved(info, &data),
        DecodingResult::F32(data) => Raster::from_interleaved(info, &data),
        _ => return Err("unsupported sample type; supported: u8, u16, i8, i16, f32".to_string()),
    };
    Ok((raster, metadata))
}

/// Whether the image is JPEG-compressed YCbCr, which the `tiff` crate decodes to
/// YCbCr samples (its JPEG decoder upsamples the chroma but does not convert).
pub fn is_jpeg_ycbcr<R: Read + Seek>(decoder: &mut Decoder<R>) -> bool {
    let tag = |decoder: &mut Decoder<R>, tag| decoder.find_tag_unsigned::<u16>(tag).ok().flatten();
    tag(decoder, Tag::PhotometricInterpretation) == Some(PhotometricInterpretation::YCbCr.to_u16())
        && tag(decoder, Tag::Compression) == Some(7)
}

/// Interleaved 8-bit YCbCr to RGB in place, with the JFIF (full-range BT.601)
/// equations that JPEG-in-TIFF uses by default.
pub fn ycbcr_to_rgb(samples: &mut [u8]) {
    for pixel in samples.chunks_exact_mut(3) {
        let (y, cb, cr) = (f32::from(pixel[0]), f32::from(pixel[1]) - 128.0, f32::from(pixel[2]) - 128.0);
        let rgb = [y + 1.402 * cr, y - 0.344_136 * cb - 0.714_136 * cr, y + 1.772 * cb];
        for (out, v) in pixel.iter_mut().zip(rgb) {
            *out = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Gray + alpha colour types, which the `tiff` crate does not provide; horizontal
/// differencing (Predictor 2) as the crate's own integer types do it.
macro_rules! gray_alpha {
    ($name:ident, $inner:ty, $bits:expr, $format:expr, $difference:expr) => {
        struct $name;
        impl ColorType for $name {
            type Inner = $inner;
            const TIFF_VALUE: PhotometricInterpretation = PhotometricInterpretation::BlackIsZero;
            const BITS_PER_SAMPLE: &'static [u16] = &[$bits, $bits];
            const SAMPLE_FORMAT: &'static [SampleFormat] = &[$format, $format];
            fn horizontal_predict(row: &[$inner], result: &mut Vec<$inner>) {
                let difference: fn($inner, $inner) -> $inner = $difference;
                result.extend(
                    row.iter().enumerate().map(|(i, &v)| if i < 2 { v } else { difference(v, row[i - 2]) }),
                );
            }
        }
    };
}
gray_alpha!(GrayAlpha8, u8, 8, SampleFormat::Uint, u8::wrapping_sub);
gray_alpha!(GrayAlpha16, u16, 16, SampleFormat::Uint, u16::wrapping_sub);
// The crate refuses horizontal differencing of floats before it would call this.
gray_alpha!(GrayAlpha32Float, f32, 32, SampleFormat::IEEEFP, |v, _| v);

fn write<C, W>(
    encoder: &mut TiffEncoder<W>,
    raster: &Raster,
    tags: &[(u16, TagValue)],
) -> ::tiff::TiffResult<()>
where
    C: ColorType,
    C::Inner: Sample,
    [C::Inner]: TiffValue,
    W: Write + Seek,
{
    let data: Vec<C::Inner> = raster.to_interleaved();
    let mut image = encoder.new_image::<C>(raster.info.width, raster.info.height)?;
    if raster.info.channels.is_multiple_of(2) {
        // The last channel of gray+alpha and RGBA is unassociated alpha.
        image.encoder().write_tag(Tag::ExtraSamples, &[2u16][..])?;
    }
    image.encoder().write_tag(Tag::Software, concat!("infty ", env!("CARGO_PKG_VERSION")))?;
    tiff_tags::write_into(image.encoder(), tags)?;
    image.write_data(&data)
}

/// Encodes `raster` in strips, with the descriptive `tags` (metadata, provenance).
pub fn encode<W: Write + Seek>(
    raster: &Raster,
    encoding: &Encoding,
    tags: &[(u16, TagValue)],
    out: &mut W,
) -> Result<(), String> {
    let compression = match encoding.compression {
        TiffCompression::None => Compression::Uncompressed,
        TiffCompression::Deflate => Compression::Deflate(DeflateLevel::Balanced),
        TiffCompression::Lzw => Compression::Lzw,
        TiffCompression::Packbits => Compression::Packbits,
        TiffCompression::Zstd => {
            return Err("zstd is written to tiled TIFF files only, not to a stream".into())
        }
    };
    let predictor = match encoding.predictor {
        Predictor::None => ::tiff::tags::Predictor::None,
        Predictor::Horizontal => ::tiff::tags::Predictor::Horizontal,
        Predictor::Float => {
            return Err("the floating-point predictor is written to tiled TIFF files only".into())
        }
    };
    let mut encoder = TiffEncoder::new(out)
        .map_err(|e| e.to_string())?
        .with_compression(compression)
        .with_predictor(predictor);
    let enc = &mut encoder;
    match (encoding.depth, raster.info.channels) {
        (Depth::U8, 1) => write::<colortype::Gray8, _>(enc, raster, tags),
        (Depth::U8, 2) => write::<GrayAlpha8, _>(enc, raster, tags),
        (Depth::U8, 3) => write::<colortype::RGB8, _>(enc, raster, tags),
        (Depth::U8, 4) => write::<colortype::RGBA8, _>(enc, raster, tags),
        (Depth::U16, 1) => write::<colortype::Gray16, _>(enc, raster, tags),
        (Depth::U16, 2) => write::<GrayAlpha16, _>(enc, raster, tags),
        (Depth::U16, 3) => write::<colortype::RGB16, _>(enc, raster, tags),
        (Depth::U16, 4) => write::<colortype::RGBA16, _>(enc, raster, tags),
        (Depth::F32, 1) => write::<colortype::Gray32Float, _>(enc, raster, tags),
        (Depth::F32, 2) => write::<GrayAlpha32Float, _>(enc, raster, tags),
        (Depth::F32, 3) => write::<colortype::RGB32Float, _>(enc, raster, tags),
        (Depth::F32, 4) => write::<colortype::RGBA32Float, _>(enc, raster, tags),
        (depth, channels) => return Err(format!("cannot store {channels} channels at {}", depth.name())),
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ycbcr_converts_with_the_jfif_equations() {
        // Gray, then JFIF red, green and blue as an encoder stores them.
        let mut samples = [128, 128, 128, 76, 85, 255, 150, 44, 21, 29, 255, 107];
        ycbcr_to_rgb(&mut samples);
        assert_eq!(samples, [128, 128, 128, 254, 0, 0, 0, 255, 1, 0, 0, 254]);
    }
}
