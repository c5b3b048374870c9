//! PNG and JPEG through the `image` crate (PNG written with the `png` crate, for its
//! metadata chunks), with checks the decoders lack: a JPEG must
//! hold all its image data (a cut one decodes to gray, without an error), and a PNG's
//! palette must be whole RGB entries (png 0.18.1 panics on one that is not).

use std::borrow::Cow;
use std::io::{BufRead, Cursor, Read, Seek, SeekFrom, Write};

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits, Pixel};
use infty_sdk::RasterInfo;

use crate::format::{brief, Depth, Encoding, Format, Header};
use crate::metadata::png_jpeg as meta;
use crate::metadata::{Metadata, Resolution};
use crate::raster::{Raster, Sample};

/// Decoding stops past this many bytes of decoded samples, unless `unlimited` (the
/// caller checks the size from the header first, against the f32 raster's size).
const MAX_DECODED_BYTES: u64 = 2 << 30;

fn reader<R: BufRead + Seek>(source: R, format: Format, unlimited: bool) -> ImageReader<R> {
    let image_format = if format == Format::Png { ImageFormat::Png } else { ImageFormat::Jpeg };
    let mut reader = ImageReader::with_format(source, image_format);
    let mut limits = Limits::default();
    limits.max_alloc = if unlimited { None } else { Some(MAX_DECODED_BYTES) };
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

/// The image's size, channels and depth; a JPEG's size as its EXIF orientation turns it.
pub fn header<R: BufRead + Seek>(source: R, format: Format) -> std::result::Result<Header, String> {
    // No allocation limit: only the header is read, and the caller checks its size.
    let mut decoder = reader(source, format, true).into_decoder().map_err(brief)?;
    let (width, height) = decoder.dimensions();
    let (width, height) =
        if swaps_axes(decoder.orientation().map_err(brief)?) { (height, width) } else { (width, height) };
    let color = decoder.color_type();
    let info = RasterInfo::new(width, height, u32::from(color.channel_count()));
    Ok(Header { info, depth: depth_of(color)?, format })
}

/// Decodes every pixel, turned upright by a JPEG's EXIF orientation, and the metadata
/// kept (ICC profile, resolution, PNG text); `unlimited` lifts the decoder's
/// allocation limit.
pub fn decode<R: BufRead + Seek>(
    mut source: R,
    header: &Header,
    unlimited: bool,
) -> std::result::Result<(Raster, Metadata), String> {
    let (decoded, mut metadata) = if header.format == Format::Jpeg {
        let mut bytes = Vec::new();
        source.read_to_end(&mut bytes).map_err(brief)?;
        if jpeg_is_cut(&bytes) {
            return Err("the file ends before its image data is complete: it is truncated or corrupt".into());
        }
        let metadata = Metadata { resolution: meta::jfif_density(&bytes), ..Metadata::default() };
        (upright(reader(Cursor::new(bytes), header.format, unlimited))?, metadata)
    } else {
        if png_palette_is_ragged(&mut source).map_err(brief)? {
            return Err("its palette (PLTE) is not a whole number of RGB entries: the file is corrupt".into());
        }
        let metadata = meta::read_png(&mut source)?;
        (upright(reader(source, header.format, unlimited))?, metadata)
    };
    // EXIF's resolution, where libvips and cameras write it, over JFIF's.
    if let Some(resolution) = decoded.exif.as_deref().and_then(meta::exif_resolution) {
        metadata.resolution = Some(resolution);
    }
    if decoded.turned {
        metadata.resolution = metadata.resolution.map(|r| Resolution { x: r.y, y: r.x, ..r });
    }
    Ok((raster_of(decoded.image, header.info)?, Metadata { icc: decoded.icc, ..metadata }))
}

/// Whether turning an image to `orientation` swaps its width and height.
fn swaps_axes(orientation: Orientation) -> bool {
    use Orientation as O;
    matches!(orientation, O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH)
}

/// An image turned upright, with what its decoder found beside the pixels.
struct Upright {
    image: DynamicImage,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    /// Whether turning it swapped its width and height.
    turned: bool,
}

/// The image `reader` decodes, turned as its EXIF orientation says.
fn upright<R: BufRead + Seek>(reader: ImageReader<R>) -> std::result::Result<Upright, String> {
    let mut decoder = reader.into_decoder().map_err(brief)?;
    let icc = decoder.icc_profile().map_err(brief)?;
    let orientation = decoder.orientation().map_err(brief)?;
    let exif = decoder.exif_metadata().map_err(brief)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(brief)?;
    image.apply_orientation(orientation);
    Ok(Upright { image, icc, exif, turned: swaps_axes(orientation) })
}

/// The pixels of `image`, a raster of `info`.
fn raster_of(image: DynamicImage, info: RasterInfo) -> std::result::Result<Raster, String> {
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
        other => return Err(brief(format!("unsupported colour type {:?}", other.color()))),
    })
}

