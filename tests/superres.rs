//! `infty upscale` and the `superres` operator through the real binary, with the
//! bundled default model on a crop of the bundled sample photo: PNG and tiled TIFF in,
//! output size round(scale × input), any tiling gives the same pixels, resume and
//! shards give identical files, --samples averages draws, encode mode with an unguided model, bad input refused.

use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, bundled_config_with, workspace_root, Infty};

fn infty() -> Infty {
    let plugins =
        ["infty_superres", "infty_net", "infty_mollifier", "infty_samplers", "infty_basic", "infty_train"];
    Infty::with_plugins(&plugins.map(|p| artifacts().plugin(p)))
}

fn default_model() -> String {
    workspace_root().join("models/default-sr/model.safetensors").display().to_string()
}

/// A `width × height` crop of the bundled photo (the cat's eye), as `name`.
fn photo_crop(infty: &Infty, name: &str, width: u32, height: u32) {
    let sample = workspace_root().join("examples/images/chelsea.png");
    let crop = format!("crop --x 170 --y 80 --width {width} --height {height}");
    infty.pipeline(&format!("read {} ! {crop} ! write {name}", sample.display())).assert_ok();
}

/// Few steps keep the tests fast; the defaults are measured by scripts/eval-sr.
fn upscale_args<'a>(model: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--steps", "6", "--device", "cpu", "--model", model];
    args.extend(extra);
    args
}

/// Samples as f64 in [0, 1], interleaved.
fn values(infty: &Infty, name: &str) -> (Image, Vec<f64>) {
    let image = Image::load(&infty.path(name));
    let full = match image.samples {
        Samples::U8(_) => 255.0,
        Samples::U16(_) => 65535.0,
        Samples::F32(_) => 1.0,
    };
    let values = image.values().iter().map(|v| v / full).collect();
    (image, values)
}

/// PSNR (dB) of `high` downscaled 2× by 2×2 means against `low` (interleaved RGB).
fn consistency_psnr(low: &[f64], high: &[f64], width: usize, height: usize) -> f64 {
    let mut error = 0.0;
    for y in 0..height {
        for x in 0..width {
            for c in 0..3 {
                let at = |dx: usize, dy: usize| high[((2 * y + dy) * 2 * width + 2 * x + dx) * 3 + c];
                let mean = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4.0;
                error += (mean - low[(y * width + x) * 3 + c]).powi(2);
            }
        }
    }
    10.0 * (1.0 / (error / (width * height * 3) as f64)).log10()
}

#[test]
fn png_and_tiled_tiff_upscale_to_the_same_faithful_pixels() {
    let infty = infty();
    let model = default_model();
    photo_crop(&infty, "in.png", 48, 40);
    let mut args = vec!["upscale", "in.png", "out.png", "--scale", "2"];
    args.extend(upscale_args(&model, &[]));
    infty.run(&args).assert_ok();
    let (out, high) = values(&infty, "out.png");
    assert_eq!((out.width, out.height, out.channels), (96, 80, 3));
    assert!(matches!(out.samples, Samples::U8(_)), "u8 in, u8 out");
    let (_, low) = values(&infty, "in.png");
    let psnr = consistency_psnr(&low, &high, 48, 40);
    eprintln!("consistency (input vs output downscaled): {psnr:.1} dB");
    assert!(psnr > 35.0, "consistency {psnr:.1} dB");
    // Sampled, not interpolated: another seed gives other (equally faithful) detail.
    let mut args = vec!["upscale", "in.png", "seed1.png", "--scale", "2", "--seed", "1"];
    args.extend(upscale_args(&model, &[]));
    infty.run(&args).assert_ok();
    let (_, other) = values(&infty, "seed1.png");
    let differ = high.iter().zip(&other).map(|(a, b)| (a - b).abs()).sum::<f64>() / high.len() as f64;
    eprintln!("seed 0 vs seed 1: mean difference {differ:.4}");
    assert!(differ > 1e-3, "the seed changed nothing: mean difference {differ}");
    assert!(consistency_psnr(&low, &other, 48, 40) > 35.0);

    // A tiled TIFF (written by infty) of the same pixels gives the same output, also
    // computed in other tiles.
    infty.pipeline("read in.png ! write in.tif").assert_ok();
    let mut args = vec!["upscale", "in.tif", "out.tif", "--scale", "2", "--tile-size", "48"];
    args.extend(upscale_args(&model, &[]));
    infty.run(&args).assert_ok();
    let (_, from_tiff) = values(&infty, "out.tif");
    assert!(from_tiff == high, "TIFF and PNG inputs gave different pixels");
}

