//! Metadata as TIFF tags: read from an image's directory, and the tags an output
//! carries (baseline TIFF 6.0, GeoTIFF 1.1, Adobe's XMP and ICC tags, GDAL's two).

use std::borrow::Cow;
use std::io::{Read, Seek, Write};

use tiff::decoder::{ifd::Value, Decoder};
use tiff::encoder::{DirectoryEncoder, Rational, TiffKind, TiffValue};
use tiff::tags::{Tag, Type};
use tiff::TiffResult;

use super::geo::GeoTags;
use super::{is_provenance, xmp, Metadata, Resolution, ResolutionUnit};
use crate::plugins::host_api::warning;

const IMAGE_DESCRIPTION: u16 = 270;
const X_RESOLUTION: u16 = 282;
const Y_RESOLUTION: u16 = 283;
const RESOLUTION_UNIT: u16 = 296;
const XMP: u16 = 700;
const PIXEL_SCALE: u16 = 33550;
const TIEPOINTS: u16 = 33922;
const TRANSFORMATION: u16 = 34264;
const ICC_PROFILE: u16 = 34675;
const GEO_KEYS: u16 = 34735;
const GEO_DOUBLES: u16 = 34736;
const GEO_ASCII: u16 = 34737;
const GDAL_METADATA: u16 = 42112;
const GDAL_NODATA: u16 = 42113;

/// A tag's value, typed as the file stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue {
    Ascii(String),
    /// BYTE samples (XMP).
    Bytes(Vec<u8>),
    /// UNDEFINED bytes (an ICC profile).
    Undefined(Vec<u8>),
    Shorts(Vec<u16>),
    /// One RATIONAL: numerator, denominator.
    Rational(u32, u32),
    Doubles(Vec<f64>),
}

/// The tags an output carries: what `metadata` holds and infty's `provenance` (JSON),
/// in ascending order.
pub fn tags(metadata: &Metadata, provenance: &str) -> Vec<(u16, TagValue)> {
    let (description, xmp) = metadata.with_provenance(provenance);
    let mut tags = vec![(IMAGE_DESCRIPTION, TagValue::Ascii(description))];
    if let Some(r) = metadata.resolution {
        tags.push((X_RESOLUTION, rational(r.x)));
        tags.push((Y_RESOLUTION, rational(r.y)));
        tags.push((RESOLUTION_UNIT, TagValue::Shorts(vec![r.unit as u16])));
    }
    let ascii = |text: &Option<String>| text.clone().map(TagValue::Ascii);
    let doubles = |values: &Option<Vec<f64>>| values.clone().map(TagValue::Doubles);
    let g = &metadata.geo;
    let optional = [
        (XMP, xmp.map(|x| TagValue::Bytes(x.into_bytes()))),
        (PIXEL_SCALE, doubles(&g.pixel_scale)),
        (TIEPOINTS, doubles(&g.tiepoints)),
        (TRANSFORMATION, doubles(&g.transformation)),
        (ICC_PROFILE, metadata.icc.clone().map(TagValue::Undefined)),
        (GEO_KEYS, g.keys.clone().map(TagValue::Shorts)),
        (GEO_DOUBLES, doubles(&g.key_doubles)),
        (GEO_ASCII, ascii(&g.key_ascii)),
        (GDAL_METADATA, ascii(&g.gdal_metadata)),
        (GDAL_NODATA, ascii(&g.gdal_nodata)),
    ];
    tags.extend(optional.into_iter().filter_map(|(tag, value)| Some((tag, value?))));
    tags
}

/// Writes `tags` into the directory the `tiff` crate is encoding (the strip writer's).
pub fn write_into<W: Write + Seek, K: TiffKind>(
    directory: &mut DirectoryEncoder<'_, W, K>,
    tags: &[(u16, TagValue)],
) -> TiffResult<()> {
    for (tag, value) in tags {
        let tag = Tag::from_u16_exhaustive(*tag);
        match value {
            TagValue::Ascii(text) => directory.write_tag(tag, text.as_str()),
            TagValue::Bytes(bytes) => directory.write_tag(tag, &bytes[..]),
            TagValue::Undefined(bytes) => directory.write_tag(tag, Undefined(bytes)),
            TagValue::Shorts(values) => directory.write_tag(tag, &values[..]),
            TagValue::Rational(n, d) => directory.write_tag(tag, Rational { n: *n, d: *d }),
            TagValue::Doubles(values) => directory.write_tag(tag, &values[..]),
        }?;
    }
    Ok(())
}

