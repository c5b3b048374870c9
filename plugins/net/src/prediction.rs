//! What the network's output stands for (config `prediction`): ε, as the reference, or
//! v = √ᾱ·ε − √(1−ᾱ)·x0 (Salimans & Ho 2022, "Progressive distillation for fast sampling
//! of diffusion models", §4). With v, x̂0 = √ᾱ·x_t − √(1−ᾱ)·v̂ stays well conditioned at
//! the noisy end of the schedule, where x̂0 from ε̂ divides by √ᾱ ≈ 0, and the loss
//! ‖v − v̂‖² weighs x0's error there as much as ε's at the clean end. Every model call
//! still answers ε̂ = √ᾱ·v̂ + √(1−ᾱ)·x_t, so samplers and tasks see no difference.

use infty_sdk::schedule::{BetaSchedule, Schedule};
use infty_sdk::PluginError;

use crate::config::{NetConfig, Prediction};

/// (√ᾱ_t, √(1−ᾱ_t)) for every training timestep t of a v-predicting network.
pub struct VPrediction {
    coefficients: Vec<(f32, f32)>,
}

impl VPrediction {
    /// The conversion for a network of `cfg`; `None` when it predicts ε.
    pub fn of(cfg: &NetConfig) -> Result<Option<VPrediction>, PluginError> {
        if cfg.prediction != Prediction::V {
            return Ok(None);
        }
        let resolution = u32::try_from(cfg.img_size).unwrap_or(u32::MAX);
        let schedule = BetaSchedule::from_name(&cfg.noise_schedule, resolution)?;
        let alphas_cumprod = Schedule::named(schedule, cfg.diffusion_steps as usize).alphas_cumprod;
        let coefficients =
            alphas_cumprod.iter().map(|ab| (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32)).collect();
        Ok(Some(VPrediction { coefficients }))
    }

    /// The coefficients at model time `t` (a training timestep; rounded and clamped).
    fn at(&self, t: f32) -> (f32, f32) {
        let last = self.coefficients.len() - 1;
        self.coefficients[(t.round().max(0.0) as usize).min(last)]
    }

    /// v̂ → ε̂ = √ᾱ·v̂ + √(1−ᾱ)·x_t in place; `out` and `x` hold `t.len()` items alike.
    /// The same map turns a vector-Jacobian product: J_εᵀu = √ᾱ·J_vᵀu + √(1−ᾱ)·u.
    pub fn eps(&self, t: &[f32], x: &[f32], out: &mut [f32]) {
        let per_item = out.len() / t.len().max(1);
        for ((out, x), &t) in out.chunks_mut(per_item).zip(x.chunks(per_item)).zip(t) {
            let (a, b) = self.at(t);
            out.iter_mut().zip(x).for_each(|(o, x)| *o = a * *o + b * x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eps_from_v_gives_back_the_noise() {
        let cfg = NetConfig { prediction: Prediction::V, ..NetConfig::preset("tiny").unwrap() };
        let v = VPrediction::of(&cfg).unwrap().unwrap();
        let ab = Schedule::named(BetaSchedule::Cosine, cfg.diffusion_steps as usize).alphas_cumprod;
        // Two items at t = 10 and 900: x_t = a·x0 + b·ε and v = a·ε − b·x0 give ε back.
        let (x0, eps) = ([0.5f32, -0.25], [1.0f32, 0.3]);
        let (mut x_t, mut out) = (Vec::new(), Vec::new());
        for (i, t) in [10usize, 900].into_iter().enumerate() {
            let (a, b) = (ab[t].sqrt() as f32, (1.0 - ab[t]).sqrt() as f32);
            x_t.push(a * x0[i] + b * eps[i]);
            out.push(a * eps[i] - b * x0[i]);
        }
        v.eps(&[10.0, 900.0], &x_t, &mut out);
        for (o, e) in out.iter().zip(eps) {
            assert!((o - e).abs() < 1e-5, "{out:?} vs {eps:?}");
        }
        assert!(VPrediction::of(&NetConfig::preset("tiny").unwrap()).unwrap().is_none());
    }
}
