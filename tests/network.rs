//! The network plugin through the real binary: listed and documented as a model,
//! refused as a pipeline step, and built by another plugin through the host API,
//! where it reproduces the reference's dense forward (golden `tiny_forward`).

use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, Infty};
use infty_golden::Golden;

fn infty() -> Infty {
    Infty::with_plugins(&["infty_net", "infty_test_fixture"].map(|p| artifacts().plugin(p)))
}

#[test]
fn the_network_is_listed_documented_and_not_a_pipeline_step() {
    let infty = infty();
    let listing = infty.run(&["plugins"]).assert_ok().stdout_text();
    let line = listing.lines().find(|l| l.trim_start().starts_with("net ")).expect("net is listed");
    assert!(line.contains(" model "), "{line}");
    let help = infty.run(&["help", "net"]).assert_ok().stdout_text();
    for expected in [
        "--checkpoint",
        "--device",
        "auto, cpu, cuda or cuda:N",
        "--mode <infer|train>",
        "infty_sdk::host::model",
    ] {
        assert!(help.contains(expected), "help lacks {expected}:\n{help}");
    }
    std::fs::write(infty.path("in.tif"), Image::pattern(32, 32, 3, "f32").encode_tiff()).unwrap();
    infty.pipeline("read in.tif ! net ! write out.tif").assert_refused("'net' is a model, not an operator");
    infty.assert_no_output("out.tif");
}

#[test]
fn a_plugin_denoises_with_the_reference_weights_through_the_host() {
    let infty = infty();
    let g = Golden::load("tiny_forward.safetensors");
    // Item 0 of the golden dense forward: x (C×S×S), t, z.
    // Images hold interleaved samples; the golden tensors are channel-major.
    let x = g.f32("dense_x");
    let (c, size) = (x.shape[1], x.shape[3]);
    let interleaved = |planes: &[f32]| -> Vec<f32> {
        (0..size * size * c).map(|i| planes[(i % c) * size * size + i / c]).collect()
    };
    let (width, height, channels) = (size as u32, size as u32, c as u32);
    let image = Image { width, height, channels, samples: Samples::F32(interleaved(x.at(0))) };
    std::fs::write(infty.path("x.tif"), image.encode_tiff()).unwrap();
    let config = infty.path("tiny.json");
    std::fs::write(&config, g.manifest()["config"].to_string()).unwrap();
    let weights = infty_golden::golden_dir().join("tiny_model.safetensors");
    let z: Vec<String> = g.f32("z").at(0).iter().map(|v| format!("{v:e}")).collect();
    let t = g.f32("t").data[0];
    let step = format!(
        "via-model --params checkpoint={},config={},device=cpu,precision=fp32 --t {t} --z {}",
        weights.display(),
        config.display(),
        z.join(",")
    );
    infty.pipeline(&format!("read x.tif ! {step} ! write eps.tif --depth f32")).assert_ok();
    let eps = Image::load(&infty.path("eps.tif")).values();
    let want = interleaved(g.f32("dense_out").at(0));
    let err = eps.iter().zip(&want).map(|(a, b)| (a - f64::from(*b)).abs()).fold(0.0, f64::max);
    eprintln!("dense forward through the binary: max abs error {err:e}");
    assert!(err <= 2e-5, "max abs error {err}");

    let missing = infty.path("missing.safetensors");
    let run = infty.pipeline(&format!(
        "read x.tif ! via-model --params checkpoint={} --t 1 --z 0 ! write eps2.tif",
        missing.display()
    ));
    run.assert_refused("cannot read checkpoint");
    infty.assert_no_output("eps2.tif");
}

/// Regression (issue 6): the network plugin links libtorch, whose initialisers cost
/// ~110 MB and ~0.3 s at load. The first start reads its manifest in a probe (a child
/// process) and caches it; `infty` itself lists it and runs other plugins' operators
/// without opening it, cold or warm.
#[test]
fn libtorch_is_loaded_only_when_the_network_is_used() {
    let infty = Infty::with_plugins(&["infty_net", "infty_basic"].map(|p| artifacts().plugin(p)));
    let (first, cold) = infty.run_measured(&["plugins"]);
    first.assert_ok();
    let (second, warm) = infty.run_measured(&["plugins"]);
    second.assert_ok();
    let listing = infty.run(&["plugins"]).assert_ok().stdout_text();
    assert!(listing.contains("org.infty.net"), "{listing}");
    eprintln!(
        "infty plugins: peak RSS {} MiB probing the libraries, {} MiB from the cache",
        cold >> 10,
        warm >> 10
    );
    assert!(cold < 40 << 10 && warm < 40 << 10, "cold {cold} KiB, warm {warm} KiB");
    std::fs::write(infty.path("in.png"), Image::pattern(40, 30, 3, "u8").encode(image::ImageFormat::Png))
        .unwrap();
    let (run, peak) = infty
        .run_measured(&["run", "read", "in.png", "!", "scale", "--factor", "0.5", "!", "write", "out.png"]);
    run.assert_ok();
    assert!(peak < 40 << 10, "a pipeline without the network peaked at {peak} KiB");
    // Using the network opens its library from the cached entry.
    infty.run(&["help", "net"]).assert_ok();
    std::fs::write(infty.path("x.tif"), Image::pattern(32, 32, 3, "f32").encode_tiff()).unwrap();
    let step = "via-model --params config=tiny,device=cpu --t 10 --z 0";
    let fixture = Infty::with_plugins(&["infty_net", "infty_test_fixture"].map(|p| artifacts().plugin(p)));
    std::fs::copy(infty.path("x.tif"), fixture.path("x.tif")).unwrap();
    fixture.run(&["plugins"]).assert_ok();
    // tiny's z has 64 values: one is refused by the model itself, which had to be opened.
    fixture.pipeline(&format!("read x.tif ! {step} ! write eps.tif")).assert_refused("z has 1 samples");
}
