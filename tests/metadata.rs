//! Metadata through pipelines, checked with the readers our users run: GDAL for GeoTIFF
//! georeferencing, tifffile for OME-TIFF, libvips and exiftool for colour profiles,
//! resolution, EXIF orientation and PNG text. Inputs are written by those tools too.

use std::process::Command;

use infty_e2e::images::Image;
use infty_e2e::{artifacts, test_python, workspace_root, Infty};

fn infty() -> Infty {
    let plugins = ["infty_superres", "infty_net", "infty_mollifier", "infty_samplers", "infty_basic"];
    Infty::with_plugins(&plugins.map(|p| artifacts().plugin(p)))
}

/// Runs a tool `scripts/setup-test-tools` installs, in `infty`'s scratch folder, and
/// returns its standard output.
fn tool(infty: &Infty, program: &str, args: &[&str]) -> Vec<u8> {
    let output =
        Command::new(program).args(args).current_dir(infty.dir.path()).output().unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): run scripts/setup-test-tools (scripts/test does)")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{program} {args:?} failed: {stderr}");
    output.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON from the tool")
}

fn gdalinfo(infty: &Infty, name: &str) -> serde_json::Value {
    json(&tool(infty, "gdalinfo", &["-json", name]))
}

/// A `width × height` crop of the bundled photo, as `name`.
fn photo(infty: &Infty, name: &str, width: u32, height: u32) {
    let sample = workspace_root().join("examples/images/chelsea.png");
    let crop = format!("crop --x 150 --y 60 --width {width} --height {height}");
    infty.pipeline(&format!("read {} ! {crop} ! write {name}", sample.display())).assert_ok();
}

fn upscale_2x(infty: &Infty, input: &str, output: &str) {
    let model = workspace_root().join("models/default-sr/model.safetensors");
    let model = model.to_str().unwrap();
    let args =
        ["upscale", input, output, "--scale", "2", "--steps", "4", "--device", "cpu", "--model", model];
    infty.run(&args).assert_ok();
}

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value.as_array().expect("an array").iter().map(|v| v.as_f64().expect("a number")).collect()
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    let close = got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 1e-6 * w.abs().max(1.0));
    assert!(close, "{what}: got {got:?}, want {want:?}");
}

/// A 48×32 GeoTIFF in UTM 33N with 10 m pixels, no-data 0, a GDAL metadata item and
/// 300 dpi, written by `gdal_translate`.
fn geotiff(infty: &Infty) {
    photo(infty, "photo.png", 48, 32);
    let args = "-a_srs EPSG:32633 -a_ullr 500000 4000320 500480 4000000 -a_nodata 0 -mo SURVEY=infty-test \
                -mo TIFFTAG_XRESOLUTION=300 -mo TIFFTAG_YRESOLUTION=300 -mo TIFFTAG_RESOLUTIONUNIT=2 photo.png in.tif";
    tool(infty, "gdal_translate", &args.split(' ').collect::<Vec<_>>());
}

/// What georeferencing `gdalinfo` reports that a pipeline must keep as it was.
fn kept(info: &serde_json::Value) -> [serde_json::Value; 3] {
    [
        info["coordinateSystem"]["wkt"].clone(),
        info["bands"][0]["noDataValue"].clone(),
        info["metadata"][""]["SURVEY"].clone(),
    ]
}

#[test]
fn a_geotiff_upscaled_2x_keeps_its_corners_at_half_the_pixel_size() {
    let infty = infty();
    geotiff(&infty);
    upscale_2x(&infty, "in.tif", "out.tif");
    let (input, output) = (gdalinfo(&infty, "in.tif"), gdalinfo(&infty, "out.tif"));
    assert_eq!(numbers(&output["size"]), [96.0, 64.0]);
    let transform = numbers(&input["geoTransform"]);
    let halved = [transform[0], transform[1] / 2.0, 0.0, transform[3], 0.0, transform[5] / 2.0];
    assert_close(&numbers(&output["geoTransform"]), &halved, "geotransform");
    for corner in ["upperLeft", "lowerLeft", "upperRight", "lowerRight", "center"] {
        let (got, want) =
            (numbers(&output["cornerCoordinates"][corner]), numbers(&input["cornerCoordinates"][corner]));
        assert_close(&got, &want, corner);
    }
    assert_eq!(kept(&output), kept(&input));
    assert!(kept(&input).iter().all(|v| !v.is_null()), "gdal_translate wrote no georeferencing: {input}");
    // Twice the pixels per inch.
    assert_eq!(output["metadata"][""]["TIFFTAG_XRESOLUTION"], "600");
    assert_eq!(output["metadata"][""]["TIFFTAG_RESOLUTIONUNIT"], "2 (pixels/inch)");
}

