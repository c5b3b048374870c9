//! Parity of the latent prior with the reference (`latent.safetensors` in the golden
//! folder): the timestep embedding (even and odd widths), the forward with its
//! intermediates, the const0.008 tables, the L1 training loss, the latents'
//! normalisation, and a respaced DDPM trajectory through our own `ddpm` sampler, free
//! running and teacher forced. Every size comes from the manifest's `latent.config` and
//! the tensors' shapes, so another golden set of the same layout runs unchanged.

use infty_golden::Golden;
use infty_kit::latents::Normalisation;
use infty_net::checkpoint;
use infty_net::latent::{timestep_embedding, LatentConfig, LatentNet};
use infty_net::trace::Trace;
use infty_samplers::Ddpm;
use infty_sdk::sampler::new_sampler_box;
use infty_sdk::schedule::{BetaSchedule, Schedule};
use infty_sdk::testing::max_abs_diff;
use infty_sdk::{ItemSpec, Sampler, SamplerBox, SamplerState};
use tch::{Device, Kind, Tensor};

const FILE: &str = "latent.safetensors";

fn config(golden: &Golden) -> &serde_json::Value {
    &golden.manifest()["latent"]["config"]
}

fn int(golden: &Golden, key: &str) -> i64 {
    config(golden)[key].as_i64().unwrap_or_else(|| panic!("latent.config.{key} in the manifest"))
}

/// The golden prior whose weights are stored under `prefix` (`model.` or `odd_model.`).
fn prior(golden: &Golden, prefix: &str, time_emb_channels: i64) -> LatentNet {
    let cfg = LatentConfig {
        hid_channels: int(golden, "hid_channels"),
        num_layers: int(golden, "num_layers"),
        time_emb_channels,
        dropout: config(golden)["dropout"].as_f64().unwrap_or(0.0),
        ..LatentConfig::reference(int(golden, "channels"), 2)
    };
    let mut net = LatentNet::new(&cfg, Device::Cpu, 0).unwrap();
    // The file holds every golden tensor, of several dtypes; take the prior's own.
    let names = golden.manifest()["files"][FILE]["tensors"].as_object().unwrap().keys();
    let tensors =
        names.filter(|name| name.starts_with(prefix)).map(|name| (name.clone(), tensor(golden, name)));
    let weights = checkpoint::Checkpoint { tensors: tensors.collect(), metadata: Default::default() };
    net.load(&weights, prefix).unwrap();
    net
}

fn tensor(golden: &Golden, name: &str) -> Tensor {
    let t = golden.f32(name);
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data).view(shape.as_slice())
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.to_kind(Kind::Float).contiguous().view(-1)).unwrap()
}

fn check(golden: &Golden, name: &str, got: &[f32]) {
    check_within(name, got, &golden.f32(name).data, golden.tolerance(name));
}

fn check_within(name: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let err = max_abs_diff(got, want);
    eprintln!("{name}: max abs error {err:.3e} (tolerance {tolerance:.0e})");
    assert!(err <= tolerance, "{name}: max abs error {err:e} > {tolerance:e}");
}

fn timesteps(golden: &Golden, name: &str) -> Tensor {
    let t: Vec<f32> = golden.i64(name).data.iter().map(|&t| t as f32).collect();
    Tensor::from_slice(&t)
}

#[test]
fn the_timestep_embedding_matches_at_even_and_odd_widths() {
    let golden = Golden::load(FILE);
    let t = tensor(&golden, "temb_t");
    for (name, width) in [("temb_out", "time_emb_channels"), ("odd_temb_out", "odd_time_emb_channels")] {
        let emb = timestep_embedding(&t, int(&golden, width));
        assert_eq!(emb.size(), tensor(&golden, name).size(), "{name}: shape");
        check(&golden, name, &values(&emb));
    }
}

