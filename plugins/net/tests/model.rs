//! The `net` model through the SDK's checked `Model` interface: reference checkpoints,
//! denoise/encode on dense and sparse points, the VJP against finite differences,
//! training and exact save → load → resume, and refused bad input.

use infty_golden::Golden;
use infty_net::checkpoint;
use infty_net::NetModel;
use infty_sdk::model::new_model_box;
use infty_sdk::schedule::{BetaSchedule, Schedule};
use infty_sdk::{Model, ModelBox, ModelInput, Point, Points, TrainBatch};
use tch::Tensor;

/// The model with `params`, in float32 unless they name a precision: these tests check
/// exact parity and round trips.
fn model(params: &[(&str, &str)]) -> Result<ModelBox, infty_sdk::PluginError> {
    let spec = NetModel::spec();
    let fp32 = (!params.iter().any(|(k, _)| *k == "precision")).then_some(("precision", "fp32"));
    new_model_box::<NetModel>(&spec.resolve(params.iter().copied().chain(fp32))?)
}

/// The golden tiny network, its config given as a JSON file (the state dict has none).
fn golden_model(dir: &tempfile::TempDir) -> ModelBox {
    golden_model_in(dir, "fp32")
}

fn golden_model_in(dir: &tempfile::TempDir, precision: &str) -> ModelBox {
    let golden = Golden::load("tiny_forward.safetensors");
    let config = dir.path().join("tiny.json");
    std::fs::write(&config, golden.manifest()["config"].to_string()).unwrap();
    let weights = infty_golden::golden_dir().join("tiny_model.safetensors");
    model(&[
        ("checkpoint", weights.to_str().unwrap()),
        ("config", config.to_str().unwrap()),
        ("device", "cpu"),
        ("precision", precision),
    ])
    .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// `(B, N, C)` golden samples as the channel-major `(B, C, N)` buffers of the ABI.
fn channel_major(t: &infty_golden::Tensor<f32>) -> Vec<f32> {
    let (b, n, c) = (t.shape[0], t.shape[1], t.shape[2]);
    (0..b * c * n).map(|i| t.data[(i / (c * n)) * n * c + (i % n) * c + (i / n) % c]).collect()
}

fn points_of(list: &infty_golden::Tensor<i64>, size: i64) -> Vec<Point> {
    list.data.iter().map(|&p| Point { x: (p % size) as u32, y: (p / size) as u32 }).collect()
}

#[test]
fn a_reference_state_dict_denoises_and_encodes_as_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let net = golden_model(&dir);
    let g = Golden::load("tiny_forward.safetensors");
    let info = net.info();
    let dense = g.f32("dense_x");
    let (b, c, size) = (dense.shape[0] as u32, dense.shape[1] as u32, dense.shape[3] as u32);
    let z_dim = g.f32("z").shape[1] as u32;
    assert_eq!((info.channels, info.z_dim, info.train_size, info.device.as_str()), (c, z_dim, size, "cpu"));
    let (t, z) = (g.f32("t").data, g.f32("z").data);
    let x = dense.data;
    let mut eps = vec![0.0; x.len()];
    let input = ModelInput {
        at: Points::dense(size, b),
        x: x.as_slice().into(),
        guide: Default::default(),
        t: t.as_slice().into(),
        z: z.as_slice().into(),
    };
    net.denoise(input, eps.as_mut_slice().into()).unwrap();
    assert!(max_diff(&eps, &g.f32("dense_out").data) <= 2e-5);

    let points = points_of(&g.i64("sample_lst"), i64::from(size));
    let x = channel_major(&g.f32("sparse_x"));
    let mut eps = vec![0.0; x.len()];
    let input = ModelInput { at: Points::sparse(size, b, &points), x: x.as_slice().into(), ..input };
    net.denoise(input, eps.as_mut_slice().into()).unwrap();
    assert!(max_diff(&eps, &channel_major(&g.f32("sparse_out"))) <= 2e-5);

    let mut z = vec![0.0; (b * z_dim) as usize];
    net.encode(Points::dense(size, b), g.f32("enc_x").data.as_slice().into(), z.as_mut_slice().into())
        .unwrap();
    assert!(max_diff(&z, &g.f32("enc_z").data) <= 2e-5);
    let points = points_of(&g.i64("enc_sparse_lst"), i64::from(size));
    let x = channel_major(&g.f32("enc_sparse_x"));
    net.encode(Points::sparse(size, b, &points), x.as_slice().into(), z.as_mut_slice().into()).unwrap();
    assert!(max_diff(&z, &g.f32("enc_sparse_z").data) <= 2e-5);
}

