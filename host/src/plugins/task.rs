//! Tasks: `infty <task> ARG... [--param v]...`, and the services the host gives a
//! running task (images read window by window, a progress bar, warnings, Ctrl-C).

use std::sync::Mutex;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RStr};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use infty_sdk::guard::guard;
use infty_sdk::host::Progress;
use infty_sdk::{FieldMut, ImageBox, ImageFfi, ImageFfi_TO, ItemSpec, PluginError, RasterInfo, Window};

use crate::error::{Error, Result};
use crate::pipeline::parse::step_args;
use crate::registry::ItemRef;
use crate::stream::source::{self, Source};

/// Runs `item` with the words after its name: required parameters may come first,
/// positionally, in declaration order.
pub fn run(item: ItemRef<'_>, words: &[String]) -> Result<()> {
    let args = step_args(item.spec, words)?;
    let pairs = with_positional(item.spec, &args.positional, &args.params)?;
    let params =
        item.spec.resolve(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| item.error(e))?;
    // A task that stops on Ctrl-C returns a `Cancelled` error: exit code 130.
    let _stop = crate::interrupt::stoppable_task();
    let outcome = item.run_task(&params);
    end_progress();
    outcome
}

/// `(name, text)` pairs: the flags given, and each positional word for the next
/// required parameter not given as a flag.
fn with_positional(
    spec: &ItemSpec,
    positional: &[String],
    params: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut open =
        spec.params.iter().filter(|p| p.default.is_none() && !params.iter().any(|(name, _)| *name == p.name));
    let mut pairs = params.to_vec();
    for word in positional {
        let Some(param) = open.next() else {
            return Err(Error::usage(format!("{}: unexpected argument '{word}'", spec.name))
                .with_help(format!("see `infty help {}`", spec.name)));
        };
        pairs.push((param.name.to_string(), word.clone()));
    }
    Ok(pairs)
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

pub extern "C" fn open_image(path: RStr<'_>) -> RResult<ImageBox, PluginError> {
    guard(|| {
        let source = source::open(path.as_str(), None, false)
            .map_err(|e| PluginError::invalid_input(e.to_string()))?;
        Ok(ImageFfi_TO::from_value(OpenedImage(source), TD_Opaque))
    })
}

static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Draws a task's progress on stderr: bar, count, rate, ETA and its message.
pub extern "C" fn progress(update: Progress<'_>) {
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

fn end_progress() {
    progress(Progress { done: 0, total: 0, message: "".into() });
}

pub extern "C" fn interrupted() -> bool {
    crate::interrupt::stop_requested()
}

/// Prints a warning above the progress bar, if one is drawn.
pub extern "C" fn warn(message: RStr<'_>) {
    let line = format!("infty: warning: {message}");
    match BAR.lock().ok().as_ref().and_then(|b| b.as_ref()) {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::ParamSpec;

    #[test]
    fn positional_words_fill_the_required_parameters_in_order() {
        let spec = ItemSpec::task("t", "")
            .param(ParamSpec::path("data", ""))
            .param(ParamSpec::int("steps", "").default_int(1))
            .param(ParamSpec::path("run", ""));
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let flags = [pair("steps", "5")];
        let words = ["photos".to_string(), "out".to_string()];
        let pairs = with_positional(&spec, &words, &flags).unwrap();
        assert_eq!(pairs, [pair("steps", "5"), pair("data", "photos"), pair("run", "out")]);
        // A required parameter given as a flag is skipped by the positional words.
        let pairs = with_positional(&spec, &words[..1], &[pair("data", "d")]).unwrap();
        assert_eq!(pairs, [pair("data", "d"), pair("run", "photos")]);
        let err = with_positional(&spec, &[words[0].clone(), words[1].clone(), "x".into()], &[]).unwrap_err();
        assert_eq!(err.to_string(), "t: unexpected argument 'x'");
    }
}
