//! Ctrl-C: stop at once, remove the output being written, exit with code 130.
//! Nothing else needs undoing: outputs only appear by renaming a complete file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The temporary file being written, removed if the user interrupts.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Installs the Ctrl-C handler; a failure to install only loses the cleanup.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if let Some(path) = PENDING.lock().ok().and_then(|mut p| p.take()) {
            let _ = std::fs::remove_file(path);
        }
        eprintln!("infty: interrupted");
        std::process::exit(130);
    });
}

/// Marks `path` as the output being written until the guard drops.
pub fn pending_output(path: &Path) -> PendingOutput {
    if let Ok(mut pending) = PENDING.lock() {
        *pending = Some(path.to_path_buf());
    }
    PendingOutput
}

/// Clears the pending output when dropped.
pub struct PendingOutput;

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if let Ok(mut pending) = PENDING.lock() {
            *pending = None;
        }
    }
}