/// `precision` reaches the network through the model's parameters (the deviation per
/// golden tensor is checked in golden.rs).
#[test]
fn bf16_stays_close_to_fp32() {
    let dir = tempfile::tempdir().unwrap();
    let g = Golden::load("tiny_forward.safetensors");
    let dense = g.f32("dense_x");
    let (b, size) = (dense.shape[0] as u32, dense.shape[3] as u32);
    let (t, z) = (g.f32("t").data, g.f32("z").data);
    let eps_in = |precision: &str| {
        let net = golden_model_in(&dir, precision);
        let mut eps = vec![0.0; dense.data.len()];
        let input = ModelInput {
            at: Points::dense(size, b),
            x: dense.data.as_slice().into(),
            guide: Default::default(),
            t: t.as_slice().into(),
            z: z.as_slice().into(),
        };
        net.denoise(input, eps.as_mut_slice().into()).unwrap();
        eps
    };
    let (fp32, bf16) = (eps_in("fp32"), eps_in("bf16"));
    let rms = |v: &mut dyn Iterator<Item = f32>| {
        let (sum, n) = v.fold((0.0f64, 0usize), |(s, n), x| (s + f64::from(x * x), n + 1));
        (sum / n as f64).sqrt()
    };
    let scale = rms(&mut fp32.iter().copied());
    let error = rms(&mut fp32.iter().zip(&bf16).map(|(a, b)| a - b));
    // bf16 keeps 8 significant bits (a relative step of 2⁻⁸ ≈ 0.4%); through a dozen
    // layers the output may drift by a few times that, never by a tenth of its size.
    assert!(error < 0.03 * scale, "bf16 differs from fp32 by {error} RMS (output RMS {scale})");
    assert!(error > 0.0, "bf16 gave exactly the fp32 output: it did not run in bf16");
}

/// Deterministic pseudo-random samples in [-1, 1].
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[test]
fn the_vjp_matches_finite_differences() {
    let dir = tempfile::tempdir().unwrap();
    for (prediction, net) in [("eps", golden_model(&dir)), ("v", fresh_model(&dir, "v"))] {
        let (analytic, numeric) = directional_derivatives(&net);
        eprintln!("{prediction}: directional derivative: vjp {analytic:.6}, finite differences {numeric:.6}");
        assert!((analytic - numeric).abs() <= 2e-3 * analytic.abs().max(1.0), "{analytic} vs {numeric}");
    }
}

/// A new network of the golden tiny config (seed 0: the same weights every time) that
/// predicts `prediction` (eps or v).
fn fresh_model(dir: &tempfile::TempDir, prediction: &str) -> ModelBox {
    let mut config = Golden::load("tiny_forward.safetensors").manifest()["config"].clone();
    config["prediction"] = prediction.into();
    let path = dir.path().join(format!("tiny-{prediction}.json"));
    std::fs::write(&path, config.to_string()).unwrap();
    model(&[("config", path.to_str().unwrap()), ("device", "cpu")]).unwrap()
}

