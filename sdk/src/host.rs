//! Services the host gives plugins: building any loaded plugin's operator by name, so
//! a sampler or task can apply the mollifier (or any operator) to its own fields.
//!
//! The host hands its [`HostRef`] to each plugin right after loading it, through the
//! root module's `set_host`; [`operator`] then works from any plugin code.
//!
//! ```ignore
//! let t = infty_sdk::host::operator("mollify", &[("sigma", "2")])?;
//! t.process(input, output).into_result()?;
//! ```

use std::sync::OnceLock;

use abi_stable::std_types::{RResult, RSlice, RStr, Tuple2};
use abi_stable::StableAbi;

use crate::{OperatorBox, PluginError};

/// The host's table of services. Append-only, like the plugin root module.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = HostRef)))]
#[sabi(missing_field(option))]
pub struct HostApi {
    /// Builds operator `name` (or `plugin-id/name`) from `(parameter, text)` pairs,
    /// checked against its schema exactly as on the command line.
    #[sabi(last_prefix_field)]
    pub new_operator: extern "C" fn(
        name: RStr<'_>,
        params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
    ) -> RResult<OperatorBox, PluginError>,
}

static HOST: OnceLock<HostRef> = OnceLock::new();

/// Called by the plugin's root module when the host loads it.
#[doc(hidden)]
pub extern "C" fn set_host(host: HostRef) {
    let _ = HOST.set(host);
}

/// The host's services, if this plugin was loaded by a host.
pub fn find_host() -> Option<HostRef> {
    HOST.get().copied()
}

/// Builds another plugin's operator by name, e.g. `operator("mollify", &[("sigma", "2")])`.
pub fn operator(name: &str, params: &[(&str, &str)]) -> Result<OperatorBox, PluginError> {
    let host = find_host().ok_or_else(|| {
        PluginError::unsupported(format!(
            "cannot build '{name}': this plugin was not loaded by an infty host"
        ))
    })?;
    let pairs: Vec<Tuple2<RStr<'_>, RStr<'_>>> =
        params.iter().map(|(k, v)| Tuple2((*k).into(), (*v).into())).collect();
    (host.new_operator())(name.into(), pairs.as_slice().into()).into_result()
}
