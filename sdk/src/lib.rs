//! infty-sdk: the stable plugin ABI of `infty`, and nothing else.
//!
//! This crate holds the contract between the host and its plugins: fields (dense
//! windows and sparse point sets), parameter schemas, the [`Operator`], [`Sampler`],
//! [`Model`] and [`Task`] kinds, the one error type that crosses the boundary, the panic
//! guard, the schedule maths samplers share, coordinate-keyed noise, a conformance kit,
//! and [`export_plugin!`] which turns plain Rust into a plugin library. It does no I/O.
//! Shared task code (patch lattices and chains, fills, resampling) lives in `infty-kit`,
//! which plugins link statically, so it changes without touching the ABI.
//!
//! A complete operator plugin:
//!
//! ```
//! use infty_sdk::{FieldMut, FieldRef, ItemSpec, Operator, Params, ParamSpec, PluginError};
//!
//! /// Adds a constant to every sample.
//! pub struct AddConstant { value: f32 }
//!
//! impl Operator for AddConstant {
//!     fn spec() -> ItemSpec {
//!         ItemSpec::operator("add-constant", "Add a constant to every sample")
//!             .param(ParamSpec::float("value", "what to add").default_float(0.0))
//!     }
//!     fn new(params: &Params) -> Result<Self, PluginError> {
//!         Ok(Self { value: params.float("value")? as f32 })
//!     }
//!     fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
//!         for c in 0..input.channels() {
//!             for y in 0..input.window.height as usize {
//!                 let src = input.row(c, y);
//!                 for (o, i) in output.row_mut(c, y).iter_mut().zip(src) {
//!                     *o = i + self.value;
//!                 }
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! infty_sdk::export_plugin! {
//!     id: "org.example.add",
//!     version: "0.1.0",
//!     operators: [AddConstant],
//! }
//! # fn main() {}
//! ```
//!
//! Build it as a `cdylib`, put the library in a folder on `INFTY_PLUGIN_PATH`, and
//! `infty plugins` lists it. A plugin must be built with `panic = "unwind"` (the
//! default) so the SDK can catch its panics.

#![deny(missing_docs)]

mod error;
mod field;
pub mod geometry;
pub mod guard;
pub mod host;
pub mod image;
pub mod model;
pub mod noise;
mod operator;
mod params;
pub mod plugin;
pub mod sampler;
pub mod samples;
pub mod schedule;
mod schema;
pub mod settings;
mod task;
pub mod testing;
mod views;

pub use error::{ErrorKind, PluginError};
pub use field::{FieldMut, FieldRef, Point, RasterInfo, SparseMut, SparseRef, Window};
pub use geometry::Geometry;
pub use image::{ImageBox, ImageFfi, ImageFfi_TO};
pub use model::{GuideKind, Model, ModelBox, ModelInfo, ModelInput, Points, TrainBatch, TrainStats};
pub use operator::{
    new_operator_box, new_typed_operator_box, Operator, OperatorBox, OperatorFfi, OperatorFfi_TO,
    ThreadingMode, TypedOperatorBox, TypedOperatorFfi, TypedOperatorFfi_TO,
};
pub use params::{Param, Params};
pub use plugin::{Manifest, PluginModule, PluginRef, SamplesExtension};
pub use sampler::{Denoised, Sampler, SamplerBox, SamplerSetup, SamplerState, Step};
pub use samples::{Depth, Sample, SampleSupport};
pub use schema::{Bound, ItemKind, ItemSpec, ParamKind, ParamSpec, ParamValue};
pub use settings::FromParam;
pub use task::Task;
pub use views::{Samples, SamplesMut, TypedMut, TypedRef};

/// The version of the plugin ABI: the layout of everything that crosses the boundary.
///
/// It is this crate's version, and only the ABI moves it: abi_stable records the
/// version of the crate that defines each type and refuses a plugin whose types come
/// from another 0.x minor, so the SDK holds nothing but the contract (task code lives
/// in `infty-kit`, whose version is free). The patch number moves when the crate changes
/// and no layout does; the minor number (while 0.x) when any layout changes, appending
/// included: abi_stable lets a plugin's tables have more fields than the host expects,
/// never fewer, so a host that appends would refuse every older plugin. The host
/// refuses a plugin of another minor with one line naming both versions.
///
/// History: 0.1.0 the first layout (with the task code inside); 0.1.1 the same layout,
/// the task code moved out to `infty-kit`; 0.1.2 the same layout, with an optional
/// extension table for operators that take integer samples ([`SamplesExtension`]);
/// 0.1.3 the same layout, with a second one saying how operators move pixels
/// ([`plugin::GeometryExtension`]).
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Re-exports the macros need; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use abi_stable::prefix_type::PrefixTypeTrait;
    pub use abi_stable::std_types::{RResult, RStr, RVec};
}
