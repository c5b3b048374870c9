//! The ABI-stable face of a sampler, and the checks that make a sampler hard to call
//! wrongly: step indices, buffer lengths and noise are validated before it runs.

// `#[sabi_trait]` expands to impls that rustc's non_local_definitions lint flags.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RSlice, RSliceMut, RVec};

use super::{Sampler, SamplerSetup, SamplerState, Step};
use crate::guard::guard;
use crate::{Params, PluginError};

/// What the host and tasks call; implemented by the SDK for every [`Sampler`].
#[sabi_trait]
pub trait SamplerFfi: Send + Sync {
    /// The steps in call order: step `len−1` first, step 0 last.
    fn steps(&self) -> RVec<Step>;
    /// The initial state `x_T = noise_mul·Tξ` from the host's mollified noise.
    fn start(&self, noise: RSlice<'_, f32>) -> SamplerState;
    /// See [`Sampler::step`].
    #[sabi(last_prefix_field)]
    fn step(
        &self,
        step: Step,
        state: &mut SamplerState,
        eps: RSlice<'_, f32>,
        noise: RSlice<'_, f32>,
        x0: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError>;
}

/// A sampler instance owned by the caller.
pub type SamplerBox = SamplerFfi_TO<'static, RBox<()>>;

struct Guarded<T>(T);

impl<T: Sampler> SamplerFfi for Guarded<T> {
    fn steps(&self) -> RVec<Step> {
        let schedule = &self.0.setup().schedule;
        (0..schedule.len())
            .rev()
            .map(|j| Step {
                index: j as u32,
                timestep: schedule.timesteps[j] as u32,
                model_t: schedule.timesteps[j] as f32,
                noise: self.0.needs_noise(j),
            })
            .collect()
    }

    fn start(&self, noise: RSlice<'_, f32>) -> SamplerState {
        let mul = self.0.setup().noise_mul;
        SamplerState { x: noise.iter().map(|n| n * mul).collect(), history: RVec::new() }
    }

    fn step(
        &self,
        step: Step,
        state: &mut SamplerState,
        eps: RSlice<'_, f32>,
        noise: RSlice<'_, f32>,
        mut x0: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError> {
        guard(|| {
            let steps = self.0.setup().schedule.len();
            let index = step.index as usize;
            if index >= steps {
                return Err(PluginError::invalid_input(format!(
                    "step {index} is past the last step ({steps} steps)"
                )));
            }
            let len = state.x.len();
            let needs_noise = self.0.needs_noise(index);
            let wrong = |what: &str, got: usize| {
                PluginError::invalid_input(format!(
                    "step {index}: {what} has {got} samples, the state has {len}"
                ))
            };
            if eps.len() != len {
                return Err(wrong("the model output", eps.len()));
            }
            if x0.len() != len {
                return Err(wrong("the x0 buffer", x0.len()));
            }
            if needs_noise && noise.len() != len {
                return Err(wrong("the noise", noise.len()));
            }
            let noise = if needs_noise { noise.as_slice() } else { &[][..] };
            self.0.step(step, state, eps.as_slice(), noise, x0.as_mut_slice())
        })
    }
}

/// Builds sampler `T` from checked parameters and boxes it for the host. Used by
/// [`crate::export_plugin`]; also what the conformance kit calls.
pub fn new_sampler_box<T: Sampler>(params: &Params) -> Result<SamplerBox, PluginError> {
    let sampler = T::new(SamplerSetup::from_params(params)?, params)?;
    Ok(SamplerFfi_TO::from_value(Guarded(sampler), TD_Opaque))
}
