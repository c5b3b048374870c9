//! Pixel-exact round trips through `read ! write` for every format, depth and
//! channel layout, through files and through standard input and output.

use image::ImageFormat;
use infty_e2e::images::Image;
use infty_e2e::Infty;

/// Writes `image` as `input`, runs `read input ! write output [extra]`, returns the output.
fn round_trip(infty: &Infty, image_bytes: &[u8], input: &str, output: &str, extra: &str) -> Image {
    std::fs::write(infty.path(input), image_bytes).unwrap();
    infty.pipeline(&format!("read {input} ! write {output} {extra}")).assert_ok();
    Image::load(&infty.path(output))
}

#[test]
fn png_round_trips_exactly_at_8_and_16_bits() {
    let infty = Infty::basic();
    for depth in ["u8", "u16"] {
        for channels in 1..=4 {
            let image = Image::pattern(37, 23, channels, depth);
            let out = round_trip(&infty, &image.encode(ImageFormat::Png), "in.png", "out.png", "");
            assert_eq!(out, image, "PNG {depth} with {channels} channels");
        }
    }
}

#[test]
fn tiff_round_trips_exactly_at_every_depth_and_compression() {
    let infty = Infty::basic();
    for depth in ["u8", "u16", "f32"] {
        for channels in [1, 3, 4] {
            let image = Image::pattern(41, 19, channels, depth);
            // Tiled (deflate, zstd, none) and in strips (lzw, packbits), each with its
            // default predictor.
            for compression in ["deflate", "zstd", "lzw", "packbits", "none"] {
                let extra = format!("--compression {compression}");
                let out = round_trip(&infty, &image.encode_tiff(), "in.tif", "out.tif", &extra);
                assert_eq!(out, image, "TIFF {depth}, {channels} channels, {compression}");
            }
        }
    }
}

#[test]
fn gray_alpha_survives_png_to_tiff_and_back() {
    let infty = Infty::basic();
    for depth in ["u8", "u16"] {
        let image = Image::pattern(16, 9, 2, depth);
        // LZW goes through the strip writer, with its horizontal differencing.
        let lzw =
            round_trip(&infty, &image.encode(ImageFormat::Png), "ga.png", "ga.tif", "--compression lzw");
        assert_eq!(lzw, image, "gray+alpha {depth} into an LZW TIFF");
        let tiff = round_trip(&infty, &image.encode(ImageFormat::Png), "ga.png", "ga.tif", "");
        assert_eq!(tiff, image, "gray+alpha {depth} into TIFF");
        infty.pipeline("read ga.tif ! write back.png").assert_ok();
        assert_eq!(Image::load(&infty.path("back.png")), image, "gray+alpha {depth} back to PNG");
    }
}

#[test]
fn depth_changes_convert_with_rounding() {
    let infty = Infty::basic();
    let image = Image::pattern(20, 10, 3, "u8");
    std::fs::write(infty.path("in.png"), image.encode(ImageFormat::Png)).unwrap();
    // u8 → u16 multiplies by 257 exactly; u8 → f32 divides by 255.
    infty.pipeline("read in.png ! write wide.tif --depth u16").assert_ok();
    let wide = Image::load(&infty.path("wide.tif")).values();
    let expected: Vec<f64> = image.values().iter().map(|v| v * 257.0).collect();
    assert_eq!(wide, expected);
    infty.pipeline("read in.png ! write float.tif --depth f32").assert_ok();
    let float = Image::load(&infty.path("float.tif")).values();
    for (f, v) in float.iter().zip(image.values()) {
        assert!((f - v / 255.0).abs() < 1e-7, "{f} vs {v}/255");
    }
    // f32 → PNG picks u16 (PNG has no float) and clamps to [0, 1].
    let out = round_trip(&infty, &Image::pattern(8, 8, 1, "f32").encode_tiff(), "f.tif", "f.png", "");
    let Image { samples: infty_e2e::images::Samples::U16(words), .. } = out else {
        panic!("expected u16 PNG")
    };
    assert!(words.contains(&0) && words.contains(&65535), "values outside [0, 1] clamp to the ends");
}

#[test]
fn jpeg_reads_like_the_reference_decoder_and_writes_close_to_its_input() {
    let infty = Infty::basic();
    for channels in [1, 3] {
        let image = Image::gradient(64, 48, channels);
        let jpeg = image.encode(ImageFormat::Jpeg);
        // Reading is exact against the image crate's own decoding of the same file.
        let decoded = round_trip(&infty, &jpeg, "in.jpg", "out.png", "");
        assert_eq!(decoded, Image::decode(&jpeg), "JPEG with {channels} channels");
        // Writing is lossy: at quality 95 the re-encoded image stays above 40 dB PSNR.
        infty.pipeline("read out.png ! write again.jpg --quality 95").assert_ok();
        let again = Image::load(&infty.path("again.jpg"));
        assert_eq!((again.channels, again.width), (channels, 64), "JPEG keeps channels and size");
        let values = decoded.values();
        let mse = again.values().iter().zip(&values).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
            / values.len() as f64;
        let psnr = 10.0 * (255.0f64.powi(2) / mse).log10();
        assert!(psnr > 40.0, "JPEG q95 PSNR {psnr:.1} dB with {channels} channels");
    }
}

#[test]
fn stdin_to_stdout_is_exact_and_format_is_sniffed() {
    let infty = Infty::basic();
    let image = Image::pattern(30, 20, 4, "u16");
    let run = infty.run_with_stdin(
        &["run", "read", "-", "!", "scale", "--factor", "1", "!", "write", "-", "--format", "png"],
        &image.encode(ImageFormat::Png),
    );
    run.assert_ok();
    assert_eq!(Image::decode(&run.stdout), image);
    let tiff = Image::pattern(12, 7, 1, "f32");
    let run = infty.run_with_stdin(&["run", "read - ! write - --format tiff"], &tiff.encode_tiff());
    run.assert_ok();
    assert_eq!(Image::decode(&run.stdout), tiff, "a quoted pipeline with TIFF through pipes");
}
