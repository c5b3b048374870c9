//! The `latent` model through the SDK's checked `Model` interface: a vector model whose
//! items are single points, trained with the L1 loss on ε, saved with its config and
//! normalisation, resumed exactly, and refusing what it cannot take.

use infty_net::LatentModel;
use infty_sdk::model::new_model_box;
use infty_sdk::{Model, ModelBox, ModelInput, PluginError, Points, TrainBatch};

const CHANNELS: usize = 6;

fn prior(params: &[(&str, &str)]) -> Result<ModelBox, PluginError> {
    let small = [("hid-channels", "32"), ("num-layers", "4"), ("time-emb-channels", "16"), ("device", "cpu")];
    let spec = LatentModel::spec();
    let given: Vec<(&str, &str)> = small
        .iter()
        .copied()
        .filter(|(k, _)| !params.iter().any(|(p, _)| p == k))
        .chain(params.iter().copied())
        .collect();
    new_model_box::<LatentModel>(&spec.resolve(given)?)
}

/// A deterministic batch: x_t, t and the noise of `batch` items, from a simple
/// generator so the test needs no RNG crate.
fn batch(seed: u64, batch: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let x0: Vec<f32> = (0..batch * CHANNELS).map(|i| if i % 2 == 0 { 0.8 } else { -0.5 }).collect();
    let noise: Vec<f32> = (0..batch * CHANNELS).map(|_| next() * 1.7).collect();
    let t: Vec<f32> = (0..batch).map(|_| ((next() + 1.0) * 499.5).floor()).collect();
    let x_t = (0..batch * CHANNELS)
        .map(|i| {
            let ab = 0.992f32.powf(t[i / CHANNELS] + 1.0);
            ab.sqrt() * x0[i] + (1.0 - ab).sqrt() * noise[i]
        })
        .collect();
    (x_t, t, noise)
}

fn train_step(model: &ModelBox, seed: u64) -> f64 {
    let (x, t, noise) = batch(seed, 16);
    let at = Points::dense(1, 16);
    let input = ModelInput {
        at,
        x: x.as_slice().into(),
        guide: Default::default(),
        t: t.as_slice().into(),
        z: Default::default(),
    };
    let batch =
        TrainBatch { input, target: noise.as_slice().into(), encoder_at: at, encoder_x: x.as_slice().into() };
    model.train_step(batch).into_result().unwrap().loss
}

fn denoise(model: &ModelBox, x: &[f32], t: &[f32]) -> Result<Vec<f32>, PluginError> {
    let at = Points::dense(1, t.len() as u32);
    let input = ModelInput { at, x: x.into(), guide: Default::default(), t: t.into(), z: Default::default() };
    let mut eps = vec![0.0; x.len()];
    model.denoise(input, eps.as_mut_slice().into()).into_result()?;
    Ok(eps)
}

#[test]
fn a_prior_learns_resumes_exactly_and_keeps_its_normalisation() {
    let dir = tempfile::tempdir().unwrap();
    let norm = dir.path().join("norm.json");
    let std: Vec<f32> = (0..CHANNELS).map(|i| 1.0 + i as f32).collect();
    std::fs::write(&norm, serde_json::json!({"mean": vec![0.5; CHANNELS], "std": std}).to_string()).unwrap();
    let channels = CHANNELS.to_string();
    let given = [
        ("channels", channels.as_str()),
        ("mode", "train"),
        ("learning-rate", "0.003"),
        ("normalisation", norm.to_str().unwrap()),
    ];
    let model = prior(&given).unwrap();
    let info = model.info();
    assert_eq!(
        (info.channels as usize, info.z_dim, info.noise_schedule.as_str()),
        (CHANNELS, 0, "const0.008")
    );
    let first: f64 = (0..4).map(|s| train_step(&model, s)).sum::<f64>() / 4.0;
    for s in 4..300 {
        train_step(&model, s);
    }
    let last: f64 = (300..304).map(|s| train_step(&model, s)).sum::<f64>() / 4.0;
    eprintln!("L1 loss: first {first:.3}, last {last:.3}");
    assert!(last < 0.8 * first, "the L1 loss fell from {first} only to {last}");

    let path = dir.path().join("prior.safetensors");
    model.save(path.to_str().unwrap().into()).into_result().unwrap();
    let resumed = prior(&[("checkpoint", path.to_str().unwrap()), ("mode", "train")]).unwrap();
    assert_eq!(resumed.info().train_step, model.info().train_step);
    let config: serde_json::Value = serde_json::from_str(&resumed.info().config_json).unwrap();
    assert_eq!(config["normalisation"]["std"][CHANNELS - 1], serde_json::json!(CHANNELS as f32));
    assert_eq!(config["normalisation"]["mean"][0], serde_json::json!(0.5));
    for s in 304..310 {
        assert_eq!(train_step(&resumed, s), train_step(&model, s), "step {s} after resuming");
    }
    let (x, t, _) = batch(99, 3);
    let infer = prior(&[("checkpoint", path.to_str().unwrap())]).unwrap();
    let eps = denoise(&infer, &x, &t).unwrap();
    assert!(eps.iter().all(|e| e.is_finite()));
    assert_ne!(eps, denoise(&resumed, &x, &t).unwrap(), "inference reads the EMA weights, not the raw ones");
}

#[test]
fn what_a_prior_cannot_take_is_refused() {
    let missing = prior(&[]).err().unwrap();
    assert!(missing.message.contains("--channels"), "{missing}");
    let dir = tempfile::tempdir().unwrap();
    let norm = dir.path().join("norm.json");
    std::fs::write(&norm, r#"{"mean": [0, 0], "std": [1, 0]}"#).unwrap();
    let bad = prior(&[("channels", "2"), ("normalisation", norm.to_str().unwrap())]).err().unwrap();
    assert!(bad.message.contains("std 1"), "{bad}");

    let model = prior(&[("channels", "6")]).unwrap();
    let four_points = Points::dense(2, 1);
    let x = vec![0.0; 6 * 4];
    let input = ModelInput {
        at: four_points,
        x: x.as_slice().into(),
        guide: Default::default(),
        t: [3.0].as_slice().into(),
        z: Default::default(),
    };
    let mut eps = vec![0.0; x.len()];
    let err = model.denoise(input, eps.as_mut_slice().into()).into_result().unwrap_err();
    assert!(err.message.contains("one vector per item"), "{err}");
    let mut z = vec![0.0; 0];
    let err = model
        .encode(Points::dense(1, 1), [0.0; 6].as_slice().into(), z.as_mut_slice().into())
        .into_result()
        .unwrap_err();
    assert!(err.message.contains("no encoder"), "{err}");

    let decoder = dir.path().join("decoder.safetensors");
    let net = infty_sdk::model::new_model_box::<infty_net::NetModel>(
        &infty_net::NetModel::spec().resolve([("device", "cpu")]).unwrap(),
    )
    .unwrap();
    net.save(decoder.to_str().unwrap().into()).into_result().unwrap();
    let err = prior(&[("checkpoint", decoder.to_str().unwrap())]).err().unwrap();
    assert!(err.message.contains("infty-net") && err.message.contains("infty-latent"), "{err}");
}
