//! `scripts/convert-reference-checkpoint` on a checkpoint built here with the
//! reference's structure (`torch.save` of model, EMA, encoder and Adam state dicts):
//! names and values round-trip exactly, the converted file loads and denoises as the
//! reference, and training resumes at its step.

use std::path::{Path, PathBuf};
use std::process::Command;

use infty_golden::Golden;
use infty_net::checkpoint;
use infty_net::NetModel;
use infty_sdk::model::new_model_box;
use infty_sdk::{Model, ModelInput, Points};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A reference-style checkpoint.pkl: the golden weights as the EMA decoder, the same
/// plus 0.01 as the raw decoder, Adam moments for every other parameter, step 1234.
const MAKE_PKL: &str = r#"
import sys, torch
from safetensors.torch import load_file
g = load_file(sys.argv[1])
part = lambda p: {k[len(p):]: v for k, v in g.items() if k.startswith(p)}
ema, encoder = part("decoder."), part("encoder.")
raw = {k: v + 0.01 for k, v in ema.items()}
params = [v for k, v in raw.items() if k != "uno_coords"] + [v for k, v in encoder.items() if k != "uno_coords"]
state = {i: {"step": torch.tensor(1234.0), "exp_avg": torch.full_like(p, 0.5), "exp_avg_sq": torch.full_like(p, 0.25)}
         for i, p in enumerate(params) if i % 2 == 0}
optimizer = {"state": state, "param_groups": [{"params": list(range(len(params))), "lr": 1e-4}]}
torch.save({"global_step": 1234, "model_state_dict": raw, "model_ema_state_dict": ema,
            "encoder_state_dict": encoder, "optimizer_state_dict": optimizer}, sys.argv[2])
"#;

fn convert(pkl: &Path, out: &Path, config: &Path) -> std::process::Output {
    Command::new(root().join("scripts/convert-reference-checkpoint"))
        .args([pkl, out, Path::new("--config"), config])
        .output()
        .expect("the converter runs")
}

#[test]
fn a_reference_checkpoint_converts_loads_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let golden_path = infty_golden::golden_dir().join("tiny_model.safetensors");
    let pkl = dir.path().join("checkpoint.pkl");
    let python = root().join(".torch/venv/bin/python");
    let made = Command::new(&python).args(["-c", MAKE_PKL]).arg(&golden_path).arg(&pkl).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let golden = Golden::load("tiny_forward.safetensors");
    let config = dir.path().join("tiny.json");
    std::fs::write(&config, golden.manifest()["config"].to_string()).unwrap();

    let out = dir.path().join("converted.safetensors");
    let run = convert(&pkl, &out, &config);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let original = checkpoint::read(&golden_path).unwrap();
    let converted = checkpoint::read(&out).unwrap();
    for (name, t) in &original.tensors {
        let rest = name.strip_prefix("decoder.");
        let expect_raw = rest.map_or(t.shallow_clone(), |_| t + 0.01);
        assert!(converted.tensors[name].equal(&expect_raw), "{name}");
        if let Some(rest) = rest {
            assert!(converted.tensors[&format!("ema.{rest}")].equal(t), "ema.{rest}");
        }
    }
    let moments = converted.tensors.keys().filter(|k| k.starts_with("optim.m.")).count();
    assert!(moments > 10, "{moments} Adam moments converted");
    assert_eq!(converted.metadata["format"], "infty-net/1");

    // Inference reads the EMA decoder: the golden weights, so the golden output.
    let spec = NetModel::spec();
    let load = |mode: &str| {
        let params = spec
            .resolve([
                ("checkpoint", out.to_str().unwrap()),
                ("device", "cpu"),
                ("precision", "fp32"),
                ("mode", mode),
            ])
            .unwrap();
        new_model_box::<NetModel>(&params).unwrap()
    };
    let net = load("infer");
    let (x, t, z) = (golden.f32("dense_x").data, golden.f32("t").data, golden.f32("z").data);
    let mut eps = vec![0.0; x.len()];
    let input = ModelInput {
        at: Points::dense(32, 2),
        x: x[..].into(),
        guide: Default::default(),
        t: t[..].into(),
        z: z[..].into(),
    };
    net.denoise(input, eps.as_mut_slice().into()).unwrap();
    let want = golden.f32("dense_out").data;
    let err = eps.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err <= 2e-5, "converted checkpoint: max abs error {err}");
    assert_eq!(load("train").info().train_step, 1234);
}

