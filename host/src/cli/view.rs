//! `infty view A [B]`: a static HTML page that shows one image, or two side by side with
//! their zoom and pan locked together (an input beside its upscale), in OpenSeadragon,
//! bundled with infty so the page needs no network. A `.dzi` is shown as it is; any
//! other image is first written as DeepZoom into the page's `_files` folder.

use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, Result};
use crate::pipeline::parse::RawStep;
use crate::pipeline::plan::{Pipeline, RunOptions};
use crate::plugins::registry::Registry;

const OSD_VERSION: &str = "5.0.1";
const OSD_SCRIPT: &str = include_str!("../../assets/openseadragon-5.0.1/openseadragon.min.js");
const OSD_LICENSE: &str = include_str!("../../assets/openseadragon-5.0.1/LICENSE.txt");
const PAGE: &str = include_str!("../../assets/view.html");

/// Writes the page `output` showing `images` (one or two).
pub fn view(images: &[PathBuf], output: &Path, registry: &Registry) -> Result<()> {
    if images.is_empty() || images.len() > 2 {
        return Err(Error::usage(format!("view: give one or two images, not {}", images.len()))
            .with_help("infty view in.png [out.tif] [--output page.html]"));
    }
    let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let stem = output.file_stem().unwrap_or_default().to_string_lossy().to_string();
    let files = folder.join(format!("{stem}_files"));
    let failed =
        |what: &Path, e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", what.display()));
    std::fs::create_dir_all(&files).map_err(|e| failed(&files, e))?;
    let mut sources = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let dzi = if has_extension(image, "dzi") {
            image.clone()
        } else {
            let dzi = files.join(format!(
                "{}-{}.dzi",
                i + 1,
                image.file_stem().unwrap_or_default().to_string_lossy()
            ));
            let word = |p: &Path| p.to_string_lossy().to_string();
            let steps = [
                RawStep { name: "read".into(), words: vec![word(image)] },
                RawStep { name: "write".into(), words: vec![word(&dzi)] },
            ];
            Pipeline::build(&steps, registry)?.run(RunOptions::default())?;
            dzi
        };
        sources.push(source(&image.display().to_string(), &dzi, folder)?);
    }
    let script = files.join(format!("openseadragon-{OSD_VERSION}.min.js"));
    std::fs::write(&script, OSD_SCRIPT).map_err(|e| failed(&script, e))?;
    let license = files.join(format!("openseadragon-{OSD_VERSION}-LICENSE.txt"));
    std::fs::write(&license, OSD_LICENSE).map_err(|e| failed(&license, e))?;
    let names: Vec<String> = images.iter().map(|p| p.display().to_string()).collect();
    let page = PAGE
        .replace("{{TITLE}}", &html_escape(&names.join(" | ")))
        .replace("{{OSD_VERSION}}", OSD_VERSION)
        .replace("{{OSD_SCRIPT}}", &url(&relative(&script, folder)))
        .replace("{{SOURCES}}", &serde_json::Value::Array(sources).to_string());
    let temp = folder.join(format!(".{stem}.html.infty-part"));
    std::fs::write(&temp, page)
        .and_then(|()| std::fs::rename(&temp, output))
        .map_err(|e| failed(output, e))?;
    eprintln!("infty: open {} in a browser", output.display());
    Ok(())
}

/// What the page needs of the DeepZoom of the image `name`: its descriptor inline (so
/// no request is made for it, which browsers refuse to `file://` pages) and its tiles'
/// folder, relative to the page.
fn source(name: &str, dzi: &Path, page_folder: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(dzi)
        .map_err(|e| Error::input(format!("cannot read '{}': {e}", dzi.display())))?;
    let attribute = |name: &str| -> Result<String> {
        let start = text.find(&format!("{name}=\"")).map(|at| at + name.len() + 2);
        let value = start.and_then(|s| text[s..].find('"').map(|end| text[s..s + end].to_string()));
        value.ok_or_else(|| {
            Error::input(format!("'{}' is not a DeepZoom descriptor: no {name}", dzi.display())).with_help(
                "give a .dzi written by `infty run ... ! write OUT.dzi` or `vips dzsave`, or an image",
            )
        })
    };
    let stem = dzi.file_stem().unwrap_or_default().to_string_lossy();
    let tiles = dzi.with_file_name(format!("{stem}_files"));
    Ok(serde_json::json!({
        "name": name,
        "tiles": { "Image": {
            "xmlns": "http://schemas.microsoft.com/deepzoom/2008",
            "Url": format!("{}/", url(&relative(&tiles, page_folder))),
            "Format": attribute("Format")?,
            "Overlap": attribute("Overlap")?,
            "TileSize": attribute("TileSize")?,
            "Size": { "Width": attribute("Width")?, "Height": attribute("Height")? },
        }},
    }))
}

/// `path` relative to `folder` (both made absolute).
fn relative(path: &Path, folder: &Path) -> PathBuf {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    pathdiff::diff_paths(absolute(path), absolute(folder)).unwrap_or_else(|| absolute(path))
}

/// A relative path as a URL path: `/` between parts, other than unreserved characters
/// (RFC 3986) escaped.
fn url(path: &Path) -> String {
    const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let part =
        |p: std::path::Component| utf8_percent_encode(&p.as_os_str().to_string_lossy(), ESCAPED).to_string();
    path.components().map(part).collect::<Vec<_>>().join("/")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_urls() {
        assert_eq!(url(&relative(Path::new("/a/b/c d_files"), Path::new("/a"))), "b/c%20d_files");
        assert_eq!(url(&relative(Path::new("/x/y.dzi"), Path::new("/a/b"))), "../../x/y.dzi");
    }
}
