//! Parity with the reference network (`golden/tiny_model.safetensors`,
//! `tiny_forward.safetensors`, `tiny_ddim.safetensors`) for every stored tensor, within
//! the manifest's tolerances. The config comes from the manifest, so another golden set
//! of the same layout with another config runs unchanged.

use infty_golden::Golden;
use infty_net::checkpoint;
use infty_net::sparse::Layout;
use infty_net::trace::Trace;
use infty_net::{Net, NetConfig};
use tch::{Device, Kind, Tensor};

fn config(golden: &Golden) -> NetConfig {
    serde_json::from_value(golden.manifest()["config"].clone())
        .expect("the manifest's config reads as a NetConfig")
}

fn net() -> (Net, Golden) {
    let golden = Golden::load("tiny_forward.safetensors");
    let mut net = Net::new(&config(&golden), Device::Cpu, 0).unwrap();
    let ckpt = checkpoint::read(&infty_golden::golden_dir().join("tiny_model.safetensors")).unwrap();
    net.load(&ckpt, "decoder.").unwrap();
    (net, golden)
}

/// The batch of a golden run: the first dimension of its timestep vector `t`.
fn batch(golden: &Golden) -> i64 {
    golden.f32("t").shape[0] as i64
}

/// The side of the square `(B, C, S, S)` golden image `name`.
fn side(golden: &Golden, name: &str) -> i64 {
    golden.f32(name).shape[3] as i64
}

fn tensor(golden: &Golden, name: &str) -> Tensor {
    let t = golden.f32(name);
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data).view(shape.as_slice())
}

fn check(golden: &Golden, name: &str, got: &Tensor) {
    let want = tensor(golden, name);
    assert_eq!(got.size(), want.size(), "{name}: shape");
    let err = (got - &want).abs().max().double_value(&[]);
    let tolerance = golden.tolerance(name) as f64;
    eprintln!("{name}: max abs error {err:.3e} (tolerance {tolerance:.0e})");
    assert!(err <= tolerance, "{name}: max abs error {err:e} > {tolerance:e}");
}

fn check_index(golden: &Golden, name: &str, got: &Tensor) {
    let want = golden.i64(name).data;
    let got = Vec::<i64>::try_from(got.flatten(0, -1)).unwrap();
    let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    eprintln!("{name}: {differ} of {} indices differ", want.len());
    assert_eq!(differ, 0, "{name}");
}

/// `(B, N)` flat pixel lists from an int64 golden tensor.
fn pixel_lists(golden: &Golden, name: &str) -> Vec<Vec<i64>> {
    let t = golden.i64(name);
    t.data.chunks(t.shape[1]).map(<[i64]>::to_vec).collect()
}

/// `(B, C, S, S)` → `(B, S², C)` point features in row-major order.
fn points_of(image: &Tensor) -> Tensor {
    image.flatten(2, 3).transpose(1, 2)
}

/// `(B, S², C)` → `(B, C, S, S)`.
fn image_of(points: &Tensor, size: i64) -> Tensor {
    points.transpose(1, 2).reshape([points.size()[0], -1, size, size])
}

#[test]
fn weights_load_one_to_one_with_the_reference_names_and_counts() {
    let golden = Golden::load("tiny_model.safetensors");
    let net = Net::new(&config(&golden), Device::Cpu, 0).unwrap();
    let ckpt = checkpoint::read(&infty_golden::golden_dir().join("tiny_model.safetensors")).unwrap();
    let mut mine: Vec<String> = net.vs.variables().into_keys().collect();
    mine.sort();
    let theirs: Vec<String> = ckpt.tensors.keys().cloned().collect();
    assert_eq!(mine, theirs);
    for part in ["decoder", "encoder"] {
        let count: i64 = net
            .vs
            .variables()
            .iter()
            .filter(|(name, _)| name.starts_with(part) && !name.ends_with("uno_coords"))
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(
            Some(count),
            golden.manifest()["files"]["tiny_model.safetensors"]["n_params"][part].as_i64()
        );
    }
}

