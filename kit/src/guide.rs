//! The guide fields tasks give guided models, and training makes from clean crops, so
//! the model sees at run time what it saw in training.

/// The masked crop (holes 0) followed by the mask (1 known, 0 hole): what
/// `infty inpaint` gives a mask-guided model, and `infty train --guide mask` trains it on.
pub fn mask_guide(x0: &[f32], known: &[f32]) -> Vec<f32> {
    let masked = x0.chunks_exact(known.len()).flat_map(|plane| plane.iter().zip(known).map(|(v, m)| v * m));
    masked.chain(known.iter().copied()).collect()
}

/// The crop with its holes already filled by the membrane fill of its known pixels
/// ([`crate::fill::membrane_fill`]) followed by the mask: what `infty inpaint` gives a
/// fill-guided model, and `infty train --guide fill` trains it on. The network then
/// learns what to add to the harmonic fill, not the fill itself.
pub fn fill_guide(filled: &[f32], known: &[f32]) -> Vec<f32> {
    filled.iter().chain(known).copied().collect()
}

/// k·(x − estimate): what a model with a `residual_scale` k diffuses, the estimate
/// being the first planes of its guide (the low-resolution image, or the filled crop);
/// `x` gives the number of samples.
pub fn to_residual(x: &[f32], estimate: &[f32], k: f32) -> Vec<f32> {
    x.iter().zip(estimate).map(|(x, e)| k * (x - e)).collect()
}

/// estimate + r/k: the image a residual `r` of [`to_residual`] stands for.
pub fn from_residual(r: &[f32], estimate: &[f32], k: f32) -> Vec<f32> {
    r.iter().zip(estimate).map(|(r, e)| e + r / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_are_planes_then_the_mask() {
        let (planes, known) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0]);
        assert_eq!(mask_guide(&planes, &known), [1.0, 0.0, 3.0, 0.0, 1.0, 0.0]);
        assert_eq!(fill_guide(&planes, &known), [1.0, 2.0, 3.0, 4.0, 1.0, 0.0]);
    }

    #[test]
    fn a_residual_reads_the_estimate_planes_and_gives_the_image_back() {
        // A fill guide: two planes of one pixel, then the mask, which the residual skips.
        let (x, guide) = ([0.5, -0.25], [0.25, 0.0, 1.0]);
        let r = to_residual(&x, &guide, 4.0);
        assert_eq!(r, [1.0, -1.0]);
        assert_eq!(from_residual(&r, &guide, 4.0), x);
    }
}
