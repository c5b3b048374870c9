//! `infty`: the plugin host. A thin layer over the library modules: parse the
//! command line, load the plugins, run the command, turn errors into one message and
//! an exit code.

mod cli;
mod codecs;
mod engine;
mod error;
mod format;
mod interrupt;
mod pipeline;
mod plugins;
mod raster;
mod suggest;
mod tiff;

use std::process::ExitCode;

use clap::Parser;

use cli::args::{Cli, Command};
use plugins::host_api;
use plugins::registry::Registry;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