#[test]
fn any_tiling_gives_the_same_pixels_at_a_non_integer_scale() {
    let infty = infty();
    let model = default_model();
    photo_crop(&infty, "in.png", 48, 40);
    let run = |tile: u32, out: &str| {
        let step = format!("upscale --scale 2.5 --steps 6 --device cpu --model {model}");
        infty
            .pipeline(&format!("read in.png ! {step} ! write {out} --depth f32 --tile-size {tile}"))
            .assert_ok();
        values(&infty, out)
    };
    let (whole, a) = run(256, "whole.tif");
    assert_eq!((whole.width, whole.height), (120, 100), "round(2.5 × 48), round(2.5 × 40)");
    let (_, b) = run(32, "tiles.tif");
    let max = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    eprintln!("tiles of 32 vs one tile of 256: max difference {max:e}");
    // Batches are fixed by the patch lattice, not by the tile: the same bits.
    assert_eq!(max, 0.0, "max difference {max}");
}

#[test]
fn samples_averages_the_draws_of_the_seed() {
    let infty = infty();
    let model = default_model();
    photo_crop(&infty, "in.png", 48, 40);
    let run = |extra: &str, out: &str| {
        let step = format!("upscale --scale 2 --steps 6 --device cpu --model {model} {extra}");
        infty.pipeline(&format!("read in.png ! {step} ! write {out} --depth f32")).assert_ok();
        values(&infty, out).1
    };
    // Draw k of a seed is keyed as the seed + k·2³², so the two draws `--samples 2`
    // averages are also the single samples of these two seeds.
    let first = run("--seed 0", "draw0.tif");
    let second = run("--seed 4294967296", "draw1.tif");
    let mean = run("--samples 2", "mean.tif");
    let max = mean
        .iter()
        .zip(first.iter().zip(&second))
        .map(|(m, (a, b))| (m - (a + b) / 2.0).abs())
        .fold(0.0, f64::max);
    let apart = first.iter().zip(&second).map(|(a, b)| (a - b).abs()).sum::<f64>() / first.len() as f64;
    eprintln!("draws apart by {apart:.4} on average; their mean vs --samples 2: max difference {max:e}");
    assert!(apart > 1e-3, "the two draws are the same sample");
    assert!(max < 1e-6, "--samples 2 is not the mean of the two draws: max difference {max}");
}

#[test]
fn resume_and_shards_give_identical_output() {
    let infty = infty();
    let model = default_model();
    photo_crop(&infty, "in.png", 64, 64);
    let job = format!("read in.png ! upscale --scale 2 --steps 6 --device cpu --model {model} ! write out.tif --tile-size 32");
    infty.pipeline(&job.replace("out.tif", "whole.tif")).assert_ok();
    let whole = values(&infty, "whole.tif").1;
    // The provenance holds every setting, defaults included.
    let file = String::from_utf8_lossy(&std::fs::read(infty.path("whole.tif")).unwrap()).into_owned();
    for setting in [r#""strength":0.4"#, r#""sampler":"ddim""#, r#""steps":"6""#, r#""inv-snr":0.3"#] {
        assert!(file.contains(setting), "{setting} not in the provenance");
    }

    // Killed after a few tiles, then resumed.
    let args: Vec<&str> = ["run"].into_iter().chain(job.split_whitespace()).collect();
    let mut child = infty.spawn(&args);
    let journal = infty.path(".out.tif.infty-journal");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0) < 4 {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be stopped");
        assert!(start.elapsed().as_secs() < 300, "no progress in the journal");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let resume: Vec<&str> = ["run", "--resume"].into_iter().chain(job.split_whitespace()).collect();
    infty.run(&resume).assert_ok();
    assert!(values(&infty, "out.tif").1 == whole, "resumed output differs");

    // Two shards, merged.
    std::fs::remove_file(infty.path("out.tif")).unwrap();
    for shard in ["1/2", "2/2"] {
        let args: Vec<&str> = ["run", "--shard", shard].into_iter().chain(job.split_whitespace()).collect();
        infty.run(&args).assert_ok();
    }
    infty.run(&["merge", "out.tif"]).assert_ok();
    assert!(values(&infty, "out.tif").1 == whole, "merged shards differ");
}

