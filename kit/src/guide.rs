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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_are_planes_then_the_mask() {
        let (planes, known) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0]);
        assert_eq!(mask_guide(&planes, &known), [1.0, 0.0, 3.0, 0.0, 1.0, 0.0]);
        assert_eq!(fill_guide(&planes, &known), [1.0, 2.0, 3.0, 4.0, 1.0, 0.0]);
    }
}
