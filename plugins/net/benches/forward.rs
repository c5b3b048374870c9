//! Forward-pass benchmark of the network on CPU (not a test): one case per process so
//! peak memory is the case's own. `bench/net` runs every case and prints the table.
//!
//!   cargo bench -p infty-net --bench forward -- CONFIG MODE SIZE [FRACTION]
//!
//! MODE is `sparse` (decoder on FRACTION of the SIZE² pixels, as in training), `dense`
//! (decoder on every pixel, as in sampling) or `encoder` (every pixel). The device is
//! `INFTY_BENCH_DEVICE` (`cpu` by default; `cuda` on a GPU machine).

use std::time::Instant;

use infty_net::sparse::Layout;
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.len() < 3 {
        eprintln!("usage: forward CONFIG sparse|dense|encoder SIZE [FRACTION]");
        std::process::exit(2);
    }
    let cfg = NetConfig::preset(&args[0]).unwrap_or_else(|| panic!("no preset {}", args[0]));
    let (mode, size) = (args[1].as_str(), args[2].parse::<i64>().expect("SIZE is an integer"));
    let fraction: f64 = args.get(3).map_or(1.0, |f| f.parse().expect("FRACTION is a number"));
    let device = infty_net::device::parse(&std::env::var("INFTY_BENCH_DEVICE").unwrap_or("cpu".into()))
        .unwrap_or_else(|e| panic!("{}", e.message));
    let net = Net::new(&cfg, device, 0).expect("the preset builds");
    let area = size * size;
    let layout = if mode == "sparse" {
        // A fixed pseudo-random subset, like np.random.choice(S², N, replace=False).
        let n = ((area as f64) * fraction).round() as i64;
        let order = Tensor::randperm(area, (Kind::Int64, Device::Cpu)).narrow(0, 0, n);
        Layout::sparse(size, vec![Vec::<i64>::try_from(order).unwrap()], device)
    } else {
        Layout::dense(1, size, device)
    };
    let x = Tensor::randn([1, layout.n, cfg.channels], (Kind::Float, device)) * 0.3;
    let (t, z) = (
        Tensor::from_slice(&[500f32]).to_device(device),
        Tensor::randn([1, cfg.z_dim], (Kind::Float, device)),
    );
    let run = || {
        let out = if mode == "encoder" { net.encode(&x, &layout) } else { net.denoise(&x, &t, &z, &layout) };
        out.sum(Kind::Float).double_value(&[])
    };
    run();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{} {mode} {size}² {:.1}% on {}: median {:.3} s (min {:.3}), peak RSS {:.0} MiB, {} threads",
        args[0],
        fraction * 100.0,
        infty_net::device::name(device),
        times[2],
        times[0],
        peak_rss_mib(),
        tch::get_num_threads()
    );
}
