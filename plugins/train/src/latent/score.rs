//! The prior's forward process and held-out loss: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ξ with no
//! mollifier (docs/reference.md §3.4), and the L1 loss on ε of fixed held-out latents,
//! each noised once in every timestep band, beside the loss of predicting zero
//! (E|ξ| = √(2/π) ≈ 0.798).

use infty_sdk::schedule::{BetaSchedule, Schedule};
use infty_sdk::{ModelBox, ModelInput, PluginError, Points};
use rand::Rng;
use rand_distr::StandardNormal;

use super::data::Latents;
use crate::rng::{rng, Purpose};
use crate::validate::{BandLosses, BANDS};

/// Held-out latents scored at each validation, at most.
const MAX_HELD_OUT: usize = 1024;
/// Latents per model call.
const CHUNK: usize = 256;

/// The prior's diffusion: ᾱ of its schedule.
pub struct Diffusion {
    alphas_cumprod: Vec<f64>,
}

impl Diffusion {
    /// The schedule the prior declares.
    pub fn of(prior: &ModelBox) -> Result<Diffusion, PluginError> {
        let info = prior.info();
        let betas = BetaSchedule::from_name(&info.noise_schedule, 0)?;
        let schedule = Schedule::named(betas, info.diffusion_steps as usize);
        Ok(Diffusion { alphas_cumprod: schedule.alphas_cumprod })
    }

    pub fn steps(&self) -> u32 {
        self.alphas_cumprod.len() as u32
    }

    /// `q_sample` with the coefficients cast to float32 first (`_extract_into_tensor`).
    pub fn q_sample(&self, x0: &[f32], t: u32, noise: &[f32]) -> Vec<f32> {
        let ab = self.alphas_cumprod[t as usize];
        let (a, b) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
        x0.iter().zip(noise).map(|(x, n)| a * x + b * n).collect()
    }
}

/// One held-out latent noised in one band.
struct Item {
    x_t: Vec<f32>,
    noise: Vec<f32>,
    t: f32,
}

/// The fixed held-out items of a run, per band.
pub struct HeldOut {
    bands: Vec<Vec<Item>>,
}

impl HeldOut {
    /// Up to [`MAX_HELD_OUT`] of `val`, each noised once per band, drawn from `seed`.
    pub fn new(val: &Latents, diffusion: &Diffusion, seed: u64) -> HeldOut {
        let width = diffusion.steps() as usize / BANDS;
        let count = val.rows().min(MAX_HELD_OUT);
        let bands = if count == 0 || width == 0 {
            Vec::new()
        } else {
            (0..BANDS)
                .map(|band| {
                    (0..count)
                        .map(|i| {
                            let mut r = rng(seed, Purpose::Validation, (i * BANDS + band) as u64);
                            let t = (band * width + r.gen_range(0..width)) as u32;
                            let noise: Vec<f32> =
                                (0..val.channels).map(|_| r.sample(StandardNormal)).collect();
                            Item { x_t: diffusion.q_sample(val.row(i), t, &noise), noise, t: t as f32 }
                        })
                        .collect()
                })
                .collect()
        };
        HeldOut { bands }
    }

    pub fn is_empty(&self) -> bool {
        self.bands.is_empty()
    }

    /// The prior's mean L1 loss on ε in each band, and that of predicting zero.
    pub fn evaluate(&self, prior: &ModelBox) -> Result<BandLosses, PluginError> {
        let mut losses = BandLosses { model: Vec::new(), zero: Vec::new() };
        for items in &self.bands {
            let (mut model_sum, mut zero_sum) = (0.0, 0.0);
            for chunk in items.chunks(CHUNK) {
                let x: Vec<f32> = chunk.iter().flat_map(|i| i.x_t.iter().copied()).collect();
                let t: Vec<f32> = chunk.iter().map(|i| i.t).collect();
                let input = ModelInput {
                    at: Points::dense(1, chunk.len() as u32),
                    x: x.as_slice().into(),
                    guide: Default::default(),
                    t: t.as_slice().into(),
                    z: Default::default(),
                };
                let mut eps = vec![0f32; x.len()];
                prior.denoise(input, eps.as_mut_slice().into()).into_result()?;
                for (item, eps) in chunk.iter().zip(eps.chunks_exact(eps.len() / chunk.len())) {
                    let n = item.noise.len() as f64;
                    model_sum +=
                        item.noise.iter().zip(eps).map(|(a, b)| f64::from(a - b).abs()).sum::<f64>() / n;
                    zero_sum += item.noise.iter().map(|a| f64::from(*a).abs()).sum::<f64>() / n;
                }
            }
            losses.model.push(model_sum / items.len() as f64);
            losses.zero.push(zero_sum / items.len() as f64);
        }
        Ok(losses)
    }
}
