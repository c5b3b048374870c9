//! Ctrl-C: stop at once and exit with code 130. A temporary output is removed (outputs
//! only appear by renaming a complete file); a journaled tiled output is kept, and the
//! user is told that `--resume` continues it. While a task runs, the first Ctrl-C only
//! asks it to stop (it saves its state and returns); a second one exits at once.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What to do with the output being written when the user interrupts.
enum Pending {
    Remove(PathBuf),
    Keep {
        hint: String,
    },
    /// A task runs: ask it to stop.
    Stop,
}

/// When the user first asked the running task to stop.
static STOP_REQUESTED: OnceLock<Instant> = OnceLock::new();
/// A second signal this soon after the first is the same key press delivered twice
/// (e.g. to the process and to its group, as `timeout` does), not a second press.
const SAME_PRESS: Duration = Duration::from_millis(500);

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
            Some(Pending::Stop) if STOP_REQUESTED.get().is_none_or(|at| at.elapsed() < SAME_PRESS) => {
                if STOP_REQUESTED.set(Instant::now()).is_ok() {
                    eprintln!("infty: stopping after the current step (Ctrl-C again to quit at once)");
                }
                if let Ok(mut pending) = PENDING.lock() {
                    *pending = Some(Pending::Stop);
                }
                return;
            }
            Some(Pending::Stop) | None => eprintln!("infty: interrupted"),
        }
        // Without running exit handlers: libtorch's CUDA teardown aborts the process
        // while another thread still uses the GPU.
        // SAFETY: `_exit` ends the process at once; nothing runs after it.
        unsafe { libc::_exit(130) }
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
    STOP_REQUESTED.get().is_some()
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
