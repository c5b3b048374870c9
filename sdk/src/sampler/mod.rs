//! The `Sampler` kind: one reverse-diffusion step in the mollified-ε parameterisation
//! (docs/reference.md §1.5, §5).
//!
//! A sampler is pure maths over flat sample buffers: it never draws random numbers,
//! never calls the model and keeps no state between calls. The caller (a task, the
//! conformance kit, or [`run_chain`]) drives it, in this order:
//!
//! 1. [`Sampler::new`] once, with the [`SamplerSetup`] the SDK built from the common
//!    parameters (schedule, steps, noise scale, clipping) and the sampler's own.
//! 2. `steps()` lists the steps in call order (step `len−1` first, step 0 last), each
//!    with the timestep the model must see and whether the step needs noise.
//! 3. `start(noise)` makes the initial state `x_T = noise_mul·Tξ` from the host's
//!    mollified noise `Tξ` for the region being sampled.
//! 4. For each step: the caller evaluates the model on `state.x` at `step.model_t`
//!    (ε̂ ≈ Tξ), fetches fresh mollified noise from the host if `step.noise`, then calls
//!    [`Sampler::step`], which replaces `state.x` with the next state and writes x̂0.
//! 5. After step 0, `state.x` is the (still mollified) sample.
//!
//! Everything a step needs is in its arguments and the explicit [`SamplerState`], so
//! one sampler serves many tiles on many threads, and a state can be saved and resumed.

mod chain;
mod ffi;
mod setup;

pub use chain::{run_chain, Denoised};
pub use ffi::{new_sampler_box, SamplerBox, SamplerFfi, SamplerFfi_TO};
pub use setup::SamplerSetup;

use abi_stable::std_types::RVec;
use abi_stable::StableAbi;

use crate::{ItemSpec, Params, PluginError};

/// One step of a sampling chain.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Index `j` into the respaced schedule.
    pub index: u32,
    /// The original training timestep `t_j`.
    pub timestep: u32,
    /// The timestep the model is given: `t_j` as a float, also under respacing (docs/reference.md §1.2).
    pub model_t: f32,
    /// Whether this step needs fresh mollified noise from the host.
    pub noise: bool,
}

/// The noise stream for the initial noise `x_T`; step `j` draws from stream `j`
/// ([`Step::noise_stream`]), so every caller keys its noise the same way.
pub const START_NOISE_STREAM: u32 = u32::MAX;

impl Step {
    /// The noise stream of this step's fresh noise.
    pub fn noise_stream(&self) -> u32 {
        self.index
    }
}

/// The explicit state of one chain: the current sample, plus any history a multistep
/// sampler keeps (e.g. the previous x̂0). The caller owns it, one per region sampled.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Default)]
pub struct SamplerState {
    /// The current sample `x_t`, in the caller's layout (the sampler is elementwise).
    pub x: RVec<f32>,
    /// Buffers the sampler keeps between steps; empty for one-step samplers.
    pub history: RVec<RVec<f32>>,
}

/// A reverse-diffusion step rule, written with plain Rust types.
pub trait Sampler: Send + Sync + Sized + 'static {
    /// The declaration; build it with [`ItemSpec::sampler`], which declares the common
    /// parameters, then add the sampler's own.
    fn spec() -> ItemSpec;

    /// Builds the sampler from the shared set-up and its checked parameters.
    fn new(setup: SamplerSetup, params: &Params) -> Result<Self, PluginError>;

    /// The set-up it was built with.
    fn setup(&self) -> &SamplerSetup;

    /// Whether step `index` adds host noise. Default: never (deterministic samplers).
    fn needs_noise(&self, index: usize) -> bool {
        let _ = index;
        false
    }

    /// One step from `state.x` (= x_t at step `step.index`) to the next state, given
    /// the model output `eps` (mollified ε̂) and, when [`Sampler::needs_noise`], the
    /// host's mollified noise `noise` (unscaled: multiply by `noise_mul`); otherwise
    /// `noise` is empty. Writes the x̂0 the step used into `x0`. All buffers have the
    /// length of `state.x` (the SDK checks).
    fn step(
        &self,
        step: Step,
        state: &mut SamplerState,
        eps: &[f32],
        noise: &[f32],
        x0: &mut [f32],
    ) -> Result<(), PluginError>;
}
