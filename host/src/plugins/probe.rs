//! Probing a plugin library in a child process before the host opens it. Opening a
//! library maps it and runs its initialisers; a truncated or corrupt file faults inside
//! the system loader (SIGBUS, SIGSEGV), which no Rust code can catch and which would
//! take down every command. So a library not yet in the manifest cache is first opened
//! by `infty __probe-plugin FILE`, a copy of this executable that prints its verdict;
//! a child killed by a signal is a broken file. The verdict is cached by the file's
//! stamp, so later runs spawn nothing.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::library::{open, NOT_LOADABLE};
use super::manifest_cache::{self, Verdict};

/// The hidden command the child runs.
pub const PROBE_COMMAND: &str = "__probe-plugin";

/// Marks the child's verdict line: a library's initialisers may print too.
const VERDICT_PREFIX: &str = "infty-probe-verdict: ";

/// The child's side: opens `file` and prints the verdict. It may never return.
pub fn print_verdict(file: &Path) {
    // A crash is the expected outcome for a broken file: no core dump of the probe.
    let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct and changes only this process's limit.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    let verdict = match open(file) {
        Ok((_, manifest)) => Verdict::Good(manifest),
        Err(reason) => Verdict::Bad(reason),
    };
    let json = serde_json::to_string(&verdict).expect("a verdict serialises");
    println!("{VERDICT_PREFIX}{json}");
}

/// The verdict on `file` from a child process, cached unless it may depend on the
/// environment; None when no child could be started or it is no infty probe (then the
/// caller opens the library itself).
pub fn probe(file: &Path) -> Option<Verdict> {
    let stamp = manifest_cache::stamp(file);
    let exe = std::env::current_exe().ok()?;
    let output =
        Command::new(exe).arg(PROBE_COMMAND).arg(file).stdin(Stdio::null()).stderr(Stdio::piped()).output();
    let output = output.ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = stdout.lines().rev().find_map(|line| line.strip_prefix(VERDICT_PREFIX));
    let verdict = match (printed.and_then(|json| serde_json::from_str(json).ok()), output.status.signal()) {
        (Some(verdict), _) => verdict,
        (None, Some(signal)) => Verdict::Bad(format!(
            "the library crashed the loader ({}): it is truncated or corrupt",
            signal_name(signal)
        )),
        (None, None) if output.status.success() => return None,
        (None, None) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            Verdict::Bad(format!("opening it failed ({}): {}", output.status, last.trim()))
        }
    };
    if !matches!(&verdict, Verdict::Bad(reason) if reason.starts_with(NOT_LOADABLE)) {
        manifest_cache::store(file, stamp, &verdict);
    }
    Some(verdict)
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGBUS => "SIGBUS",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}
