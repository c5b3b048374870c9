//! Parity with the reference implementation's numbers (`mollifier.safetensors` in the
//! golden folder, see `tests/golden`). σ, ε and both resolutions come from the data.

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

/// The reference's mollifier σ and Wiener ε at the base resolution (manifest config).
fn sigma_and_inv_snr(golden: &Golden) -> (f64, f64) {
    let diffusion = &golden.manifest()["config"]["diffusion"];
    let get = |key: &str| diffusion[key].as_f64().unwrap_or_else(|| panic!("config.diffusion.{key}"));
    (get("gaussian_filter_std"), get("inv_snr"))
}

/// σ scaled from the base raster (`x`) to the larger one (`x_2x`), as the reference does.
fn sigma_2x(golden: &Golden) -> f64 {
    let (sigma, _) = sigma_and_inv_snr(golden);
    let (_, base, _) = tensor(golden, "x");
    let (_, large, _) = tensor(golden, "x_2x");
    infty_kit::resolution::sigma_at(sigma, f64::from(base), f64::from(large))
}

fn op<T: Operator>(given: &[(&str, &str)]) -> T {
    let spec: ItemSpec = T::spec();
    T::new(&spec.resolve(given.iter().copied()).unwrap()).unwrap()
}

/// Runs `op` on golden tensor `input` (1×C×H×W) whole and in 8-pixel tiles, and checks
/// both against `expected` within the manifest's tolerance.
fn check<T: Operator>(golden: &Golden, op: &T, input: &str, expected: &str) {
    let (x, h, w) = tensor(golden, input);
    let (want, _, _) = tensor(golden, expected);
    let shape = &golden.f32(input).shape;
    let raster = RasterInfo::new(w, h, shape[shape.len() - 3] as u32);
    let tolerance = golden.tolerance(expected);
    for tile in [w, 8] {
        let (_, got) = run_tiled(op, raster, &x, tile).unwrap();
        let err = max_abs_diff(&got, &want);
        eprintln!("{expected} (tiles of {tile}): max abs error {err:e}, tolerance {tolerance:e}");
        assert!(err <= tolerance, "{expected} (tiles of {tile}): max abs error {err:e} > {tolerance:e}");
    }
}

#[test]
fn mollify_matches_the_reference_at_the_base_size() {
    let golden = load();
    let (sigma, _) = sigma_and_inv_snr(&golden);
    let t: Mollify = op(&[("sigma", sigma.to_string().as_str())]);
    check(&golden, &t, "x", "Tx");
    check(&golden, &t, "xi", "T_xi");
}

#[test]
fn mollify_matches_the_resolution_scaled_reference_at_the_larger_size() {
    let golden = load();
    let t: Mollify = op(&[("sigma", sigma_2x(&golden).to_string().as_str())]);
    check(&golden, &t, "x_2x", "Tx_2x");
}

#[test]
fn unmollify_matches_the_reference_wiener_inverse() {
    let golden = load();
    let (sigma, inv_snr) = sigma_and_inv_snr(&golden);
    let inv_snr = inv_snr.to_string();
    let inverse: Unmollify = op(&[("sigma", sigma.to_string().as_str()), ("inv-snr", &inv_snr)]);
    check(&golden, &inverse, "Tx", "undo_wiener_Tx");
    let inverse: Unmollify = op(&[("sigma", sigma_2x(&golden).to_string().as_str()), ("inv-snr", &inv_snr)]);
    check(&golden, &inverse, "Tx_2x", "undo_wiener_Tx_2x");
}

#[test]
fn gains_match_the_reference_tables() {
    let golden = load();
    for (name, sigma) in [("gaussian", sigma_and_inv_snr(&golden).0), ("gaussian_2x", sigma_2x(&golden))] {
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
