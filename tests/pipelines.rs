//! Operator chains through the real binary with the real basic plugin.

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::Infty;

fn write_png(infty: &Infty, name: &str, image: &Image) {
    std::fs::write(infty.path(name), image.encode(ImageFormat::Png)).unwrap();
}

#[test]
fn to_gray_scale_offset_clamp_compute_the_expected_samples() {
    let infty = Infty::basic();
    let image = Image::pattern(300, 270, 3, "u8"); // more than one 256-pixel tile each way
    write_png(&infty, "in.png", &image);
    infty
        .pipeline("read in.png ! to-gray --standard rec601 ! scale --factor 1.5 ! offset --value -0.2 ! clamp ! write out.tif --depth f32")
        .assert_ok();
    let out = Image::load(&infty.path("out.tif"));
    assert_eq!((out.width, out.height, out.channels), (300, 270, 1));
    let rgb = image.values();
    for (i, got) in out.values().iter().enumerate() {
        let (r, g, b) = (rgb[3 * i] / 255.0, rgb[3 * i + 1] / 255.0, rgb[3 * i + 2] / 255.0);
        let want = ((0.299 * r + 0.587 * g + 0.114 * b) * 1.5 - 0.2).clamp(0.0, 1.0);
        assert!((got - want).abs() < 1e-5, "pixel {i}: {got} vs {want}");
    }
}

#[test]
fn crop_takes_the_requested_window_across_tiles() {
    let infty = Infty::basic();
    let image = Image::pattern(600, 300, 4, "u16");
    write_png(&infty, "in.png", &image);
    infty.pipeline("read in.png ! crop --x 250 --y 7 --width 300 --height 280 ! write out.png").assert_ok();
    let out = Image::load(&infty.path("out.png"));
    let Samples::U16(src) = &image.samples else { unreachable!() };
    let mut expected = Vec::new();
    for y in 7..287 {
        let row = (y * 600 + 250) * 4;
        expected.extend_from_slice(&src[row..row + 300 * 4]);
    }
    assert_eq!(out, Image { width: 300, height: 280, channels: 4, samples: Samples::U16(expected) });
}

#[test]
fn an_operator_runs_alone_as_a_command() {
    let infty = Infty::basic();
    write_png(&infty, "in.png", &Image::pattern(40, 30, 3, "u8"));
    // --sync waits for the disk; the file is the same.
    infty.run(&["scale", "in.png", "direct.png", "--factor", "0.5", "--sync"]).assert_ok();
    infty.pipeline("read in.png ! scale --factor 0.5 ! write piped.png").assert_ok();
    let direct = Image::load(&infty.path("direct.png"));
    assert_eq!(direct, Image::load(&infty.path("piped.png")));
    assert_ne!(direct, Image::load(&infty.path("in.png")), "the factor was applied");
}

#[test]
fn parameters_accept_equals_signs_and_negative_values() {
    let infty = Infty::basic();
    write_png(&infty, "in.png", &Image::pattern(8, 8, 1, "u8"));
    infty
        .pipeline("read in.png ! offset --value=-1 ! clamp --min -2 --max=2 ! write out.tif --depth=f32")
        .assert_ok();
    let out = Image::load(&infty.path("out.tif")).values();
    let input = Image::load(&infty.path("in.png")).values();
    for (o, i) in out.iter().zip(input) {
        assert!((o - (i / 255.0 - 1.0)).abs() < 1e-6);
    }
}

#[test]
fn the_bundled_sample_runs_through_the_readme_pipeline() {
    let infty = Infty::basic();
    let sample = infty_e2e::workspace_root().join("examples/images/chelsea.png");
    let out = infty.path("chelsea-gray.png");
    let pipeline =
        format!("read {} ! to-gray ! scale --factor 1.2 ! clamp ! write {}", sample.display(), out.display());
    infty.pipeline(&pipeline).assert_ok();
    let gray = Image::load(&out);
    assert_eq!((gray.width, gray.height, gray.channels), (256, 256, 1));
}
