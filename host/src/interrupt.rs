//! Ctrl-C: stop at once and exit with code 130. A temporary output is removed (outputs
//! only appear by renaming a complete file); a journaled tiled output is kept, and the
//! user is told that `--resume` continues it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What to do with the output being written when the user interrupts.
enum Pending {
    Remove(PathBuf),
    Keep { hint: String },
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

/// Installs the Ctrl-C handler; a failure to install only loses the cleanup.
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        match PENDING.lock().ok().and_then(|mut p| p.take()) {
            Some(Pending::Remove(path)) => {
                let _ = std::fs::remove_file(path);
                eprintln!("infty: interrupted");
            }
            Some(Pending::Keep { hint }) => eprintln!("infty: {hint}"),
            None => eprintln!("infty: interrupted"),
        }
        std::process::exit(130);
    });
}

fn set(pending: Pending) -> PendingOutput {
    if let Ok(mut slot) = PENDING.lock() {
        *slot = Some(pending);
    }
    PendingOutput
}

/// Marks `path` as a temporary output to remove if interrupted, until the guard drops.
pub fn pending_output(path: &Path) -> PendingOutput {
    set(Pending::Remove(path.to_path_buf()))
}

/// Marks a resumable output: kept if interrupted, with `hint` printed.
pub fn resumable_output(hint: String) -> PendingOutput {
    set(Pending::Keep { hint })
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
