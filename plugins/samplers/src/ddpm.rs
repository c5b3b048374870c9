//! Ancestral DDPM (`p_sample`, docs/reference.md §5.1): the posterior mean from the
//! clipped x̂0, plus mollified noise with the `FIXED_LARGE` variance.

use infty_sdk::{ItemSpec, Params, PluginError, Sampler, SamplerSetup, SamplerState, Step};

/// DDPM in the mollified-ε parameterisation.
pub struct Ddpm {
    setup: SamplerSetup,
}

impl Sampler for Ddpm {
    fn spec() -> ItemSpec {
        ItemSpec::sampler("ddpm", "ancestral DDPM sampling (stochastic, FIXED_LARGE variance)").with_help(
            "x_{t-1} = coef1*clip(x0) + coef2*x_t + exp(logvar_t/2)*noise_mul*T(xi), with no noise at \
             the last step (reference p_sample). The reference trains with 1000 steps and samples \
             with all of them; fewer steps respace the schedule.",
        )
    }

    fn new(setup: SamplerSetup, _params: &Params) -> Result<Self, PluginError> {
        Ok(Self { setup })
    }

    fn setup(&self) -> &SamplerSetup {
        &self.setup
    }

    fn needs_noise(&self, index: usize) -> bool {
        index != 0
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
        // q_posterior_mean_variance, coefficients cast to f32 first (_extract_into_tensor).
        let (c1, c2) = (s.posterior_mean_coef1[j] as f32, s.posterior_mean_coef2[j] as f32);
        let sigma = (0.5 * s.fixed_large_log_variance[j] as f32).exp() * self.setup.noise_mul;
        for (i, x) in state.x.iter_mut().enumerate() {
            let mean = c1 * x0[i] + c2 * *x;
            *x = if noise.is_empty() { mean } else { mean + sigma * noise[i] };
        }
        Ok(())
    }
}
