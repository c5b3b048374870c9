//! Catching panics at the plugin boundary. abi_stable exits the whole process when
//! a panic crosses an `extern "C"` function, so every entry point runs inside
//! [`guard`], which turns a panic into a [`PluginError`] of kind `Panicked`.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::std_types::RResult;

use crate::{ErrorKind, PluginError};

thread_local! {
    /// How many guards are active on this thread; the hook stays quiet inside them.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last caught panic happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records the location of panics raised inside
/// a guard instead of printing them; other panics go to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) == 0 {
                return previous(info);
            }
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            LOCATION.with(|slot| *slot.borrow_mut() = location);
        }));
    });
}

/// Runs `f`, returning its result, or a `Panicked` error if it panics.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(result) => result.into(),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            let mut error = PluginError::new(ErrorKind::Panicked, format!("panicked: {message}"))
                .with_help("this is a bug in the plugin; please report it to its authors");
            if let Some(location) = LOCATION.with(|slot| slot.borrow_mut().take()) {
                error = error.with_cause(format!("at {location}"));
            }
            RResult::RErr(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_with_its_message_and_location() {
        let result: RResult<(), PluginError> = guard(|| panic!("boom {}", 7));
        let err = result.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Panicked);
        assert_eq!(err.message.as_str(), "panicked: boom 7");
        assert!(err.causes[0].contains("guard.rs"), "{:?}", err.causes);
    }

    #[test]
    fn results_pass_through() {
        assert_eq!(guard(|| Ok(3)).unwrap(), 3);
        let err = guard::<()>(|| Err(PluginError::failed("no"))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Failed);
    }
}
