//! What an image carries besides its pixels: its colour profile, resolution,
//! georeferencing, description (OME-XML among others), XMP and text. Read from the
//! input, moved by the pipeline's geometry (`infty_sdk::Geometry`), written to the output
//! with infty's provenance placed where it displaces nothing.

pub mod geo;
pub mod ome;
pub mod png_jpeg;
pub mod tiff_tags;
pub mod xmp;

use infty_sdk::{Geometry, RasterInfo};

use crate::format::Depth;
use crate::plugins::host_api::warning;

/// An image's metadata, as far as infty keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    /// The ICC colour profile.
    pub icc: Option<Vec<u8>>,
    pub resolution: Option<Resolution>,
    /// GeoTIFF georeferencing and GDAL's own tags.
    pub geo: geo::GeoTags,
    /// The input's own description (OME-XML, ImageJ's, any text), never infty's provenance.
    pub description: Option<String>,
    /// The XMP packet, less any provenance infty put there.
    pub xmp: Option<String>,
    /// PNG text chunks (keyword, text).
    pub text: Vec<(String, String)>,
}

/// Pixels per unit across and down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolution {
    pub x: f64,
    pub y: f64,
    pub unit: ResolutionUnit,
}

/// The unit of a [`Resolution`], as TIFF's ResolutionUnit numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolutionUnit {
    /// An aspect ratio only.
    None = 1,
    Inch = 2,
    Centimetre = 3,
}

impl ResolutionUnit {
    pub fn from_tag(tag: u16) -> Option<ResolutionUnit> {
        match tag {
            1 => Some(ResolutionUnit::None),
            2 => Some(ResolutionUnit::Inch),
            3 => Some(ResolutionUnit::Centimetre),
            _ => None,
        }
    }
}

impl Metadata {
    /// The metadata of the image a chain of `geometry` made, `output` at `depth`: the
    /// resolution and georeferencing scaled and shifted, OME-XML's sizes updated.
    pub fn moved(self, geometry: Geometry, output: RasterInfo, depth: Depth) -> Metadata {
        let resolution = self.resolution.map(|r| Resolution {
            x: r.x * geometry.scale_x,
            y: r.y * geometry.scale_y,
            unit: r.unit,
        });
        let description = self.description.and_then(|text| {
            if !ome::is_ome(&text) {
                return Some(text);
            }
            ome::moved(&text, geometry, output, depth)
                .map_err(|why| warning(&format!("the input's OME-XML is not kept: {why}")))
                .ok()
        });
        let icc = self.icc.filter(|profile| {
            let fits = icc_fits(profile, output.channels);
            if !fits {
                warning(&format!(
                    "the input's colour profile does not describe {} channels; not kept",
                    output.channels
                ));
            }
            fits
        });
        Metadata { icc, resolution, description, geo: self.geo.moved(geometry), ..self }
    }

    /// The description and XMP to write, with infty's `provenance` (JSON) in the
    /// description when the input had none, otherwise in the XMP packet.
    pub fn with_provenance(&self, provenance: &str) -> (String, Option<String>) {
        match &self.description {
            None => (provenance.to_string(), self.xmp.clone()),
            Some(text) => (text.clone(), Some(xmp::with_provenance(self.xmp.as_deref(), provenance))),
        }
    }
}

/// Whether an ICC `profile` can describe an image of `channels` (alpha included): its
/// header's data colour space (bytes 16..20, ICC.1:2022 §7.2.6) is gray for one or two
/// channels and three-component for three or four.
fn icc_fits(profile: &[u8], channels: u32) -> bool {
    match profile.get(16..20) {
        Some(b"GRAY") => channels <= 2,
        Some(b"RGB " | b"Lab " | b"XYZ " | b"YCbr" | b"Luv " | b"HSV " | b"HLS " | b"Yxy ") => {
            (3..=4).contains(&channels)
        }
        _ => false,
    }
}

/// Whether `description` is provenance infty wrote (a JSON object naming infty).
pub fn is_provenance(description: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(description)
        .is_ok_and(|v| v["software"].as_str().is_some_and(|s| s.starts_with("infty ")))
}

/// The provenance in a file's description or, where that is the input's own, its XMP.
pub fn provenance(description: Option<&str>, xmp: Option<&str>) -> Option<serde_json::Value> {
    let text = match description {
        Some(d) if is_provenance(d) => d.to_string(),
        _ => xmp::provenance(xmp?)?,
    };
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_goes_where_it_displaces_nothing() {
        let json = r#"{"software":"infty 0.1.0","job":"abc"}"#;
        let plain = Metadata::default();
        let (description, xmp) = plain.with_provenance(json);
        assert_eq!((description.as_str(), xmp.as_deref()), (json, None));
        assert_eq!(provenance(Some(&description), None).unwrap()["job"], "abc");
        let imagej = Metadata { description: Some("ImageJ=1.54f\nunit=micron\n".into()), ..plain };
        let (description, xmp) = imagej.with_provenance(json);
        assert_eq!(description, "ImageJ=1.54f\nunit=micron\n");
        assert_eq!(provenance(Some(&description), xmp.as_deref()).unwrap()["job"], "abc");
        assert!(is_provenance(json) && !is_provenance(&description) && !is_provenance("{}"));
    }

    #[test]
    fn resolution_follows_the_scale() {
        let resolution = Some(Resolution { x: 300.0, y: 150.0, unit: ResolutionUnit::Inch });
        let metadata = Metadata { resolution, ..Metadata::default() };
        let up = Geometry { scale_x: 4.0, scale_y: 2.0, x: 3.0, y: 0.0 };
        let moved = metadata.moved(up, RasterInfo::new(8, 8, 3), Depth::U8);
        assert_eq!(moved.resolution, Some(Resolution { x: 1200.0, y: 300.0, unit: ResolutionUnit::Inch }));
    }

    #[test]
    fn a_colour_profile_is_kept_only_for_the_channels_it_describes() {
        let mut rgb = vec![0u8; 128];
        rgb[16..20].copy_from_slice(b"RGB ");
        let metadata = Metadata { icc: Some(rgb.clone()), ..Metadata::default() };
        let kept = |channels| {
            metadata.clone().moved(Geometry::IDENTITY, RasterInfo::new(4, 4, channels), Depth::U8).icc
        };
        assert_eq!(kept(4), Some(rgb));
        assert_eq!(kept(1), None);
    }
}
