//! Forward-pass benchmark of the network on CPU (not a test): one case per process so
//! peak memory is the case's own. `bench/net` runs every case and prints the table.
//!
//!   cargo bench -p infty-net --bench forward -- CONFIG MODE SIZE [FRACTION]
//!
//! CONFIG is a preset (`tiny`, `ffhq128`, …) or a checkpoint whose config to build.
//! MODE is `sparse` (decoder on FRACTION of the SIZE² pixels, as in training), `dense`
//! (decoder on every pixel, as in sampling) or `encoder` (every pixel). The device is
//! `INFTY_BENCH_DEVICE` (`cpu` by default; `cuda` on a GPU machine), the precision
//! `INFTY_BENCH_PRECISION` (`fp32`, `bf16` or `auto`; fp32 by default), the batch
//! `INFTY_BENCH_BATCH` (1; 8 is what `infty upscale` gives the model). With
//! `INFTY_BENCH_PROFILE=1` it also prints the median time of each stage of the forward;
//! `INFTY_BENCH_REPEATS` sets the number of timed runs (5). `INFTY_BENCH_SECOND_TEAM=1`
//! first runs one libtorch op on another thread that stays alive, as a host may.

use std::time::Instant;

use infty_net::precision::{self, Precision};
use infty_net::sparse::Layout;
use infty_net::trace::Trace;
use infty_net::{Net, NetConfig};
use tch::{Device, Kind, Tensor};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

/// The median time of each stage over the runs, and its share of the sum.
fn print_stages(runs: &[Vec<(String, f64)>]) {
    let medians: Vec<(&str, f64)> = (0..runs[0].len())
        .map(|i| {
            let mut t: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
            t.sort_by(f64::total_cmp);
            (runs[0][i].0.as_str(), t[t.len() / 2])
        })
        .collect();
    let total: f64 = medians.iter().map(|(_, t)| t).sum();
    for (name, median) in medians {
        println!("  {name:<16} {:>8.1} ms  {:>5.1}%", median * 1e3, 100.0 * median / total);
    }
}

/// A preset, or the config a checkpoint carries (e.g. a bundled model's, with its guide).
fn config(name: &str) -> NetConfig {
    if let Some(cfg) = NetConfig::preset(name) {
        return cfg;
    }
    let ckpt =
        infty_net::checkpoint::read(std::path::Path::new(name)).unwrap_or_else(|e| panic!("{}", e.message));
    serde_json::from_str(&ckpt.metadata["config"]).expect("the checkpoint carries its config")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.len() < 3 {
        eprintln!("usage: forward CONFIG sparse|dense|encoder SIZE [FRACTION]");
        std::process::exit(2);
    }
    let cfg = config(&args[0]);
    let (mode, size) = (args[1].as_str(), args[2].parse::<i64>().expect("SIZE is an integer"));
    let fraction: f64 = args.get(3).map_or(1.0, |f| f.parse().expect("FRACTION is a number"));
    let device = infty_net::device::parse(&std::env::var("INFTY_BENCH_DEVICE").unwrap_or("cpu".into()))
        .unwrap_or_else(|e| panic!("{}", e.message));
    let precision = Precision::parse(&std::env::var("INFTY_BENCH_PRECISION").unwrap_or("fp32".into()))
        .unwrap_or_else(|e| panic!("{}", e.message));
    if std::env::var("INFTY_BENCH_SECOND_TEAM").is_ok() {
        // A host that touched libtorch on one thread and runs the model on another keeps
        // two OpenMP teams alive; libgomp then parks threads at every barrier instead of
        // spinning (docs/benchmarks.md#upscale). This reproduces it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let a = Tensor::ones([4_000_000], (Kind::Float, Device::Cpu));
            let _ = (&a + &a).sum(Kind::Float).double_value(&[]);
            tx.send(()).unwrap();
            std::thread::park();
        });
        rx.recv().unwrap();
    }
    let mut net = Net::new(&cfg, device, 0).expect("the preset builds");
    net.set_kind(precision.kind(device));
    let batch: i64 = std::env::var("INFTY_BENCH_BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(1);
    let area = size * size;
    let layout = if mode == "sparse" {
        // A fixed pseudo-random subset per item, like np.random.choice(S², N, replace=False).
        let n = ((area as f64) * fraction).round() as i64;
        let item =
            || Vec::<i64>::try_from(Tensor::randperm(area, (Kind::Int64, Device::Cpu)).narrow(0, 0, n));
        Layout::sparse(size, (0..batch).map(|_| item().unwrap()).collect(), device)
    } else {
        Layout::dense(batch, size, device)
    };
    let inputs = cfg.channels + cfg.guide_channels;
    let x = (Tensor::randn([batch, layout.n, inputs], (Kind::Float, device)) * 0.3).to_kind(net.kind());
    let (t, z) = (
        Tensor::full([batch], 500.0, (Kind::Float, device)),
        Tensor::randn([batch, cfg.z_dim], (Kind::Float, device)),
    );
    let run = |trace: &mut Trace| {
        let out = tch::no_grad(|| {
            if mode == "encoder" {
                net.encoder.forward(&x.narrow(2, 0, cfg.channels), &layout, false, trace)
            } else {
                net.decoder.forward(&x, &t, &z, &layout, false, trace)
            }
        });
        out.sum(Kind::Float).double_value(&[])
    };
    run(&mut Trace::off());
    let mut times = Vec::new();
    let mut stages: Vec<Vec<(String, f64)>> = Vec::new();
    let profile = std::env::var_os("INFTY_BENCH_PROFILE").is_some();
    let repeats: usize = std::env::var("INFTY_BENCH_REPEATS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    for _ in 0..repeats.max(1) {
        let mut trace = if profile { Trace::timed() } else { Trace::off() };
        let start = Instant::now();
        run(&mut trace);
        times.push(start.elapsed().as_secs_f64());
        stages.push(trace.times().to_vec());
    }
    times.sort_by(f64::total_cmp);
    if profile {
        print_stages(&stages);
    }
    println!(
        "{} {mode} {size}² {:.1}% {} on {}: median {:.3} s (min {:.3}), peak RSS {:.0} MiB, {} threads",
        args[0],
        fraction * 100.0,
        precision::name(net.kind()),
        infty_net::device::name(device),
        times[times.len() / 2],
        times[0],
        peak_rss_mib(),
        tch::get_num_threads()
    );
}
