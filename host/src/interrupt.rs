//! Ctrl-C (SIGINT), SIGTERM (a scheduler's stop, `kill`) and SIGHUP (a closed
//! terminal): stop at once and exit with 128 + the signal's number (130, 143, 129). A
//! temporary output is removed (outputs only appear by renaming a complete file); a
//! journaled tiled output is kept, and the user is told that `--resume` continues it.
//! While a task runs, the first signal only asks it to stop (it saves its state and
//! returns); a second one exits at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
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

/// The last signal received (SIGINT until one is).
static SIGNAL: AtomicI32 = AtomicI32::new(SIGINT);

/// Installs the signal handler thread; a failure to install only loses the cleanup.
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || signals.forever().for_each(handle));
}

fn handle(signal: i32) {
    SIGNAL.store(signal, Ordering::Relaxed);
    let stopped = match signal {
        SIGTERM => "terminated (SIGTERM)",
        SIGHUP => "hung up (SIGHUP)",
        _ => "interrupted",
    };
    match PENDING.lock().ok().and_then(|mut p| p.take()) {
        Some(Pending::Remove(path)) if path.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
            eprintln!("infty: {stopped}");
        }
        Some(Pending::Remove(path)) => {
            let _ = std::fs::remove_file(path);
            eprintln!("infty: {stopped}");
        }
        Some(Pending::Keep { hint }) => eprintln!("infty: {stopped}; {hint}"),
        Some(Pending::Stop) if STOP_REQUESTED.get().is_none_or(|at| at.elapsed() < SAME_PRESS) => {
            if STOP_REQUESTED.set(Instant::now()).is_ok() {
                eprintln!("infty: {stopped}: stopping after the current step (signal again to quit at once)");
            }
            if let Ok(mut pending) = PENDING.lock() {
                *pending = Some(Pending::Stop);
            }
            return;
        }
        Some(Pending::Stop) | None => eprintln!("infty: {stopped}"),
    }
    // Without running exit handlers: libtorch's CUDA teardown aborts the process
    // while another thread still uses the GPU.
    // SAFETY: `_exit` ends the process at once; nothing runs after it.
    unsafe { libc::_exit(exit_code()) }
}

/// The exit code of a run stopped by a signal: 128 + its number.
pub fn exit_code() -> i32 {
    128 + SIGNAL.load(Ordering::Relaxed)
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