#[test]
fn the_converter_refuses_what_is_not_a_reference_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("checkpoint.pkl");
    std::fs::write(&junk, "not a pickle").unwrap();
    let out = dir.path().join("out.safetensors");
    let run = convert(&junk, &out, Path::new("ffhq128"));
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot be read as a PyTorch checkpoint"));
    let run = convert(&junk, &out, Path::new("ffhq512"));
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("--config ffhq512: not a preset (ffhq128, ffhq256, tiny)"));
    assert!(!out.exists());
}

/// A reference latent_checkpoint.pkl from the golden prior (`model.*` of
/// latent.safetensors) as the EMA, the same plus 0.01 as the raw weights, AdamW moments,
/// step 77; and load_latents' cache (latents, val latents, zero mean, the golden std).
const MAKE_LATENT_PKL: &str = r#"
import sys, torch
from safetensors.torch import load_file
g = load_file(sys.argv[1])
ema = {k[len("model."):]: v for k, v in g.items() if k.startswith("model.")}
raw = {k: v + 0.01 for k, v in ema.items()}
state = {i: {"step": torch.tensor(77.0), "exp_avg": torch.full_like(p, 0.5), "exp_avg_sq": torch.full_like(p, 0.25)}
         for i, p in enumerate(raw.values())}
optimizer = {"state": state, "param_groups": [{"params": list(range(len(raw))), "lr": 1e-4}]}
torch.save({"global_step": 77, "model_state_dict": raw, "model_ema_state_dict": ema,
            "optimizer_state_dict": optimizer}, sys.argv[2])
std = g["norm_std"]
torch.save((torch.randn(8, std.shape[1]), torch.randn(4, std.shape[1]), torch.zeros_like(std), std), sys.argv[3])
"#;

#[test]
fn a_reference_latent_prior_converts_with_its_normalisation() {
    use infty_net::LatentModel;
    let dir = tempfile::tempdir().unwrap();
    let golden_path = infty_golden::golden_dir().join("latent.safetensors");
    let (pkl, latents) = (dir.path().join("latent_checkpoint.pkl"), dir.path().join("latents.pkl"));
    let python = root().join(".torch/venv/bin/python");
    let made = Command::new(&python)
        .args(["-c", MAKE_LATENT_PKL])
        .args([&golden_path, &pkl, &latents])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = dir.path().join("prior.safetensors");
    let run = Command::new(root().join("scripts/convert-reference-checkpoint"))
        .args([&pkl, &out, Path::new("--latents"), &latents])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let golden = Golden::load("latent.safetensors");
    let load = |mode: &str| {
        let given = [("checkpoint", out.to_str().unwrap()), ("device", "cpu"), ("mode", mode)];
        new_model_box::<LatentModel>(&LatentModel::spec().resolve(given).unwrap()).unwrap()
    };
    let prior = load("infer");
    let info = prior.info();
    let config: serde_json::Value = serde_json::from_str(&info.config_json).unwrap();
    let std: Vec<f32> = serde_json::from_value(config["normalisation"]["std"].clone()).unwrap();
    assert_eq!(std, golden.f32("norm_std").data, "the latents' std");
    assert_eq!(config["num_layers"], golden.manifest()["latent"]["config"]["num_layers"]);
    let (x, t) = (golden.f32("fwd_x"), golden.i64("fwd_t"));
    let t: Vec<f32> = t.data.iter().map(|&t| t as f32).collect();
    let input = ModelInput {
        at: Points::dense(1, t.len() as u32),
        x: x.data[..].into(),
        guide: Default::default(),
        t: t[..].into(),
        z: Default::default(),
    };
    let mut eps = vec![0.0; x.data.len()];
    prior.denoise(input, eps.as_mut_slice().into()).unwrap();
    let err = eps.iter().zip(&golden.f32("fwd_out").data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(err <= golden.tolerance("fwd_out"), "the converted EMA prior: max abs error {err}");
    assert_eq!(load("train").info().train_step, 77);
}
