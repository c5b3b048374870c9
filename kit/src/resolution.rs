//! Moving an operator between resolutions.
//!
//! ∞-Diff treats an image as a function; a raster is one discretisation of it. A
//! mollifier of `σ` pixels at size `S` is the same continuous blur as `σ·S'/S` pixels
//! at size `S'`, which is how the reference rebuilds it for sampling at another size
//! (`DCTGaussianBlur(S', std·S'/S)`, docs/reference.md §2.3, "Resolution change").

/// The σ, in pixels of a raster of size `to_size`, of the blur that is `sigma` pixels
/// at `from_size` (sizes along the same axis, in pixels).
///
/// ```
/// // A model trained with σ = 1 px at 128² samples 512² with σ = 4 px.
/// assert_eq!(infty_kit::resolution::sigma_at(1.0, 128.0, 512.0), 4.0);
/// ```
pub fn sigma_at(sigma: f64, from_size: f64, to_size: f64) -> f64 {
    sigma * to_size / from_size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_linearly_and_round_trips() {
        assert_eq!(sigma_at(1.0, 256.0, 128.0), 0.5);
        let there = sigma_at(1.3, 96.0, 341.0);
        assert!((sigma_at(there, 341.0, 96.0) - 1.3).abs() < 1e-12);
    }
}