#[test]
fn a_cropped_geotiff_moves_its_origin_and_its_shards_merge_to_the_same_georeferencing() {
    let infty = infty();
    geotiff(&infty);
    let crop = "crop --x 8 --y 4 --width 24 --height 20";
    infty.pipeline(&format!("read in.tif ! {crop} ! write whole.tif --tile-size 16")).assert_ok();
    for shard in ["1/2", "2/2"] {
        let pipeline = format!("read in.tif ! {crop} ! write sharded.tif --tile-size 16");
        let args: Vec<&str> = ["run", "--shard", shard].into_iter().chain(pipeline.split(' ')).collect();
        infty.run(&args).assert_ok();
    }
    infty.run(&["merge", "sharded.tif"]).assert_ok();
    let input = gdalinfo(&infty, "in.tif");
    for name in ["whole.tif", "sharded.tif"] {
        let output = gdalinfo(&infty, name);
        assert_eq!(numbers(&output["size"]), [24.0, 20.0]);
        // 8 columns and 4 rows of 10 m pixels in from the upper left corner.
        let moved = [500080.0, 10.0, 0.0, 4000280.0, 0.0, -10.0];
        assert_close(&numbers(&output["geoTransform"]), &moved, name);
        assert_eq!(kept(&output), kept(&input), "{name}");
        assert_eq!(output["metadata"][""]["TIFFTAG_XRESOLUTION"], "300", "{name}");
    }
}

fn ome(infty: &Infty, args: &[&str]) -> serde_json::Value {
    let script = workspace_root().join("tests/tools/ome_tiff.py");
    let output =
        Command::new(test_python()).arg(script).args(args).current_dir(infty.dir.path()).output().unwrap();
    assert!(output.status.success(), "ome_tiff.py: {}", String::from_utf8_lossy(&output.stderr));
    if args[0] == "read" {
        json(&output.stdout)
    } else {
        serde_json::Value::Null
    }
}

#[test]
fn an_upscaled_ome_tiff_keeps_its_ome_xml_with_sizes_and_physical_sizes_updated() {
    let infty = infty();
    ome(&infty, &["write", "in.ome.tif", "40", "32", "0.5"]);
    let input = ome(&infty, &["read", "in.ome.tif"]);
    assert_eq!(input["is_ome"], true);
    upscale_2x(&infty, "in.ome.tif", "out.ome.tif");
    let output = ome(&infty, &["read", "out.ome.tif"]);
    assert_eq!(output["is_ome"], true, "{output}");
    assert_eq!(output["shape"], serde_json::json!([64, 80, 3]));
    let pixels = &output["pixels"];
    assert_eq!((pixels["SizeX"].as_str(), pixels["SizeY"].as_str()), (Some("80"), Some("64")));
    assert_eq!(
        (pixels["PhysicalSizeX"].as_str(), pixels["PhysicalSizeY"].as_str()),
        (Some("0.25"), Some("0.25"))
    );
    // Everything else as the input had it; our provenance in the XMP packet, not in the OME-XML.
    for (key, value) in input["pixels"].as_object().unwrap() {
        if !key.starts_with("Size") && !key.starts_with("PhysicalSize") {
            assert_eq!(&pixels[key], value, "{key}");
        }
    }
    let xmp = output["xmp"].as_str().expect("an XMP packet");
    assert!(xmp.contains("infty") && xmp.contains("upscale"), "provenance missing from {xmp}");
}

/// The ICC profile `exiftool` extracts, and the horizontal resolution (pixels per mm)
/// libvips reads.
fn icc_and_xres(infty: &Infty, name: &str) -> (Vec<u8>, f64) {
    let icc = tool(infty, "exiftool", &["-b", "-icc_profile", name]);
    let xres = String::from_utf8(tool(infty, "vipsheader", &["-f", "xres", name])).unwrap();
    (icc, xres.trim().parse().expect("a resolution"))
}

