//! Noise-schedule maths shared by every sampler: named beta schedules, the derived
//! float64 tables, and timestep respacing, exactly as the reference
//! (`diffusion.py`, docs/reference.md §1.1–§1.2).
//!
//! Coefficients stay float64 here; a sampler casts each to `f32` before it multiplies
//! a sample, as the reference's `_extract_into_tensor` does.

mod betas;
mod respace;

pub use betas::{BetaSchedule, SCHEDULE_NAMES};
pub use respace::space_timesteps;

/// A (possibly respaced) noise schedule and its derived tables, indexed by step
/// `j = 0..len()`. Step `j` of a respaced schedule is original timestep `timesteps[j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The original training timestep of each step (ascending); `0..T` when not respaced.
    pub timesteps: Vec<usize>,
    /// `β_j`.
    pub betas: Vec<f64>,
    /// `ᾱ_j = Π (1 − β)`.
    pub alphas_cumprod: Vec<f64>,
    /// `ᾱ_{j−1}`, with 1 before the first step.
    pub alphas_cumprod_prev: Vec<f64>,
    /// `√(1/ᾱ)`: multiplies `x_t` when predicting x̂0.
    pub sqrt_recip_alphas_cumprod: Vec<f64>,
    /// `√(1/ᾱ − 1)`: multiplies ε̂ when predicting x̂0.
    pub sqrt_recipm1_alphas_cumprod: Vec<f64>,
    /// `β̃ = β(1 − ᾱ_{j−1})/(1 − ᾱ)`.
    pub posterior_variance: Vec<f64>,
    /// `β√ᾱ_{j−1}/(1 − ᾱ)`: multiplies x̂0 in the posterior mean.
    pub posterior_mean_coef1: Vec<f64>,
    /// `(1 − ᾱ_{j−1})√(1 − β)/(1 − ᾱ)`: multiplies `x_t` in the posterior mean.
    pub posterior_mean_coef2: Vec<f64>,
    /// `log([β̃_1, β_1, β_2, …])`: the DDPM step variance of `FIXED_LARGE`.
    pub fixed_large_log_variance: Vec<f64>,
}

impl Schedule {
    /// The tables for `betas` over timesteps `0..betas.len()` (`GaussianDiffusion.__init__`).
    pub fn from_betas(betas: Vec<f64>) -> Self {
        let timesteps = (0..betas.len()).collect();
        Self::with_timesteps(betas, timesteps)
    }

    /// The schedule `name` over `steps` training steps.
    pub fn named(schedule: BetaSchedule, steps: usize) -> Self {
        Self::from_betas(schedule.betas(steps))
    }

    fn with_timesteps(betas: Vec<f64>, timesteps: Vec<usize>) -> Self {
        let n = betas.len();
        let mut alphas_cumprod = Vec::with_capacity(n);
        let mut product = 1.0;
        for beta in &betas {
            product *= 1.0 - beta;
            alphas_cumprod.push(product);
        }
        let alphas_cumprod_prev: Vec<f64> =
            std::iter::once(1.0).chain(alphas_cumprod.iter().copied()).take(n).collect();
        let each = |f: &dyn Fn(usize) -> f64| (0..n).map(f).collect::<Vec<f64>>();
        let (ab, ab_prev) = (&alphas_cumprod, &alphas_cumprod_prev);
        let posterior_variance = each(&|i| betas[i] * (1.0 - ab_prev[i]) / (1.0 - ab[i]));
        // Step 0's variance is replaced by step 1's, so its log is finite (improved-diffusion).
        let first = |v: &[f64]| if n > 1 { posterior_variance[1] } else { v[0] };
        Self {
            sqrt_recip_alphas_cumprod: each(&|i| (1.0 / ab[i]).sqrt()),
            sqrt_recipm1_alphas_cumprod: each(&|i| (1.0 / ab[i] - 1.0).sqrt()),
            posterior_mean_coef1: each(&|i| betas[i] * ab_prev[i].sqrt() / (1.0 - ab[i])),
            posterior_mean_coef2: each(&|i| (1.0 - ab_prev[i]) * (1.0 - betas[i]).sqrt() / (1.0 - ab[i])),
            fixed_large_log_variance: each(&|i| if i == 0 { first(&betas) } else { betas[i] }.ln()),
            posterior_variance,
            timesteps,
            alphas_cumprod,
            alphas_cumprod_prev,
            betas,
        }
    }

    /// The schedule that keeps only the original timesteps `kept` (ascending), with
    /// `β'_j = 1 − ᾱ[t_j]/ᾱ[t_{j−1}]` (`SpacedDiffusion`).
    pub fn respaced(&self, kept: &[usize]) -> Self {
        let mut last = 1.0;
        let betas = kept
            .iter()
            .map(|&t| {
                let ab = self.alphas_cumprod[t];
                let beta = 1.0 - ab / last;
                last = ab;
                beta
            })
            .collect();
        let timesteps = kept.iter().map(|&t| self.timesteps[t]).collect();
        Self::with_timesteps(betas, timesteps)
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// True for a schedule with no steps.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_tables_match_the_spec_check_values() {
        let s = Schedule::named(BetaSchedule::Cosine, 1000);
        let sqrt_ab = |t: usize| s.alphas_cumprod[t].sqrt();
        // The spec prints six decimals (three digits for t = 999).
        for (t, want, tol) in [
            (0, 0.999979, 5e-7),
            (99, 0.985948, 5e-7),
            (499, 0.702740, 5e-7),
            (749, 0.379832, 5e-7),
            (999, 4.93e-05, 5e-8),
        ] {
            assert!((sqrt_ab(t) - want).abs() <= tol, "sqrt(ab)[{t}] = {}", sqrt_ab(t));
        }
        assert!((s.alphas_cumprod[999] - 2.43e-9).abs() < 0.01e-9);
        // At step 0 the posterior mean is x̂0 itself.
        assert!((s.posterior_mean_coef1[0] - 1.0).abs() < 1e-12 && s.posterior_mean_coef2[0] == 0.0);
    }

    #[test]
    fn respacing_keeps_alpha_bar_at_the_kept_steps() {
        let base = Schedule::named(BetaSchedule::Const0008, 1000);
        let kept = space_timesteps(1000, "100").unwrap();
        let spaced = base.respaced(&kept);
        assert_eq!(spaced.timesteps, kept);
        for (j, &t) in kept.iter().enumerate() {
            let (a, b) = (spaced.alphas_cumprod[j], base.alphas_cumprod[t]);
            assert!((a - b).abs() <= 1e-12 * b, "step {j} (t={t}): {a} vs {b}");
        }
        assert!((base.alphas_cumprod[99] - 0.447886).abs() < 1e-6);
    }
}
