//! The services the host gives plugins (`infty_sdk::host`): building any loaded
//! plugin's operator by name, with the same checks as the command line.

use std::sync::OnceLock;

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RSlice, RStr, Tuple2};
use infty_sdk::guard::guard;
use infty_sdk::host::{HostApi, HostRef};
use infty_sdk::{OperatorBox, PluginError};

use crate::error::Error;
use crate::registry::Registry;

static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();

/// Makes the loaded plugins available to plugin calls.
pub fn install(registry: &'static Registry) {
    let _ = REGISTRY.set(registry);
}

/// The table handed to every plugin at load time.
pub fn host_ref() -> HostRef {
    static HOST: OnceLock<HostRef> = OnceLock::new();
    *HOST.get_or_init(|| HostApi { new_operator }.leak_into_prefix())
}

/// A host error as the one error type that crosses the boundary.
fn to_plugin_error(error: Error) -> PluginError {
    let help = error.help().map(str::to_string);
    let converted = match error {
        Error::Plugin { context, source } => {
            PluginError { message: format!("{context} {}", source.message).into(), ..source }
        }
        Error::Usage { message, .. } => PluginError::invalid_param("", message),
        Error::Input { message, .. } => PluginError::invalid_input(message),
        Error::Failed { message } => PluginError::failed(message),
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

extern "C" fn new_operator(
    name: RStr<'_>,
    params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
) -> RResult<OperatorBox, PluginError> {
    guard(|| {
        let registry =
            REGISTRY.get().ok_or_else(|| PluginError::failed("the host has not finished loading plugins"))?;
        let item = registry.get_operator(name.as_str()).map_err(to_plugin_error)?;
        let params = item
            .spec
            .resolve(params.iter().map(|Tuple2(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| within(&format!("{}:", item.label()), e))?;
        item.new_operator(&params).map_err(to_plugin_error)
    })
}
