//! The mollifier's kernel along one axis.
//!
//! The reference's T (`DCTGaussianBlur`) multiplies orthonormal DCT-II coefficient `k`
//! of an axis of `L` pixels by `g(πk/L)` with `g(ω) = exp(-ω²σ²/2)`, the Fourier
//! transform of a Gaussian of σ pixels (docs/reference.md §2.2, points 1–2). That is a
//! circular convolution of the axis's half-sample-symmetric (mirror) extension, of
//! period 2L, with the kernel
//!
//! `h_L[n] = (1/2L)·(1 + 2·Σ_{k=1}^{L-1} g(πk/L)·cos(πkn/L))`
//!
//! Because `g` is cut at the Nyquist frequency, `h_L` decays only as 1/n² for σ ≲ 1.5
//! (g(π) = 0.0072 at σ = 1). So:
//! - an axis of at most [`EXACT_MAX`] pixels (or shorter than the truncated radius) gets
//!   the full period of `h_L`: exactly the reference's operator;
//! - a longer axis gets the band-limited Gaussian `h[n] = (1/π)∫_0^π g(ω)cos(ωn)dω`
//!   (the limit of `h_L`), truncated at [`truncated_radius`] and normalised to sum 1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Axes up to this many pixels get the reference's exact operator.
pub const EXACT_MAX: u32 = 256;

/// The Gaussian's Fourier transform at angular frequency `omega` (rad/pixel).
pub fn gain(omega: f64, sigma: f64) -> f64 {
    (-(omega * sigma).powi(2) / 2.0).exp()
}

/// Radius of the truncated kernel, at least 3 pixels: 5σ, but only 4σ up to σ = 1.5,
/// where the Nyquist kink (not the truncation) dominates the deviation from the
/// reference (measured in `blur::tests`).
pub fn truncated_radius(sigma: f64) -> u32 {
    let widths = if sigma <= 1.5 { 4.0 } else { 5.0 };
    (widths * sigma).ceil().max(3.0) as u32
}

/// The halo T needs on an axis of `len` pixels: the whole axis when exact.
pub fn radius(sigma: f64, len: u32) -> u32 {
    axis_halo(truncated_radius(sigma), len)
}

/// `truncated` pixels of halo on a long axis; the whole axis on one of at most
/// [`EXACT_MAX`] pixels or one shorter than the halo.
pub fn axis_halo(truncated: u32, len: u32) -> u32 {
    if len <= EXACT_MAX || truncated >= len {
        len
    } else {
        truncated
    }
}

/// Taps `h[0..=radius]` of the symmetric kernel on an axis of `len` pixels.
pub fn taps(sigma: f64, len: u32) -> Vec<f32> {
    let r = radius(sigma, len);
    if r == len {
        exact_taps(sigma, len)
    } else {
        band_limited_taps(sigma, r)
    }
}

/// One full period of `h_L`, as taps −L..=L with the two ends (the same sample of the
/// period) halved.
fn exact_taps(sigma: f64, len: u32) -> Vec<f32> {
    let l = f64::from(len);
    let gains: Vec<f64> = (1..len).map(|k| gain(std::f64::consts::PI * f64::from(k) / l, sigma)).collect();
    let mut taps: Vec<f64> = (0..=len)
        .map(|n| {
            let sum: f64 = gains
                .iter()
                .enumerate()
                .map(|(i, g)| g * (std::f64::consts::PI * (i + 1) as f64 * f64::from(n) / l).cos())
                .sum();
            (1.0 + 2.0 * sum) / (2.0 * l)
        })
        .collect();
    taps[len as usize] /= 2.0;
    taps.into_iter().map(|t| t as f32).collect()
}