#[test]
fn sparse_forward_matches_every_intermediate() {
    let (net, g) = net();
    let layout = Layout::sparse(net.cfg.img_size, pixel_lists(&g, "sample_lst"), Device::Cpu);
    let mut trace = Trace::on();
    let out = tch::no_grad(|| {
        net.decoder.forward(
            &tensor(&g, "sparse_x"),
            &tensor(&g, "t"),
            &tensor(&g, "z"),
            &layout,
            false,
            &mut trace,
        )
    });
    check(&g, "sparse_out", &out);
    for name in
        ["time_sinusoidal", "time_emb", "norm", "block0_out", "down_last_out", "knn_grid", "uno_out", "up_in"]
    {
        check(&g, &format!("dbg_sparse_{name}"), trace.get(name).unwrap());
    }
    check(&g, "dbg_sparse_up_last_out", trace.get("up_last_out").unwrap());
    check(&g, "dbg_sparse_knn_dist2", trace.get("knn_dist2").unwrap());
    check_index(&g, "dbg_sparse_knn_idx", trace.get("knn_idx").unwrap());
    // The training loss of the reference step: per-item MSE against T(ξ).
    let loss =
        (tensor(&g, "train_target") - &out).square().mean_dim([1i64, 2].as_slice(), false, Kind::Float);
    check(&g, "train_loss", &loss);
}

#[test]
fn dense_forward_matches_at_the_training_size_with_intermediates() {
    let (net, g) = net();
    let s = side(&g, "dense_x");
    let layout = Layout::dense(batch(&g), s, Device::Cpu);
    let mut trace = Trace::on();
    let x = points_of(&tensor(&g, "dense_x"));
    let out = tch::no_grad(|| {
        net.decoder.forward(&x, &tensor(&g, "t"), &tensor(&g, "z"), &layout, false, &mut trace)
    });
    check(&g, "dense_out", &image_of(&out, s));
    check(&g, "dbg_dense_norm", &image_of(trace.get("norm").unwrap(), s));
    for name in ["block0_out", "up_in"] {
        check(&g, &format!("dbg_dense_{name}"), &image_of(trace.get(name).unwrap(), s));
    }
    for name in ["knn_grid", "uno_out", "knn_dist2"] {
        check(&g, &format!("dbg_dense_{name}"), trace.get(name).unwrap());
    }
    check_index(&g, "dbg_dense_knn_idx", trace.get("knn_idx").unwrap());
}

#[test]
fn dense_forward_matches_at_other_resolutions() {
    let (net, g) = net();
    for prefix in ["dense2x", "densehalf", "dense1p5x"] {
        let size = side(&g, &format!("{prefix}_x"));
        let layout = Layout::dense(batch(&g), size, Device::Cpu);
        let mut trace = Trace::on();
        let x = points_of(&tensor(&g, &format!("{prefix}_x")));
        let out = tch::no_grad(|| {
            net.decoder.forward(&x, &tensor(&g, "t"), &tensor(&g, "z"), &layout, false, &mut trace)
        });
        check(&g, &format!("{prefix}_out"), &image_of(&out, size));
        if prefix == "dense2x" {
            check(&g, "dbg_dense2x_norm", &image_of(trace.get("norm").unwrap(), size));
            check(&g, "dbg_dense2x_knn_grid", trace.get("knn_grid").unwrap());
            check_index(&g, "dbg_dense2x_knn_idx", trace.get("knn_idx").unwrap());
        }
    }
}

#[test]
fn dense_forward_equals_the_sparse_forward_with_every_pixel() {
    let (net, g) = net();
    let (s, b) = (side(&g, "dense_x"), batch(&g));
    let x = points_of(&tensor(&g, "dense_x"));
    let (t, z) = (tensor(&g, "t"), tensor(&g, "z"));
    let dense = net.denoise(&x, &t, &z, &Layout::dense(b, s, Device::Cpu));
    // All pixels, listed in a shuffled order: the output follows the list.
    let order: Vec<i64> = (0..s * s).map(|i| (i * 389) % (s * s)).collect();
    let sparse_x = x.index_select(1, &Tensor::from_slice(&order));
    let layout = Layout::sparse(s, vec![order.clone(); b as usize], Device::Cpu);
    let sparse = net.denoise(&sparse_x, &t, &z, &layout);
    let err = (sparse - dense.index_select(1, &Tensor::from_slice(&order))).abs().max().double_value(&[]);
    assert!(err < 2e-6, "dense vs sparse with all pixels: {err:e}");
}

