//! Properties of T and its inverse beyond the golden sizes: tile invariance, mirror
//! boundaries, self-adjointness, the variance of Tξ, and the Wiener halo.

use infty_mollifier::{Mollify, Unmollify};
use infty_sdk::testing::{max_abs_diff, run_tiled};
use infty_sdk::{Operator, RasterInfo};

/// Deterministic uniform samples in [-1, 1) (splitmix64).
fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 52) as f32 - 1.0
        })
        .collect()
}

/// Deterministic standard normal samples (Box–Muller over [`uniform`]).
fn normal(n: usize, seed: u64) -> Vec<f32> {
    let u = uniform(2 * n, seed);
    u.chunks_exact(2)
        .map(|p| {
            let (a, b) = ((p[0] as f64 + 1.0) / 2.0, (p[1] as f64 + 1.0) / 2.0);
            ((-2.0 * (1.0 - a).ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
        })
        .collect()
}

fn mollify(sigma: f64) -> Mollify {
    Mollify::new(&Mollify::spec().resolve([("sigma", sigma.to_string().as_str())]).unwrap()).unwrap()
}

fn unmollify(sigma: f64) -> Unmollify {
    Unmollify::new(&Unmollify::spec().resolve([("sigma", sigma.to_string().as_str())]).unwrap()).unwrap()
}

fn whole<T: Operator>(op: &T, raster: RasterInfo, x: &[f32]) -> Vec<f32> {
    run_tiled(op, raster, x, u32::MAX).unwrap().1
}

#[test]
fn tiles_equal_the_whole_image_including_tiles_smaller_than_the_halo() {
    // Long axes (truncated kernel, halo 5σ) and short ones (exact, halo = whole axis).
    let cases =
        [(300, 270, 1.0, 4), (531, 270, 4.0, 7), (300, 260, 2.5, 5), (200, 150, 1.0, 16), (37, 300, 0.6, 16)];
    for (width, height, sigma, smallest_tile) in cases {
        let raster = RasterInfo::new(width, height, 2);
        let x = uniform((width * height * 2) as usize, u64::from(width));
        let t = mollify(sigma);
        let reference = whole(&t, raster, &x);
        for tile in [smallest_tile, 100, 256] {
            let (_, tiled) = run_tiled(&t, raster, &x, tile).unwrap();
            let err = max_abs_diff(&tiled, &reference);
            assert!(err <= 1e-6, "{width}x{height} σ={sigma} tiles of {tile}: {err:e}");
        }
    }
}

#[test]
fn t_is_self_adjoint_with_mirror_boundaries() {
    for (width, height, sigma) in [(40, 30, 1.0), (300, 280, 1.0), (290, 270, 3.0)] {
        let raster = RasterInfo::new(width, height, 1);
        let n = (width * height) as usize;
        let (a, b) = (uniform(n, 1), uniform(n, 2));
        let t = mollify(sigma);
        let dot =
            |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum::<f64>();
        let (ta, tb) = (whole(&t, raster, &a), whole(&t, raster, &b));
        let (left, right) = (dot(&ta, &b), dot(&a, &tb));
        assert!((left - right).abs() <= 1e-5 * left.abs().max(1.0), "{width}x{height}: {left} vs {right}");
    }
}

#[test]
fn flat_images_stay_flat_up_to_the_edges() {
    let raster = RasterInfo::new(400, 300, 1);
    let flat = vec![0.37f32; 400 * 300];
    for sigma in [0.5, 1.0, 7.0] {
        let out = whole(&mollify(sigma), raster, &flat);
        assert!(max_abs_diff(&out, &flat) < 1e-6, "σ={sigma}");
    }
}

#[test]
fn mollified_white_noise_has_the_reference_variance() {
    // docs/reference.md §2.2 point 4: std of Tξ is 0.284 per pixel at S=256, std=1.
    let raster = RasterInfo::new(256, 256, 1);
    let xi = normal(256 * 256, 7);
    let t_xi = whole(&mollify(1.0), raster, &xi);
    let n = t_xi.len() as f64;
    let mean = t_xi.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let std = (t_xi.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!((std - 0.284).abs() < 0.004, "std of Tξ = {std}");
}

#[test]
fn unmollify_inverts_mollify_on_smooth_content_and_tiles_agree() {
    let (width, height) = (420, 300);
    let raster = RasterInfo::new(width, height, 1);
    // Smooth content: the Wiener inverse restores it up to its 1/(1+ε²/g²) gain.
    let smooth: Vec<f32> = (0..width * height)
        .map(|i| {
            let (x, y) = (f64::from(i % width), f64::from(i / width));
            ((x / 37.0).sin() * (y / 23.0).cos() * 0.5) as f32
        })
        .collect();
    for sigma in [1.0, 2.0] {
        let blurred = whole(&mollify(sigma), raster, &smooth);
        let inverse = unmollify(sigma);
        let restored = whole(&inverse, raster, &blurred);
        let err = max_abs_diff(&restored, &smooth);
        // Below 5e-3: the Wiener gain 1/(1+ε²/g²) is 0.9975 at these frequencies.
        assert!(err < 5e-3, "σ={sigma}: unmollify(mollify(x)) off by {err:e}");
        // The halo keeps tiles within 1e-4 of the whole-image result, even on noise.
        let noisy = whole(&mollify(sigma), raster, &uniform((width * height) as usize, 3));
        let reference = whole(&inverse, raster, &noisy);
        for tile in [64, 150] {
            let (_, tiled) = run_tiled(&inverse, raster, &noisy, tile).unwrap();
            let err = max_abs_diff(&tiled, &reference);
            assert!(err < 1e-4, "σ={sigma} tiles of {tile}: {err:e}");
        }
    }
}