/// dᵀ J_ε̂ᵀ v from the VJP, and the same by central differences of vᵀ ε̂ along d, at fixed
/// pseudo-random x, v, d on sparse points of two items.
fn directional_derivatives(net: &ModelBox) -> (f64, f64) {
    let points: Vec<Point> = (0..2u32)
        .flat_map(|_| (0..300u32).map(|i| Point { x: (i * 7) % 32, y: (i * 13 / 7) % 32 }))
        .collect();
    let mut unique = points[..300].to_vec();
    unique.sort_by_key(|p| (p.y, p.x));
    unique.dedup();
    let points: Vec<Point> = unique.iter().chain(&unique).copied().collect();
    let n = unique.len();
    let (x, v, d) = (noise(2 * 3 * n, 1), noise(2 * 3 * n, 2), noise(2 * 3 * n, 3));
    let (t, z) = ([500.0f32, 20.0], noise(16, 4));
    let input = |x: &[f32]| -> f64 {
        let mut eps = vec![0.0; x.len()];
        let at = Points::sparse(32, 2, &points);
        let input =
            ModelInput { at, x: x.into(), guide: Default::default(), t: t[..].into(), z: z[..].into() };
        net.denoise(input, eps.as_mut_slice().into()).unwrap();
        eps.iter().zip(&v).map(|(e, v)| f64::from(e * v)).sum()
    };
    let (mut eps, mut grad) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let at = Points::sparse(32, 2, &points);
    let call =
        ModelInput { at, x: x[..].into(), guide: Default::default(), t: t[..].into(), z: z[..].into() };
    net.denoise_vjp(call, v[..].into(), eps.as_mut_slice().into(), grad.as_mut_slice().into()).unwrap();
    let analytic: f64 = grad.iter().zip(&d).map(|(g, d)| f64::from(g * d)).sum();
    let h = 1e-2f32;
    let shifted = |sign: f32| -> Vec<f32> { x.iter().zip(&d).map(|(x, d)| x + sign * h * d).collect() };
    let numeric = (input(&shifted(1.0)) - input(&shifted(-1.0))) / (2.0 * f64::from(h));
    (analytic, numeric)
}

#[test]
fn a_v_predicting_network_answers_eps() {
    // The same weights read as ε- and as v-predicting: the second's answer is
    // √ᾱ·(the first's) + √(1−ᾱ)·x_t, ᾱ of the config's schedule at each item's t.
    let dir = tempfile::tempdir().unwrap();
    let (eps_net, v_net) = (fresh_model(&dir, "eps"), fresh_model(&dir, "v"));
    let (x, z, t) = (noise(2 * 3 * 32 * 32, 5), noise(16, 6), [900.0f32, 3.0]);
    let answer = |net: &ModelBox| {
        let input = ModelInput {
            at: Points::dense(32, 2),
            x: x[..].into(),
            guide: Default::default(),
            t: t[..].into(),
            z: z[..].into(),
        };
        let mut out = vec![0.0; x.len()];
        net.denoise(input, out.as_mut_slice().into()).unwrap();
        out
    };
    let (raw, eps) = (answer(&eps_net), answer(&v_net));
    let config = Golden::load("tiny_forward.safetensors").manifest()["config"].clone();
    let schedule =
        BetaSchedule::from_name(config["noise_schedule"].as_str().unwrap_or("cosine"), 32).unwrap();
    let steps = config["diffusion_steps"].as_u64().unwrap_or(1000) as usize;
    let alphas_cumprod = Schedule::named(schedule, steps).alphas_cumprod;
    let per_item = x.len() / 2;
    for (i, &t) in t.iter().enumerate() {
        let ab = alphas_cumprod[t as usize];
        let (a, b) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
        let item = i * per_item..(i + 1) * per_item;
        let expected: Vec<f32> =
            raw[item.clone()].iter().zip(&x[item.clone()]).map(|(v, x)| a * v + b * x).collect();
        assert!(max_diff(&eps[item], &expected) < 1e-5, "item {i} at t {t}");
    }
}

/// A fixed training batch on the tiny preset's 64² crops: smooth images, noise with a
/// known target, 25% of the points for the decoder and another 25% for the encoder.
struct Batch {
    points: Vec<Point>,
    encoder_points: Vec<Point>,
    x: Vec<f32>,
    target: Vec<f32>,
    clean: Vec<f32>,
    t: Vec<f32>,
}