#[test]
fn encoder_matches_on_the_full_image_and_a_sparse_subset() {
    let (net, g) = net();
    let s = side(&g, "enc_x");
    let mut trace = Trace::on();
    let full = Layout::dense(batch(&g), s, Device::Cpu);
    let z = tch::no_grad(|| net.encoder.forward(&points_of(&tensor(&g, "enc_x")), &full, false, &mut trace));
    check(&g, "enc_z", &z);
    for name in ["norm", "block0_out", "knn_grid", "uno_out"] {
        check(&g, &format!("dbg_enc_{name}"), trace.get(name).unwrap());
    }
    let mut trace = Trace::on();
    let subset = Layout::sparse(s, pixel_lists(&g, "enc_sparse_lst"), Device::Cpu);
    let z = tch::no_grad(|| net.encoder.forward(&tensor(&g, "enc_sparse_x"), &subset, false, &mut trace));
    check(&g, "enc_sparse_z", &z);
    for name in ["norm", "block0_out", "knn_grid"] {
        check(&g, &format!("dbg_enc_sparse_{name}"), trace.get(name).unwrap());
    }
    check_index(&g, "dbg_enc_sparse_knn_idx", trace.get("knn_idx").unwrap());
}

/// One DDIM step with eta 0 (reference `ddim_sample`, docs/reference.md §5.2) through the SDK's
/// schedule helpers. (The samplers plugin cannot be linked beside this one: both
/// export the plugin root symbol.)
fn ddim_step(setup: &infty_sdk::SamplerSetup, j: usize, x: &[f32], eps: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (mut x0, mut eps_used) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    setup.predict_x0(j, x, eps, &mut x0);
    setup.eps_from_x0(j, x, &x0, &mut eps_used);
    let ab_prev = setup.schedule.alphas_cumprod_prev[j] as f32;
    let (keep, point) = (ab_prev.sqrt(), (1.0 - ab_prev).sqrt());
    (x0.iter().zip(&eps_used).map(|(x0, e)| x0 * keep + point * e).collect(), x0)
}

/// The DDIM run of `tiny_ddim.safetensors` (its step count read from the file) through the network: teacher-forced
/// (ε̂ from each stored x) and free-running from x_T.
#[test]
fn ddim_trajectory_matches_step_by_step() {
    use infty_sdk::{ItemSpec, SamplerSetup};

    let (net, _) = net();
    let g = Golden::load("tiny_ddim.safetensors");
    let (xs, z) = (tensor(&g, "x"), tensor(&g, "z"));
    // x holds x_T and every state after it: (steps + 1, B, C, S, S).
    let (steps, b, s) = (xs.size()[0] as usize - 1, xs.size()[1], xs.size()[4]);
    let params = ItemSpec::sampler("ddim", "").resolve([("steps", steps.to_string().as_str())]).unwrap();
    let setup = SamplerSetup::from_params(&params).unwrap();
    let eps_of = |x: &Tensor, t: f32| {
        let t = Tensor::full([b], t as f64, (Kind::Float, Device::Cpu));
        image_of(&net.denoise(&points_of(x), &t, &z, &Layout::dense(b, s, Device::Cpu)), s)
    };
    let flat = |t: &Tensor| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
    let step = |call: usize, x: &Tensor, eps: &Tensor| {
        let (next, x0) = ddim_step(&setup, steps - 1 - call, &flat(x), &flat(eps));
        (Tensor::from_slice(&next).view_as(x), Tensor::from_slice(&x0).view_as(x))
    };
    let max_err = |a: &Tensor, b: &Tensor| (a - b).abs().max().double_value(&[]);
    let mut free = xs.get(0);
    for call in 0..steps {
        let t = setup.schedule.timesteps[steps - 1 - call] as f32;
        assert_eq!(t, g.f32("model_t").at(call)[0], "the model's t at step {call}");
        // Teacher-forced: ε̂ 2e-5; x[1] 1e-2, later x 2e-5; x̂0 5e-2 at step 0, then 1e-4.
        let eps = eps_of(&xs.get(call as i64), t);
        let eps_err = max_err(&eps, &tensor(&g, "eps").get(call as i64));
        let (next, x0) = step(call, &xs.get(call as i64), &eps);
        let x_err = max_err(&next, &xs.get(call as i64 + 1));
        let x0_err = max_err(&x0, &tensor(&g, "pred_x0").get(call as i64));
        // Free-running from x_T: 3e-2 on every x.
        let (next_free, _) = step(call, &free, &eps_of(&free, t));
        free = next_free;
        let free_err = max_err(&free, &xs.get(call as i64 + 1));
        eprintln!(
            "step {call}: eps {eps_err:.1e} x {x_err:.1e} x0 {x0_err:.1e} free-running x {free_err:.1e}"
        );
        assert!(eps_err <= 2e-5);
        assert!(x_err <= if call == 0 { 1e-2 } else { 2e-5 });
        assert!(x0_err <= if call == 0 { 5e-2 } else { 1e-4 });
        assert!(free_err <= 3e-2);
    }
    assert!(max_err(&free, &tensor(&g, "final")) <= 3e-2);
}