#[test]
fn the_forward_and_its_intermediates_match() {
    let golden = Golden::load(FILE);
    let (x, t) = (tensor(&golden, "fwd_x"), timesteps(&golden, "fwd_t"));
    let net = prior(&golden, "model.", int(&golden, "time_emb_channels"));
    let mut trace = Trace::on();
    let out = tch::no_grad(|| net.net.forward(&x, &t, false, &mut trace));
    check(&golden, "fwd_out", &values(&out));
    for (ours, theirs) in [("temb", "fwd_temb"), ("cond", "fwd_cond"), ("h_in", "fwd_h_in")] {
        check(&golden, theirs, &values(trace.get(ours).unwrap()));
    }
    let layers = golden.f32("fwd_h_layers");
    assert_eq!(layers.shape[0] as i64, int(&golden, "num_layers") - 2, "one hidden output per middle layer");
    for i in 0..layers.shape[0] {
        let got = values(trace.get(&format!("h_layers.{i}")).unwrap());
        check_within(&format!("fwd_h_layers[{i}]"), &got, layers.at(i), golden.tolerance("fwd_h_layers"));
    }

    let odd = prior(&golden, "odd_model.", int(&golden, "odd_time_emb_channels"));
    let mut trace = Trace::on();
    let out = tch::no_grad(|| odd.net.forward(&x, &t, false, &mut trace));
    check(&golden, "odd_fwd_out", &values(&out));
    check(&golden, "odd_fwd_cond", &values(trace.get("cond").unwrap()));
}

/// The latent diffusion's schedule (manifest `latent.config.diffusion`).
fn schedule(golden: &Golden) -> Schedule {
    let diffusion = &config(golden)["diffusion"];
    let name = diffusion["noise_schedule"].as_str().unwrap();
    let steps = diffusion["steps"].as_u64().unwrap() as usize;
    Schedule::named(BetaSchedule::from_name(name, 0).unwrap(), steps)
}

#[test]
fn the_const_schedule_tables_match() {
    let golden = Golden::load(FILE);
    let s = schedule(&golden);
    let sqrt = |v: &[f64], f: fn(f64) -> f64| v.iter().map(|&a| f(a).sqrt()).collect::<Vec<f64>>();
    for (name, ours) in [
        ("sched_betas", s.betas.clone()),
        ("sched_alphas_cumprod", s.alphas_cumprod.clone()),
        ("sched_alphas_cumprod_prev", s.alphas_cumprod_prev.clone()),
        ("sched_sqrt_alphas_cumprod", sqrt(&s.alphas_cumprod, |a| a)),
        ("sched_sqrt_one_minus_alphas_cumprod", sqrt(&s.alphas_cumprod, |a| 1.0 - a)),
        ("sched_sqrt_recip_alphas_cumprod", s.sqrt_recip_alphas_cumprod.clone()),
        ("sched_sqrt_recipm1_alphas_cumprod", s.sqrt_recipm1_alphas_cumprod.clone()),
        ("sched_posterior_variance", s.posterior_variance.clone()),
        ("sched_posterior_mean_coef1", s.posterior_mean_coef1.clone()),
        ("sched_posterior_mean_coef2", s.posterior_mean_coef2.clone()),
        ("sched_fixed_large_log_variance", s.fixed_large_log_variance.clone()),
    ] {
        let want = golden.f64(name).data;
        assert_eq!(ours.len(), want.len(), "{name}: length");
        for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-9 * b.abs() + 1e-15, "{name}[{i}]: {a} vs {b}");
        }
    }
}

#[test]
fn the_l1_training_loss_matches() {
    let golden = Golden::load(FILE);
    let s = schedule(&golden);
    let net = prior(&golden, "model.", int(&golden, "time_emb_channels"));
    let (x0, noise) = (golden.f32("loss_x0"), golden.f32("loss_noise"));
    let t: Vec<usize> = golden.i64("loss_t").data.iter().map(|&t| t as usize).collect();
    let channels = x0.shape[1];
    // q_sample: float32(√ᾱ_t)·x0 + float32(√(1 − ᾱ_t))·ξ.
    let x_t: Vec<f32> = (0..x0.data.len())
        .map(|i| {
            let ab = s.alphas_cumprod[t[i / channels]];
            ab.sqrt() as f32 * x0.data[i] + (1.0 - ab).sqrt() as f32 * noise.data[i]
        })
        .collect();
    check(&golden, "loss_x_t", &x_t);
    let shape = [x0.shape[0] as i64, channels as i64];
    let x_t = Tensor::from_slice(&x_t).view(shape);
    let model_t = tensor(&golden, "loss_model_t");
    let out = net.denoise(&x_t, &model_t);
    check(&golden, "loss_model_out", &values(&out));
    let noise = Tensor::from_slice(&noise.data).view(shape);
    let per_item = (&noise - &out).abs().mean_dim(1, false, Kind::Float);
    check(&golden, "loss_per_item", &values(&per_item));
    let loss = tch::no_grad(|| net.l1_loss(&x_t, &model_t, &noise));
    check(&golden, "loss_mean", &values(&loss));
}

