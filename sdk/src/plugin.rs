//! The root module every plugin exports, and [`export_plugin!`] that writes it.
//!
//! The root module is an abi_stable prefix type: fields are only ever appended, and
//! those after the last prefix field (`set_host`, `new_sampler`, `new_model`,
//! `run_task`) are optional, so the host probes for them. abi_stable accepts a plugin
//! whose tables have more fields than the host knows, never fewer: appending is a new
//! ABI minor version ([`crate::ABI_VERSION`]). What came later travels in optional
//! extension tables exported beside it ([`SamplesExtension`]).

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr, RString, RVec};
use abi_stable::type_layout::TypeLayout;
use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::host::HostRef;
use crate::{
    Geometry, ItemSpec, ModelBox, OperatorBox, Params, PluginError, RasterInfo, SampleSupport, SamplerBox,
    TypedOperatorBox,
};

/// What a plugin is and what it provides.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Reverse-domain identifier, e.g. `org.infty.basic`.
    pub id: RString,
    /// The plugin's own semver; its major version changes when the same settings
    /// would give different pixels.
    pub version: RString,
    /// The ABI version the plugin was built against ([`crate::ABI_VERSION`]). The field
    /// keeps its first name: renaming it would change the layout.
    pub sdk_version: RString,
    /// Every item the plugin provides.
    pub items: RVec<ItemSpec>,
}

