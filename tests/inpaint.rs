//! `infty inpaint` and the `inpaint` operator through the real binary, with the bundled
//! mask-guided model on the bundled sample photo: known pixels kept outside the
//! blended border, a plausible fill, deterministic for a seed, the same pixels in any
//! tiling and from shards, encode mode with an unguided model, bad masks refused.

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, bundled_config_with, workspace_root, Infty};

/// The default `--border`.
const BORDER: i64 = 2;

fn infty() -> Infty {
    let plugins =
        ["infty_inpaint", "infty_net", "infty_mollifier", "infty_samplers", "infty_basic", "infty_train"];
    Infty::with_plugins(&plugins.map(|p| artifacts().plugin(p)))
}

fn default_model() -> String {
    workspace_root().join("models/default-inpaint/model.safetensors").display().to_string()
}

/// The bundled photo (256×256) as `in.png`.
fn photo(infty: &Infty) {
    std::fs::copy(workspace_root().join("examples/images/chelsea.png"), infty.path("in.png")).unwrap();
}

/// A gray 8-bit mask of `width × height`, 255 inside `holes` (x, y, w, h), as `name`.
fn mask(infty: &Infty, name: &str, width: u32, height: u32, holes: &[(u32, u32, u32, u32)]) {
    let mut data = vec![0u8; (width * height) as usize];
    for &(hx, hy, hw, hh) in holes {
        for y in hy..hy + hh {
            data[(y * width + hx) as usize..(y * width + hx + hw) as usize].fill(255);
        }
    }
    let image = Image { width, height, channels: 1, samples: Samples::U8(data) };
    std::fs::write(infty.path(name), image.encode(ImageFormat::Png)).unwrap();
}

/// Few steps keep the tests fast (10 steps at strength 0.2: two model steps); the
/// defaults are measured by scripts/eval-inpaint.
fn inpaint<'a>(
    input: &'a str,
    output: &'a str,
    mask: &'a str,
    model: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args =
        vec!["inpaint", input, output, "--mask", mask, "--steps", "10", "--device", "cpu", "--model", model];
    args.extend(extra);
    args
}

/// Interleaved samples of an RGB file.
fn pixels(infty: &Infty, name: &str) -> Vec<f64> {
    Image::load(&infty.path(name)).values()
}

/// The box the tests fill, and whether pixel (x, y) lies within `margin` of it.
const HOLE: (u32, u32, u32, u32) = (90, 100, 40, 30);
fn near_hole(x: i64, y: i64, margin: i64) -> bool {
    let (hx, hy, hw, hh) = (i64::from(HOLE.0), i64::from(HOLE.1), i64::from(HOLE.2), i64::from(HOLE.3));
    x >= hx - margin && x < hx + hw + margin && y >= hy - margin && y < hy + hh + margin
}

#[test]
fn fills_the_hole_keeps_the_rest_and_repeats_for_a_seed() {
    let infty = infty();
    let model = default_model();
    photo(&infty);
    mask(&infty, "mask.png", 256, 256, &[HOLE]);
    infty.run(&inpaint("in.png", "out.png", "mask.png", &model, &[])).assert_ok();
    let (input, out) = (pixels(&infty, "in.png"), pixels(&infty, "out.png"));
    assert_eq!(out.len(), input.len());
    let (mut error, mut count, mut changed_far) = (0.0, 0, 0);
    for (i, (a, b)) in input.iter().zip(&out).enumerate() {
        let (x, y) = (((i / 3) % 256) as i64, ((i / 3) / 256) as i64);
        if near_hole(x, y, 0) {
            error += ((a - b) / 255.0).powi(2);
            count += 1;
        } else if !near_hole(x, y, BORDER) && a != b {
            changed_far += 1;
        }
    }
    assert_eq!(changed_far, 0, "known pixels beyond the border changed");
    let psnr = 10.0 * (count as f64 / error).log10();
    eprintln!("PSNR inside the hole against the original photo: {psnr:.2} dB");
    assert!(psnr > 17.0, "the fill is far from the photo: {psnr:.2} dB");

    // The same seed gives the same bytes; another seed another fill, in the hole only.
    infty.run(&inpaint("in.png", "again.png", "mask.png", &model, &[])).assert_ok();
    assert!(std::fs::read(infty.path("again.png")).unwrap() == std::fs::read(infty.path("out.png")).unwrap());
    infty.run(&inpaint("in.png", "seed1.png", "mask.png", &model, &["--seed", "1"])).assert_ok();
    let other = pixels(&infty, "seed1.png");
    let inside: Vec<usize> =
        (0..out.len()).filter(|i| near_hole(((i / 3) % 256) as i64, ((i / 3) / 256) as i64, 0)).collect();
    let differ = inside.iter().map(|&i| (out[i] - other[i]).abs()).sum::<f64>() / inside.len() as f64;
    eprintln!("seed 0 vs seed 1 inside the hole: mean difference {differ:.2} levels");
    assert!(differ > 0.5, "the seed changed nothing");
}

