//! Services the host gives plugins: building any loaded plugin's operator, sampler or
//! model by name, so a task can apply the mollifier (or any operator) to its own fields
//! and drive any installed sampler; and, for tasks, images read window by window, a
//! progress bar, warnings and Ctrl-C. Noise is not a host service: plugins draw it
//! with [`crate::noise::NoiseKey`], keyed by image coordinates.
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

use crate::{FieldMut, ImageBox, ModelBox, OperatorBox, PluginError, SamplerBox};

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
    /// Builds sampler `name` (or `plugin-id/name`) from `(parameter, text)` pairs.
    pub new_sampler: extern "C" fn(
        name: RStr<'_>,
        params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
    ) -> RResult<SamplerBox, PluginError>,
    /// Retired: answers an error. Plugins draw noise with [`crate::noise::NoiseKey`].
    /// The field stays because the table's layout is fixed.
    pub noise: extern "C" fn(NoiseRequest, FieldMut<'_>) -> RResult<(), PluginError>,
    /// Builds model `name` (or `plugin-id/name`) from `(parameter, text)` pairs.
    pub new_model: extern "C" fn(
        name: RStr<'_>,
        params: RSlice<'_, Tuple2<RStr<'_>, RStr<'_>>>,
    ) -> RResult<ModelBox, PluginError>,
    /// Opens a PNG, JPEG or TIFF image for reading window by window.
    pub open_image: extern "C" fn(path: RStr<'_>) -> RResult<ImageBox, PluginError>,
    /// Shows a task's progress (see [`progress`]).
    pub progress: extern "C" fn(Progress<'_>),
    /// Whether the user asked the running task to stop (Ctrl-C).
    pub interrupted: extern "C" fn() -> bool,
    /// Prints a warning for the user.
    pub warn: extern "C" fn(RStr<'_>),
}

/// A task's progress: `done` of `total` units and a short status such as the loss.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// Units done so far.
    pub done: u64,
    /// Units in all; 0 ends the bar.
    pub total: u64,
    /// Shown after the bar, e.g. `loss 0.0123`.
    pub message: RStr<'a>,
}

/// The argument of the retired noise service (kept for the table's layout).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct NoiseRequest {
    /// The run's seed.
    pub seed: u64,
    /// Independent stream, e.g. the sampling step.
    pub stream: u32,
    /// σ of the mollifier in pixels of the field's raster; 0 for white noise.
    pub sigma: f64,
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
    let host = host(&format!("build '{name}'"))?;
    (host.new_operator())(name.into(), pairs(params).as_slice().into()).into_result()
}

fn host(what: &str) -> Result<HostRef, PluginError> {
    find_host().ok_or_else(|| {
        PluginError::unsupported(format!("cannot {what}: this plugin was not loaded by an infty host"))
    })
}

fn pairs<'a>(params: &'a [(&'a str, &'a str)]) -> Vec<Tuple2<RStr<'a>, RStr<'a>>> {
    params.iter().map(|(k, v)| Tuple2((*k).into(), (*v).into())).collect()
}

/// Builds an installed sampler by name, e.g. `sampler("ddim", &[("steps", "50")])`.
pub fn sampler(name: &str, params: &[(&str, &str)]) -> Result<SamplerBox, PluginError> {
    let host = host(&format!("build '{name}'"))?;
    let new_sampler =
        host.new_sampler().ok_or_else(|| PluginError::unsupported("this infty host has no samplers"))?;
    new_sampler(name.into(), pairs(params).as_slice().into()).into_result()
}

/// Builds an installed model by name, e.g. `model("net", &[("checkpoint", "m.safetensors")])`.
pub fn model(name: &str, params: &[(&str, &str)]) -> Result<ModelBox, PluginError> {
    let host = host(&format!("build '{name}'"))?;
    let new_model =
        host.new_model().ok_or_else(|| PluginError::unsupported("this infty host has no models"))?;
    new_model(name.into(), pairs(params).as_slice().into()).into_result()
}

/// Opens an image through the host: `read` then returns any window of it.
pub fn open_image(path: &str) -> Result<ImageBox, PluginError> {
    let host = host(&format!("open '{path}'"))?;
    let open =
        host.open_image().ok_or_else(|| PluginError::unsupported("this infty host cannot open images"))?;
    open(path.into()).into_result()
}

/// Shows `done` of `total` units with `message` on the host's progress bar (rate and
/// ETA included); `total` 0 ends the bar. Does nothing outside a host.
pub fn progress(done: u64, total: u64, message: &str) {
    if let Some(progress) = find_host().and_then(|h| h.progress()) {
        progress(Progress { done, total, message: message.into() });
    }
}

/// Whether the user pressed Ctrl-C while a task runs: the task should save what it
/// has and return. False outside a host.
pub fn interrupted() -> bool {
    find_host().and_then(|h| h.interrupted()).is_some_and(|interrupted| interrupted())
}

/// Prints a warning through the host (above any progress bar). Does nothing outside a
/// host: the SDK itself does no I/O.
pub fn warn(message: &str) {
    if let Some(warn) = find_host().and_then(|h| h.warn()) {
        warn(message.into());
    }
}
