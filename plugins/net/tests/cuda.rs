//! The network on CUDA, against the golden vectors and the CPU. Every test returns
//! early, saying so, where no CUDA device is usable.

use infty_golden::Golden;
use infty_net::sparse::Layout;
use infty_net::trace::Trace;
use infty_net::{checkpoint, device, Net, NetConfig, NetModel};
use infty_sdk::model::new_model_box;
use infty_sdk::{Model, ModelInput, Points};
use tch::{Device, Tensor};

fn gpu() -> Option<Device> {
    let found = device::cuda_available().then_some(Device::Cuda(0));
    if found.is_none() {
        eprintln!("skipped: no CUDA device is usable here");
    }
    found
}

fn tensor(g: &Golden, name: &str, device: Device) -> Tensor {
    let t = g.f32(name);
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&t.data).view(shape.as_slice()).to_device(device)
}

fn max_err(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_device(Device::Cpu) - b.to_device(Device::Cpu)).abs().max().double_value(&[])
}

#[test]
fn cuda_forwards_match_the_reference() {
    let Some(gpu) = gpu() else { return };
    let g = Golden::load("tiny_forward.safetensors");
    let cfg: NetConfig = serde_json::from_value(g.manifest()["config"].clone()).unwrap();
    let mut net = Net::new(&cfg, gpu, 0).unwrap();
    net.load(
        &checkpoint::read(&infty_golden::golden_dir().join("tiny_model.safetensors")).unwrap(),
        "decoder.",
    )
    .unwrap();
    let (t, z) = (tensor(&g, "t", gpu), tensor(&g, "z", gpu));
    // cuDNN may compute convolutions in TF32: allow 1e-3 where the CPU meets 2e-5.
    let tolerance = 1e-3;
    for (name, size) in [("dense", 32), ("dense2x", 64), ("densehalf", 16), ("dense1p5x", 48)] {
        let x = tensor(&g, &format!("{name}_x"), gpu);
        let points = x.flatten(2, 3).transpose(1, 2);
        let out = net.denoise(&points, &t, &z, &Layout::dense(2, size, gpu));
        let out = out.transpose(1, 2).reshape([2, 3, size, size]);
        let err = max_err(&out, &tensor(&g, &format!("{name}_out"), Device::Cpu));
        eprintln!("cuda {name}_out: max abs error {err:.2e}");
        assert!(err <= tolerance);
    }
    let pixels: Vec<Vec<i64>> = g.i64("sample_lst").data.chunks(256).map(<[i64]>::to_vec).collect();
    let layout = Layout::sparse(32, pixels, gpu);
    let out = tch::no_grad(|| {
        net.decoder.forward(&tensor(&g, "sparse_x", gpu), &t, &z, &layout, false, &mut Trace::off())
    });
    let err = max_err(&out, &tensor(&g, "sparse_out", Device::Cpu));
    eprintln!("cuda sparse_out: max abs error {err:.2e}");
    assert!(err <= tolerance);
    let enc = net.encode(&tensor(&g, "enc_x", gpu).flatten(2, 3).transpose(1, 2), &Layout::dense(2, 32, gpu));
    let err = max_err(&enc, &tensor(&g, "enc_z", Device::Cpu));
    eprintln!("cuda enc_z: max abs error {err:.2e}");
    assert!(err <= tolerance);
}

#[test]
fn cuda_is_chosen_by_auto_and_trains() {
    let Some(_) = gpu() else { return };
    let spec = NetModel::spec();
    let params = spec
        .resolve([("config", "tiny"), ("device", "auto"), ("mode", "train"), ("learning-rate", "1e-3")])
        .unwrap();
    let net = new_model_box::<NetModel>(&params).unwrap();
    assert_eq!(net.info().device.as_str(), "cuda:0");
    let points: Vec<infty_sdk::Point> = (0..2)
        .flat_map(|_| (0..1024u32).map(|i| infty_sdk::Point { x: (i * 2) % 64, y: (i * 2) / 64 * 2 % 64 }))
        .collect();
    let x: Vec<f32> = (0..2 * 3 * 1024).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let target: Vec<f32> = x.iter().map(|v| v * 0.5).collect();
    let input = ModelInput {
        at: Points::sparse(64, 2, &points),
        x: x[..].into(),
        guide: Default::default(),
        t: [100.0f32, 700.0][..].into(),
        z: Default::default(),
    };
    let batch = infty_sdk::TrainBatch {
        input,
        target: target[..].into(),
        encoder_at: Points::sparse(64, 2, &points),
        encoder_x: x[..].into(),
    };
    let losses: Vec<f64> = (0..20).map(|_| net.train_step(batch).unwrap().loss).collect();
    eprintln!("cuda training losses: {losses:.4?}");
    assert!(losses[19] < 0.5 * losses[0]);
}

/// The latent prior on CUDA denoises as the same weights do on the CPU.
#[test]
fn the_latent_prior_runs_on_cuda_as_on_the_cpu() {
    use infty_net::latent::{LatentConfig, LatentNet};
    let Some(gpu) = gpu() else { return };
    let cfg = LatentConfig {
        hid_channels: 64,
        num_layers: 4,
        time_emb_channels: 16,
        ..LatentConfig::reference(8, 4)
    };
    let cpu = LatentNet::new(&cfg, Device::Cpu, 3).unwrap();
    let mut cuda = LatentNet::new(&cfg, gpu, 0).unwrap();
    let tensors = cpu.vs.variables().into_iter().collect();
    cuda.load(&checkpoint::Checkpoint { tensors, metadata: Default::default() }, "latent.").unwrap();
    let x = Tensor::randn([5, 8], (tch::Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[0f32, 10.0, 500.0, 998.0, 999.0]);
    let (a, b) = (cpu.denoise(&x, &t), cuda.denoise(&x.to_device(gpu), &t.to_device(gpu)));
    let err = max_err(&a, &b);
    eprintln!("latent prior, CUDA against CPU: max abs error {err:e}");
    assert!(err <= 1e-4, "{err}");
}
