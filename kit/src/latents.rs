//! The normalisation of a latent prior's data: the prior models `(z − mean)/std` per
//! dimension of the encoder's latents z (`utils/utils.py:load_latents`,
//! docs/reference.md §3.4), and generation maps its samples back with `z·std + mean`
//! (`experiments/generate_samples.py`).

use serde::{Deserialize, Serialize};

/// The per-dimension affine map between the encoder's latents and the prior's space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Per-dimension mean.
    pub mean: Vec<f32>,
    /// Per-dimension unbiased standard deviation.
    pub std: Vec<f32>,
}

impl Normalisation {
    /// The identity map for `channels` dimensions.
    pub fn identity(channels: usize) -> Self {
        Self { mean: vec![0.0; channels], std: vec![1.0; channels] }
    }

    /// The mean and unbiased (N − 1) standard deviation of each dimension of `latents`,
    /// rows of `channels` values, accumulated in f64. Needs at least two rows.
    pub fn fit(latents: &[f32], channels: usize) -> Result<Self, String> {
        let rows = latents.len().checked_div(channels).unwrap_or(0);
        if rows < 2 || rows * channels != latents.len() {
            return Err(format!(
                "{} values are not at least two latents of {channels} dimensions",
                latents.len()
            ));
        }
        let mut sum = vec![0f64; channels];
        for row in latents.chunks_exact(channels) {
            sum.iter_mut().zip(row).for_each(|(s, &v)| *s += f64::from(v));
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / rows as f64).collect();
        let mut squares = vec![0f64; channels];
        for row in latents.chunks_exact(channels) {
            for ((s, &v), m) in squares.iter_mut().zip(row).zip(&mean) {
                *s += (f64::from(v) - m).powi(2);
            }
        }
        let norm = Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: squares.iter().map(|s| (s / (rows - 1) as f64).sqrt() as f32).collect(),
        };
        norm.validate(channels)?;
        Ok(norm)
    }

    /// The same std with the mean set to zero, as the reference keeps it: its
    /// `load_latents` computes the mean and discards it (docs/reference.md §3.4).
    pub fn with_zero_mean(mut self) -> Self {
        self.mean.iter_mut().for_each(|m| *m = 0.0);
        self
    }

    /// `(z − mean)/std` in place, for rows of `self.mean.len()` values.
    pub fn normalise(&self, latents: &mut [f32]) {
        for row in latents.chunks_exact_mut(self.mean.len()) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }

    /// `z·std + mean` in place: a prior's sample back in the encoder's space.
    pub fn denormalise(&self, latents: &mut [f32]) {
        for row in latents.chunks_exact_mut(self.mean.len()) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
    }

    /// Both vectors `channels` long, every std finite and positive.
    pub fn validate(&self, channels: usize) -> Result<(), String> {
        if self.mean.len() != channels || self.std.len() != channels {
            return Err(format!(
                "the normalisation has {} means and {} stds; the latents have {channels} dimensions",
                self.mean.len(),
                self.std.len()
            ));
        }
        if let Some(i) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(format!(
                "std {i} of the normalisation is {}; every std must be positive (a latent dimension \
                 that never varies cannot be normalised)",
                self.std[i]
            ));
        }
        if self.mean.iter().any(|m| !m.is_finite()) {
            return Err("the normalisation's mean holds NaN or infinite values".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_gives_the_unbiased_std_and_the_maps_invert() {
        let latents = [1.0, 10.0, 3.0, 20.0, 5.0, 30.0];
        let norm = Normalisation::fit(&latents, 2).unwrap();
        assert_eq!(norm.mean, vec![3.0, 20.0]);
        assert_eq!(norm.std, vec![2.0, 10.0]);
        let mut z = latents;
        norm.normalise(&mut z);
        assert_eq!(z, [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0]);
        norm.denormalise(&mut z);
        assert_eq!(z, latents);
    }

    #[test]
    fn too_few_latents_or_a_constant_dimension_are_refused() {
        assert!(Normalisation::fit(&[1.0, 2.0], 2).unwrap_err().contains("at least two"));
        assert!(Normalisation::fit(&[1.0, 2.0, 1.0, 3.0], 2).unwrap_err().contains("std 0"));
    }
}