#[test]
fn any_tiling_and_shards_give_the_same_pixels() {
    let infty = infty();
    let model = default_model();
    photo(&infty);
    mask(&infty, "mask.png", 256, 256, &[HOLE, (10, 200, 12, 40)]);
    infty.pipeline("read in.png ! write in.tif --tile-size 64").assert_ok();
    let job = |tile: u32, out: &str| {
        format!("read in.tif ! inpaint --mask mask.png --steps 10 --device cpu --model {model} ! write {out} --tile-size {tile}")
    };
    infty.pipeline(&job(256, "whole.tif")).assert_ok();
    infty.pipeline(&job(32, "tiles.tif")).assert_ok();
    let whole = pixels(&infty, "whole.tif");
    assert!(pixels(&infty, "tiles.tif") == whole, "tiles of 32 and 256 differ");
    // Tiles away from the mask are the input's bytes.
    let input = pixels(&infty, "in.png");
    assert!(whole[..3 * 256 * 64] == input[..3 * 256 * 64], "the top rows, far from the mask, changed");
    // The provenance holds every setting, defaults included.
    let file = String::from_utf8_lossy(&std::fs::read(infty.path("whole.tif")).unwrap()).into_owned();
    for setting in
        [r#""guidance":1"#, r#""strength":0.2"#, r#""samples":1"#, r#""sampler":"ddim""#, r#""border":2"#]
    {
        assert!(file.contains(setting), "{setting} not in the provenance");
    }
    for shard in ["1/2", "2/2"] {
        let args = format!("run --shard {shard} {}", job(32, "sharded.tif"));
        infty.run(&args.split_whitespace().collect::<Vec<_>>()).assert_ok();
    }
    infty.run(&["merge", "sharded.tif"]).assert_ok();
    assert!(pixels(&infty, "sharded.tif") == whole, "merged shards differ");
}

#[test]
fn bad_masks_and_models_are_refused_and_an_empty_mask_copies() {
    let infty = infty();
    let model = default_model();
    photo(&infty);
    mask(&infty, "small.png", 100, 80, &[(10, 10, 5, 5)]);
    mask(&infty, "all.png", 256, 256, &[(0, 0, 256, 256)]);
    mask(&infty, "none.png", 256, 256, &[]);
    let refused = [
        (inpaint("in.png", "out.png", "small.png", &model, &[]), "is 100×80 but the input is 256×256"),
        (inpaint("in.png", "out.png", "all.png", &model, &[]), "marks every pixel"),
        (inpaint("in.png", "out.png", "none.png", &model, &["--invert-mask"]), "marks every pixel"),
        (inpaint("in.png", "out.png", "missing.png", &model, &[]), "cannot read the mask"),
        (inpaint("in.png", "out.png", "none.png", &model, &["--guidance", "-1"]), "param 'guidance'"),
    ];
    for (args, message) in refused {
        infty.run(&args).assert_refused(message);
    }
    let sr = workspace_root().join("models/default-sr/model.safetensors").display().to_string();
    infty
        .run(&inpaint("in.png", "out.png", "none.png", &sr, &[]))
        .assert_refused("inpainting needs guide 'fill', 'mask' or none");
    infty.run(&["inpaint", "in.png", "out.png", "--model", &model]).assert_refused("mask");
    infty.assert_no_output("out.png");

    // An empty mask: a warning, and the input's pixels.
    let run = infty.run(&inpaint("in.png", "out.png", "none.png", &model, &[]));
    run.assert_ok();
    assert!(run.stderr.contains("marks no pixel to fill"), "{}", run.stderr);
    assert!(pixels(&infty, "out.png") == pixels(&infty, "in.png"));
}

#[test]
fn encode_mode_with_an_unguided_model() {
    let infty = infty();
    photo(&infty);
    infty.pipeline("read in.png ! crop --x 64 --y 64 --width 96 --height 96 ! write crop.png").assert_ok();
    std::fs::create_dir(infty.path("data")).unwrap();
    for i in 0..2 {
        std::fs::copy(infty.path("crop.png"), infty.path(&format!("data/{i}.png"))).unwrap();
    }
    let train =
        ["train", "data", "run", "--steps", "2", "--batch", "2", "--val-crops", "2", "--device", "cpu"];
    infty.run(&train).assert_ok();
    let unguided = infty.path("run/model.safetensors").display().to_string();
    mask(&infty, "mask.png", 96, 96, &[(40, 40, 16, 16)]);
    infty
        .run(&inpaint("crop.png", "bad.png", "mask.png", &unguided, &[]))
        .assert_refused("has no mask guide, so it cannot run --mode guided");
    infty.assert_no_output("bad.png");
    infty.run(&inpaint("crop.png", "enc.png", "mask.png", &unguided, &["--mode", "encode"])).assert_ok();
    let (input, out) = (pixels(&infty, "crop.png"), pixels(&infty, "enc.png"));
    let changed: Vec<usize> = (0..out.len()).filter(|&i| input[i] != out[i]).map(|i| i / 3).collect();
    assert!(!changed.is_empty(), "nothing was filled");
    let b = BORDER as usize;
    assert!(
        changed.iter().all(|&p| (40 - b..56 + b).contains(&(p % 96)) && (40 - b..56 + b).contains(&(p / 96))),
        "pixels changed away from the hole"
    );
}

#[test]
fn at_a_tiny_strength_a_ramp_is_filled_back_exactly() {
    // The harmonic fill of a hole in a linear ramp is the ramp, and at a tiny strength
    // the chain changes nothing: the start must come back through the Wiener inverse
    // unharmed, at patch edges (mirrored by T) too.
    let infty = infty();
    let worst = ramp_error(&infty, &default_model());
    assert!(worst <= 1.0, "the ramp came back {worst} levels off");
}

/// The largest error (in levels) of `model` at a tiny strength on a linear ramp with
/// two holes.
fn ramp_error(infty: &Infty, model: &str) -> f64 {
    let (width, height) = (160u32, 96u32);
    let ramp: Vec<u8> = (0..width * height)
        .flat_map(|i| {
            let (x, y) = (i % width, i / width);
            [(40 + x) as u8, (200 - y) as u8, (60 + (x + y) / 2) as u8]
        })
        .collect();
    let image = Image { width, height, channels: 3, samples: Samples::U8(ramp) };
    std::fs::write(infty.path("ramp.png"), image.encode(ImageFormat::Png)).unwrap();
    mask(infty, "ramp-mask.png", width, height, &[(30, 20, 70, 50), (120, 10, 6, 80)]);
    let args = inpaint("ramp.png", "ramp-out.png", "ramp-mask.png", model, &["--strength", "0.0005"]);
    infty.run(&args).assert_ok();
    let (input, out) = (pixels(infty, "ramp.png"), pixels(infty, "ramp-out.png"));
    input.iter().zip(&out).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

#[test]
fn a_fill_guided_model_trained_by_infty_train_inpaints() {
    let infty = infty();
    photo(&infty);
    let run = train_fill_model(&infty, "run", &[]);
    assert!(run.stderr.contains("419 tensors copied, 0 of another shape"), "{}", run.stderr);
    let run_json = std::fs::read_to_string(infty.path("run/run.json")).unwrap();
    assert!(run_json.contains(r#""guide": "fill""#) || run_json.contains(r#""guide":"fill""#), "{run_json}");
    let psnr = box_psnr(&infty, &infty.path("run/model.safetensors").display().to_string());
    eprintln!("fill-guided model, one step from default-inpaint: {psnr:.2} dB in the hole");
    assert!(psnr > 17.0, "{psnr:.2} dB in the hole");
}

#[test]
fn a_residual_fill_model_adds_to_its_filled_guide() {
    let infty = infty();
    photo(&infty);
    // The default model's network, diffusing 10·(x − fill).
    let config_path =
        bundled_config_with(&infty, "default-inpaint", "residual.json", &[("residual_scale", 10.0.into())]);
    train_fill_model(&infty, "run", &["--config", &config_path]).assert_ok();
    let model = infty.path("run/model.safetensors").display().to_string();
    // A residual of zero comes back as the fill, which on a ramp is the ramp.
    let worst = ramp_error(&infty, &model);
    assert!(worst <= 1.0, "the ramp came back {worst} levels off");
    let psnr = box_psnr(&infty, &model);
    eprintln!("residual fill model, one step from default-inpaint: {psnr:.2} dB in the hole");
    assert!(psnr > 17.0, "{psnr:.2} dB in the hole");
    let args = inpaint("in.png", "enc.png", "mask.png", &model, &["--mode", "encode"]);
    infty.run(&args).assert_refused("diffuses what its filled guide lacks");
    infty.assert_no_output("enc.png");
}

/// One training step of a fill-guided model from default-inpaint on the photo.
fn train_fill_model(infty: &Infty, run: &str, extra: &[&str]) -> infty_e2e::Run {
    std::fs::create_dir_all(infty.path("data")).unwrap();
    std::fs::copy(infty.path("in.png"), infty.path("data/0.png")).unwrap();
    std::fs::copy(infty.path("in.png"), infty.path("data/1.png")).unwrap();
    let init = default_model();
    let mut args = vec!["train", "data", run, "--guide", "fill", "--init", &init, "--steps", "1"];
    args.extend(["--batch", "2", "--val-crops", "2", "--ema-decay", "0", "--device", "cpu"]);
    args.extend(extra);
    infty.run(&args)
}

/// PSNR (dB) in the box [`HOLE`] of the photo inpainted by `model`; checks that
/// nothing moved away from the hole.
fn box_psnr(infty: &Infty, model: &str) -> f64 {
    mask(infty, "mask.png", 256, 256, &[HOLE]);
    infty.run(&inpaint("in.png", "out.png", "mask.png", model, &[])).assert_ok();
    let (input, out) = (pixels(infty, "in.png"), pixels(infty, "out.png"));
    let hole_error: Vec<f64> = (0..out.len() / 3)
        .filter(|&p| near_hole((p % 256) as i64, (p / 256) as i64, 0))
        .flat_map(|p| (0..3).map(move |c| 3 * p + c))
        .map(|i| (input[i] - out[i]).powi(2))
        .collect();
    let moved = (0..out.len()).filter(|&i| input[i] != out[i]).map(|i| i / 3);
    assert!(moved.into_iter().all(|p| near_hole((p % 256) as i64, (p / 256) as i64, BORDER)));
    10.0 * (255.0f64.powi(2) / (hole_error.iter().sum::<f64>() / hole_error.len() as f64)).log10()
}
