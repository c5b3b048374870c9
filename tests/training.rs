//! `infty train` and `infty eval-loss` through the real binary, on generated images:
//! a tiny model's loss falls; Ctrl-C saves a checkpoint and `--resume` repeats the
//! uninterrupted run's losses exactly; the model loads into the network plugin and
//! denoises; bad data folders are refused or skipped as documented.

use std::path::Path;
use std::time::{Duration, Instant};

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, Infty};

fn infty() -> Infty {
    Infty::with_plugins(&["infty_train", "infty_net", "infty_mollifier"].map(|p| artifacts().plugin(p)))
}

/// Smooth colour waves, different per image.
fn waves(size: u32, index: u32, channels: u32) -> Image {
    let (a, b) = (0.05 + 0.03 * index as f32, 0.11 - 0.02 * index as f32);
    let mut samples = Vec::new();
    for y in 0..size {
        for x in 0..size {
            for c in 0..channels {
                let v = ((a * x as f32 + b * y as f32 + c as f32).sin() * 0.45 + 0.5) * 255.0;
                samples.push(v as u8);
            }
        }
    }
    Image { width: size, height: size, channels, samples: Samples::U8(samples) }
}

/// A folder of five training images: PNGs, one gray, one TIFF (read window by window).
fn data(infty: &Infty, name: &str) -> String {
    let folder = infty.path(name);
    std::fs::create_dir_all(folder.join("more")).unwrap();
    for i in 0..3 {
        std::fs::write(folder.join(format!("w{i}.png")), waves(96, i, 3).encode(ImageFormat::Png)).unwrap();
    }
    std::fs::write(folder.join("more/gray.png"), waves(80, 3, 1).encode(ImageFormat::Png)).unwrap();
    std::fs::write(folder.join("more/big.tif"), waves(160, 4, 3).encode_tiff()).unwrap();
    folder.display().to_string()
}

const FAST: [&str; 8] = ["--batch", "4", "--val-crops", "4", "--val-every", "10", "--device", "cpu"];

fn train(infty: &Infty, data: &str, run: &str, extra: &[&str]) -> infty_e2e::Run {
    let mut args = vec!["train", data, run];
    args.extend(FAST);
    args.extend(extra);
    infty.run(&args)
}

/// The `loss` column of `train.csv`, as written.
fn losses(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("train.csv")).unwrap();
    text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect()
}

/// The model's and predicting zero's losses in the `mean` row of an eval-loss table.
fn mean_row(table: &str) -> (f64, f64) {
    let row = table.lines().find(|l| l.starts_with("| mean")).expect("a mean row");
    let cells: Vec<f64> = row.split('|').filter_map(|cell| cell.trim().parse().ok()).collect();
    (cells[0], cells[1])
}

fn mean(values: &[String]) -> f64 {
    values.iter().map(|v| v.parse::<f64>().unwrap()).sum::<f64>() / values.len() as f64
}