fn batch(seed: u64) -> Batch {
    let (size, b, n) = (64u32, 2usize, 1024usize);
    let pick = |offset: u32| -> Vec<Point> {
        (0..b)
            .flat_map(|_| {
                (0..n as u32)
                    .map(move |i| Point { x: (i * 2 + offset) % size, y: (i * 2 + offset) / size * 2 % size })
            })
            .collect()
    };
    let points = pick(0);
    let encoder_points = pick(1);
    let image = |p: &Point, c: usize| ((p.x as f32 / 9.0 + c as f32).sin() * (p.y as f32 / 7.0).cos()) * 0.8;
    let eps = noise(b * 3 * n, seed);
    let (a, s) = (0.8f32, 0.6f32);
    let value = |pts: &[Point], i: usize| {
        let (item, c, k) = (i / (3 * n), (i / n) % 3, i % n);
        image(&pts[item * n + k], c)
    };
    let clean_at_points: Vec<f32> = (0..b * 3 * n).map(|i| value(&points, i)).collect();
    Batch {
        x: clean_at_points.iter().zip(&eps).map(|(x, e)| a * x + s * e).collect(),
        target: eps,
        clean: (0..b * 3 * n).map(|i| value(&encoder_points, i)).collect(),
        points,
        encoder_points,
        t: vec![300.0, 600.0],
    }
}

impl Batch {
    fn as_train_batch(&self) -> TrainBatch<'_> {
        let input = ModelInput {
            at: Points::sparse(64, 2, &self.points),
            x: self.x[..].into(),
            guide: Default::default(),
            t: self.t[..].into(),
            z: Default::default(),
        };
        TrainBatch {
            input,
            target: self.target[..].into(),
            encoder_at: Points::sparse(64, 2, &self.encoder_points),
            encoder_x: self.clean[..].into(),
        }
    }
}

fn train_step(net: &ModelBox, b: &Batch) -> f64 {
    net.train_step(b.as_train_batch()).unwrap().loss
}

fn train_model(extra: &[(&str, &str)]) -> ModelBox {
    let mut params = vec![
        ("config", "tiny"),
        ("device", "cpu"),
        ("mode", "train"),
        ("learning-rate", "1e-3"),
        ("ema-every", "2"),
    ];
    params.extend_from_slice(extra);
    model(&params).unwrap()
}

#[test]
fn training_lowers_the_loss_and_resumes_exactly_from_a_checkpoint() {
    let net = train_model(&[]);
    let data = batch(7);
    let losses: Vec<f64> = (0..30).map(|_| train_step(&net, &data)).collect();
    eprintln!("losses: {:.4?}", losses);
    let (first, last) = (losses[..3].iter().sum::<f64>() / 3.0, losses[27..].iter().sum::<f64>() / 3.0);
    assert!(last < 0.3 * first, "loss fell only from {first} to {last}");
    assert_eq!(net.info().train_step, 30);

    // Save mid-run, continue both, compare loss for loss.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("run.safetensors");
    net.save(saved.to_str().unwrap().into()).unwrap();
    // The checkpoint's optimiser settings win over the command line's on resume.
    let resumed = train_model(&[("checkpoint", saved.to_str().unwrap()), ("grad-clip", "0.001")]);
    assert_eq!(resumed.info().train_step, 30);
    for k in 0..3 {
        let b = batch(100 + k);
        assert_eq!(train_step(&net, &b), train_step(&resumed, &b), "step {k} after resuming");
    }
    // And both save identical tensors.
    let (a, b) = (dir.path().join("a.safetensors"), dir.path().join("b.safetensors"));
    net.save(a.to_str().unwrap().into()).unwrap();
    resumed.save(b.to_str().unwrap().into()).unwrap();
    let (a, b) = (checkpoint::read(&a).unwrap(), checkpoint::read(&b).unwrap());
    assert_eq!(a.tensors.keys().collect::<Vec<_>>(), b.tensors.keys().collect::<Vec<_>>());
    assert!(
        a.tensors.keys().any(|k| k.starts_with("ema."))
            && a.tensors.keys().any(|k| k.starts_with("optim.m."))
    );
    for (name, t) in &a.tensors {
        assert!(t.equal(&b.tensors[name]), "{name} differs");
    }
    assert_eq!(a.metadata, b.metadata);
}

