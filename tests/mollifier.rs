//! The mollifier plugin through the real binary: parity with the reference's numbers
//! on f32 TIFFs, a round trip on the bundled sample, and refused parameters.

use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, workspace_root, Infty};
use infty_golden::Golden;

fn infty() -> Infty {
    Infty::with_plugins(&[artifacts().plugin("infty_mollifier")])
}

/// Golden tensor `name` (1×C×H×W, planar) as an interleaved f32 image.
fn golden_image(golden: &Golden, name: &str) -> Image {
    let tensor = golden.f32(name);
    let (c, h, w) = (tensor.shape[1], tensor.shape[2], tensor.shape[3]);
    let interleaved = (0..h * w)
        .flat_map(|i| (0..c).map(move |ch| (ch, i)))
        .map(|(ch, i)| tensor.data[ch * h * w + i])
        .collect();
    Image { width: w as u32, height: h as u32, channels: c as u32, samples: Samples::F32(interleaved) }
}

#[test]
fn infty_run_matches_the_reference_mollifier_and_its_inverse() {
    let infty = infty();
    let golden = Golden::load("mollifier.safetensors");
    let cases = [
        ("x", "mollify --sigma 1", "Tx", 1e-5),
        ("x_2x", "mollify --sigma 2", "Tx_2x", 1e-5),
        ("Tx", "unmollify --sigma 1 --inv-snr 0.05", "undo_wiener_Tx", 5e-5),
    ];
    for (input, step, expected, tolerance) in cases {
        std::fs::write(infty.path("in.tif"), golden_image(&golden, input).encode_tiff()).unwrap();
        infty.pipeline(&format!("read in.tif ! {step} ! write out.tif")).assert_ok();
        let out = Image::load(&infty.path("out.tif"));
        let want = golden_image(&golden, expected);
        let err = out.values().iter().zip(want.values()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(err <= tolerance, "{step} on {input}: max abs error {err:e} > {tolerance:e}");
    }
}

#[test]
fn mollify_then_unmollify_restores_the_sample_closely() {
    let infty = infty();
    let sample = workspace_root().join("examples/images/chelsea.png");
    let pipeline = format!(
        "read {} ! mollify --sigma 1 ! unmollify --sigma 1 ! write out.tif --depth f32",
        sample.display()
    );
    infty.pipeline(&pipeline).assert_ok();
    let restored = Image::load(&infty.path("out.tif")).values();
    let original = Image::load(&sample).values();
    let mse = restored.iter().zip(&original).map(|(a, b)| (a - b / 255.0).powi(2)).sum::<f64>()
        / original.len() as f64;
    let psnr = 10.0 * (1.0 / mse).log10();
    assert!(psnr > 33.0, "PSNR of unmollify(mollify(x)) vs x: {psnr:.1} dB");
}

#[test]
fn bad_sigma_and_inv_snr_are_refused_with_exit_code_2() {
    let infty = infty();
    std::fs::write(infty.path("in.png"), Image::pattern(16, 16, 3, "u8").encode(image::ImageFormat::Png))
        .unwrap();
    let cases = [
        ("mollify --sigma 0", "mollify (org.infty.mollifier): param 'sigma': must be > 0, got 0"),
        ("mollify --sigma -2", "param 'sigma': must be > 0, got -2"),
        ("mollify --sigma NaN", "param 'sigma': must be a finite number, got NaN"),
        ("mollify --sigma 1e9", "param 'sigma': must be <= 256, got 1000000000"),
        ("unmollify --inv-snr 0", "unmollify (org.infty.mollifier): param 'inv-snr': must be > 0, got 0"),
        ("unmollify --inv-snr -0.05", "param 'inv-snr': must be > 0, got -0.05"),
    ];
    for (step, message) in cases {
        let run = infty.pipeline(&format!("read in.png ! {step} ! write out.png"));
        run.assert_refused(message);
        infty.assert_no_output("out.png");
    }
}

#[test]
fn another_plugin_can_run_the_mollifier_through_the_host_api() {
    let infty = Infty::with_plugins(&[
        artifacts().plugin("infty_mollifier"),
        artifacts().plugin("infty_test_fixture"),
    ]);
    std::fs::write(infty.path("in.tif"), Image::pattern(300, 280, 3, "f32").encode_tiff()).unwrap();
    infty.pipeline("read in.tif ! mollify --sigma 2.5 ! write direct.tif").assert_ok();
    infty.pipeline("read in.tif ! via-host --item mollify --params sigma=2.5 ! write via.tif").assert_ok();
    let (direct, via) = (Image::load(&infty.path("direct.tif")), Image::load(&infty.path("via.tif")));
    assert_eq!(direct, via, "the same operator, built by the host for another plugin");
    // Errors from the inner operator's schema reach the user with the item named.
    let run = infty.pipeline("read in.tif ! via-host --item mollify --params sigma=-1 ! write bad.tif");
    run.assert_refused("mollify (org.infty.mollifier): param 'sigma': must be > 0, got -1");
    let run = infty.pipeline("read in.tif ! via-host --item blur ! write bad.tif");
    run.assert_refused("unknown operator 'blur'");
    infty.assert_no_output("bad.tif");
}