/// `h[n] = (1/π)∫_0^ω_max g(ω)cos(ωn)dω` by Simpson's rule, with ω_max = min(π, 9/σ)
/// (g < 3e-18 beyond 9/σ), normalised so the taps sum to 1.
fn band_limited_taps(sigma: f64, radius: u32) -> Vec<f32> {
    let top = std::f64::consts::PI.min(9.0 / sigma);
    // Enough intervals for about 32 per period of the fastest cosine.
    let intervals = 2 * (512 + (16.0 * f64::from(radius) * top / std::f64::consts::PI).ceil() as usize);
    let step = top / intervals as f64;
    let taps: Vec<f64> = (0..=radius)
        .map(|n| {
            let f = |i: usize| {
                let w = i as f64 * step;
                gain(w, sigma) * (w * f64::from(n)).cos()
            };
            let inner: f64 = (1..intervals).map(|i| f(i) * if i % 2 == 1 { 4.0 } else { 2.0 }).sum();
            (f(0) + inner + f(intervals)) * step / 3.0 / std::f64::consts::PI
        })
        .collect();
    let total = taps[0] + 2.0 * taps[1..].iter().sum::<f64>();
    taps.into_iter().map(|t| (t / total) as f32).collect()
}

/// Shared taps `h[0..=radius]`.
pub type Taps = Arc<[f32]>;

/// Taps per (σ, axis length), computed once: the exact kernel costs O(L²) to build and
/// every tile of a raster needs the same one.
#[derive(Default)]
pub struct TapCache {
    /// Keyed by (σ's bits, axis length).
    entries: Mutex<HashMap<(u64, u32), Taps>>,
}

impl TapCache {
    /// [`taps`] for `sigma` on an axis of `len` pixels.
    pub fn get(&self, sigma: f64, len: u32) -> Taps {
        let key = (sigma.to_bits(), len);
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(entries.entry(key).or_insert_with(|| taps(sigma, len).into()))
    }
}

/// Half-sample-symmetric reflection of index `i` into `0..len`: −1 → 0, len → len − 1.
pub fn mirror(i: i64, len: i64) -> i64 {
    let j = i.rem_euclid(2 * len);
    if j < len {
        j
    } else {
        2 * len - 1 - j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gains_match_the_reference_check_values() {
        // docs/reference.md §2.2 point 3: S=256, std=1: g[128] = 0.2912, g[255] = 0.00747.
        let g = |k: f64| gain(std::f64::consts::PI * k / 256.0, 1.0);
        assert!((g(128.0) - 0.2912).abs() < 1e-4);
        assert!((g(255.0) - 0.00747).abs() < 1e-5);
    }

    #[test]
    fn every_kernel_keeps_flat_fields_flat() {
        for (sigma, len) in [(1.0, 32), (1.0, 5000), (4.0, 100_000), (0.3, 300), (2.0, 64)] {
            let t = taps(sigma, len);
            let sum: f64 = f64::from(t[0]) + 2.0 * t[1..].iter().map(|&v| f64::from(v)).sum::<f64>();
            assert!((sum - 1.0).abs() < 1e-6, "σ={sigma} len={len}: sum {sum}");
        }
    }

    #[test]
    fn the_band_limited_kernel_is_the_limit_of_the_exact_one() {
        // For a long axis the exact period-2L kernel approaches the band-limited one.
        let exact = exact_taps(2.0, 1024);
        let limit = band_limited_taps(2.0, truncated_radius(2.0));
        for (n, (a, b)) in exact.iter().zip(&limit).enumerate() {
            assert!((a - b).abs() < 1e-6, "tap {n}: {a} vs {b}");
        }
    }

    #[test]
    fn radius_is_the_whole_axis_when_exact() {
        assert_eq!(radius(1.0, 200), 200);
        assert_eq!(radius(1.0, 4096), 4);
        assert_eq!(radius(1.6, 4096), 8);
        assert_eq!(radius(4.0, 4096), 20);
        assert_eq!(radius(100.0, 300), 300);
        assert_eq!(radius(0.2, 1000), 3);
    }

    #[test]
    fn mirror_reflects_half_sample_symmetrically() {
        let m: Vec<i64> = (-3..7).map(|i| mirror(i, 4)).collect();
        assert_eq!(m, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        assert_eq!(mirror(-9, 4), 0); // period 8: -9 is -1
    }
}