#[test]
fn mixed_precision_training_follows_fp32_and_keeps_fp32_weights() {
    let data = batch(7);
    let run = |precision: &str| {
        let net = train_model(&[("precision", precision)]);
        let losses: Vec<f64> = (0..20).map(|_| train_step(&net, &data)).collect();
        (net, losses)
    };
    let (fp32, fp32_losses) = run("fp32");
    let (bf16, bf16_losses) = run("bf16");
    eprintln!("fp32 {fp32_losses:.4?}\nbf16 {bf16_losses:.4?}");
    // Same seed, same data: the first loss differs by bf16 rounding only; both fall alike.
    assert!((fp32_losses[0] - bf16_losses[0]).abs() < 0.05 * fp32_losses[0]);
    let fell = |l: &[f64]| l[17..].iter().sum::<f64>() / l[..3].iter().sum::<f64>();
    assert!(fell(&bf16_losses) < 0.5 && fell(&bf16_losses) < fell(&fp32_losses) * 1.5 + 0.05);
    // The master weights, moments and EMA stay float32 and are saved so.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("bf16.safetensors");
    bf16.save(saved.to_str().unwrap().into()).unwrap();
    let ckpt = checkpoint::read(&saved).unwrap();
    assert!(ckpt.tensors.values().all(|t| t.kind() == tch::Kind::Float));
    let saved_fp32 = dir.path().join("fp32.safetensors");
    fp32.save(saved_fp32.to_str().unwrap().into()).unwrap();
    let name = "decoder.linear_out.weight";
    let moved = (&checkpoint::read(&saved_fp32).unwrap().tensors[name] - &ckpt.tensors[name]).abs().max();
    assert!(moved.double_value(&[]) > 0.0, "bf16 training computed in fp32");
}

#[test]
fn an_inference_load_uses_the_ema_decoder_and_round_trips_exactly() {
    let net = train_model(&[]);
    let data = batch(3);
    for _ in 0..4 {
        train_step(&net, &data);
    }
    let dir = tempfile::tempdir().unwrap();
    let trained = dir.path().join("trained.safetensors");
    net.save(trained.to_str().unwrap().into()).unwrap();
    let infer = model(&[("checkpoint", trained.to_str().unwrap()), ("device", "cpu")]).unwrap();
    let again = dir.path().join("again.safetensors");
    infer.save(again.to_str().unwrap().into()).unwrap();
    let (trained, again) = (checkpoint::read(&trained).unwrap(), checkpoint::read(&again).unwrap());
    for (name, t) in &again.tensors {
        // The inference model's decoder is the EMA; its encoder the raw encoder.
        let source = name.strip_prefix("decoder.").map_or(name.clone(), |rest| format!("ema.{rest}"));
        assert!(t.equal(&trained.tensors[&source]), "{name}");
    }
    assert!(!again.tensors.keys().any(|k| k.starts_with("optim.")));
    let ema = &trained.tensors["ema.linear_in.weight"];
    assert!(!ema.equal(&trained.tensors["decoder.linear_in.weight"]), "the EMA lags the trained weights");
    let reloaded =
        model(&[("checkpoint", dir.path().join("again.safetensors").to_str().unwrap()), ("device", "cpu")])
            .unwrap();
    let (x, z) = (noise(3 * 64 * 64, 9), noise(64, 10));
    let run = |m: &ModelBox| {
        let mut eps = vec![0.0; x.len()];
        let input = ModelInput {
            at: Points::dense(64, 1),
            x: x[..].into(),
            guide: Default::default(),
            t: [250.0f32][..].into(),
            z: z[..].into(),
        };
        m.denoise(input, eps.as_mut_slice().into()).unwrap();
        eps
    };
    assert_eq!(run(&infer), run(&reloaded));
}