/// Bytes of TIFF type UNDEFINED, which the `tiff` crate has no value type for.
struct Undefined<'a>(&'a [u8]);

impl TiffValue for Undefined<'_> {
    const BYTE_LEN: u8 = 1;
    const FIELD_TYPE: Type = Type::UNDEFINED;

    fn count(&self) -> usize {
        self.0.len()
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.0)
    }
}

/// The metadata of the image `decoder` is on, less any provenance infty wrote. A tag
/// that cannot be read is left out, with a warning.
pub fn read<R: Read + Seek>(decoder: &mut Decoder<R>) -> Metadata {
    let mut find = |tag: u16| match decoder.find_tag(Tag::from_u16_exhaustive(tag)) {
        Ok(value) => value,
        Err(e) => {
            warning(&format!("the input's TIFF tag {tag} is not kept: {e}"));
            None
        }
    };
    let ascii = |v: Option<Value>| v.and_then(|v| v.into_string().ok());
    let doubles = |v: Option<Value>| v.and_then(|v| v.into_f64_vec().ok());
    let description = ascii(find(IMAGE_DESCRIPTION)).filter(|d| !is_provenance(d));
    let xmp = find(XMP).and_then(|v| v.into_u8_vec().ok()).and_then(|bytes| String::from_utf8(bytes).ok());
    let resolution = match (find(X_RESOLUTION), find(Y_RESOLUTION), find(RESOLUTION_UNIT)) {
        (Some(x), Some(y), unit) => {
            let unit = unit
                .and_then(|u| u.into_u16().ok())
                .map_or(Some(ResolutionUnit::Inch), ResolutionUnit::from_tag);
            match (ratio(x), ratio(y), unit) {
                (Some(x), Some(y), Some(unit)) => Some(Resolution { x, y, unit }),
                _ => None,
            }
        }
        _ => None,
    };
    let geo = GeoTags {
        pixel_scale: doubles(find(PIXEL_SCALE)),
        tiepoints: doubles(find(TIEPOINTS)),
        transformation: doubles(find(TRANSFORMATION)),
        keys: find(GEO_KEYS).and_then(|v| v.into_u16_vec().ok()),
        key_doubles: doubles(find(GEO_DOUBLES)),
        key_ascii: ascii(find(GEO_ASCII)),
        gdal_metadata: ascii(find(GDAL_METADATA)),
        gdal_nodata: ascii(find(GDAL_NODATA)),
    };
    Metadata {
        icc: find(ICC_PROFILE).and_then(|v| v.into_u8_vec().ok()),
        resolution,
        geo,
        description,
        xmp: xmp.and_then(|x| xmp::without_provenance(&x)),
        text: Vec::new(),
    }
}

/// The provenance infty wrote into the image `decoder` is on, if any.
pub fn provenance<R: Read + Seek>(decoder: &mut Decoder<R>) -> Option<serde_json::Value> {
    let description = decoder.get_tag_ascii_string(Tag::ImageDescription).ok();
    let xmp = decoder.get_tag_u8_vec(Tag::Unknown(XMP)).ok().and_then(|b| String::from_utf8(b).ok());
    super::provenance(description.as_deref(), xmp.as_deref())
}

/// A RATIONAL tag's value (the first, if several).
fn ratio(value: Value) -> Option<f64> {
    match value {
        Value::Rational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
        Value::List(values) => values.into_iter().next().and_then(ratio),
        _ => None,
    }
}

/// `value` as a RATIONAL: exact for whole numbers, else to six decimals where it fits.
fn rational(value: f64) -> TagValue {
    let value = value.clamp(0.0, f64::from(u32::MAX));
    let mut denominator = 1u32;
    while (value * f64::from(denominator)).fract() != 0.0
        && denominator < 1_000_000
        && value * f64::from(denominator) * 10.0 <= f64::from(u32::MAX)
    {
        denominator *= 10;
    }
    TagValue::Rational((value * f64::from(denominator)).round() as u32, denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rationals_are_exact_where_they_can_be() {
        assert_eq!(rational(300.0), TagValue::Rational(300, 1));
        assert_eq!(rational(1200.5), TagValue::Rational(12005, 10));
        assert_eq!(rational(1.0 / 3.0), TagValue::Rational(333_333, 1_000_000));
        assert_eq!(rational(4e9), TagValue::Rational(4_000_000_000, 1));
        assert_eq!(ratio(Value::List(vec![Value::Rational(3, 2)])), Some(1.5));
    }
}
