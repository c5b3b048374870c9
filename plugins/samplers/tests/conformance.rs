//! The SDK's sampler conformance kit on DDPM and DDIM, and their statistics on
//! Gaussian data with the exact denoiser.

use infty_samplers::{Ddim, Ddpm};
use infty_sdk::testing::sampler::{check_sampler, gaussian_statistics};

#[test]
fn ddpm_conforms() {
    check_sampler::<Ddpm>(&[]);
}

#[test]
fn ddim_conforms() {
    check_sampler::<Ddim>(&[]);
}

#[test]
fn ddim_with_eta_conforms() {
    check_sampler::<Ddim>(&[("eta", "1")]);
}

/// Discretisation error shrinks with the step count: at 1000 steps it is below
/// sampling error (the kit asserts that); fewer steps are reported, and must at least
/// keep the variance within 10% at 100 steps (the reference's sampling default).
#[test]
fn gaussian_statistics_converge_with_steps() {
    for steps in ["10", "100", "1000"] {
        let ddpm = gaussian_statistics::<Ddpm>(&[], &[("steps", steps)]);
        let ddim = gaussian_statistics::<Ddim>(&[], &[("steps", steps)]);
        eprintln!("{steps} steps: ddpm {ddpm:?}\n           ddim {ddim:?}");
        if steps != "10" {
            assert!(ddim.var_rel < 0.1 && ddim.mean_z < 5.0, "ddim at {steps} steps: {ddim:?}");
        }
    }
}
