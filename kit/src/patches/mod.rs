//! Sampling an ∞-Diff model patch by patch over an image of any size: where the
//! patches lie and how they blend ([`Lattice`], [`Blend`]), and the sampler chain on a
//! batch of patches with coordinate-keyed noise ([`PatchChain`]). The super-resolution
//! and inpainting plugins build on both.

mod cache;
mod chain;
mod lattice;

pub use cache::PatchCache;
pub use chain::{model_params, ChainSetup, PatchChain};
pub use lattice::{Blend, Lattice};
