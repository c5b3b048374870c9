//! Metadata in PNG and JPEG files: PNG's iCCP, pHYs and text chunks (read and written
//! with the `png` crate), JPEG's ICC profile and density (written through the `image`
//! crate as JFIF's; read from the JFIF segment or the EXIF block here).

use std::borrow::Cow;
use std::io::{BufRead, Seek, SeekFrom};

use image::codecs::jpeg::{PixelDensity, PixelDensityUnit};
use png::text_metadata::{ITXtChunk, TEXtChunk};

use super::{Metadata, Resolution, ResolutionUnit};

const METRES_PER_INCH: f64 = 0.0254;

/// The resolution and text in a PNG's chunks before its image data (its ICC profile comes
/// from the image decoder, as a JPEG's does); `source` is left where it was.
pub fn read_png<R: BufRead + Seek>(source: &mut R) -> Result<Metadata, String> {
    let start = source.stream_position().map_err(|e| e.to_string())?;
    let reader = png::Decoder::new(&mut *source).read_info().map_err(|e| e.to_string())?;
    let info = reader.info();
    let resolution = info.pixel_dims.map(|d| {
        let (x, y) = (f64::from(d.xppu), f64::from(d.yppu));
        match d.unit {
            png::Unit::Meter => Resolution { x: x / 100.0, y: y / 100.0, unit: ResolutionUnit::Centimetre },
            png::Unit::Unspecified => Resolution { x, y, unit: ResolutionUnit::None },
        }
    });
    let mut text: Vec<(String, String)> =
        info.uncompressed_latin1_text.iter().map(|t| (t.keyword.clone(), t.text.clone())).collect();
    for t in &info.compressed_latin1_text {
        text.push((t.keyword.clone(), t.get_text().map_err(|e| e.to_string())?));
    }
    for t in &info.utf8_text {
        text.push((t.keyword.clone(), t.get_text().map_err(|e| e.to_string())?));
    }
    drop(reader);
    source.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
    Ok(Metadata { resolution, text, ..Metadata::default() })
}

/// The PNG header of a `width`×`height` image carrying `metadata`.
pub fn png_info(metadata: &Metadata, width: u32, height: u32) -> png::Info<'static> {
    let mut info = png::Info::with_size(width, height);
    info.pixel_dims = metadata.resolution.map(|r| {
        let (per_metre, unit) = match r.unit {
            ResolutionUnit::Centimetre => (100.0, png::Unit::Meter),
            ResolutionUnit::Inch => (1.0 / METRES_PER_INCH, png::Unit::Meter),
            ResolutionUnit::None => (1.0, png::Unit::Unspecified),
        };
        let ppu = |v: f64| (v * per_metre).round().clamp(1.0, f64::from(u32::MAX)) as u32;
        png::PixelDimensions { xppu: ppu(r.x), yppu: ppu(r.y), unit }
    });
    info.icc_profile = metadata.icc.clone().map(Cow::Owned);
    for (keyword, text) in &metadata.text {
        if text.chars().all(|c| u32::from(c) < 256) {
            info.uncompressed_latin1_text.push(TEXtChunk::new(keyword.as_str(), text.as_str()));
        } else {
            info.utf8_text.push(ITXtChunk::new(keyword.as_str(), text.as_str()));
        }
    }
    info
}

/// The JFIF density of a resolution (whole pixels per unit, as JFIF stores them).
pub fn jpeg_density(resolution: Resolution) -> PixelDensity {
    let unit = match resolution.unit {
        ResolutionUnit::Inch => PixelDensityUnit::Inches,
        ResolutionUnit::Centimetre => PixelDensityUnit::Centimeters,
        ResolutionUnit::None => PixelDensityUnit::PixelAspectRatio,
    };
    let whole = |v: f64| v.round().clamp(1.0, f64::from(u16::MAX)) as u16;
    PixelDensity { density: (whole(resolution.x), whole(resolution.y)), unit }
}

