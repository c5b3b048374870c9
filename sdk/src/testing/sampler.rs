//! The conformance kit for samplers: checks any [`Sampler`] the way the host and tasks
//! will use it. Call [`check_sampler`] from a plugin's tests:
//!
//! ```
//! # use infty_sdk::{ItemSpec, Params, PluginError, Sampler, SamplerSetup, SamplerState, Step};
//! # struct MySampler(SamplerSetup);
//! # impl Sampler for MySampler {
//! #     fn spec() -> ItemSpec { ItemSpec::sampler("mine", "x0 directly") }
//! #     fn new(setup: SamplerSetup, _: &Params) -> Result<Self, PluginError> { Ok(Self(setup)) }
//! #     fn setup(&self) -> &SamplerSetup { &self.0 }
//! #     fn step(&self, step: Step, state: &mut SamplerState, eps: &[f32], _: &[f32], x0: &mut [f32])
//! #         -> Result<(), PluginError> {
//! #         // DDIM without re-deriving ε from the clamped x̂0.
//! #         self.0.predict_x0(step.index as usize, &state.x, eps, x0);
//! #         let prev = self.0.schedule.alphas_cumprod_prev[step.index as usize] as f32;
//! #         for ((x, &x0), &e) in state.x.iter_mut().zip(x0.iter()).zip(eps) {
//! #             *x = prev.sqrt() * x0 + (1.0 - prev).sqrt() * e;
//! #         }
//! #         Ok(())
//! #     }
//! # }
//! infty_sdk::testing::sampler::check_sampler::<MySampler>(&[]);
//! ```
//!
//! The exact denoisers live here too: [`PointMass`] (data is one known image, so a
//! correct sampler must end on it) and [`GaussianData`] (independent Gaussian samples
//! with known mean and variance, whose optimal ε-predictor is closed-form).

use crate::noise::NoiseKey;
use crate::sampler::{new_sampler_box, run_chain, START_NOISE_STREAM};
use crate::{ErrorKind, PluginError, RasterInfo, Sampler, SamplerBox, SamplerSetup, SamplerState, Step};

/// Runs every check of the kit on sampler `S` with its own parameters `params`
/// (the common ones keep their defaults unless given). Panics with a message naming
/// the failed property.
pub fn check_sampler<S: Sampler>(params: &[(&str, &str)]) {
    check_steps::<S>(params);
    check_bad_calls::<S>(params);
    check_determinism::<S>(params);
    check_schedule_edges::<S>(params);
    check_point_mass::<S>(params);
    check_gaussian_data::<S>(params, &[("steps", "1000")]);
}

/// Builds `S` exactly as the host does, with its set-up.
pub fn build<S: Sampler>(params: &[(&str, &str)]) -> Result<(SamplerBox, SamplerSetup), PluginError> {
    let resolved = S::spec().resolve(params.iter().copied())?;
    Ok((new_sampler_box::<S>(&resolved)?, SamplerSetup::from_params(&resolved)?))
}

fn built<S: Sampler>(params: &[(&str, &str)], extra: &[(&str, &str)]) -> (SamplerBox, SamplerSetup) {
    let all: Vec<(&str, &str)> = params.iter().chain(extra).copied().collect();
    build::<S>(&all).unwrap_or_else(|e| panic!("{} with {all:?} does not build: {e}", S::spec().name))
}

/// White noise of `len` samples for `stream`, scaled to standard deviation `std`:
/// the kit's stand-in for the host's mollified noise (a diagonal T).
pub fn kit_noise(seed: u64, stream: u32, len: usize, std: f32) -> Vec<f32> {
    let key = NoiseKey::new(seed, stream, RasterInfo::new(len as u32, 1, 1));
    (0..len as u32).map(|i| std * key.gaussian(i, 0, 0)).collect()
}

/// An exact denoiser: ε̂ for state `x` at a step, given that step's ᾱ.
pub trait ExactDenoiser {
    /// The optimal prediction of the (scaled) noise in `x = √ᾱ·y0 + √(1−ᾱ)·n`.
    fn eps(&self, alpha_bar: f64, x: &[f32]) -> Vec<f32>;
}

/// Data that is always the image `y0`: ε̂ = (x − √ᾱ·y0)/√(1−ᾱ) exactly.
pub struct PointMass {
    /// The image every sample must end on.
    pub y0: Vec<f32>,
}

impl ExactDenoiser for PointMass {
    fn eps(&self, alpha_bar: f64, x: &[f32]) -> Vec<f32> {
        let (a, s) = (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt());
        x.iter().zip(&self.y0).map(|(&x, &y)| ((f64::from(x) - a * f64::from(y)) / s) as f32).collect()
    }
}

