//! Ctrl-C: stop at once and exit with code 130. A temporary output is removed (outputs
//! only appear by renaming a complete file); a journaled tiled output is kept, and the
//! user is told that `--resume` continues it. While a task runs, the first Ctrl-C only
//! asks it to stop (it saves its state and returns); a second one exits at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What to do with the output being written when the user interrupts.
enum Pending {
    Remove(PathBuf),
    Keep {
        hint: String,
    },
    /// A task runs: ask it to stop.
    Stop,
}

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

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
            Some(Pending::Stop) if !STOP_REQUESTED.swap(true, Ordering::SeqCst) => {
                eprintln!("infty: stopping after the current step (Ctrl-C again to quit at once)");
                if let Ok(mut pending) = PENDING.lock() {
                    *pending = Some(Pending::Stop);
                }
                return;
            }
            Some(Pending::Stop) => eprintln!("infty: interrupted"),
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

/// Marks a running task: Ctrl-C sets [`stop_requested`] instead of exiting.
pub fn stoppable_task() -> PendingOutput {
    set(Pending::Stop)
}

/// Whether the user pressed Ctrl-C while a task ran.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
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
