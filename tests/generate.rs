//! Generation through the real binary: `infty train-latent` on a tiny trained decoder
//! (resumed exactly), then `infty sample` from its prior at the model's size and
//! above, in files or a grid, deterministic for a seed; z from an image, the golden
//! tiny model, a sampler from another plugin; and bad input refused with exit 2 and no output.

use image::ImageFormat;
use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, Infty};

fn infty() -> Infty {
    let plugins = [
        "infty_train",
        "infty_net",
        "infty_mollifier",
        "infty_samplers",
        "infty_generate",
        "infty_dpm_solver",
    ];
    Infty::with_plugins(&plugins.map(|p| artifacts().plugin(p)))
}

/// Smooth colour waves, different per image.
fn waves(size: u32, index: u32) -> Image {
    let (a, b) = (0.05 + 0.03 * index as f32, 0.11 - 0.02 * index as f32);
    let samples = (0..size * size * 3)
        .map(|i| {
            let (p, c) = (i / 3, i % 3);
            let (x, y) = ((p % size) as f32, (p / size) as f32);
            (((a * x + b * y + c as f32).sin() * 0.45 + 0.5) * 255.0) as u8
        })
        .collect();
    Image { width: size, height: size, channels: 3, samples: Samples::U8(samples) }
}

/// A data folder of four images and a decoder trained on it for two steps:
/// `data/` and `run/model.safetensors`.
fn decoder(infty: &Infty) {
    std::fs::create_dir(infty.path("data")).unwrap();
    for i in 0..4 {
        std::fs::write(infty.path(&format!("data/w{i}.png")), waves(80, i).encode(ImageFormat::Png)).unwrap();
    }
    let args =
        ["train", "data", "run", "--steps", "2", "--batch", "2", "--val-crops", "2", "--device", "cpu"];
    infty.run(&args).assert_ok();
}

/// `infty train-latent` with a small prior, `extra` appended.
fn train_latent(infty: &Infty, run: &str, extra: &[&str]) -> infty_e2e::Run {
    let mut args = vec![
        "train-latent",
        "run/model.safetensors",
        "data",
        run,
        "--hid-channels",
        "32",
        "--num-layers",
        "4",
        "--time-emb-channels",
        "16",
        "--crops-per-image",
        "4",
        "--batch",
        "16",
        "--learning-rate",
        "0.002",
        "--val-fraction",
        "0.25",
        "--val-every",
        "10",
        "--device",
        "cpu",
    ];
    args.extend(extra);
    infty.run(&args)
}

fn column(infty: &Infty, file: &str, index: usize) -> Vec<String> {
    let text = std::fs::read_to_string(infty.path(file)).unwrap();
    text.lines().skip(1).map(|l| l.split(',').nth(index).unwrap().to_string()).collect()
}

fn sample(infty: &Infty, out: &str, extra: &[&str]) -> infty_e2e::Run {
    let mut args = vec![
        "sample",
        "run/model.safetensors",
        out,
        "--steps",
        "4",
        "--latent-steps",
        "20",
        "--device",
        "cpu",
    ];
    args.extend(extra);
    infty.run(&args)
}

/// A bundled model's file.
fn root_model(name: &str) -> String {
    infty_e2e::workspace_root().join("models").join(name).join("model.safetensors").display().to_string()
}

fn size_of(infty: &Infty, name: &str) -> (u32, u32) {
    let image = Image::load(&infty.path(name));
    (image.width, image.height)
}

fn bytes(infty: &Infty, name: &str) -> Vec<u8> {
    std::fs::read(infty.path(name)).unwrap()
}