#[test]
fn the_normalisation_keeps_the_unbiased_std_and_a_zero_mean() {
    let golden = Golden::load(FILE);
    let latents = golden.f32("norm_latents");
    let norm = Normalisation::fit(&latents.data, latents.shape[1]).unwrap().with_zero_mean();
    check(&golden, "norm_mean", &norm.mean);
    check(&golden, "norm_std", &norm.std);
    let mut out = latents.data.clone();
    norm.normalise(&mut out);
    check(&golden, "norm_out", &out);
    let mut sample = golden.f32("traj_x").at(golden.f32("traj_x").shape[0] - 1).to_vec();
    norm.denormalise(&mut sample);
    check(&golden, "denorm_out", &sample);
}

/// Our `ddpm` over the trajectory's respacing (`sampling_respacing`, e.g. "20").
fn ddpm(golden: &Golden) -> SamplerBox {
    let diffusion = &config(golden)["diffusion"];
    let given = [
        (
            "steps",
            diffusion["sampling_respacing"]
                .as_str()
                .expect("latent.config.diffusion.sampling_respacing")
                .to_string(),
        ),
        ("schedule", diffusion["noise_schedule"].as_str().unwrap().to_string()),
        ("train-steps", diffusion["steps"].to_string()),
        ("no-clip", "true".to_string()),
    ];
    let spec: ItemSpec = Ddpm::spec();
    new_sampler_box::<Ddpm>(&spec.resolve(given.iter().map(|(k, v)| (*k, v.as_str()))).unwrap()).unwrap()
}

/// One DDPM step from `x` with the stored noise: (ε̂, x̂0, next x).
fn step(
    net: &LatentNet,
    sampler: &SamplerBox,
    k: usize,
    x: &[f32],
    noise: &[f32],
    batch: i64,
) -> [Vec<f32>; 3] {
    let step = sampler.steps()[k];
    let xt = Tensor::from_slice(x).view([batch, -1]);
    let eps = values(&net.denoise(&xt, &Tensor::from_slice(&vec![step.model_t; batch as usize])));
    let mut state = SamplerState { x: x.to_vec().into(), history: Default::default() };
    let mut x0 = vec![0.0; x.len()];
    let noise = if step.noise { noise } else { &[] };
    sampler
        .step(step, &mut state, eps.as_slice().into(), noise.into(), x0.as_mut_slice().into())
        .into_result()
        .unwrap();
    [eps, x0, state.x.into_vec()]
}

#[test]
fn a_respaced_ddpm_trajectory_matches_free_running_and_teacher_forced() {
    let golden = Golden::load(FILE);
    let net = prior(&golden, "model.", int(&golden, "time_emb_channels"));
    let (xs, noise) = (golden.f32("traj_x"), golden.f32("traj_noise"));
    let count = xs.shape[0];
    let batch = xs.shape[1] as i64;
    let sampler = ddpm(&golden);
    let kept: Vec<i64> = golden.i64("traj_timesteps").data;
    let ours: Vec<i64> = sampler.steps().iter().map(|s| s.timestep as i64).collect();
    assert_eq!(ours, kept, "the kept timesteps, in sampling order");
    let mut x = golden.f32("traj_x_T").data;
    for k in 0..count {
        let previous = if k == 0 { golden.f32("traj_x_T").data } else { xs.at(k - 1).to_vec() };
        for (mode, from) in [("free", x.clone()), ("forced", previous)] {
            let [eps, x0, next] = step(&net, &sampler, k, &from, noise.at(k), batch);
            let tolerance = |name: &str| match mode {
                "free" => golden.tolerance(name),
                _ => golden.entry(name)["tolerance_teacher_forced_max_abs"].as_f64().unwrap() as f32,
            };
            check_within(
                &format!("{mode} traj_eps[{k}]"),
                &eps,
                golden.f32("traj_eps").at(k),
                tolerance("traj_eps"),
            );
            check_within(
                &format!("{mode} traj_pred_x0[{k}]"),
                &x0,
                golden.f32("traj_pred_x0").at(k),
                tolerance("traj_pred_x0"),
            );
            check_within(&format!("{mode} traj_x[{k}]"), &next, xs.at(k), tolerance("traj_x"));
            if mode == "free" {
                x = next;
            }
        }
    }
}
