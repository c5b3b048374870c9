//! infty-kit: the task code infty's plugins share, linked statically into each plugin.
//!
//! Nothing here crosses the plugin boundary, so it may change in any release without
//! touching the ABI (`infty_sdk::ABI_VERSION`): a plugin built against an older kit
//! keeps loading. What it holds:
//!
//! - [`patches`]: where a model's patches lie on an image of any size, how they blend,
//!   and the sampler chain on a batch of patches with coordinate-keyed noise;
//! - [`fill`]: the harmonic (membrane) fill of holes;
//! - [`resample`]: area downscaling and bicubic guides for super-resolution;
//! - [`guide`]: the guide fields tasks give guided models;
//! - [`resolution`]: moving a mollifier between resolutions;
//! - [`latents`]: the normalisation of a latent prior's data;
//! - [`memory`]: the memory available now, for checks before allocating;
//! - [`model_file`]: finding the model file a `--model` parameter names.
//!
//! ```
//! use infty_kit::patches::Lattice;
//! use infty_sdk::Window;
//!
//! // 64-px patches overlapping by 16 on a 200 × 100 raster.
//! let lattice = Lattice::new(200, 100, 64, 16);
//! let origins = lattice.patches_over(Window::new(0, 0, 60, 60));
//! assert_eq!(origins, vec![(0, 0), (48, 0), (0, 36), (48, 36)]);
//! ```

#![deny(missing_docs)]

pub mod fill;
pub mod guide;
pub mod latents;
pub mod memory;
pub mod model_file;
pub mod patches;
pub mod resample;
pub mod resolution;
