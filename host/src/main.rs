//! `infty`: the plugin host. A thin layer over the library modules: parse the
//! command line, run the command, turn errors into one message and an exit code.

mod cli;
mod error;
mod help;
mod host_api;
mod interrupt;
mod io;
mod manifest_cache;
mod pipeline;
mod raster;
mod registry;
mod stream;
mod suggest;
mod task;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use infty_sdk::ItemKind;

use cli::{Cli, Command};
use error::{Error, Result};
use help::Origin;
use pipeline::builtins;
use pipeline::parse::{split_steps, RawStep};
use pipeline::{Pipeline, RunOptions};
use registry::Registry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::install();
    // Plugins may call each other through the host for the whole run; libraries are
    // never unloaded, so the registry lives as long as the process.
    let registry: &'static Registry = Box::leak(Box::new(Registry::discover()));
    host_api::install(registry);
    if !matches!(cli.command, Command::Plugins { .. }) {
        for failure in &registry.failures {
            eprintln!("infty: warning: skipped plugin {}: {}", failure.file.display(), failure.reason);
        }
    }
    match run(cli.command, registry) {
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

fn run(command: Command, registry: &Registry) -> Result<()> {
    match command {
        Command::Run { resume, shard, pipeline } => {
            let options =
                RunOptions { resume, shard: shard.as_deref().map(stream::Shard::parse).transpose()? };
            run_pipeline(&split_steps(&pipeline)?, registry, options)
        }
        Command::Merge { output, shards } => stream::merge::merge(&output, &shards),
        Command::Plugins { json: true } => {
            println!("{:#}", help::plugins_json(registry));
            Ok(())
        }
        Command::Plugins { json: false } => {
            print!("{}", help::plugins_text(registry));
            Ok(())
        }
        Command::Help { name: None } => print_command_help(None),
        Command::Help { name: Some(name) } => print_help(&name, registry),
        Command::Item(words) => run_item(&words, registry),
    }
}

/// Runs a pipeline, or shows help if a step asks for it (`scale --help`).
fn run_pipeline(steps: &[RawStep], registry: &Registry, options: RunOptions) -> Result<()> {
    if let Some(step) = steps.iter().find(|s| s.words.iter().any(|w| w == "--help" || w == "-h")) {
        return print_help(&step.name, registry);
    }
    Pipeline::build(steps, registry)?.run(options)
}

/// `infty <op> IN OUT [--param v]...` is `infty run read IN ! <op> ... ! write OUT`.
fn run_item(words: &[String], registry: &Registry) -> Result<()> {
    let (name, rest) = words.split_first().expect("clap gives the subcommand name");
    if rest.is_empty() || rest.iter().any(|w| w == "--help" || w == "-h") {
        return print_help(name, registry);
    }
    let Some(item) = registry.find_item(name) else {
        return Err(unknown_name(name, registry));
    };
    if item.spec.kind == ItemKind::Task {
        return task::run(item, rest);
    }
    let (options, rest) = run_options(rest)?;
    let (write_words, rest) = write_options(&rest);
    let (paths, params): (Vec<&String>, Vec<&String>) = split_paths(&rest);
    let [input, output] = paths[..] else {
        return Err(Error::usage(format!("{name}: give an input and an output path: infty {name} IN OUT")));
    };
    let steps = [
        RawStep { name: "read".into(), words: vec![input.clone()] },
        RawStep { name: name.clone(), words: params.into_iter().cloned().collect() },
        RawStep { name: "write".into(), words: [vec![output.clone()], write_words].concat() },
    ];
    run_pipeline(&steps, registry, options)
}

/// Takes `--resume` and `--shard I/N` out of an item's words.
fn run_options(words: &[String]) -> Result<(RunOptions, Vec<String>)> {
    let mut options = RunOptions::default();
    let mut rest = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--resume" => options.resume = true,
            "--shard" => {
                let value =
                    words.next().ok_or_else(|| Error::usage("--shard needs a value I/N, e.g. 3/8"))?;
                options.shard = Some(stream::Shard::parse(value)?);
            }
            w if w.starts_with("--shard=") => {
                options.shard = Some(stream::Shard::parse(&w["--shard=".len()..])?)
            }
            _ => rest.push(word.clone()),
        }
    }
    Ok((options, rest))
}

/// Takes the `write` options an item run passes on (`--tile-size N`) out of its words.
fn write_options(words: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut write, mut rest) = (Vec::new(), Vec::new());
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--tile-size" {
            write.push(word.clone());
            write.extend(words.next().cloned());
        } else {
            rest.push(word.clone());
        }
    }
    (write, rest)
}

/// The first two words that are neither a `--name` nor its value are the paths.
fn split_paths(words: &[String]) -> (Vec<&String>, Vec<&String>) {
    let (mut paths, mut params) = (Vec::new(), Vec::new());
    let mut after_flag = false;
    for word in words {
        let is_flag = word.starts_with("--");
        if !is_flag && !after_flag && paths.len() < 2 {
            paths.push(word);
        } else {
            params.push(word);
        }
        after_flag = is_flag && !word.contains('=');
    }
    (paths, params)
}

fn print_help(name: &str, registry: &Registry) -> Result<()> {
    let text = match name {
        "run" | "plugins" | "help" | "merge" => return print_command_help(Some(name)),
        "read" => help::item_help(&builtins::read_spec(), Origin::BuiltIn),
        "write" => help::item_help(&builtins::write_spec(), Origin::BuiltIn),
        _ => match registry.find_item(name) {
            Some(item) => help::item_help(item.spec, Origin::Plugin(item.plugin)),
            None => return Err(unknown_name(name, registry)),
        },
    };
    print!("{text}");
    Ok(())
}

fn print_command_help(name: Option<&str>) -> Result<()> {
    let mut command = Cli::command();
    command.build(); // propagates "infty" into the subcommands' usage lines
    let command = match name {
        Some(name) => command.find_subcommand_mut(name).expect("a known command"),
        None => &mut command,
    };
    command.print_long_help().map_err(|e| Error::failed(format!("cannot print help: {e}")))
}

fn unknown_name(name: &str, registry: &Registry) -> Error {
    let items = registry.plugins.iter().flat_map(|p| p.manifest.items.iter().map(|i| i.name.as_str()));
    let known = items.chain(["run", "merge", "plugins", "help", "read", "write"]);
    let help = match suggest::closest(name, known) {
        Some(close) => format!("did you mean '{close}'? `infty plugins` lists every item"),
        None => "`infty --help` lists the commands and `infty plugins` every item".to_string(),
    };
    Error::usage(format!("unknown command or item '{name}'")).with_help(help)
}
