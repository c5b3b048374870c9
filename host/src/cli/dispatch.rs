//! Running a parsed command: a pipeline, an item run or a task, merging shards, the
//! plugin listing, and help for commands and items.

use clap::CommandFactory;
use infty_sdk::ItemKind;

use super::args::{Cli, Command};
use super::{item, view};
use crate::engine::shard::Shard;
use crate::error::{Error, Result};
use crate::pipeline::builtins;
use crate::pipeline::parse::{split_steps, RawStep};
use crate::pipeline::plan::{Pipeline, RunOptions};
use crate::plugins::help::{self, Origin};
use crate::plugins::registry::Registry;
use crate::plugins::{probe, task};
use crate::suggest;
use crate::tiff::merge::merge;

/// Runs `command` with the loaded plugins.
pub fn run(command: Command, registry: &Registry) -> Result<()> {
    match command {
        Command::Run { resume, sync, shard, pipeline } => {
            let options = RunOptions { resume, sync, shard: shard.as_deref().map(Shard::parse).transpose()? };
            run_pipeline(&split_steps(&pipeline)?, registry, options)
        }
        Command::Merge { output, shards, sync } => merge(&output, &shards, sync),
        Command::View { images, output } => view::view(&images, &output, registry),
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
        Command::ProbePlugin { file } => {
            probe::print_verdict(&file);
            Ok(())
        }
    }
}

/// Runs a pipeline, or shows help if a step asks for it (`scale --help`).
fn run_pipeline(steps: &[RawStep], registry: &Registry, options: RunOptions) -> Result<()> {
    if let Some(step) = steps.iter().find(|s| s.words.iter().any(|w| w == "--help" || w == "-h")) {
        return print_help(&step.name, registry);
    }
    Pipeline::build(steps, registry)?.run(options)
}

/// `infty <op> IN OUT [--param v]...` is `infty run read IN ! <op> ... ! write OUT`;
/// `infty <task> ...` runs the task.
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
    let run = item::parse(name, item.spec, rest)?;
    run_pipeline(&run.steps, registry, run.options)
}

fn print_help(name: &str, registry: &Registry) -> Result<()> {
    let text = match name {
        "run" | "plugins" | "help" | "merge" | "view" => return print_command_help(Some(name)),
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
