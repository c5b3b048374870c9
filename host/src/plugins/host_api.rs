//! The services the host gives plugins (`infty_sdk::host`): building any loaded
//! plugin's operator, sampler or model by name, with the same checks as the command
//! line; and, for tasks, images, progress, Ctrl-C and warnings (see `task`).

use std::sync::OnceLock;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RSlice, RStr, Tuple2};
use infty_sdk::guard::guard;
use infty_sdk::host::{HostApi, HostRef, NoiseRequest};
use infty_sdk::{FieldMut, ItemKind, ModelBox, OperatorBox, Params, PluginError, SamplerBox};

use crate::error::Error;
use crate::registry::{ItemRef, Registry};

static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();

/// Makes the loaded plugins available to plugin calls.
pub fn install(registry: &'static Registry) {
    let _ = REGISTRY.set(registry);
}

/// The table handed to every plugin when its library is opened.
pub fn host_ref() -> HostRef {
    static HOST: OnceLock<HostRef> = OnceLock::new();
    *HOST.get_or_init(|| {
        HostApi {
            new_operator,
            new_sampler,
            noise,
            new_model,
            open_image: crate::task::open_image,
            progress: crate::task::progress,
            interrupted: crate::task::interrupted,
            warn: crate::task::warn,
        }
        .leak_into_prefix()
    })
}

/// A host error as the one error type that crosses the boundary.
fn to_plugin_error(error: Error) -> PluginError {
    let help = error.help().map(str::to_string);
    let converted = match error {
        Error::Plugin { context, source } => within(&context, source),
        Error::Usage { message, .. } => PluginError::invalid_param("", message),
        Error::Input { message, .. } => PluginError::invalid_input(message),
        Error::Failed { message, .. } => PluginError::failed(message),
    };
    match help {
        Some(help) if converted.help.is_none() => converted.with_help(help),
        _ => converted,
    }
}

/// `error` as raised inside `context` (`mollify (org.infty.mollifier):`), so the calling
/// plugin's own context reads before it.
fn within(context: &str, error: PluginError) -> PluginError {
    PluginError {
        message: format!("{context} {error}").into(),
        param: abi_stable::std_types::ROption::RNone,
        causes: Default::default(),
        ..error
    }
}

fn registry() -> Result<&'static Registry, PluginError> {
    REGISTRY.get().copied().ok_or_else(|| PluginError::failed("the host has not finished loading plugins"))
}

/// The item of `kind` called `name`, and its parameters from `(name, text)` pairs.
fn resolve<'r>(
    registry: &'r Registry,
    name: &str,
    kind: ItemKind,
    params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
) -> Result<(ItemRef<'r>, Params), PluginError> {
    let item = registry.get(name, kind).map_err(to_plugin_error)?;
    let params = item
        .spec
        .resolve(params.iter().map(|Tuple2(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| within(&format!("{}:", item.label()), e))?;
    Ok((item, params))
}

extern "C" fn new_operator(
    name: RStr<'_>,
    params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
) -> RResult<OperatorBox, PluginError> {
    guard(|| {
        let (item, params) = resolve(registry()?, name.as_str(), ItemKind::Operator, params)?;
        item.new_operator(&params).map_err(to_plugin_error)
    })
}

extern "C" fn new_sampler(
    name: RStr<'_>,
    params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
) -> RResult<SamplerBox, PluginError> {
    guard(|| {
        let (item, params) = resolve(registry()?, name.as_str(), ItemKind::Sampler, params)?;
        item.new_sampler(&params).map_err(to_plugin_error)
    })
}

extern "C" fn new_model(
    name: RStr<'_>,
    params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
) -> RResult<ModelBox, PluginError> {
    guard(|| {
        let (item, params) = resolve(registry()?, name.as_str(), ItemKind::Model, params)?;
        item.new_model(&params).map_err(to_plugin_error)
    })
}

/// The retired noise service (ABI 0.1.0): plugins draw coordinate-keyed noise with
/// `infty_sdk::noise::NoiseKey` themselves, so there is one noise path. The field stays
/// in the table, whose layout is fixed, and answers an error.
extern "C" fn noise(_request: NoiseRequest, _field: FieldMut<'_>) -> RResult<(), PluginError> {
    RResult::RErr(
        PluginError::unsupported("the host's noise service is retired")
            .with_help("draw coordinate-keyed noise with infty_sdk::noise::NoiseKey"),
    )
}
