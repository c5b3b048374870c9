//! The sampling loop every caller runs, written once.

use super::{SamplerBox, Step};
use crate::PluginError;

/// Runs a whole chain: `x_T = start(initial_noise)`, then every step with the model
/// output from `denoise(step, x)` and, where a step asks for it, fresh mollified noise
/// from `noise(step)`. Returns the final sample. `denoise` and `noise` are where a task
/// plugs in the model and the host's coordinate-keyed noise.
pub fn run_chain(
    sampler: &SamplerBox,
    initial_noise: &[f32],
    mut denoise: impl FnMut(&Step, &[f32]) -> Result<Vec<f32>, PluginError>,
    mut noise: impl FnMut(&Step) -> Result<Vec<f32>, PluginError>,
) -> Result<Vec<f32>, PluginError> {
    let mut state = sampler.start(initial_noise.into());
    let mut x0 = vec![0.0f32; initial_noise.len()];
    for step in sampler.steps() {
        let eps = denoise(&step, &state.x)?;
        let fresh = if step.noise { noise(&step)? } else { Vec::new() };
        sampler
            .step(step, &mut state, eps.as_slice().into(), fresh.as_slice().into(), x0.as_mut_slice().into())
            .into_result()?;
    }
    Ok(state.x.into_vec())
}