/// Independent Gaussian data, element `i` ~ N(mean[i], var[i]), noised with noise of
/// variance `noise_var` per element (what `noise_mul`² times the host noise variance is).
pub struct GaussianData {
    /// Mean of each element.
    pub mean: Vec<f64>,
    /// Variance of each element.
    pub var: Vec<f64>,
    /// Variance of the noise n in `x = √ᾱ·y0 + √(1−ᾱ)·n`.
    pub noise_var: f64,
}

impl ExactDenoiser for GaussianData {
    /// E[n | x] = s·v/(a²c + s²v)·(x − a·μ), with a = √ᾱ, s = √(1−ᾱ).
    fn eps(&self, alpha_bar: f64, x: &[f32]) -> Vec<f32> {
        let (a, s, v) = (alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt(), self.noise_var);
        (0..x.len())
            .map(|i| {
                (s * v / (a * a * self.var[i] + s * s * v) * (f64::from(x[i]) - a * self.mean[i])) as f32
            })
            .collect()
    }
}

/// Runs a whole chain of `sampler` with `denoiser`, noise from [`kit_noise`].
pub fn sample_with(
    sampler: &SamplerBox,
    setup: &SamplerSetup,
    denoiser: &dyn ExactDenoiser,
    len: usize,
    seed: u64,
    noise_std: f32,
) -> Result<Vec<f32>, PluginError> {
    let start = kit_noise(seed, START_NOISE_STREAM, len, noise_std);
    let alpha_bar = |step: &Step| setup.schedule.alphas_cumprod[step.index as usize];
    run_chain(
        sampler,
        &sampler.steps(),
        sampler.start(start.as_slice().into()),
        |step, x| Ok(denoiser.eps(alpha_bar(step), x).into()),
        |step| Ok(kit_noise(seed, step.noise_stream(), len, noise_std)),
    )
}

/// Steps come in call order (last index first, index 0 last), carry the schedule's
/// timesteps as the model's `t`, and the last step adds no noise.
pub fn check_steps<S: Sampler>(params: &[(&str, &str)]) {
    let (sampler, setup) = built::<S>(params, &[("steps", "50")]);
    let steps = sampler.steps();
    assert_eq!(steps.len(), setup.schedule.len(), "one step per schedule entry");
    for (k, step) in steps.iter().enumerate() {
        let j = setup.schedule.len() - 1 - k;
        assert_eq!(step.index as usize, j, "call {k} must be step {j}");
        assert_eq!(step.timestep as usize, setup.schedule.timesteps[j], "timestep of step {j}");
        assert_eq!(step.model_t, step.timestep as f32, "the model sees the original timestep");
    }
    assert!(!steps.last().unwrap().noise, "the last step (index 0) must not add noise");
}

/// Wrong buffer lengths, missing noise and out-of-range steps are errors, not panics.
pub fn check_bad_calls<S: Sampler>(params: &[(&str, &str)]) {
    let (sampler, _) = built::<S>(params, &[("steps", "10")]);
    let steps = sampler.steps();
    let step = steps[0];
    let fresh = || SamplerState { x: vec![0.1f32; 8].into(), history: Default::default() };
    let (eps, noise, mut x0) = (vec![0.0f32; 8], vec![0.0f32; 8], vec![0.0f32; 8]);
    let call = |step: Step, eps: &[f32], noise: &[f32], x0: &mut [f32]| {
        sampler.step(step, &mut fresh(), eps.into(), noise.into(), x0.into()).into_result()
    };
    let expect_input_error = |what: &str, result: Result<(), PluginError>| match result {
        Err(e) if e.kind == ErrorKind::InvalidInput => {}
        other => panic!("{what}: expected an invalid-input error, got {other:?}"),
    };
    expect_input_error("short model output", call(step, &eps[..7], &noise, &mut x0));
    expect_input_error("short x0 buffer", call(step, &eps, &noise, &mut x0[..3]));
    let past = Step { index: steps.len() as u32, ..step };
    expect_input_error("a step past the schedule", call(past, &eps, &noise, &mut x0));
    if let Some(noisy) = steps.iter().find(|s| s.noise) {
        expect_input_error("a noisy step without noise", call(*noisy, &eps, &[], &mut x0));
    }
    let tiny = build::<S>(&[params, &[("steps", "0")]].concat());
    assert!(tiny.is_err(), "zero steps must be refused");
}

/// The same inputs give bit-identical outputs, chains do not affect each other, and
/// one sampler serves chains on several threads at once.
pub fn check_determinism<S: Sampler>(params: &[(&str, &str)]) {
    let (sampler, setup) = built::<S>(params, &[("steps", "20")]);
    let data = GaussianData { mean: vec![0.2; 64], var: vec![0.05; 64], noise_var: 1.0 };
    let run = |seed| sample_with(&sampler, &setup, &data, 64, seed, 1.0).unwrap();
    let (a, b) = (run(1), run(2));
    assert_eq!(run(1), a, "the same seed must give the same sample");
    assert_ne!(a, b, "different noise must give different samples");
    let (ta, tb) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| run(1));
        let tb = scope.spawn(|| run(2));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    assert_eq!((ta, tb), (a, b), "chains on two threads must match chains run alone");
}

