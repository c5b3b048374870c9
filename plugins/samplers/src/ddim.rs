//! DDIM (`ddim_sample`, docs/reference.md §5.2): deterministic with eta = 0 as the
//! reference; eta > 0 adds mollified noise as in Song et al. (2021), eq. 16.

use infty_sdk::{ItemSpec, ParamSpec, Params, PluginError, Sampler, SamplerSetup, SamplerState, Step};

/// DDIM in the mollified-ε parameterisation.
pub struct Ddim {
    setup: SamplerSetup,
    eta: f32,
}

impl Sampler for Ddim {
    fn spec() -> ItemSpec {
        ItemSpec::sampler("ddim", "DDIM sampling (deterministic with eta 0, as the reference)")
            .with_help(
                "x_prev = x0*sqrt(ab_prev) + sqrt(1 - ab_prev - s^2)*eps' + s*noise_mul*T(xi), where \
                 eps' is the noise consistent with the clipped x0 and s = eta*sqrt((1-ab_prev)/(1-ab))\
                 *sqrt(1-ab/ab_prev). The reference samples with eta 0 and 100 steps.",
            )
            .param(
                ParamSpec::float("eta", "stochasticity: 0 is deterministic DDIM, 1 is DDPM-like")
                    .default_float(0.0)
                    .at_least(0.0)
                    .at_most(1.0),
            )
    }

    fn new(setup: SamplerSetup, params: &Params) -> Result<Self, PluginError> {
        Ok(Self { setup, eta: params.float("eta")? as f32 })
    }

    fn setup(&self) -> &SamplerSetup {
        &self.setup
    }

    fn needs_noise(&self, index: usize) -> bool {
        self.eta > 0.0 && index != 0
    }

    fn step(
        &self,
        step: Step,
        state: &mut SamplerState,
        eps: &[f32],
        noise: &[f32],
        x0: &mut [f32],
    ) -> Result<(), PluginError> {
        let j = step.index as usize;
        let s = &self.setup.schedule;
        self.setup.predict_x0(j, &state.x, eps, x0);
        let mut eps_used = vec![0.0f32; x0.len()];
        self.setup.eps_from_x0(j, &state.x, x0, &mut eps_used);
        // ᾱ and ᾱ_prev are cast to f32 before the square roots, as the reference.
        let (ab, ab_prev) = (s.alphas_cumprod[j] as f32, s.alphas_cumprod_prev[j] as f32);
        let sigma = self.eta * ((1.0 - ab_prev) / (1.0 - ab)).sqrt() * (1.0 - ab / ab_prev).sqrt();
        let (keep, point) = (ab_prev.sqrt(), (1.0 - ab_prev - sigma * sigma).sqrt());
        let scale = sigma * self.setup.noise_mul;
        for (i, x) in state.x.iter_mut().enumerate() {
            let mean = x0[i] * keep + point * eps_used[i];
            *x = if noise.is_empty() { mean } else { mean + scale * noise[i] };
        }
        Ok(())
    }
}