/// Parameter counts of the reference configs (docs/reference.md §4.7), frozen normalising
/// kernels and the encoder's unused time layers included, buffers not.
#[test]
fn presets_have_the_reference_parameter_counts() {
    for (cfg, decoder, encoder) in
        [("ffhq128", 43_591_796, 16_573_041), ("ffhq256", 321_513_332, 122_028_721)]
    {
        let cfg = NetConfig::preset(cfg).unwrap();
        let net = Net::new(&cfg, Device::Cpu, 0).unwrap();
        let count = |part: &str| -> i64 {
            let vars = net.vs.variables();
            vars.iter()
                .filter(|(n, _)| n.starts_with(part) && !n.ends_with("uno_coords"))
                .map(|(_, t)| t.numel() as i64)
                .sum()
        };
        assert_eq!((count("decoder."), count("encoder.")), (decoder, encoder), "img_size {}", cfg.img_size);
    }
}

/// bf16 (`--precision bf16`) against the reference's float32 outputs, one golden tensor
/// at a time: the RMS of the difference as a share of the tensor's RMS.
#[test]
fn bf16_outputs_stay_within_a_few_percent_of_every_golden_output() {
    let (mut net, g) = net();
    net.set_kind(Kind::BFloat16);
    let (b, t, z) = (batch(&g), tensor(&g, "t"), tensor(&g, "z"));
    let sparse = Layout::sparse(net.cfg.img_size, pixel_lists(&g, "sample_lst"), Device::Cpu);
    let mut outputs = vec![("sparse_out".to_string(), net.denoise(&tensor(&g, "sparse_x"), &t, &z, &sparse))];
    for prefix in ["dense", "dense2x", "densehalf", "dense1p5x"] {
        let size = side(&g, &format!("{prefix}_x"));
        let x = points_of(&tensor(&g, &format!("{prefix}_x")));
        let out = net.denoise(&x, &t, &z, &Layout::dense(b, size, Device::Cpu));
        outputs.push((format!("{prefix}_out"), image_of(&out, size)));
    }
    let s = side(&g, "enc_x");
    outputs.push((
        "enc_z".to_string(),
        net.encode(&points_of(&tensor(&g, "enc_x")), &Layout::dense(b, s, Device::Cpu)),
    ));
    for (name, got) in outputs {
        let want = tensor(&g, &name);
        let rms = |t: &Tensor| t.square().mean(Kind::Double).sqrt().double_value(&[]);
        let relative = rms(&(&got - &want)) / rms(&want);
        eprintln!("{name}: bf16 RMS deviation {:.2}% of the tensor's RMS", relative * 100.0);
        // 8 significant bits (a relative step of 0.4%) through a dozen layers drift by a
        // few times that, never by a tenth.
        assert!(relative < 0.03, "{name}: bf16 deviates by {:.1}%", relative * 100.0);
        assert!(relative > 1e-4, "{name}: bf16 gave the fp32 output: it did not run in bf16");
    }
}