/// The resolution in an EXIF block (IFD0's XResolution, YResolution and
/// ResolutionUnit, EXIF 2.32 §4.6.4), where cameras and libvips write a JPEG's.
pub fn exif_resolution(exif: &[u8]) -> Option<Resolution> {
    use exif::{In, Tag, Value};
    let exif = exif::Reader::new().read_raw(exif.to_vec()).ok()?;
    let rational = |tag| match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) => v.first().map(|r| r.to_f64()).filter(|r| r.is_finite() && *r > 0.0),
        _ => None,
    };
    // EXIF's default unit is the inch.
    let unit =
        exif.get_field(Tag::ResolutionUnit, In::PRIMARY).and_then(|f| f.value.get_uint(0)).unwrap_or(2);
    let unit = ResolutionUnit::from_tag(u16::try_from(unit).ok()?)?;
    Some(Resolution { x: rational(Tag::XResolution)?, y: rational(Tag::YResolution)?, unit })
}

/// The density in a JPEG's JFIF segment (APP0), if it has one with a unit or a ratio
/// other than 1:1.
pub fn jfif_density(jpeg: &[u8]) -> Option<Resolution> {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let body = jpeg.get(at + 4..at + 2 + len)?;
        if marker == 0xE0 && body.len() >= 12 && body.starts_with(b"JFIF\0") {
            let x = f64::from(u16::from_be_bytes([body[8], body[9]]));
            let y = f64::from(u16::from_be_bytes([body[10], body[11]]));
            let unit = match body[7] {
                1 => ResolutionUnit::Inch,
                2 => ResolutionUnit::Centimetre,
                _ if x == y => return None, // square pixels, nothing said
                _ => ResolutionUnit::None,
            };
            return Some(Resolution { x, y, unit });
        }
        if marker == 0xDA {
            return None;
        }
        at += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jfif_density_is_read_from_app0() {
        let app0 = [b"JFIF\0".as_slice(), &[1, 2, 1, 1, 44, 1, 44, 0, 0]].concat();
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16][..], &app0, &[0xFF, 0xDA, 0, 2]].concat();
        assert_eq!(jfif_density(&jpeg), Some(Resolution { x: 300.0, y: 300.0, unit: ResolutionUnit::Inch }));
        let mut aspect = jpeg.clone();
        aspect[13] = 0;
        assert_eq!(jfif_density(&aspect), None);
        assert_eq!(jfif_density(&jpeg[..9]), None);
    }

    #[test]
    fn exif_resolution_is_read_from_ifd0() {
        // A little-endian TIFF header, IFD0 of XResolution, YResolution (rationals at
        // 50 and 58) and ResolutionUnit = centimetre.
        let entry = |tag: u16, kind: u16, value: u32| {
            [&tag.to_le_bytes()[..], &kind.to_le_bytes(), &1u32.to_le_bytes(), &value.to_le_bytes()].concat()
        };
        let exif = [
            &b"II*\0"[..],
            &8u32.to_le_bytes(),
            &3u16.to_le_bytes(),
            &entry(282, 5, 50),
            &entry(283, 5, 58),
            &entry(296, 3, 3),
            &0u32.to_le_bytes(),
            &[240, 0, 0, 0, 2, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 0],
        ]
        .concat();
        assert_eq!(
            exif_resolution(&exif),
            Some(Resolution { x: 120.0, y: 60.0, unit: ResolutionUnit::Centimetre })
        );
        assert_eq!(exif_resolution(&exif[..20]), None);
    }

    #[test]
    fn png_resolution_goes_per_metre() {
        let resolution = Some(Resolution { x: 254.0, y: 127.0, unit: ResolutionUnit::Inch });
        let info = png_info(&Metadata { resolution, ..Metadata::default() }, 4, 4);
        let dims = info.pixel_dims.unwrap();
        assert_eq!((dims.xppu, dims.yppu, dims.unit), (10000, 5000, png::Unit::Meter));
    }
}
