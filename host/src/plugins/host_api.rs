//! The services the host gives plugins (`infty_sdk::host`): building any loaded
//! plugin's operator, sampler or model by name, with the same checks as the command
//! line; and, for tasks, images read window by window, a progress bar, Ctrl-C and
//! warnings.

use std::sync::{Mutex, OnceLock};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RSlice, RStr, Tuple2};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use infty_sdk::guard::guard;
use infty_sdk::host::{HostApi, HostRef, NoiseRequest, Progress};
use infty_sdk::{
    FieldMut, ImageBox, ImageFfi, ImageFfi_TO, ItemKind, ModelBox, OperatorBox, Params, PluginError,
    RasterInfo, SamplerBox, Window,
};

use super::registry::{ItemRef, Registry};
use crate::codecs::input::open_source;
use crate::engine::source::Source;
use crate::error::Error;

static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();

/// Makes the loaded plugins available to plugin calls.
pub fn install(registry: &'static Registry) {
    let _ = REGISTRY.set(registry);
}

/// The table handed to every plugin when its library is opened.
pub fn host_ref() -> HostRef {
    static HOST: OnceLock<HostRef> = OnceLock::new();
    *HOST.get_or_init(|| {
        HostApi { new_operator, new_sampler, noise, new_model, open_image, progress, interrupted, warn }
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

/// The host's image reader as a plugin sees it.
struct OpenedImage(Box<dyn Source>);

impl ImageFfi for OpenedImage {
    fn info(&self) -> RasterInfo {
        self.0.info()
    }

    fn read(&self, window: Window, out: FieldMut<'_>) -> RResult<(), PluginError> {
        guard(|| {
            let bounds = self.0.info().bounds();
            if !bounds.contains(&window) || out.window != window {
                return Err(PluginError::invalid_input(format!(
                    "cannot read window {window:?}: the image is {}x{} and the buffer holds {:?}",
                    bounds.width, bounds.height, out.window
                )));
            }
            self.0.read(window, out).map_err(|e| PluginError::invalid_input(e.to_string()))
        })
    }
}

extern "C" fn open_image(path: RStr<'_>) -> RResult<ImageBox, PluginError> {
    guard(|| {
        let source =
            open_source(path.as_str(), None, false).map_err(|e| PluginError::invalid_input(e.to_string()))?;
        Ok(ImageFfi_TO::from_value(OpenedImage(source), TD_Opaque))
    })
}

static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Draws a task's progress on stderr: bar, count, rate, ETA and its message.
extern "C" fn progress(update: Progress<'_>) {
    let Ok(mut slot) = BAR.lock() else { return };
    if update.total == 0 {
        if let Some(bar) = slot.take() {
            bar.finish_and_clear();
        }
        return;
    }
    let bar = slot.get_or_insert_with(|| {
        let bar = ProgressBar::with_draw_target(Some(update.total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} ETA {eta}  {msg}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(update.done);
        bar.reset_eta();
        bar
    });
    bar.set_length(update.total);
    bar.set_position(update.done);
    bar.set_message(update.message.as_str().to_string());
}

/// Clears a task's progress bar, if it drew one.
pub fn end_progress() {
    progress(Progress { done: 0, total: 0, message: "".into() });
}

extern "C" fn interrupted() -> bool {
    crate::interrupt::stop_requested()
}

extern "C" fn warn(message: RStr<'_>) {
    warning(message.as_str());
}

/// Prints a warning above the progress bar, if one is drawn.
pub fn warning(message: &str) {
    let line = format!("infty: warning: {message}");
    match BAR.lock().ok().as_ref().and_then(|b| b.as_ref()) {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}
