//! DeepZoom output (`write out.dzi`) and `infty view`, through the real binary and a
//! real browser: the pyramid's levels, tiles and overlaps; the page loads in headless
//! Chromium, fetches tiles of the deepest level when zoomed in, and shows the image.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::Infty;

fn write_png(infty: &Infty, name: &str, image: &Image) {
    std::fs::write(infty.path(name), image.encode(ImageFormat::Png)).unwrap();
}

fn tile(infty: &Infty, name: &str) -> Image {
    Image::load(&infty.path(name))
}

/// `image`'s pixels in the window `x0..x1` × `y0..y1`, interleaved u8.
fn crop(image: &Image, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> Vec<u8> {
    let Samples::U8(v) = &image.samples else { panic!("u8 image") };
    let c = image.channels as usize;
    (y0..y1)
        .flat_map(|y| {
            let row = (y * image.width) as usize * c;
            v[row + x0 as usize * c..row + x1 as usize * c].to_vec()
        })
        .collect()
}

#[test]
fn deepzoom_levels_halve_down_to_one_pixel_and_tiles_overlap_by_one() {
    let infty = Infty::basic();
    // Gray + alpha: PNG tiles, so the top level can be compared exactly.
    let image = Image::pattern(300, 280, 2, "u8");
    write_png(&infty, "in.png", &image);
    infty.pipeline("read in.png ! write out.dzi").assert_ok();
    let descriptor = std::fs::read_to_string(infty.path("out.dzi")).unwrap();
    for attribute in
        ["Format=\"png\"", "Overlap=\"1\"", "TileSize=\"254\"", "Width=\"300\"", "Height=\"280\""]
    {
        assert!(descriptor.contains(attribute), "{attribute} missing from {descriptor}");
    }
    // 300 px: levels 0 (1×1) to 9 (the image); tiles of 254 with a pixel of overlap.
    for (name, window) in
        [("0_0", (0, 0, 255, 255)), ("1_0", (253, 0, 300, 255)), ("1_1", (253, 253, 300, 280))]
    {
        let got = tile(&infty, &format!("out_files/9/{name}.png"));
        assert_eq!((got.width, got.height), (window.2 - window.0, window.3 - window.1), "{name}");
        assert!(crop(&got, (0, 0, got.width, got.height)) == crop(&image, window), "tile {name} differs");
    }
    let level8 = tile(&infty, "out_files/8/0_0.png");
    assert_eq!((level8.width, level8.height), (150, 140));
    let Samples::U8(top) = &image.samples else { unreachable!() };
    let Samples::U8(half) = &level8.samples else { panic!("u8 tile") };
    let mean = |x: usize, y: usize, c: usize| {
        let at = |dx: usize, dy: usize| u32::from(top[((2 * y + dy) * 300 + 2 * x + dx) * 2 + c]);
        ((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8
    };
    assert_eq!(half[(7 * 150 + 11) * 2 + 1], mean(11, 7, 1), "level 8 is level 9's 2×2 means");
    assert_eq!((tile(&infty, "out_files/0/0_0.png").width), 1);
    assert!(!infty.path("out_files/10").exists() && !infty.path(".out_files.infty-part").exists());
}

#[test]
fn deepzoom_of_rgb_is_jpeg_close_to_the_image() {
    let infty = Infty::basic();
    let image = Image::gradient(600, 300, 3);
    write_png(&infty, "in.png", &image);
    infty.pipeline("read in.png ! write out.dzi --quality 95").assert_ok();
    let got = tile(&infty, "out_files/10/1_0.jpeg");
    assert_eq!((got.width, got.height), (256, 255));
    let want = crop(&image, (253, 0, 509, 255));
    let error =
        crop(&got, (0, 0, 256, 255)).iter().zip(&want).map(|(a, b)| a.abs_diff(*b) as f64).sum::<f64>()
            / want.len() as f64;
    assert!(error < 2.0, "mean error {error} from the image");
    // Written again, the pyramid is replaced whole.
    infty.pipeline("read in.png ! write out.dzi").assert_ok();
    infty.pipeline("read in.png ! write - --format dzi").assert_refused("give a .dzi file path");
}

/// Debian's Chromium (installed by scripts/setup-test-tools).
fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| which(name));
    found.expect("no Chromium: run scripts/setup-test-tools (scripts/test does)")
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Headless Chromium on `page` (with `fragment`), given `--dump-dom` or `--screenshot=FILE`.
fn browse(page: &Path, fragment: &str, what: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,600"])
        .args(["--virtual-time-budget=20000", what])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_view_page_shows_two_images_side_by_side_in_a_real_browser() {
    let infty = Infty::basic();
    write_png(&infty, "small.png", &Image::gradient(600, 400, 3));
    write_png(&infty, "big.png", &Image::gradient(1200, 800, 3));
    infty.run(&["view", "small.png", "big.png", "--output", "page.html"]).assert_ok();
    let page = infty.path("page.html");
    // Zoomed in 8 times, each viewer fetches tiles of its image's own level (10 and 11).
    // Headless Chromium's virtual time can run out before the zoomed tiles arrive when
    // the machine is busy (seen once in a full test run): up to three page loads.
    let zoomed = |dom: &str| dom.contains("data-deepest=\"[10,11]\"");
    let mut dom = browse(&page, "#zoom=8", "--dump-dom");
    for _ in 1..3 {
        if zoomed(&dom) {
            break;
        }
        dom = browse(&page, "#zoom=8", "--dump-dom");
    }
    assert!(zoomed(&dom), "deepest levels loaded: {}", deepest(&dom));
    // Not zoomed, the screenshot shows the gradient in each half, not the background.
    let shot = infty.path("shot.png");
    browse(&page, "", &format!("--screenshot={}", shot.display()));
    let shot = Image::load(&shot);
    for half in [(100, 200, 400, 400), (600, 200, 900, 400)] {
        let pixels = crop(&shot, half);
        let mean = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64;
        let spread = pixels.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / pixels.len() as f64;
        assert!(spread.sqrt() > 20.0 && (mean - 32.0).abs() > 10.0, "{half:?}: mean {mean}, spread {spread}");
    }
}

fn deepest(dom: &str) -> &str {
    dom.find("data-deepest").map_or("none", |at| &dom[at..(at + 40).min(dom.len())])
}