#[test]
fn gray_input_and_encode_mode_with_an_unguided_model() {
    let infty = infty();
    photo_crop(&infty, "in.png", 64, 64);
    infty.pipeline("read in.png ! to-gray ! write gray.png").assert_ok();
    let model = default_model();
    let mut args = vec!["upscale", "gray.png", "gray2.png", "--scale", "1.5"];
    args.extend(upscale_args(&model, &[]));
    infty.run(&args).assert_ok();
    let (gray, _) = values(&infty, "gray2.png");
    assert_eq!((gray.width, gray.height, gray.channels), (96, 96, 1));

    // An unguided model from `infty train` (the reference's kind): encode mode only.
    std::fs::create_dir(infty.path("data")).unwrap();
    for i in 0..2 {
        std::fs::copy(infty.path("in.png"), infty.path(&format!("data/{i}.png"))).unwrap();
    }
    let train =
        ["train", "data", "run", "--steps", "2", "--batch", "2", "--val-crops", "2", "--device", "cpu"];
    infty.run(&train).assert_ok();
    let unguided = infty.path("run/model.safetensors").display().to_string();
    let mut args = vec!["upscale", "in.png", "enc.png", "--scale", "2", "--mode", "encode"];
    args.extend(upscale_args(&unguided, &[]));
    infty.run(&args).assert_ok();
    let (enc, _) = values(&infty, "enc.png");
    assert_eq!((enc.width, enc.height, enc.channels), (128, 128, 3));
    let mut args = vec!["upscale", "in.png", "bad.png", "--scale", "2"];
    args.extend(upscale_args(&unguided, &[]));
    infty.run(&args).assert_refused("has no low-resolution guide, so it cannot run --mode guided");
    infty.assert_no_output("bad.png");
}

#[test]
fn a_residual_model_trains_and_upscales_to_its_guide_plus_detail() {
    let infty = infty();
    photo_crop(&infty, "in.png", 64, 64);
    std::fs::create_dir(infty.path("data")).unwrap();
    for i in 0..2 {
        std::fs::copy(infty.path("in.png"), infty.path(&format!("data/{i}.png"))).unwrap();
    }
    let model = default_model();
    let mut args = vec!["upscale", "in.png", "plain.png", "--scale", "2"];
    args.extend(upscale_args(&model, &[]));
    infty.run(&args).assert_ok();
    let ((_, low), (_, plain)) = (values(&infty, "in.png"), values(&infty, "plain.png"));
    // The default model's network, diffusing 10·(x − guide), from its weights; learning
    // ε, and learning v.
    for prediction in ["eps", "v"] {
        let changes = [("residual_scale", 10.0.into()), ("prediction", prediction.into())];
        let config_path = bundled_config_with(&infty, "default-sr", &format!("{prediction}.json"), &changes);
        let train = |guide: &str, run: &str| {
            let args = ["train", "data", run, "--guide", guide, "--config", &config_path, "--init", &model];
            let fast =
                ["--steps", "2", "--batch", "2", "--val-crops", "2", "--ema-decay", "0", "--device", "cpu"];
            infty.run(&args.into_iter().chain(fast).collect::<Vec<_>>())
        };
        train("mask", &format!("{prediction}-masked"))
            .assert_refused("residual_scale needs a guide that estimates the image");
        train("lowres", prediction).assert_ok();

        let residual = infty.path(&format!("{prediction}/model.safetensors")).display().to_string();
        let out = format!("{prediction}.png");
        let mut args = vec!["upscale", "in.png", &out, "--scale", "2"];
        args.extend(upscale_args(&residual, &[]));
        infty.run(&args).assert_ok();
        let (_, high) = values(&infty, &out);
        let consistency = consistency_psnr(&low, &high, 64, 64);
        // The sample is the guide plus a residual divided by 10: near the default model's
        // upscale, which adds little to its guide either.
        let error = high.iter().zip(&plain).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / high.len() as f64;
        let apart = -10.0 * error.log10();
        eprintln!("residual model ({prediction}): consistency {consistency:.1} dB, {apart:.1} dB from the default model's output");
        assert!(consistency > 35.0, "{prediction}: consistency {consistency:.1} dB");
        assert!(apart > 30.0, "{prediction}: {apart:.1} dB from the default model's output");
    }
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_written() {
    let infty = infty();
    let model = default_model();
    photo_crop(&infty, "in.png", 40, 40);
    photo_crop(&infty, "tiny.png", 12, 10);
    for (scale, message) in [
        ("0", "param 'scale'"),
        ("-2", "param 'scale'"),
        ("NaN", "must be a finite number"),
        ("100", "param 'scale'"),
    ] {
        infty
            .run(&["upscale", "in.png", "out.png", "--scale", scale, "--model", &model])
            .assert_refused(message);
    }
    infty
        .run(&["upscale", "in.png", "out.png", "--scale", "2", "--model", "nope"])
        .assert_refused("no model 'nope'");
    infty.run(&["upscale", "in.png", "out.png", "--model", &model]).assert_refused("scale");
    let run =
        infty.run(&["upscale", "tiny.png", "out.png", "--scale", "2", "--model", &model, "--device", "cpu"]);
    run.assert_refused("the input (12×10) is too small");
    assert!(run.stderr.contains("at least 32×32"), "{}", run.stderr);
    let not_a_model = infty.path("in.png").display().to_string();
    infty
        .run(&["upscale", "in.png", "out.png", "--scale", "2", "--model", &not_a_model])
        .assert_refused("model");
    infty.assert_no_output("out.png");
}