#[test]
fn a_prior_trains_resumes_exactly_and_samples_at_any_size() {
    let infty = infty();
    decoder(&infty);
    train_latent(&infty, "prior", &["--steps", "60"]).assert_ok();
    for file in ["prior.safetensors", "checkpoint.safetensors", "latents.safetensors", "run.json", "loss.png"]
    {
        assert!(infty.path(&format!("prior/{file}")).is_file(), "prior/{file}");
    }
    let norm: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(infty.path("prior/normalisation.json")).unwrap())
            .unwrap();
    assert!(
        norm["mean"].as_array().unwrap().iter().any(|m| m.as_f64() != Some(0.0)),
        "the true mean is recorded"
    );
    let val = column(&infty, "prior/val.csv", 1);
    assert_eq!(val.len(), 6, "a held-out row every 10 steps");
    let losses: Vec<f64> = column(&infty, "prior/train.csv", 1).iter().map(|l| l.parse().unwrap()).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    assert!(mean(&losses[50..]) < mean(&losses[..10]), "the L1 loss falls: {losses:?}");

    train_latent(&infty, "split", &["--steps", "30"]).assert_ok();
    train_latent(&infty, "split", &["--steps", "60", "--resume"]).assert_ok();
    assert_eq!(column(&infty, "split/train.csv", 1), column(&infty, "prior/train.csv", 1), "resumed losses");

    std::fs::copy(infty.path("prior/prior.safetensors"), infty.path("run/prior.safetensors")).unwrap();
    sample(&infty, "a.png", &["--count", "2"]).assert_ok();
    sample(&infty, "b.png", &["--count", "2"]).assert_ok();
    sample(&infty, "c.png", &["--count", "2", "--seed", "7"]).assert_ok();
    let train_size = size_of(&infty, "a-0000.png").0;
    assert_eq!(size_of(&infty, "a-0001.png"), (train_size, train_size));
    assert_eq!(bytes(&infty, "a-0001.png"), bytes(&infty, "b-0001.png"), "the same seed, the same sample");
    assert_ne!(bytes(&infty, "a-0000.png"), bytes(&infty, "a-0001.png"), "two samples differ");
    assert_ne!(bytes(&infty, "a-0001.png"), bytes(&infty, "c-0001.png"), "another seed, another sample");

    let double = (2 * train_size).to_string();
    sample(&infty, "big.tif", &["--size", &double]).assert_ok();
    assert_eq!(size_of(&infty, "big.tif"), (2 * train_size, 2 * train_size));
    // A sampler from another plugin (the SDK's example) generates like ours.
    sample(&infty, "grid.png", &["--count", "3", "--grid", "--sampler", "dpm-solver-2m"]).assert_ok();
    assert_eq!(size_of(&infty, "grid.png"), (2 * train_size, 2 * train_size), "3 samples in 2 columns");
    sample(&infty, "rec.png", &["--z-from", "data/w1.png", "--sampler", "ddpm"]).assert_ok();
    assert_eq!(size_of(&infty, "rec.png"), (train_size, train_size));
}

#[test]
fn the_bundled_model_generates_at_twice_its_size() {
    let infty = infty();
    let model = root_model("default-gen");
    let args = [
        "sample",
        &model,
        "out.png",
        "--size",
        "128",
        "--count",
        "2",
        "--steps",
        "4",
        "--latent-steps",
        "50",
    ];
    infty.run(&[&args[..], &["--device", "cpu"]].concat()).assert_ok();
    assert_eq!(size_of(&infty, "out-0001.png"), (128, 128));
}