/// Whether a JPEG lacks the EOI marker that ends its image data. Segments are walked
/// to the first SOS, so that an embedded thumbnail's EOI does not count; in the
/// entropy-coded data after it 0xFF is always followed by 0 or a restart marker, so
/// any FF D9 there is the EOI. Trailing bytes after it are allowed, as by libjpeg.
/// Files whose segments cannot be walked are left to the decoder.
fn jpeg_is_cut(bytes: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (0xFF, 0xFF) => at += 1,
            // Markers without a length: SOI, RSTn, TEM.
            (0xFF, 0x01 | 0xD0..=0xD8) => at += 2,
            (0xFF, marker) => {
                let data = at + 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
                if marker == 0xDA {
                    let scan = bytes.get(data..).unwrap_or_default();
                    return !scan.windows(2).rev().any(|w| w == [0xFF, 0xD9]);
                }
                at = data;
            }
            _ => return false,
        }
    }
    // The file ends before its first scan.
    true
}

/// Whether a PNG's palette (PLTE chunk) has a length that is not a multiple of 3: png
/// 0.18.1 accepts such a chunk and then panics expanding it (image-rs/image-png#694).
/// Chunks are walked by their lengths up to the image data; the source is left where
/// it was. Files whose chunks cannot be walked are left to the decoder.
fn png_palette_is_ragged<R: Read + Seek>(source: &mut R) -> std::io::Result<bool> {
    let start = source.stream_position()?;
    let mut ragged = false;
    source.seek(SeekFrom::Current(8))?; // the signature
    let mut chunk = [0u8; 8];
    while source.read_exact(&mut chunk).is_ok() {
        let len = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        match &chunk[4..] {
            b"PLTE" => {
                ragged = len % 3 != 0;
                break;
            }
            b"IDAT" | b"IEND" => break,
            _ => source.seek(SeekFrom::Current(i64::from(len) + 4))?, // data and CRC
        };
    }
    source.seek(SeekFrom::Start(start))?;
    Ok(ragged)
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

/// Encodes `raster` as `encoding` says, with the ICC profile and resolution of
/// `metadata` (and a PNG's text chunks).
pub fn encode<W: Write + Seek>(
    raster: &Raster,
    encoding: &Encoding,
    metadata: &Metadata,
    out: &mut W,
) -> std::result::Result<(), String> {
    let image = to_dynamic(raster, encoding.depth)?;
    if encoding.format != Format::Jpeg {
        return encode_png(&image, metadata, out);
    }
    let mut encoder = JpegEncoder::new_with_quality(out, encoding.quality);
    if let Some(resolution) = metadata.resolution {
        encoder.set_pixel_density(meta::jpeg_density(resolution));
    }
    if let Some(icc) = &metadata.icc {
        encoder.set_icc_profile(icc.clone()).map_err(|e| e.to_string())?;
    }
    image.write_with_encoder(encoder).map_err(|e| e.to_string())
}

/// A PNG through the `png` crate, which writes pHYs and text chunks.
fn encode_png<W: Write>(
    image: &DynamicImage,
    metadata: &Metadata,
    out: W,
) -> std::result::Result<(), String> {
    use image::ColorType as C;
    let (color, depth) = match image.color() {
        C::L8 => (png::ColorType::Grayscale, png::BitDepth::Eight),
        C::La8 => (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight),
        C::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight),
        C::Rgba8 => (png::ColorType::Rgba, png::BitDepth::Eight),
        C::L16 => (png::ColorType::Grayscale, png::BitDepth::Sixteen),
        C::La16 => (png::ColorType::GrayscaleAlpha, png::BitDepth::Sixteen),
        C::Rgb16 => (png::ColorType::Rgb, png::BitDepth::Sixteen),
        C::Rgba16 => (png::ColorType::Rgba, png::BitDepth::Sixteen),
        other => return Err(format!("PNG cannot store {other:?}")),
    };
    let mut info = meta::png_info(metadata, image.width(), image.height());
    (info.color_type, info.bit_depth) = (color, depth);
    let encoder = png::Encoder::with_info(out, info).map_err(|e| e.to_string())?;
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    // PNG stores 16-bit samples big-endian.
    let bytes: Cow<'_, [u8]> = match depth {
        png::BitDepth::Sixteen => image.as_bytes().chunks_exact(2).flat_map(|b| [b[1], b[0]]).collect(),
        _ => Cow::Borrowed(image.as_bytes()),
    };
    writer.write_image_data(&bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1x1 palette PNG whose PLTE chunk holds `palette`.
    fn palette_png(palette: &[u8]) -> Vec<u8> {
        use flate2::write::ZlibEncoder;
        let chunk = |kind: &[u8], data: &[u8]| {
            let body = [kind, data].concat();
            let crc = crc32fast::hash(&body);
            [&(data.len() as u32).to_be_bytes()[..], &body, &crc.to_be_bytes()].concat()
        };
        let mut idat = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        idat.write_all(&[0, 0]).unwrap(); // filter byte, index 0
        let ihdr = [0, 0, 0, 1, 0, 0, 0, 1, 8, 3, 0, 0, 0]; // 1x1, 8-bit, palette
        [
            &b"\x89PNG\r\n\x1a\n"[..],
            &chunk(b"IHDR", &ihdr),
            &chunk(b"PLTE", palette),
            &chunk(b"IDAT", &idat.finish().unwrap()),
            &chunk(b"IEND", &[]),
        ]
        .concat()
    }

    #[test]
    fn palettes_of_partial_entries_are_refused_not_a_panic() {
        // fuzz/regressions/png_jpeg/plte-not-whole-entries.png: png 0.18.1 panics on these.
        let header = Header { info: RasterInfo::new(1, 1, 3), depth: Depth::U8, format: Format::Png };
        let (good, _) = decode(Cursor::new(palette_png(&[10, 20, 30, 40, 50, 60])), &header, false).unwrap();
        assert_eq!(good.samples, [10.0 / 255.0, 20.0 / 255.0, 30.0 / 255.0]);
        for len in [4, 5, 49] {
            let error = decode(Cursor::new(palette_png(&vec![7; len])), &header, false).err().unwrap();
            assert!(error.contains("palette (PLTE) is not a whole number"), "{len}: {error}");
        }
    }

    #[test]
    fn jpegs_without_their_end_marker_are_cut() {
        let image =
            DynamicImage::ImageRgb8(ImageBuffer::from_fn(32, 32, |x, y| image::Rgb([x as u8, y as u8, 7])));
        let mut jpeg = Vec::new();
        image.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg).unwrap();
        assert!(!jpeg_is_cut(&jpeg));
        assert!(jpeg_is_cut(&jpeg[..jpeg.len() - 2]));
        assert!(jpeg_is_cut(&jpeg[..jpeg.len() / 2]));
        assert!(jpeg_is_cut(&jpeg[..10]));
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 10]);
        assert!(!jpeg_is_cut(&padded));
    }
}
