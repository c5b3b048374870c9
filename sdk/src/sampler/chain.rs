//! The sampling loop every caller runs, written once: the conformance kit, the test
//! plugins and the patch chains of super-resolution and inpainting.

use super::{SamplerBox, SamplerState, Step};
use crate::PluginError;

/// What the model gives one step of a chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Denoised {
    /// ε̂ at x_t.
    pub eps: Vec<f32>,
    /// Subtracted from x after the sampler's step (reconstruction guidance); empty for
    /// none.
    pub shift: Vec<f32>,
}

impl From<Vec<f32>> for Denoised {
    /// ε̂ alone, without guidance.
    fn from(eps: Vec<f32>) -> Self {
        Denoised { eps, shift: Vec::new() }
    }
}

/// Runs `steps` (in call order, a suffix of `sampler.steps()` or all of them) from
/// `state`: for each, the model output `denoise(step, x)`, fresh mollified noise
/// `noise(step)` where the step asks for it, the sampler's step, then the guidance
/// shift. Returns the final sample. `denoise` and `noise` are where a caller plugs in
/// the model and its coordinate-keyed noise.
pub fn run_chain(
    sampler: &SamplerBox,
    steps: &[Step],
    mut state: SamplerState,
    mut denoise: impl FnMut(&Step, &[f32]) -> Result<Denoised, PluginError>,
    mut noise: impl FnMut(&Step) -> Result<Vec<f32>, PluginError>,
) -> Result<Vec<f32>, PluginError> {
    let mut x0 = vec![0.0f32; state.x.len()];
    for &step in steps {
        let Denoised { eps, shift } = denoise(&step, &state.x)?;
        let fresh = if step.noise { noise(&step)? } else { Vec::new() };
        sampler
            .step(step, &mut state, eps.as_slice().into(), fresh.as_slice().into(), x0.as_mut_slice().into())
            .into_result()?;
        state.x.iter_mut().zip(&shift).for_each(|(x, s)| *x -= s);
    }
    Ok(state.x.into_vec())
}