#[test]
fn the_golden_tiny_model_generates_from_an_image_latent() {
    let infty = infty();
    std::fs::write(infty.path("in.png"), waves(96, 2).encode(ImageFormat::Png)).unwrap();
    let golden = infty_golden::golden_dir().join("tiny_model.safetensors");
    let size = infty_golden::Golden::load("tiny_forward.safetensors").manifest()["config"]["img_size"]
        .as_u64()
        .unwrap();
    let model = golden.display().to_string();
    let args = ["sample", &model, "out.png", "--z-from", "in.png", "--steps", "5", "--device", "cpu"];
    infty.run(&args).assert_ok();
    assert_eq!(size_of(&infty, "out.png"), (size as u32, size as u32));
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_written() {
    let infty = infty();
    decoder(&infty);
    sample(&infty, "none.png", &[]).assert_refused("has no latent prior beside it");
    for (size, message) in
        [("0", "is not a side in pixels"), ("-3", "is not a side in pixels"), ("1000000", "GiB")]
    {
        sample(&infty, "none.png", &["--z-from", "data/w0.png", "--size", size]).assert_refused(message);
    }
    // Only an unguided model can generate.
    let guided = root_model("default-sr");
    let args = ["sample", &guided, "none.png", "--z-from", "data/w0.png", "--device", "cpu"];
    infty.run(&args).assert_refused("reads a guide field");
    sample(&infty, "none.gif", &["--z-from", "data/w0.png"]).assert_refused("cannot tell the format");
    sample(&infty, "no/such/none.png", &["--z-from", "data/w0.png"]).assert_refused("does not exist");
    std::fs::write(infty.path("small.png"), waves(16, 0).encode(ImageFormat::Png)).unwrap();
    sample(&infty, "none.png", &["--z-from", "small.png"]).assert_refused("must be at least that large");

    // A prior trained on the golden tiny model's latents has another z size.
    let golden = infty_golden::golden_dir().join("tiny_model.safetensors").display().to_string();
    let args = [
        "train-latent",
        &golden,
        "data",
        "other",
        "--steps",
        "2",
        "--hid-channels",
        "16",
        "--num-layers",
        "3",
        "--time-emb-channels",
        "8",
        "--crops-per-image",
        "2",
        "--batch",
        "4",
        "--device",
        "cpu",
    ];
    infty.run(&args).assert_ok();
    sample(&infty, "none.png", &["--prior", "other/prior.safetensors"]).assert_refused("the decoder's z has");
    sample(&infty, "none.png", &["--prior", "run/model.safetensors"]).assert_refused("is not infty-latent/1");
    infty.assert_no_output("none.png");
}

/// Reference-format checkpoints (`torch.save` dicts with the reference's keys and names):
/// the golden tiny decoder and encoder, and a latent prior of the decoder's z size whose
/// weights are drawn here, with load_latents' cache.
const MAKE_REFERENCE_FILES: &str = r#"
import sys, torch
from safetensors.torch import load_file
g = load_file(sys.argv[1])
part = lambda p: {k[len(p):]: v for k, v in g.items() if k.startswith(p)}
decoder, encoder = part("decoder."), part("encoder.")
torch.save({"global_step": 5, "model_state_dict": decoder, "model_ema_state_dict": decoder,
            "encoder_state_dict": encoder}, sys.argv[2])
z, hid, temb = int(sys.argv[5]), 24, 16
torch.manual_seed(0)
shapes = {"time_embed.0.weight": (z, temb), "time_embed.0.bias": (z,), "time_embed.2.weight": (z, z),
          "time_embed.2.bias": (z,), "out_layer.weight": (z, hid + z), "out_layer.bias": (z,)}
for name, inputs in (("in_layer", z), ("layers.0", hid + z)):
    shapes |= {f"{name}.linear.weight": (hid, inputs), f"{name}.linear.bias": (hid,),
               f"{name}.cond_layers.1.weight": (hid, z), f"{name}.cond_layers.1.bias": (hid,),
               f"{name}.norm.weight": (hid,), f"{name}.norm.bias": (hid,)}
prior = {k: torch.randn(s) * 0.1 for k, s in shapes.items()}
torch.save({"global_step": 9, "model_state_dict": prior, "model_ema_state_dict": prior}, sys.argv[3])
torch.save((torch.randn(6, z), torch.randn(2, z), torch.zeros(1, z), torch.rand(1, z) + 0.5), sys.argv[4])
"#;

#[test]
fn reference_checkpoints_convert_and_generate() {
    let infty = infty();
    let root = infty_e2e::workspace_root();
    let golden = infty_golden::Golden::load("tiny_forward.safetensors");
    let z_dim = golden.manifest()["config"]["z_dim"].to_string();
    std::fs::write(infty.path("tiny.json"), golden.manifest()["config"].to_string()).unwrap();
    let weights = infty_golden::golden_dir().join("tiny_model.safetensors");
    let python = root.join(".torch/venv/bin/python");
    let files = ["checkpoint.pkl", "latent_checkpoint.pkl", "latents.pkl"].map(|f| infty.path(f));
    let made = std::process::Command::new(python)
        .args(["-c", MAKE_REFERENCE_FILES])
        .arg(&weights)
        .args(&files)
        .arg(&z_dim)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let convert = |args: &[&std::path::Path]| {
        let run = std::process::Command::new(root.join("scripts/convert-reference-checkpoint"))
            .args(args)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    };
    let (model, prior) = (infty.path("model.safetensors"), infty.path("prior.safetensors"));
    convert(&[&files[0], &model, std::path::Path::new("--config"), &infty.path("tiny.json")]);
    convert(&[&files[1], &prior, std::path::Path::new("--latents"), &files[2]]);
    let args = ["sample", "model.safetensors", "out.png", "--count", "2", "--grid", "--steps", "4"];
    infty.run(&[&args[..], &["--latent-steps", "20", "--device", "cpu"]].concat()).assert_ok();
    let size = golden.manifest()["config"]["img_size"].as_u64().unwrap() as u32;
    assert_eq!(size_of(&infty, "out.png"), (2 * size, size));
}