#[test]
fn a_guided_network_reads_its_guide_channels() {
    let net = model(&[("config", "tiny"), ("device", "cpu"), ("guide-channels", "4")]).unwrap();
    assert_eq!(net.info().guide_channels, 4);
    let (x, guide, z) = (noise(3 * 32 * 32, 1), noise(4 * 32 * 32, 2), noise(64, 3));
    let mut eps = vec![0.0; x.len()];
    let input = ModelInput {
        at: Points::dense(32, 1),
        x: x[..].into(),
        guide: guide[..].into(),
        t: [10.0f32][..].into(),
        z: z[..].into(),
    };
    net.denoise(input, eps.as_mut_slice().into()).unwrap();
    let mut other = vec![0.0; x.len()];
    let changed = noise(4 * 32 * 32, 5);
    net.denoise(ModelInput { guide: changed[..].into(), ..input }, other.as_mut_slice().into()).unwrap();
    assert!(max_diff(&eps, &other) > 1e-4, "the guide must change the output");
    let err = net
        .denoise(ModelInput { guide: Default::default(), ..input }, eps.as_mut_slice().into())
        .unwrap_err();
    assert!(err.message.contains("guide field of 4 channels"), "{}", err.message);
}

fn refusal(net: &ModelBox, at: Points<'_>, x: &[f32], t: f32) -> String {
    let z = vec![0.0; 8 * at.batch as usize];
    let mut eps = vec![0.0; x.len()];
    let input = ModelInput {
        at,
        x: x.into(),
        guide: Default::default(),
        t: std::slice::from_ref(&t).into(),
        z: z[..].into(),
    };
    net.denoise(input, eps.as_mut_slice().into()).unwrap_err().message.to_string()
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let net = golden_model(&dir);
    let dense = Points::dense(32, 1);
    let four_channels = vec![0.0; 4 * 32 * 32];
    assert!(
        refusal(&net, dense, &four_channels, 5.0).contains("1 items × 3 channels × 1024 points need 3072")
    );
    assert!(refusal(&net, Points::dense(0, 1), &[], 5.0).contains("empty batch"));
    let two = [Point { x: 1, y: 1 }, Point { x: 2, y: 2 }];
    assert!(refusal(&net, Points::sparse(32, 1, &two), &[0.0; 6], 5.0).contains("needs at least 3"));
    let outside = [Point { x: 1, y: 1 }, Point { x: 32, y: 2 }, Point { x: 3, y: 3 }];
    assert!(refusal(&net, Points::sparse(32, 1, &outside), &[0.0; 9], 5.0)
        .contains("lies outside the 32x32 raster"));
    let twice = [Point { x: 1, y: 1 }, Point { x: 1, y: 1 }, Point { x: 3, y: 3 }];
    assert!(refusal(&net, Points::sparse(32, 1, &twice), &[0.0; 9], 5.0).contains("appears twice"));
    let x = vec![0.0; 3 * 32 * 32];
    assert!(refusal(&net, dense, &x, 1000.0).contains("timestep 1000 lies outside [0, 1000)"));
    let mut nan = x.clone();
    nan[5] = f32::NAN;
    assert!(refusal(&net, dense, &nan, 5.0).contains("NaN"));
    // Finite samples that overflow inside the network: the model's fault, named so.
    let huge = vec![3.0e38; 3 * 32 * 32];
    assert!(refusal(&net, dense, &huge, 5.0).contains("numeric fault in the model"));
    // Training an inference model is refused, not attempted.
    let big = [Point { x: 1, y: 1 }, Point { x: 4999, y: 2 }, Point { x: 3, y: 3 }];
    assert!(refusal(&net, Points::sparse(5000, 1, &big), &[0.0; 9], 5.0).contains("rasters up to 4096x4096"));
    let fresh = model(&[("config", "tiny"), ("device", "cpu")]).unwrap();
    let mut nan_target = batch(1);
    nan_target.target[7] = f32::NAN;
    let err = fresh.train_step(nan_target.as_train_batch()).unwrap_err();
    assert!(err.message.contains("the training data holds NaN"), "{}", err.message);
    assert!(fresh
        .train_step(batch(1).as_train_batch())
        .unwrap_err()
        .help
        .into_option()
        .unwrap()
        .contains("--mode train"));
}

