//! PNG and JPEG through the `image` crate.

use std::io::{BufRead, Seek, Write};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat, ImageReader, Limits, Pixel};
use infty_sdk::RasterInfo;

use crate::format::{Depth, Encoding, Format, Header};
use crate::raster::{Raster, Sample};

/// Decoding stops past this many bytes of decoded samples (the f32 raster is 4× more).
const MAX_DECODED_BYTES: u64 = 2 << 30;

fn reader<R: BufRead + Seek>(source: R, format: Format) -> ImageReader<R> {
    let image_format = if format == Format::Png { ImageFormat::Png } else { ImageFormat::Jpeg };
    let mut reader = ImageReader::with_format(source, image_format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    reader
}

fn depth_of(color: image::ColorType) -> std::result::Result<Depth, String> {
    use image::ColorType as C;
    match color {
        C::L8 | C::La8 | C::Rgb8 | C::Rgba8 => Ok(Depth::U8),
        C::L16 | C::La16 | C::Rgb16 | C::Rgba16 => Ok(Depth::U16),
        C::Rgb32F | C::Rgba32F => Ok(Depth::F32),
        other => Err(format!("unsupported colour type {other:?}")),
    }
}

pub fn header<R: BufRead + Seek>(source: R, format: Format) -> std::result::Result<Header, String> {
    let decoder = reader(source, format).into_decoder().map_err(|e| e.to_string())?;
    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();
    let info = RasterInfo::new(width, height, u32::from(color.channel_count()));
    Ok(Header { info, depth: depth_of(color)?, format })
}

pub fn decode<R: BufRead + Seek>(source: R, header: &Header) -> std::result::Result<Raster, String> {
    let image = reader(source, header.format).decode().map_err(|e| e.to_string())?;
    let info = header.info;
    Ok(match image {
        DynamicImage::ImageLuma8(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageLumaA8(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgb8(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgba8(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageLuma16(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageLumaA16(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgb16(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgba16(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgb32F(b) => Raster::from_interleaved(info, b.as_raw()),
        DynamicImage::ImageRgba32F(b) => Raster::from_interleaved(info, b.as_raw()),
        other => return Err(format!("unsupported colour type {:?}", other.color())),
    })
}

/// The raster as an `image` buffer of pixel type `P`.
fn buffer<P: Pixel>(raster: &Raster) -> std::result::Result<ImageBuffer<P, Vec<P::Subpixel>>, String>
where
    P::Subpixel: Sample,
{
    ImageBuffer::from_raw(raster.info.width, raster.info.height, raster.to_interleaved())
        .ok_or_else(|| "buffer size mismatch".to_string())
}

/// The raster as an `image` image of the requested depth (u8 or u16).
fn to_dynamic(raster: &Raster, depth: Depth) -> std::result::Result<DynamicImage, String> {
    Ok(match (depth, raster.info.channels) {
        (Depth::U8, 1) => DynamicImage::ImageLuma8(buffer(raster)?),
        (Depth::U8, 2) => DynamicImage::ImageLumaA8(buffer(raster)?),
        (Depth::U8, 3) => DynamicImage::ImageRgb8(buffer(raster)?),
        (Depth::U8, 4) => DynamicImage::ImageRgba8(buffer(raster)?),
        (Depth::U16, 1) => DynamicImage::ImageLuma16(buffer(raster)?),
        (Depth::U16, 2) => DynamicImage::ImageLumaA16(buffer(raster)?),
        (Depth::U16, 3) => DynamicImage::ImageRgb16(buffer(raster)?),
        (Depth::U16, 4) => DynamicImage::ImageRgba16(buffer(raster)?),
        (depth, channels) => return Err(format!("cannot store {channels} channels at {}", depth.name())),
    })
}

pub fn encode<W: Write + Seek>(
    raster: &Raster,
    encoding: &Encoding,
    out: &mut W,
) -> std::result::Result<(), String> {
    let image = to_dynamic(raster, encoding.depth)?;
    match encoding.format {
        Format::Jpeg => image.write_with_encoder(JpegEncoder::new_with_quality(out, encoding.quality)),
        _ => image.write_to(out, ImageFormat::Png),
    }
    .map_err(|e| e.to_string())
}
