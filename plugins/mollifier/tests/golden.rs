//! Parity with the reference implementation's numbers (`golden/mollifier.safetensors`,
//! see `golden/manifest.json`). The folder is `INFTY_GOLDEN_DIR`, by default
//! `../shared/golden` beside the workspace.

use infty_golden::Golden;
use infty_mollifier::{Mollify, Unmollify};
use infty_sdk::testing::{max_abs_diff, run_tiled};
use infty_sdk::{ItemSpec, Operator, RasterInfo};

fn load() -> Golden {
    Golden::load("mollifier.safetensors")
}

/// A tensor's samples and its last two dims.
fn tensor(golden: &Golden, name: &str) -> (Vec<f32>, u32, u32) {
    let t = golden.f32(name);
    let n = t.shape.len();
    (t.data, t.shape[n - 2] as u32, t.shape[n - 1] as u32)
}

fn op<T: Operator>(given: &[(&str, &str)]) -> T {
    let spec: ItemSpec = T::spec();
    T::new(&spec.resolve(given.iter().copied()).unwrap()).unwrap()
}

/// Runs `op` on golden tensor `input` (1×3×S×S) whole and in 8-pixel tiles, and checks
/// both against `expected` within the manifest's tolerance.
fn check<T: Operator>(golden: &Golden, op: &T, input: &str, expected: &str) {
    let (x, h, w) = tensor(golden, input);
    let (want, _, _) = tensor(golden, expected);
    let raster = RasterInfo::new(w, h, 3);
    let tolerance = golden.tolerance(expected);
    for tile in [w, 8] {
        let (_, got) = run_tiled(op, raster, &x, tile).unwrap();
        let err = max_abs_diff(&got, &want);
        eprintln!("{expected} (tiles of {tile}): max abs error {err:e}, tolerance {tolerance:e}");
        assert!(err <= tolerance, "{expected} (tiles of {tile}): max abs error {err:e} > {tolerance:e}");
    }
}

#[test]
fn mollify_matches_the_reference_at_s32_sigma1() {
    let golden = load();
    let t: Mollify = op(&[("sigma", "1")]);
    check(&golden, &t, "x", "Tx");
    check(&golden, &t, "xi", "T_xi");
}

#[test]
fn mollify_matches_the_resolution_scaled_reference_at_s64_sigma2() {
    let golden = load();
    let sigma = infty_sdk::resolution::sigma_at(1.0, 32.0, 64.0).to_string();
    let t: Mollify = op(&[("sigma", &sigma)]);
    check(&golden, &t, "x_2x", "Tx_2x");
}

#[test]
fn unmollify_matches_the_reference_wiener_inverse() {
    let golden = load();
    let inverse: Unmollify = op(&[("sigma", "1"), ("inv-snr", "0.05")]);
    check(&golden, &inverse, "Tx", "undo_wiener_Tx");
    let inverse: Unmollify = op(&[("sigma", "2")]);
    check(&golden, &inverse, "Tx_2x", "undo_wiener_Tx_2x");
}

#[test]
fn gains_match_the_reference_tables() {
    let golden = load();
    for (name, sigma) in [("gaussian", 1.0), ("gaussian_2x", 2.0)] {
        let (table, s, _) = tensor(&golden, name);
        let tolerance = golden.tolerance(name);
        for (i, want) in table.iter().enumerate() {
            let (k1, k2) = ((i / s as usize) as f64, (i % s as usize) as f64);
            let pi = std::f64::consts::PI;
            let ours = infty_mollifier::kernel::gain(pi * k1 / f64::from(s), sigma)
                * infty_mollifier::kernel::gain(pi * k2 / f64::from(s), sigma);
            assert!((ours as f32 - want).abs() <= tolerance, "{name}[{i}]: {ours} vs {want}");
        }
    }
}
