//! The forward process of ∞-Diff on a crop (docs/reference.md §1.4, §3.3 step 4):
//! x_t = T(√ᾱ_t x0 + √(1−ᾱ_t) ξ) and the target, Tξ (or v = √ᾱ_t Tξ − √(1−ᾱ_t) Tx0),
//! with T the installed `mollify` operator on the whole crop (mirror boundaries, as the
//! reference's DCT); and the guide fields a guided model reads. A model with a `residual_scale` k diffuses
//! k·(x0 − guide) in place of x0.

use infty_kit::fill::membrane_fill;
use infty_kit::guide::{fill_guide, mask_guide, to_residual};
use infty_kit::resample::lowres_guide;
use infty_sdk::schedule::{BetaSchedule, Schedule};
use infty_sdk::{FieldMut, FieldRef, GuideKind, ModelInfo, OperatorBox, PluginError, RasterInfo};
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::masks::random_mask;

/// Low-resolution guides are made at a factor drawn log-uniformly from this range,
/// which covers the scales `infty upscale` is used at.
pub const LOWRES_FACTORS: (f64, f64) = (1.25, 8.0);

/// The largest weight [`Timesteps::Noisy`] gives a timestep, relative to the
/// clean half of the schedule: the x0 weight 1/SNR grows without bound as ᾱ → 0.
const NOISY_WEIGHT_CAP: f64 = 10.0;

/// How a training step draws its timesteps.
pub enum Timesteps {
    /// Uniformly among this many, as the reference (the ε-prediction loss, equally
    /// weighted).
    Uniform(u32),
    /// With probability ∝ max(1, min(1/SNR_t, cap)), SNR_t = ᾱ_t/(1−ᾱ_t): in
    /// expectation the loss max(‖ε−ε̂‖², ‖x0−x̂0‖²), capped (the truncated-SNR weighting
    /// of Salimans & Ho 2022, §4, drawn rather than multiplied). It trains the noisy
    /// steps, where the model must predict x0 from the guide alone (large holes).
    Noisy(WeightedIndex<f64>),
}

impl Timesteps {
    pub fn from_name(name: &str, alphas_cumprod: &[f64]) -> Result<Timesteps, PluginError> {
        match name {
            "uniform" => Ok(Timesteps::Uniform(alphas_cumprod.len() as u32)),
            "noisy" => {
                let weights = alphas_cumprod.iter().map(|ab| ((1.0 - ab) / ab).clamp(1.0, NOISY_WEIGHT_CAP));
                WeightedIndex::new(weights)
                    .map(Timesteps::Noisy)
                    .map_err(|e| PluginError::failed(format!("timestep weights: {e}")))
            }
            other => Err(PluginError::invalid_param(
                "timesteps",
                format!("'{other}' is not a timestep draw; use uniform or noisy"),
            )),
        }
    }

    /// One timestep of the schedule.
    pub fn draw(&self, rng: &mut impl Rng) -> u32 {
        match self {
            Timesteps::Uniform(steps) => rng.gen_range(0..*steps),
            Timesteps::Noisy(index) => index.sample(rng) as u32,
        }
    }
}

/// The diffusion a model was trained with, and T at its σ.
pub struct Diffusion {
    pub alphas_cumprod: Vec<f64>,
    pub size: u32,
    pub guide: GuideKind,
    /// k of a model that diffuses k·(x0 − guide) ([`ModelInfo::residual_scale`]).
    residual_scale: Option<f32>,
    /// Whether the model learns v rather than ε ([`ModelInfo::predicts_v`]).
    predicts_v: bool,
    mollify: OperatorBox,
}

/// One noised crop: everything a training or validation example needs, full-size.
pub struct Noised {
    pub x0: Vec<f32>,
    pub x_t: Vec<f32>,
    /// What the model learns: Tξ, or v = √ᾱ·Tξ − √(1−ᾱ)·Tx0 for a v-predicting model.
    pub target: Vec<f32>,
    /// Tξ, what the model's ε̂ is scored against whatever it learns.
    pub noise: Vec<f32>,
    /// Empty without a guide.
    pub guide: Vec<f32>,
    /// For a mask guide, 1 where the pixel is known: the only pixels the encoder may
    /// see, as `infty inpaint` encodes only what it knows. Empty: every pixel.
    pub known: Vec<f32>,
    pub t: u32,
}

impl Diffusion {
    /// The model's schedule, crop size and σ; T from the installed mollifier.
    pub fn new(info: &ModelInfo, guide: GuideKind) -> Result<Diffusion, PluginError> {
        let steps = info.diffusion_steps as usize;
        let schedule = BetaSchedule::from_name(&info.noise_schedule, info.train_size)?;
        let sigma = info.mollifier_sigma.to_string();
        let mollify = infty_sdk::host::operator("mollify", &[("sigma", &sigma)])
            .map_err(|e| e.with_help("training needs the mollifier plugin (org.infty.mollifier)"))?;
        Ok(Diffusion {
            alphas_cumprod: Schedule::named(schedule, steps).alphas_cumprod,
            size: info.train_size,
            guide,
            residual_scale: info.residual_scale(),
            predicts_v: info.predicts_v(),
            mollify,
        })
    }