/// The root module of a plugin library. Append-only.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginRef)))]
#[sabi(missing_field(option))]
pub struct PluginModule {
    /// Returns the manifest.
    pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,
    /// Builds the operator called by its item name from checked parameters.
    #[sabi(last_prefix_field)]
    pub new_operator: extern "C" fn(RStr<'_>, &Params) -> RResult<OperatorBox, PluginError>,
    /// Receives the host's services once, right after loading.
    pub set_host: extern "C" fn(HostRef),
    /// Builds the sampler called by its item name from checked parameters.
    pub new_sampler: extern "C" fn(RStr<'_>, &Params) -> RResult<SamplerBox, PluginError>,
    /// Builds the model called by its item name from checked parameters.
    pub new_model: extern "C" fn(RStr<'_>, &Params) -> RResult<ModelBox, PluginError>,
    /// Runs the task called by its item name with checked parameters.
    pub run_task: extern "C" fn(RStr<'_>, &Params) -> RResult<(), PluginError>,
}

impl RootModule for PluginRef {
    abi_stable::declare_root_module_statics! {PluginRef}
    const BASE_NAME: &'static str = "infty_plugin";
    const NAME: &'static str = "infty_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(crate::ABI_VERSION);
}

/// An optional table a plugin exports beside its root module, under
/// [`SAMPLES_EXTENSION_SYMBOL`]: the root module's layout is fixed for the 0.1 ABI (a host
/// whose tables grew would refuse every plugin built before), so capabilities added
/// since travel here. A plugin without it works as before.
#[repr(C)]
#[derive(StableAbi)]
pub struct SamplesExtension {
    /// The integer depths the operator called `name` takes ([`crate::Operator::sample_support`]);
    /// F32 only for a name the plugin does not provide.
    pub sample_support: extern "C" fn(RStr<'_>) -> SampleSupport,
    /// Builds the integer-sample face ([`TypedOperatorBox`]) of the operator called
    /// `name`, from checked parameters.
    pub new_typed_operator: extern "C" fn(RStr<'_>, &Params) -> RResult<TypedOperatorBox, PluginError>,
}

/// The symbol of the function returning a plugin's [`ExtensionEntry`] for [`SamplesExtension`].
pub const SAMPLES_EXTENSION_SYMBOL: &[u8] = b"infty_samples_extension\0";

/// An optional table a plugin exports under [`GEOMETRY_EXTENSION_SYMBOL`] (ABI 0.1.3):
/// how each operator moves pixels. Without it the host takes the default,
/// [`crate::Geometry::resampled`].
#[repr(C)]
#[derive(StableAbi)]
pub struct GeometryExtension {
    /// [`crate::Operator::geometry`] of the operator called `name`, built with the
    /// parameters given, from its input raster to its output raster.
    pub geometry: extern "C" fn(RStr<'_>, &Params, RasterInfo, RasterInfo) -> RResult<Geometry, PluginError>,
}

/// The symbol of the function returning a plugin's [`ExtensionEntry`] for [`GeometryExtension`].
pub const GEOMETRY_EXTENSION_SYMBOL: &[u8] = b"infty_geometry_extension\0";

/// What an extension symbol returns: the table and its layout, which the host checks
/// against its own before using the table.
#[repr(C)]
pub struct ExtensionEntry<T: 'static> {
    /// The layout of the table the plugin was built with.
    pub layout: &'static TypeLayout,
    /// The table.
    pub table: &'static T,
}

impl<T: StableAbi> ExtensionEntry<T> {
    /// The entry for `table`, with this SDK's layout.
    pub fn of(table: &'static T) -> Self {
        Self { layout: <T as StableAbi>::LAYOUT, table }
    }
}

/// The error for an item name the plugin does not provide.
pub fn unknown_item(name: &str) -> PluginError {
    PluginError::invalid_input(format!("this plugin provides no item called '{name}'"))
}

/// Exports a plugin: writes its root module and the FFI entry points.
///
/// ```ignore
/// infty_sdk::export_plugin! {
///     id: "org.example.passthrough",
///     version: env!("CARGO_PKG_VERSION"),
///     operators: [Passthrough],
///     samplers: [MySampler],
///     models: [MyModel],
///     tasks: [MyTask],
/// }
/// ```
///
/// Every list is optional.
///
/// Every entry point runs inside [`guard`](crate::guard::guard), so a panicking
/// plugin returns an error to the host instead of ending the process.
#[macro_export]
macro_rules! export_plugin {
    (
        id: $id:expr,
        version: $version:expr
        $(, operators: [$($op:ty),* $(,)?])?
        $(, samplers: [$($sampler:ty),* $(,)?])?
        $(, models: [$($model:ty),* $(,)?])?
        $(, tasks: [$($task:ty),* $(,)?])?
        $(,)?
    ) => {
        #[doc(hidden)]
        pub mod __infty_plugin {
            #[allow(unused_imports)]
            use super::*;
            use $crate::__private::{abi_stable, PrefixTypeTrait, RResult, RStr, RVec};

            extern "C" fn manifest() -> RResult<$crate::Manifest, $crate::PluginError> {
                $crate::guard::guard(|| {
                    Ok($crate::Manifest {
                        id: ($id).into(),
                        version: ($version).into(),
                        sdk_version: $crate::ABI_VERSION.into(),
                        items: RVec::from(vec![
                            $($(<$op as $crate::Operator>::spec(),)*)?
                            $($(<$sampler as $crate::Sampler>::spec(),)*)?
                            $($(<$model as $crate::Model>::spec(),)*)?
                            $($(<$task as $crate::Task>::spec(),)*)?
                        ]),
                    })
                })
            }

            extern "C" fn new_operator(
                name: RStr<'_>,
                params: &$crate::Params,
            ) -> RResult<$crate::OperatorBox, $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$op as $crate::Operator>::spec().name == name.as_str() {
                            return $crate::new_operator_box::<$op>(params);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            extern "C" fn new_sampler(
                name: RStr<'_>,
                params: &$crate::Params,
            ) -> RResult<$crate::SamplerBox, $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$sampler as $crate::Sampler>::spec().name == name.as_str() {
                            return $crate::sampler::new_sampler_box::<$sampler>(params);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            extern "C" fn new_model(
                name: RStr<'_>,
                params: &$crate::Params,
            ) -> RResult<$crate::ModelBox, $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$model as $crate::Model>::spec().name == name.as_str() {
                            return $crate::model::new_model_box::<$model>(params);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            extern "C" fn run_task(
                name: RStr<'_>,
                params: &$crate::Params,
            ) -> RResult<(), $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$task as $crate::Task>::spec().name == name.as_str() {
                            return <$task as $crate::Task>::run(params);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            extern "C" fn new_typed_operator(
                name: RStr<'_>,
                params: &$crate::Params,
            ) -> RResult<$crate::TypedOperatorBox, $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$op as $crate::Operator>::spec().name == name.as_str() {
                            return $crate::new_typed_operator_box::<$op>(params);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            extern "C" fn sample_support(name: RStr<'_>) -> $crate::SampleSupport {
                // A panic must not unwind into the host: it means f32 only.
                let support = $crate::guard::guard(|| {
                    $($(
                        if <$op as $crate::Operator>::spec().name == name.as_str() {
                            return Ok(<$op as $crate::Operator>::sample_support());
                        }
                    )*)?
                    Ok($crate::SampleSupport::F32)
                });
                support.into_result().unwrap_or($crate::SampleSupport::F32)
            }

            static SAMPLES_EXTENSION: $crate::SamplesExtension =
                $crate::SamplesExtension { sample_support, new_typed_operator };

            /// The optional extension table beside the root module
            /// (`infty_sdk::plugin::SAMPLES_EXTENSION_SYMBOL`).
            #[export_name = "infty_samples_extension"]
            #[allow(improper_ctypes_definitions)] // a layout pointer, checked by the host
            pub extern "C" fn samples_extension() -> $crate::plugin::ExtensionEntry<$crate::SamplesExtension> {
                $crate::plugin::ExtensionEntry::of(&SAMPLES_EXTENSION)
            }

            extern "C" fn geometry(
                name: RStr<'_>,
                params: &$crate::Params,
                input: $crate::RasterInfo,
                output: $crate::RasterInfo,
            ) -> RResult<$crate::Geometry, $crate::PluginError> {
                $crate::guard::guard(|| {
                    $($(
                        if <$op as $crate::Operator>::spec().name == name.as_str() {
                            return <$op as $crate::Operator>::geometry(params, input, output);
                        }
                    )*)?
                    Err($crate::plugin::unknown_item(name.as_str()))
                })
            }

            static GEOMETRY_EXTENSION: $crate::plugin::GeometryExtension =
                $crate::plugin::GeometryExtension { geometry };

            /// The geometry extension (`infty_sdk::plugin::GEOMETRY_EXTENSION_SYMBOL`).
            #[export_name = "infty_geometry_extension"]
            #[allow(improper_ctypes_definitions)] // a layout pointer, checked by the host
            pub extern "C" fn geometry_extension() -> $crate::plugin::ExtensionEntry<$crate::plugin::GeometryExtension> {
                $crate::plugin::ExtensionEntry::of(&GEOMETRY_EXTENSION)
            }

            fn root_module() -> $crate::PluginRef {
                $crate::PluginModule {
                    manifest,
                    new_operator,
                    set_host: $crate::host::set_host,
                    new_sampler,
                    new_model,
                    run_task,
                }
                .leak_into_prefix()
            }

            extern "C" fn erased_root_module() -> abi_stable::library::RootModuleResult {
                abi_stable::library::__call_root_module_loader(root_module)
            }

            // The symbol abi_stable looks up: `abi_stable::library::ROOT_MODULE_LOADER_NAME`
            // (a unit test checks they agree). This is what `#[export_root_module]` writes,
            // without making every plugin depend on abi_stable itself.
            #[export_name = "_1as_0lib_1header_0root_bmodule_bloader"]
            pub static LIB_HEADER: abi_stable::library::LibHeader = unsafe {
                // SAFETY: `erased_root_module` returns the `PluginRef` built above,
                // which is what `from_constructor::<PluginRef>` requires.
                abi_stable::library::LibHeader::from_constructor::<$crate::PluginRef>(
                    erased_root_module,
                    abi_stable::library::CheckTypeLayout::Yes,
                )
            };
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(abi_stable::library::ROOT_MODULE_LOADER_NAME, "_1as_0lib_1header_0root_bmodule_bloader");
    }
}
