//! OME-XML (the Open Microscopy Environment's metadata, kept in an OME-TIFF's
//! ImageDescription) carried to the output: the `Pixels` element's sizes, sample type and
//! physical pixel sizes rewritten for the output raster, everything else as it was.

use infty_sdk::{Geometry, RasterInfo};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};

use crate::format::Depth;

/// The namespace every OME-XML schema version shares the start of.
const OME_NAMESPACE: &str = "http://www.openmicroscopy.org/Schemas/OME/";

/// Whether an ImageDescription holds OME-XML.
pub fn is_ome(description: &str) -> bool {
    description.trim_start().starts_with('<') && description.contains(OME_NAMESPACE)
}

/// The OME-XML `text` for an output of `geometry`, `output` at `depth`, or why it cannot
/// describe that output (a stack of planes, other channels, several images).
pub fn moved(text: &str, geometry: Geometry, output: RasterInfo, depth: Depth) -> Result<String, String> {
    let mut reader = Reader::from_str(text);
    let mut writer = Writer::new(Vec::new());
    let mut images = 0;
    loop {
        let event = reader.read_event().map_err(|e| format!("it is not well-formed XML ({e})"))?;
        let event = match event {
            Event::Eof => break,
            Event::Start(e) if e.local_name().as_ref() == b"Pixels" => {
                images += 1;
                Event::Start(pixels(&e, geometry, output, depth)?)
            }
            Event::Empty(e) if e.local_name().as_ref() == b"Pixels" => {
                images += 1;
                Event::Empty(pixels(&e, geometry, output, depth)?)
            }
            other => other,
        };
        writer.write_event(event).map_err(|e| e.to_string())?;
    }
    if images != 1 {
        return Err(format!("it describes {images} images; infty reads and writes one"));
    }
    String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())
}

/// The `Pixels` element with the output's sizes and type.
fn pixels(
    element: &BytesStart<'_>,
    g: Geometry,
    output: RasterInfo,
    depth: Depth,
) -> Result<BytesStart<'static>, String> {
    let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
    let mut updated = BytesStart::new(name);
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| format!("a malformed attribute ({e})"))?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|e| e.to_string())?.into_owned();
        let number = || value.parse::<f64>().map_err(|_| format!("{key}=\"{value}\" is not a number"));
        let value = match key.as_str() {
            "SizeX" => output.width.to_string(),
            "SizeY" => output.height.to_string(),
            "PhysicalSizeX" => (number()? / g.scale_x).to_string(),
            "PhysicalSizeY" => (number()? / g.scale_y).to_string(),
            "Type" => ome_type(depth).to_string(),
            "SignificantBits" => (depth.bytes() * 8).to_string(),
            "SizeC" if number()? != f64::from(output.channels) => {
                return Err(format!("it describes {value} channels; the output has {}", output.channels));
            }
            "SizeZ" | "SizeT" if number()? != 1.0 => {
                return Err(format!("it describes a stack ({key}={value}); infty reads the first plane"));
            }
            _ => value,
        };
        updated.push_attribute((key.as_str(), value.as_str()));
    }
    Ok(updated)
}

fn ome_type(depth: Depth) -> &'static str {
    match depth {
        Depth::U8 => "uint8",
        Depth::U16 => "uint16",
        Depth::F32 => "float",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OME: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="urn:uuid:1"><Image ID="Image:0" Name="cells &amp; dye"><Pixels DimensionOrder="XYCZT" ID="Pixels:0" SizeC="3" SizeT="1" SizeX="64" SizeY="32" SizeZ="1" Type="uint8" PhysicalSizeX="0.65" PhysicalSizeXUnit="µm" PhysicalSizeY="0.65"><Channel ID="Channel:0:0" SamplesPerPixel="3"/><TiffData IFD="0" PlaneCount="1"/></Pixels></Image></OME>"#;

    #[test]
    fn an_upscale_rewrites_sizes_and_keeps_the_rest() {
        let up = Geometry { scale_x: 4.0, scale_y: 4.0, x: 0.0, y: 0.0 };
        let out = moved(OME, up, RasterInfo::new(256, 128, 3), Depth::U16).unwrap();
        for expected in [
            r#"SizeX="256""#,
            r#"SizeY="128""#,
            r#"PhysicalSizeX="0.1625""#,
            r#"PhysicalSizeY="0.1625""#,
            r#"Type="uint16""#,
            r#"PhysicalSizeXUnit="µm""#,
            r#"Name="cells &amp; dye""#,
            r#"<TiffData IFD="0" PlaneCount="1"/>"#,
        ] {
            assert!(out.contains(expected), "{expected} missing from {out}");
        }
        assert!(is_ome(&out) && !is_ome("ImageJ=1.54f"));
    }

    #[test]
    fn stacks_and_other_channels_are_not_carried() {
        let g = Geometry::IDENTITY;
        let gray = moved(OME, g, RasterInfo::new(64, 32, 1), Depth::U8).unwrap_err();
        assert_eq!(gray, "it describes 3 channels; the output has 1");
        let stack = OME.replace(r#"SizeZ="1""#, r#"SizeZ="5""#);
        assert!(moved(&stack, g, RasterInfo::new(64, 32, 3), Depth::U8).unwrap_err().contains("SizeZ=5"));
        assert!(moved("<OME><Image/></OME>", g, RasterInfo::new(1, 1, 1), Depth::U8).is_err());
    }
}