#[test]
fn colour_profile_and_resolution_survive_a_pipeline_in_tiff_png_and_jpeg() {
    let infty = infty();
    photo(&infty, "photo.png", 40, 32);
    // libvips attaches its sRGB profile and sets 300 dpi (11.811 pixels per mm).
    tool(&infty, "vips", &["icc_transform", "photo.png", "profiled.v", "srgb", "--input-profile", "srgb"]);
    for format in ["tif", "png", "jpg"] {
        let input = format!("in.{format}");
        tool(&infty, "vips", &["copy", "profiled.v", &input, "--xres", "11.811", "--yres", "11.811"]);
        let (icc, xres) = icc_and_xres(&infty, &input);
        assert!(
            icc.len() > 128 && (xres - 11.811).abs() < 0.01,
            "vips wrote no profile or resolution: {xres}"
        );
        let output = format!("out.{format}");
        infty.pipeline(&format!("read {input} ! clamp ! write {output}")).assert_ok();
        let mut outputs = vec![output];
        if format == "tif" {
            // Strips, written by the `tiff` crate rather than our tiled writer.
            infty.pipeline(&format!("read {input} ! clamp ! write strips.tif --compression lzw")).assert_ok();
            outputs.push("strips.tif".to_string());
        }
        for output in &outputs {
            let (out_icc, out_xres) = icc_and_xres(&infty, output);
            assert!(out_icc == icc, "{output}: the colour profile changed");
            assert!((out_xres - xres).abs() < 1e-3, "{output}: {out_xres} pixels per mm, want {xres}");
        }
        // Upscaled, twice the pixels per mm.
        let upscaled = format!("up.{format}");
        upscale_2x(&infty, &input, &upscaled);
        let (up_icc, up_xres) = icc_and_xres(&infty, &upscaled);
        assert!(up_icc == icc, "{format}: the colour profile changed");
        assert!(
            (up_xres - 2.0 * xres).abs() < 0.01,
            "{format}: {up_xres} pixels per mm, want {}",
            2.0 * xres
        );
    }
}

#[test]
fn a_jpeg_is_turned_upright_by_its_exif_orientation() {
    let infty = infty();
    // Left half dark, right half bright; orientation 6 shows it turned a quarter clockwise.
    let (width, height) = (32u32, 16u32);
    let mut image = Image::pattern(width, height, 3, "u8");
    if let infty_e2e::images::Samples::U8(samples) = &mut image.samples {
        for (i, sample) in samples.iter_mut().enumerate() {
            let x = (i / 3) as u32 % width;
            *sample = if x < width / 2 { 20 } else { 230 };
        }
    }
    std::fs::write(infty.path("in.png"), image.encode(image::ImageFormat::Png)).unwrap();
    tool(&infty, "vips", &["copy", "in.png", "in.jpg"]);
    tool(&infty, "exiftool", &["-overwrite_original", "-n", "-Orientation=6", "in.jpg"]);
    infty.pipeline("read in.jpg ! write out.png").assert_ok();
    let out = Image::load(&infty.path("out.png"));
    assert_eq!((out.width, out.height), (height, width), "not turned upright");
    // Turned clockwise, the dark left half is at the top.
    let values = out.values();
    let half = values.len() / 2;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&values[..half]) < 60.0 && mean(&values[half..]) > 190.0, "the dark half is not on top");
    // Upright now: the output carries no orientation to apply twice.
    let tags = json(&tool(&infty, "exiftool", &["-j", "-n", "-Orientation", "out.png"]));
    assert!(tags[0]["Orientation"].is_null(), "{tags}");
}

#[test]
fn png_text_chunks_are_kept() {
    let infty = infty();
    photo(&infty, "in.png", 24, 16);
    tool(
        &infty,
        "exiftool",
        &["-overwrite_original", "-PNG:Author=Ada Lovelace", "-PNG:Comment=scan 7, shelf 3", "in.png"],
    );
    infty.pipeline("read in.png ! clamp ! write out.png").assert_ok();
    let tags = json(&tool(&infty, "exiftool", &["-j", "-PNG:Author", "-PNG:Comment", "out.png"]));
    assert_eq!(
        (tags[0]["Author"].as_str(), tags[0]["Comment"].as_str()),
        (Some("Ada Lovelace"), Some("scan 7, shelf 3"))
    );
}

#[test]
fn resume_finds_the_provenance_of_an_output_whose_description_is_the_inputs() {
    let infty = infty();
    photo(&infty, "photo.png", 40, 30);
    tool(&infty, "vips", &["copy", "photo.png", "in.tif"]);
    tool(&infty, "exiftool", &["-overwrite_original", "-ImageDescription=Shelf 3, box 7", "in.tif"]);
    let args =
        ["run", "--resume", "read", "in.tif", "!", "clamp", "!", "write", "out.tif", "--tile-size", "16"];
    infty.run(&args).assert_ok();
    let tags = json(&tool(&infty, "exiftool", &["-j", "-ImageDescription", "out.tif"]));
    assert_eq!(tags[0]["ImageDescription"], "Shelf 3, box 7");
    let run = infty.run(&args);
    run.assert_ok();
    assert!(run.stderr.contains("'out.tif' is already complete; nothing to resume"), "{}", run.stderr);
}