#[test]
fn a_tiny_model_trains_its_loss_falls_and_the_model_denoises() {
    let infty = infty();
    let data = data(&infty, "data");
    // --ema-decay 0: the exported (EMA) model is the weights of step 40.
    train(&infty, &data, "run", &["--steps", "40", "--checkpoint-every", "20", "--ema-decay", "0"])
        .assert_ok();
    let run = infty.path("run");
    for file in ["run.json", "checkpoint.safetensors", "model.safetensors", "val.csv"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    assert!(std::fs::read(run.join("loss.png")).unwrap().starts_with(b"\x89PNG"));
    let losses = losses(&run);
    assert_eq!(losses.len(), 40);
    let (first, last) = (mean(&losses[..10]), mean(&losses[30..]));
    eprintln!("training loss: first 10 steps {first:.4}, last 10 {last:.4}");
    assert!(last < 0.7 * first, "the loss did not fall: {first} → {last}");
    let val = std::fs::read_to_string(run.join("val.csv")).unwrap();
    assert_eq!(val.lines().count(), 5, "a header and validations at 10, 20, 30, 40:\n{val}");

    // The exported model loads into the network plugin and denoises held-out crops
    // better than predicting zero.
    let table =
        infty.run(&["eval-loss", &data, "run/model.safetensors", "--all", "--crops", "8", "--device", "cpu"]);
    let table = table.assert_ok().stdout_text();
    eprintln!("{table}");
    assert_eq!(table.lines().filter(|l| l.starts_with("| ")).count(), 12, "{table}");
    let (model, zero) = mean_row(&table);
    assert!((0.06..0.1).contains(&zero), "predicting zero scores E‖Tξ‖² ≈ 0.08, got {zero}");
    assert!(model < 0.9 * zero, "the model ({model}) is no better than zero ({zero})");
}

#[test]
fn ctrl_c_saves_a_checkpoint_and_resume_repeats_the_uninterrupted_losses() {
    let infty = infty();
    let data = data(&infty, "data");
    let settings = ["--steps", "24", "--guide", "lowres", "--checkpoint-every", "100"];
    train(&infty, &data, "whole", &settings).assert_ok();

    let mut args = vec!["train", &data, "parts"];
    args.extend(FAST);
    args.extend(settings);
    let child = infty.spawn(&args);
    let log = infty.path("parts/train.csv");
    let started = Instant::now();
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 7 {
        assert!(started.elapsed() < Duration::from_secs(120), "training did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(kill.unwrap().success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped at step"), "{stderr}");
    let stopped_at = losses(&infty.path("parts")).len();
    assert!(stopped_at < 24, "the run finished before Ctrl-C took effect");

    let mut resume = settings.to_vec();
    resume.push("--resume");
    train(&infty, &data, "parts", &resume).assert_ok();
    assert_eq!(losses(&infty.path("parts")), losses(&infty.path("whole")), "stopped at step {stopped_at}");
    let val = |run: &str| std::fs::read_to_string(infty.path(run).join("val.csv")).unwrap();
    assert_eq!(val("parts"), val("whole"));
}

#[test]
fn bad_data_folders_are_refused_or_skipped_as_documented() {
    let infty = infty();
    train(&infty, "absent", "r1", &["--steps", "1"]).assert_refused("cannot read the folder 'absent'");
    std::fs::create_dir(infty.path("empty")).unwrap();
    train(&infty, "empty", "r2", &["--steps", "1"]).assert_refused("no PNG, JPEG or TIFF files in 'empty'");

    std::fs::create_dir(infty.path("small")).unwrap();
    for i in 0..2 {
        let bytes = waves(40, i, 3).encode(ImageFormat::Png);
        std::fs::write(infty.path(&format!("small/s{i}.png")), bytes).unwrap();
    }
    let refused = train(&infty, "small", "r3", &["--steps", "1"]);
    refused.assert_refused("none of the 2 image files in 'small' is usable");
    assert!(refused
        .stderr
        .contains("40x40 pixels (40x40 after --downscale 1) is smaller than the 64x64 crop"));

    // An unreadable file among good ones is skipped with a warning. (This run also
    // trains a mask-guided model: the masked crop and the mask, 4 guide channels.)
    let data = data(&infty, "mixed");
    std::fs::write(Path::new(&data).join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let run = train(&infty, &data, "r4", &["--steps", "2", "--guide", "mask"]);
    run.assert_ok();
    assert!(run.stderr.contains("warning: skipped") && run.stderr.contains("broken.png"), "{}", run.stderr);
    let run_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(infty.path("r4/run.json")).unwrap()).unwrap();
    assert_eq!(run_file["model"]["guide"], "mask");
    assert_eq!(run_file["model"]["guide_channels"], 4);
    let held = run_file["held_out"].as_array().unwrap().len();
    assert!((1..5).contains(&held), "some but not all of the 5 usable images held out: {run_file}");
    let held_out = run_file["held_out"][0].as_str().unwrap();
    assert!(Path::new(&data).join(held_out).is_file(), "held-out images are named inside DATA: {held_out}");

    train(&infty, &data, "r4", &["--steps", "3"]).assert_refused("'r4' already holds a run");
    train(&infty, &data, "r5", &["--steps", "3", "--resume"]).assert_refused("no run to resume in 'r5'");
    train(&infty, &data, "r6", &["--config", "none.json"]).assert_refused("'none.json' is no preset");
}

#[test]
fn the_default_model_loads_and_denoises_better_than_zero() {
    let infty = infty();
    let data = data(&infty, "data");
    let model = infty_e2e::workspace_root().join("models/default-sr/model.safetensors");
    let model = model.display().to_string();
    let args = ["eval-loss", &data, &model, "--all", "--crops", "4", "--device", "cpu"];
    let table = infty.run(&args).assert_ok().stdout_text();
    let (model, zero) = mean_row(&table);
    eprintln!("default model on generated waves: {model} against {zero} for predicting zero");
    assert!(model < 0.25 * zero, "{table}");
}

#[test]
fn fine_tuning_starts_from_a_model_with_another_guide() {
    let infty = infty();
    let data = data(&infty, "data");
    let sr = infty_e2e::workspace_root().join("models/default-sr/model.safetensors").display().to_string();
    // One step from the default model, its lowres guide widened to a mask guide.
    let run =
        train(&infty, &data, "ft", &["--guide", "mask", "--init", &sr, "--steps", "1", "--ema-decay", "0"]);
    run.assert_ok();
    assert!(run.stderr.contains("418 tensors copied, 1 of another shape copied in part"), "{}", run.stderr);
    let run_json = std::fs::read_to_string(infty.path("ft/run.json")).unwrap();
    assert!(run_json.contains(r#""init": ""#) && run_json.contains("default-sr"), "{run_json}");
    // The record holds on another machine: the file relative to the run folder.
    let run_file: serde_json::Value = serde_json::from_str(&run_json).unwrap();
    let init = run_file["settings"]["init"].as_str().unwrap();
    assert!(Path::new(init).is_relative() && infty.path("ft").join(init).is_file(), "{run_json}");
    train(&infty, &data, "fresh", &["--guide", "mask", "--steps", "1", "--ema-decay", "0"]).assert_ok();
    let loss = |model: &str| {
        let args = ["eval-loss", &data, model, "--all", "--crops", "4", "--device", "cpu"];
        mean_row(&infty.run(&args).assert_ok().stdout_text()).0
    };
    let (tuned, fresh) = (loss("ft/model.safetensors"), loss("fresh/model.safetensors"));
    eprintln!("held-out loss after one step: from the default model {tuned}, fresh {fresh}");
    assert!(tuned < 0.5 * fresh, "starting from the default model did not help: {tuned} vs {fresh}");

    let not_a_model = infty.path("data/w0.png").display().to_string();
    train(&infty, &data, "bad", &["--guide", "mask", "--init", &not_a_model, "--steps", "1"])
        .assert_refused("init");
}
