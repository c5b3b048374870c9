//! Parity with the reference implementation's numbers (`golden/mollifier.safetensors`,
//! see `golden/manifest.json`). The folder is `INFTY_GOLDEN_DIR`, by default
//! `../shared/golden` beside the workspace.

use std::path::PathBuf;

use infty_mollifier::{Mollify, Unmollify};
use infty_sdk::testing::{max_abs_diff, run_tiled};
use infty_sdk::{ItemSpec, Operator, RasterInfo};
use safetensors::SafeTensors;

fn golden_dir() -> PathBuf {
    match std::env::var_os("INFTY_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden"),
    }
}

struct Golden {
    bytes: Vec<u8>,
    manifest: serde_json::Value,
}

impl Golden {
    fn load() -> Golden {
        let dir = golden_dir();
        let read = |name: &str| {
            std::fs::read(dir.join(name)).unwrap_or_else(|e| {
                panic!("{}: {e} (set INFTY_GOLDEN_DIR to the golden folder)", dir.join(name).display())
            })
        };
        let manifest = serde_json::from_slice(&read("manifest.json")).expect("manifest.json is JSON");
        Golden { bytes: read("mollifier.safetensors"), manifest }
    }

    /// The manifest's `tolerance_max_abs` for a tensor of `mollifier.safetensors`.
    fn tolerance(&self, name: &str) -> f32 {
        let entry = &self.manifest["files"]["mollifier.safetensors"]["tensors"][name]["tolerance_max_abs"];
        entry.as_f64().unwrap_or_else(|| panic!("no numeric tolerance for {name} in the manifest")) as f32
    }

    /// A tensor's samples (f32, little-endian) and its last two dims.
    fn tensor(&self, name: &str) -> (Vec<f32>, u32, u32) {
        let tensors = SafeTensors::deserialize(&self.bytes).unwrap();
        let view = tensors.tensor(name).unwrap();
        let shape = view.shape();
        let (h, w) = (shape[shape.len() - 2] as u32, shape[shape.len() - 1] as u32);
        let samples =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        (samples, h, w)
    }
}

fn op<T: Operator>(given: &[(&str, &str)]) -> T {
    let spec: ItemSpec = T::spec();
    T::new(&spec.resolve(given.iter().copied()).unwrap()).unwrap()
}

/// Runs `op` on golden tensor `input` (1×3×S×S) whole and in 8-pixel tiles, and checks
/// both against `expected` within the manifest's tolerance.
fn check<T: Operator>(golden: &Golden, op: &T, input: &str, expected: &str) {
    let (x, h, w) = golden.tensor(input);
    let (want, _, _) = golden.tensor(expected);
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
    let golden = Golden::load();
    let t: Mollify = op(&[("sigma", "1")]);
    check(&golden, &t, "x", "Tx");
    check(&golden, &t, "xi", "T_xi");
}

#[test]
fn mollify_matches_the_resolution_scaled_reference_at_s64_sigma2() {
    let golden = Golden::load();
    let sigma = infty_sdk::resolution::sigma_at(1.0, 32.0, 64.0).to_string();
    let t: Mollify = op(&[("sigma", &sigma)]);
    check(&golden, &t, "x_2x", "Tx_2x");
}

#[test]
fn unmollify_matches_the_reference_wiener_inverse() {
    let golden = Golden::load();
    let inverse: Unmollify = op(&[("sigma", "1"), ("inv-snr", "0.05")]);
    check(&golden, &inverse, "Tx", "undo_wiener_Tx");
    let inverse: Unmollify = op(&[("sigma", "2")]);
    check(&golden, &inverse, "Tx_2x", "undo_wiener_Tx_2x");
}

#[test]
fn gains_match_the_reference_tables() {
    let golden = Golden::load();
    for (name, sigma) in [("gaussian", 1.0), ("gaussian_2x", 2.0)] {
        let (table, s, _) = golden.tensor(name);
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
