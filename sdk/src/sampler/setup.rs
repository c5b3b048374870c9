//! What every sampler is set up with: the respaced schedule, the noise scale and
//! clipping, declared once as parameters so all samplers take them the same way.

use crate::schedule::{space_timesteps, BetaSchedule, Schedule, SCHEDULE_NAMES};
use crate::{ItemKind, ItemSpec, ParamSpec, Params, PluginError};

/// The shared set-up of a sampler, built by the SDK from the common parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerSetup {
    /// The respaced schedule the sampler steps through, step `len()−1` first.
    pub schedule: Schedule,
    /// Scale of the host noise: `S'/S` when sampling at `S'` a model trained at `S`
    /// (reference `noise_mul`, docs/reference.md §2.3).
    pub noise_mul: f32,
    /// Clamp x̂0 to [−1, 1] (reference `clip_denoised`, on by default).
    pub clip_denoised: bool,
}

impl SamplerSetup {
    /// The parameters every sampler takes, in the order help lists them.
    pub fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec::text("steps", "sampling steps: K, ddimK, or sections K1,K2,...")
                .default_text("100")
                .with_help(
                    "K keeps K of the training steps at the reference's fractional stride \
                     (100 keeps 0, 10, ..., 50, 61, ..., 999); ddimK uses an integer stride; \
                     K1,K2,... splits the training steps into equal sections.",
                ),
            ParamSpec::choice("schedule", "the beta schedule the model was trained with", &SCHEDULE_NAMES)
                .default_text("cosine"),
            ParamSpec::int("train-steps", "training steps of the schedule")
                .default_int(1000)
                .at_least(1.0)
                .at_most(100_000.0),
            ParamSpec::int("schedule-resolution", "training resolution, for shifted_cosine only")
                .default_int(64)
                .at_least(1.0),
            ParamSpec::float("noise-mul", "noise scale, S'/S when sampling at S' a model trained at S")
                .default_float(1.0)
                .greater_than(0.0),
            ParamSpec::switch("no-clip", "do not clamp the x0 prediction to [-1, 1]"),
        ]
    }

    /// The set-up from checked parameters (see [`SamplerSetup::params`]).
    pub fn from_params(params: &Params) -> Result<Self, PluginError> {
        let train_steps = params.int("train-steps")? as usize;
        let resolution = u32::try_from(params.int("schedule-resolution")?).unwrap_or(u32::MAX);
        let betas = BetaSchedule::from_name(params.text("schedule")?, resolution)?;
        let kept = space_timesteps(train_steps, params.text("steps")?)?;
        Ok(Self {
            schedule: Schedule::named(betas, train_steps).respaced(&kept),
            noise_mul: params.float("noise-mul")? as f32,
            clip_denoised: !params.bool("no-clip")?,
        })
    }

    /// x̂0 = √(1/ᾱ)·x − √(1/ᾱ − 1)·ε̂ at step `index`, clamped unless `no-clip`
    /// (`_predict_xstart_from_eps`, docs/reference.md §1.5). Coefficients are cast to f32 first.
    pub fn predict_x0(&self, index: usize, x: &[f32], eps: &[f32], x0: &mut [f32]) {
        let s = &self.schedule;
        let (a, b) = (s.sqrt_recip_alphas_cumprod[index] as f32, s.sqrt_recipm1_alphas_cumprod[index] as f32);
        for ((o, &x), &e) in x0.iter_mut().zip(x).zip(eps) {
            let v = a * x - b * e;
            *o = if self.clip_denoised { v.clamp(-1.0, 1.0) } else { v };
        }
    }

    /// ε = (√(1/ᾱ)·x − x̂0)/√(1/ᾱ − 1): the noise consistent with a (clipped) x̂0
    /// (`_predict_eps_from_xstart`).
    pub fn eps_from_x0(&self, index: usize, x: &[f32], x0: &[f32], eps: &mut [f32]) {
        let s = &self.schedule;
        let (a, b) = (s.sqrt_recip_alphas_cumprod[index] as f32, s.sqrt_recipm1_alphas_cumprod[index] as f32);
        for ((o, &x), &x0) in eps.iter_mut().zip(x).zip(x0) {
            *o = (a * x - x0) / b;
        }
    }
}

impl ItemSpec {
    /// A sampler named `name`, with the parameters every sampler takes
    /// ([`SamplerSetup::params`]) already declared.
    pub fn sampler(name: &str, summary: &str) -> Self {
        let mut spec = Self::operator(name, summary);
        spec.kind = ItemKind::Sampler;
        spec.with_params(SamplerSetup::params())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(given: &[(&str, &str)]) -> Result<SamplerSetup, PluginError> {
        let spec = ItemSpec::sampler("s", "");
        SamplerSetup::from_params(&spec.resolve(given.iter().copied())?)
    }

    #[test]
    fn defaults_are_the_reference_sampling_set_up() {
        let s = setup(&[]).unwrap();
        assert_eq!(s.schedule.len(), 100);
        assert_eq!(s.schedule.timesteps[6], 61);
        assert_eq!((s.noise_mul, s.clip_denoised), (1.0, true));
    }

    #[test]
    fn bad_set_ups_name_the_parameter() {
        for (given, param) in [
            (vec![("steps", "0")], "steps"),
            (vec![("steps", "1001")], "steps"),
            (vec![("schedule", "quadratic")], "schedule"),
            (vec![("noise-mul", "0")], "noise-mul"),
            (vec![("train-steps", "0")], "train-steps"),
        ] {
            let err = setup(&given).unwrap_err();
            assert_eq!(err.param.as_ref().into_option().map(|p| p.as_str()), Some(param), "{given:?}: {err}");
        }
    }

    #[test]
    fn x0_prediction_clips_and_inverts() {
        let s = setup(&[("steps", "10")]).unwrap();
        let (x, eps) = ([0.5f32, -0.2, 3.0], [0.1f32, 0.3, -9.0]);
        let mut x0 = [0.0; 3];
        s.predict_x0(5, &x, &eps, &mut x0);
        assert_eq!(x0[2], 1.0, "clamped");
        let mut back = [0.0; 3];
        s.eps_from_x0(5, &x, &x0, &mut back);
        for i in 0..2 {
            assert!((back[i] - eps[i]).abs() < 1e-5, "{i}: {} vs {}", back[i], eps[i]);
        }
    }
}
