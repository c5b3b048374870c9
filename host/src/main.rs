//! `infty`: the plugin host. A thin layer over the library (`lib.rs`): parse the
//! command line, load the plugins, run the command, turn errors into one message and
//! an exit code.

use std::process::ExitCode;

use clap::Parser;

use infty::cli::args::{Cli, Command};
use infty::plugins::registry::Registry;
use infty::plugins::{host_api, probe};
use infty::{cli, interrupt};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A probe opens one library and nothing else: no other plugin is loaded.
    if let Command::ProbePlugin { file } = &cli.command {
        probe::print_verdict(file);
        return ExitCode::SUCCESS;
    }
    interrupt::install();
    // Plugins may call each other through the host for the whole run; libraries are
    // never unloaded, so the registry lives as long as the process.
    let registry: &'static Registry = Box::leak(Box::new(Registry::discover(host_api::host_ref())));
    host_api::install(registry);
    if !matches!(cli.command, Command::Plugins { .. }) {
        for failure in &registry.failures {
            eprintln!("infty: warning: skipped plugin {}: {}", failure.file.display(), failure.reason);
        }
    }
    match cli::dispatch::run(cli.command, registry) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("infty: error: {error}");
            if let Some(help) = error.help() {
                eprintln!("  help: {help}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}