/// Every schedule, one step, all training steps and a noise scale give finite samples.
pub fn check_schedule_edges<S: Sampler>(params: &[(&str, &str)]) {
    let data = PointMass { y0: (0..32).map(|i| i as f32 / 20.0 - 0.8).collect() };
    for extra in [
        &[("steps", "1")][..],
        &[("steps", "ddim10")],
        &[("steps", "5,5")],
        &[("steps", "1000")],
        &[("schedule", "linear")],
        &[("schedule", "const0.008")],
        &[("schedule", "shifted_cosine"), ("schedule-resolution", "256")],
        &[("train-steps", "10"), ("steps", "10")],
        &[("noise-mul", "4")],
    ] {
        let (sampler, setup) = built::<S>(params, extra);
        let out = sample_with(&sampler, &setup, &data, 32, 3, 1.0).unwrap();
        assert!(out.iter().all(|v| v.is_finite()), "{extra:?}: non-finite samples");
    }
}

/// With data that is one known image, every correct sampler ends on that image.
pub fn check_point_mass<S: Sampler>(params: &[(&str, &str)]) {
    let data = PointMass { y0: (0..64).map(|i| (i as f32 / 32.0 - 1.0) * 0.95).collect() };
    for steps in ["10", "100"] {
        let (sampler, setup) = built::<S>(params, &[("steps", steps)]);
        let out = sample_with(&sampler, &setup, &data, 64, 9, 1.0).unwrap();
        let err = out.iter().zip(&data.y0).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 2e-3, "{steps} steps: the sample misses the only data point by {err}");
    }
}

/// With Gaussian data and its exact denoiser, samples reproduce the data's mean and
/// variance within sampling error (5 standard errors), also with a noise scale
/// (`noise-mul` 2 on noise of std 0.5 is the same process). Run it with enough steps
/// (1000) that discretisation error is below sampling error.
pub fn check_gaussian_data<S: Sampler>(params: &[(&str, &str)], extra: &[(&str, &str)]) {
    let report = gaussian_statistics::<S>(params, extra);
    assert!(
        report.mean_z < 5.0 && report.var_z < 5.0,
        "{} {extra:?}: statistics off: {report:?}",
        S::spec().name
    );
}

/// Samples 2 × 20 000 elements of Gaussian data (means 0.3 and −0.2, variances 0.04
/// and 0.09) with the exact denoiser, at `noise-mul` 1 and 2, and reports the worst
/// errors of the sample means and variances in standard errors.
pub fn gaussian_statistics<S: Sampler>(params: &[(&str, &str)], extra: &[(&str, &str)]) -> GaussianReport {
    const N: usize = 20_000;
    let groups = [(0.3, 0.04), (-0.2, 0.09)];
    let data = GaussianData {
        mean: (0..2 * N).map(|i| groups[i / N].0).collect(),
        var: (0..2 * N).map(|i| groups[i / N].1).collect(),
        noise_var: 1.0,
    };
    let mut report = GaussianReport::default();
    for (mul, std) in [("1", 1.0), ("2", 0.5)] {
        let (sampler, setup) = built::<S>(params, &[extra, &[("noise-mul", mul)]].concat());
        let out = sample_with(&sampler, &setup, &data, 2 * N, 17, std).unwrap();
        for (g, &(mean, var)) in groups.iter().enumerate() {
            let xs = &out[g * N..(g + 1) * N];
            let m = xs.iter().map(|&v| f64::from(v)).sum::<f64>() / N as f64;
            let v = xs.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / (N - 1) as f64;
            // Standard errors: mean √(var/N), variance var·√(2/N).
            let (mean_se, var_se) = ((var / N as f64).sqrt(), var * (2.0 / N as f64).sqrt());
            report.mean_z = report.mean_z.max((m - mean).abs() / mean_se);
            report.var_z = report.var_z.max((v - var).abs() / var_se);
            report.var_rel = report.var_rel.max((v - var).abs() / var);
        }
    }
    report
}

/// How far sampled statistics were from the data's, in standard errors.
#[derive(Debug, Default, Clone, Copy)]
pub struct GaussianReport {
    /// Largest |mean error| / standard error.
    pub mean_z: f64,
    /// Largest |variance error| / standard error.
    pub var_z: f64,
    /// Largest |variance error| / variance.
    pub var_rel: f64,
}