    /// Noises the crop `x0` (RGB planes in [0, 1]) at `t` with noise and guide from `rng`.
    pub fn noise(&self, x0: &[f32], t: u32, rng: &mut impl Rng) -> Result<Noised, PluginError> {
        let x0: Vec<f32> = x0.iter().map(|v| v * 2.0 - 1.0).collect();
        // ξ is drawn before the guide, as before residual models: a run resumed by this
        // version draws what it would have drawn uninterrupted.
        let xi: Vec<f32> = (0..x0.len()).map(|_| rng.sample(StandardNormal)).collect();
        let (guide, known) = self.guide(&x0, rng)?;
        let diffused = match self.residual_scale {
            Some(k) => to_residual(&x0, &guide, k),
            None => x0.clone(),
        };
        // T is linear: T(a x0 + b ξ) = a Tx0 + b Tξ.
        let (t_x0, t_xi) = (self.mollify(&diffused)?, self.mollify(&xi)?);
        let ab = self.alphas_cumprod[t as usize];
        let (a, b) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
        let x_t = t_x0.iter().zip(&t_xi).map(|(x, n)| a * x + b * n).collect();
        let target = match self.predicts_v {
            // v = √ᾱ·Tξ − √(1−ᾱ)·Tx0 (Salimans & Ho 2022, §4).
            true => t_x0.iter().zip(&t_xi).map(|(x, n)| a * n - b * x).collect(),
            false => t_xi.clone(),
        };
        Ok(Noised { x0, x_t, target, noise: t_xi, guide, known, t })
    }

    /// The guide field of the crop `x0` (planes in [−1, 1]) and the known pixels.
    fn guide(&self, x0: &[f32], rng: &mut impl Rng) -> Result<(Vec<f32>, Vec<f32>), PluginError> {
        Ok(match self.guide {
            GuideKind::None => (Vec::new(), Vec::new()),
            GuideKind::LowRes => {
                let (lo, hi) = LOWRES_FACTORS;
                let factor = rng.gen_range(lo.ln()..hi.ln()).exp();
                (lowres_guide(x0, self.size, factor)?, Vec::new())
            }
            GuideKind::Mask => {
                let known = random_mask(self.size, rng);
                (mask_guide(x0, &known), known)
            }
            GuideKind::Fill => {
                let known = random_mask(self.size, rng);
                let mut filled = x0.to_vec();
                let is_known: Vec<bool> = known.iter().map(|&k| k > 0.0).collect();
                membrane_fill(&mut filled, &is_known, self.size as usize, self.size as usize);
                (fill_guide(&filled, &known), known)
            }
        })
    }

    fn mollify(&self, planes: &[f32]) -> Result<Vec<f32>, PluginError> {
        let raster = RasterInfo::new(self.size, self.size, 3);
        let window = raster.bounds();
        let mut out = vec![0f32; planes.len()];
        let input = FieldRef::new(raster, window, planes)?;
        self.mollify.process(input, FieldMut::new(raster, window, &mut out)?).into_result()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng, Purpose};

    /// The share of `draws` timesteps in `range`.
    fn share(timesteps: &Timesteps, range: std::ops::Range<u32>, draws: u64) -> f64 {
        let mut r = rng(5, Purpose::Step, 0);
        let hits = (0..draws).filter(|_| range.contains(&timesteps.draw(&mut r))).count();
        hits as f64 / draws as f64
    }

    #[test]
    fn noisy_timesteps_follow_the_capped_inverse_snr() {
        let ab = Schedule::named(BetaSchedule::Cosine, 1000).alphas_cumprod;
        let noisy = Timesteps::from_name("noisy", &ab).unwrap();
        // Weight 1 up to t ≈ 500 (SNR ≥ 1), the cap 10 from t = 803: 14.1% and 28.2%
        // of the mass, where uniform draws give 50% and 10%.
        let (clean, noisiest) = (share(&noisy, 0..500, 40_000), share(&noisy, 900..1000, 40_000));
        assert!((clean - 0.141).abs() < 0.01, "t < 500: {clean}");
        assert!((noisiest - 0.282).abs() < 0.01, "t ≥ 900: {noisiest}");
        let uniform = Timesteps::from_name("uniform", &ab).unwrap();
        assert!((share(&uniform, 0..500, 40_000) - 0.5).abs() < 0.01);
        assert!(Timesteps::from_name("snr", &ab).is_err());
    }
}