#[test]
fn bad_checkpoints_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let golden = Golden::load("tiny_forward.safetensors");
    let config = dir.path().join("tiny.json");
    std::fs::write(&config, golden.manifest()["config"].to_string()).unwrap();
    let load = |path: &std::path::Path| {
        model(&[
            ("checkpoint", path.to_str().unwrap()),
            ("config", config.to_str().unwrap()),
            ("device", "cpu"),
        ])
        .err()
        .map(|e| format!("{} {}", e.message, e.help.into_option().map(|h| h.to_string()).unwrap_or_default()))
        .expect("refused")
    };
    let original = checkpoint::read(&infty_golden::golden_dir().join("tiny_model.safetensors")).unwrap();
    type Edit<'a> = &'a dyn Fn(&mut Vec<(String, Tensor)>);
    let write = |name: &str, edit: Edit| {
        let mut tensors: Vec<(String, Tensor)> =
            original.tensors.iter().map(|(k, v)| (k.clone(), v.shallow_clone())).collect();
        edit(&mut tensors);
        let path = dir.path().join(name);
        checkpoint::write(&path, &tensors, Default::default()).unwrap();
        path
    };
    let missing = write("missing.safetensors", &|t| t.retain(|(k, _)| k != "decoder.linear_in.weight"));
    let msg = load(&missing);
    assert!(msg.contains("missing 1 tensors: decoder.linear_in.weight"), "{msg}");
    let shaped = write("shaped.safetensors", &|t| {
        t.iter_mut().find(|(k, _)| k == "encoder.linear_out.bias").unwrap().1 =
            Tensor::zeros([9], tch::kind::FLOAT_CPU)
    });
    let msg = load(&shaped);
    assert!(msg.contains("encoder.linear_out.bias is [9], the network needs [8]"), "{msg}");
    let extra = write("extra.safetensors", &|t| {
        t.push(("decoder.surprise".into(), Tensor::zeros([1], tch::kind::FLOAT_CPU)))
    });
    assert!(load(&extra).contains("1 unexpected tensors: decoder.surprise"));
    let text = dir.path().join("notes.safetensors");
    std::fs::write(&text, "not a checkpoint at all").unwrap();
    let msg = load(&text);
    assert!(
        msg.contains("is not a safetensors checkpoint") && msg.contains("convert-reference-checkpoint"),
        "{msg}"
    );
    assert!(load(&dir.path().join("absent.safetensors")).contains("cannot read checkpoint"));
    let cuda = model(&[("config", "tiny"), ("device", "cuda:7")]).err().unwrap();
    assert!(cuda.message.contains("cuda"), "{}", cuda.message);
    let zero_steps = dir.path().join("zero.json");
    let mut cfg: serde_json::Value = serde_json::from_str(include_str!("../configs/tiny.json")).unwrap();
    cfg["diffusion_steps"] = 0.into();
    std::fs::write(&zero_steps, cfg.to_string()).unwrap();
    let err = model(&[("config", zero_steps.to_str().unwrap()), ("device", "cpu")]).err().unwrap();
    assert!(err.message.contains("diffusion_steps must be positive"), "{}", err.message);
    let bad = model(&[("config", "tiny"), ("device", "gpu")]).err().unwrap();
    assert!(bad.message.contains("'gpu' is not a device"));
    let bad = model(&[("config", "tiny"), ("precision", "fp16")]).err().unwrap();
    assert!(bad.message.contains("fp16"), "{}", bad.message);
}
