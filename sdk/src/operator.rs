//! The `Operator` kind: a field → field function that a pipeline chains.
//!
//! A plugin author implements [`Operator`] with plain Rust types. The SDK wraps it
//! in [`OperatorBox`], the ABI-stable object the host calls, catching panics on
//! every call. The host calls, in this order:
//!
//! 1. [`Operator::spec`] when listing the plugin; [`Operator::new`] once per pipeline
//!    step, with parameters already checked against the spec.
//! 2. [`Operator::output_raster`] once, before any pixel is read, to plan the chain.
//! 3. Per output tile: [`Operator::input_window`], then [`Operator::process`] with the
//!    input window clipped to the raster's bounds (at the true image edge the operator
//!    applies its own boundary rule, e.g. mirror).

// `#[sabi_trait]` expands to impls that rustc's non_local_definitions lint flags.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, RResult};
use abi_stable::StableAbi;

use crate::guard::guard;
use crate::{
    FieldMut, FieldRef, Geometry, ItemSpec, Params, PluginError, RasterInfo, SampleSupport, SparseMut,
    SparseRef, TypedMut, TypedRef, Window,
};

/// How the host may call [`Operator::process`].
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadingMode {
    /// Any number of tiles at once, from any thread.
    Parallel,
    /// One tile at a time (e.g. an operator that owns a GPU context).
    Serial,
}

/// A field → field operator, written with plain Rust types.
pub trait Operator: Send + Sync + Sized + 'static {
    /// The declaration: name, help and parameters. Called when listing plugins.
    fn spec() -> ItemSpec;

    /// Builds the operator from checked parameters. Return `InvalidParam` for
    /// combinations the schema cannot express (e.g. min > max).
    fn new(params: &Params) -> Result<Self, PluginError>;

    /// How the host may schedule [`Operator::process`]. Default: parallel.
    fn threading(&self) -> ThreadingMode {
        ThreadingMode::Parallel
    }

    /// The raster this operator produces from `input`. Return `InvalidInput` or
    /// `Unsupported` when it cannot take that input. Default: the same raster.
    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        Ok(input)
    }

    /// Where the output's pixels lie on the input's grid, for an operator of `params`
    /// taking `input` to `output` (asked from the parameters, like
    /// [`Operator::sample_support`], without building another instance). The host moves
    /// georeferencing, resolution and physical pixel sizes by it. Default: the whole
    /// input resampled onto the whole output ([`Geometry::resampled`]), the identity
    /// for an operator that keeps the size. A crop, pad or shift declares its own.
    fn geometry(params: &Params, input: RasterInfo, output: RasterInfo) -> Result<Geometry, PluginError> {
        let _ = params;
        Ok(Geometry::resampled(input, output))
    }

    /// The input window needed to compute the output window `output` (halo, scale,
    /// offset). It may extend past the input raster; the host clips it. Default: the
    /// same window.
    fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        let _ = input;
        Ok(output)
    }

    /// Computes `output.window` from `input`, which covers the requested window
    /// clipped to the input raster.
    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError>;

    /// Computes the output at sparse points from the input at the same points.
    /// Only pointwise operators can; the default returns `Unsupported`.
    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> Result<(), PluginError> {
        let _ = (input, output);
        Err(PluginError::unsupported("this operator needs a dense window, not sparse points"))
    }

    /// How many output pixels neighbouring tiles should overlap on each side, for an
    /// operator whose result depends on the window it is computed on (a diffusion
    /// sampler on a tile): the host then computes tiles that much larger and blends
    /// the overlaps with smooth weights that sum to one. Exact operators, whose halo
    /// makes every tile equal the whole-image result, keep the default 0.
    fn tile_overlap(&self) -> u32 {
        0
    }

    /// The integer sample depths [`Operator::process_typed`] takes as they are
    /// (`crate::samples` says what taking them promises), the same for every instance
    /// so the host can ask before building one. Default: none; the host then converts
    /// integer samples to f32 for [`Operator::process`].
    fn sample_support() -> SampleSupport {
        SampleSupport::F32
    }

    /// Computes `output.window` from integer samples at a depth
    /// [`Operator::sample_support`] admits; the output has the same depth.
    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> Result<(), PluginError> {
        let _ = (input, output);
        Err(PluginError::unsupported("this operator takes f32 samples only"))
    }
}

/// The ABI-stable face of an operator; implemented by the SDK for every [`Operator`].
#[sabi_trait]
pub trait OperatorFfi: Send + Sync {
    /// See [`Operator::threading`].
    fn threading(&self) -> ThreadingMode;
    /// See [`Operator::output_raster`].
    fn output_raster(&self, input: RasterInfo) -> RResult<RasterInfo, PluginError>;
    /// See [`Operator::input_window`].
    fn input_window(&self, output: Window, input: RasterInfo) -> RResult<Window, PluginError>;
    /// See [`Operator::process`].
    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> RResult<(), PluginError>;
    /// See [`Operator::process_sparse`].
    #[sabi(last_prefix_field)]
    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> RResult<(), PluginError>;
    /// See [`Operator::tile_overlap`]. Appended: plugins built before it answer 0.
    fn tile_overlap(&self) -> u32 {
        0
    }
}

/// An operator instance owned by the host.
pub type OperatorBox = OperatorFfi_TO<'static, RBox<()>>;

struct Guarded<T>(T);

impl<T: Operator> OperatorFfi for Guarded<T> {
    fn threading(&self) -> ThreadingMode {
        guard(|| Ok(self.0.threading())).unwrap_or(ThreadingMode::Serial)
    }

    fn output_raster(&self, input: RasterInfo) -> RResult<RasterInfo, PluginError> {
        guard(|| self.0.output_raster(input))
    }

    fn input_window(&self, output: Window, input: RasterInfo) -> RResult<Window, PluginError> {
        guard(|| self.0.input_window(output, input))
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.process(input, output))
    }

    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.process_sparse(input, output))
    }

    fn tile_overlap(&self) -> u32 {
        guard(|| Ok(self.0.tile_overlap())).unwrap_or(0)
    }
}

/// Builds `T` from `params` and boxes it for the host. Used by [`crate::export_plugin`];
/// also handy in a plugin's own tests to call it exactly as the host does.
pub fn new_operator_box<T: Operator>(params: &Params) -> Result<OperatorBox, PluginError> {
    let op = T::new(params)?;
    Ok(OperatorFfi_TO::from_value(Guarded(op), TD_Opaque))
}

/// The integer-sample face of an operator, reached through the plugin's optional
/// [`crate::plugin::SamplesExtension`] (outside the root module, so plugins built
/// before it still load).
#[sabi_trait]
pub trait TypedOperatorFfi: Send + Sync {
    /// See [`Operator::process_typed`].
    #[sabi(last_prefix_field)]
    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> RResult<(), PluginError>;
}

/// An operator's integer-sample face owned by the host.
pub type TypedOperatorBox = TypedOperatorFfi_TO<'static, RBox<()>>;

impl<T: Operator> TypedOperatorFfi for Guarded<T> {
    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.process_typed(input, output))
    }
}

/// Builds `T` from `params` and boxes its integer-sample face for the host.
pub fn new_typed_operator_box<T: Operator>(params: &Params) -> Result<TypedOperatorBox, PluginError> {
    let op = T::new(params)?;
    Ok(TypedOperatorFfi_TO::from_value(Guarded(op), TD_Opaque))
}
