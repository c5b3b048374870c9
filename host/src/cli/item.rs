//! An item run, `infty <op> IN OUT [--param v]... [--resume] [--sync] [--shard I/N] [--tile-size N]`.
//! Clap parses it with a command built from the item's declaration (a switch is a flag,
//! every other parameter takes a value) and the run's own flags; the result is the
//! pipeline `read IN ! <op> [--param v]... ! write OUT [--tile-size N]`.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};
use infty_sdk::{ItemSpec, ParamKind, ParamSpec};

use crate::engine::shard::Shard;
use crate::error::{Error, Result};
use crate::pipeline::parse::RawStep;
use crate::pipeline::plan::RunOptions;
use crate::plugins::params::{missing_value, unknown_param};

const INPUT: &str = "IN";
const OUTPUT: &str = "OUT";
const RESUME: &str = "resume";
const SYNC: &str = "sync";
const SHARD: &str = "shard";
/// Passed on to the `write` step.
const TILE_SIZE: &str = "tile-size";
/// The run's own flags; an item parameter of the same name is shadowed by them.
const RUN_FLAGS: [&str; 4] = [RESUME, SYNC, SHARD, TILE_SIZE];

/// An item run as a pipeline: its three steps and how it writes its output.
#[derive(Debug)]
pub struct ItemRun {
    pub steps: Vec<RawStep>,
    pub options: RunOptions,
}

/// Parses the words after `name`, the item as typed (`scale`, `org.infty.basic/scale`).
pub fn parse(name: &str, spec: &ItemSpec, words: &[String]) -> Result<ItemRun> {
    let command = command(name, spec);
    let matches =
        command.clone().try_get_matches_from(words).map_err(|error| usage_error(spec, &command, &error))?;
    // Every --shard is checked; the last counts.
    let shards: Vec<Shard> =
        given(&matches, SHARD).iter().map(|(_, text)| Shard::parse(text)).collect::<Result<_>>()?;
    let shard = shards.last().copied();
    let options = RunOptions { resume: matches.get_flag(RESUME), sync: matches.get_flag(SYNC), shard };
    let (Some(input), Some(output)) = (matches.get_one::<String>(INPUT), matches.get_one::<String>(OUTPUT))
    else {
        return Err(Error::usage(format!("{name}: give an input and an output path: infty {name} IN OUT")));
    };
    let tile_sizes =
        given(&matches, TILE_SIZE).into_iter().flat_map(|(_, size)| [format!("--{TILE_SIZE}"), size]);
    let steps = vec![
        RawStep { name: "read".into(), words: vec![input.clone()] },
        RawStep { name: name.to_string(), words: param_words(spec, &matches) },
        RawStep { name: "write".into(), words: [output.clone()].into_iter().chain(tile_sizes).collect() },
    ];
    Ok(ItemRun { steps, options })
}

/// The clap command of an item run: IN, OUT, the run's flags and the item's parameters.
fn command(name: &str, spec: &ItemSpec) -> Command {
    let run = [
        Arg::new(INPUT).value_name(INPUT),
        Arg::new(OUTPUT).value_name(OUTPUT),
        Arg::new(RESUME).long(RESUME).action(ArgAction::SetTrue),
        Arg::new(SYNC).long(SYNC).action(ArgAction::SetTrue),
        Arg::new(SHARD).long(SHARD).value_name("I/N").action(ArgAction::Append).allow_hyphen_values(true),
        Arg::new(TILE_SIZE)
            .long(TILE_SIZE)
            .value_name("int")
            .action(ArgAction::Append)
            .allow_hyphen_values(true),
    ];
    Command::new(name.to_string())
        .no_binary_name(true)
        .disable_help_flag(true) // `--help` anywhere shows the item's help, before parsing
        .args_override_self(true) // --resume twice is --resume
        .args(run)
        .args(own_params(spec).map(param_arg))
}

/// The item's parameters that no flag of the run shadows.
fn own_params(spec: &ItemSpec) -> impl Iterator<Item = &ParamSpec> {
    spec.params.iter().filter(|p| !RUN_FLAGS.contains(&p.name.as_str()))
}

fn param_id(param: &ParamSpec) -> String {
    format!("param:{}", param.name)
}

/// A parameter as clap sees it: every occurrence kept, in order, for the item to check.
/// A value may start with '-' (`--value -0.5`); a switch stands alone or takes `=value`.
fn param_arg(param: &ParamSpec) -> Arg {
    let arg = Arg::new(param_id(param)).long(param.name.to_string()).action(ArgAction::Append);
    match param.kind {
        ParamKind::Bool => arg.num_args(0..=1).require_equals(true).default_missing_value(""),
        kind => arg.value_name(kind.as_str()).allow_hyphen_values(true),
    }
}

/// Every value given for `id`, with its position on the command line.
fn given(matches: &ArgMatches, id: &str) -> Vec<(usize, String)> {
    match (matches.indices_of(id), matches.get_many::<String>(id)) {
        (Some(indices), Some(values)) => indices.zip(values.cloned()).collect(),
        _ => Vec::new(),
    }
}

/// The item's parameters as the words of its pipeline step, in the order given.
fn param_words(spec: &ItemSpec, matches: &ArgMatches) -> Vec<String> {
    let mut values: Vec<(usize, &ParamSpec, String)> = own_params(spec)
        .flat_map(|p| given(matches, &param_id(p)).into_iter().map(move |(at, value)| (at, p, value)))
        .collect();
    values.sort_by_key(|(at, ..)| *at);
    values
        .into_iter()
        .flat_map(|(_, param, value)| match param.kind {
            ParamKind::Bool if value.is_empty() => vec![format!("--{}", param.name)],
            ParamKind::Bool => vec![format!("--{}={value}", param.name)],
            _ => vec![format!("--{}", param.name), value],
        })
        .collect()
}

/// What clap refused, said as the rest of infty says it: the item and the flag named,
/// and what to do.
fn usage_error(spec: &ItemSpec, command: &Command, error: &clap::Error) -> Error {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => text.as_str(),
        _ => "",
    };
    let arg = context(ContextKind::InvalidArg); // `--factor <float>`, `--facter`, `extra.png`
    let flag = arg.split(' ').next().and_then(|word| word.strip_prefix("--"));
    let name = spec.name.as_str();
    match (error.kind(), flag) {
        (ErrorKind::UnknownArgument, Some(flag)) => {
            unknown_param(spec, flag, command.get_arguments().filter_map(|a| a.get_long()))
        }
        (ErrorKind::UnknownArgument, None) => Error::usage(format!("{name}: unexpected word '{arg}'"))
            .with_help(format!("parameters are written --name value; see `infty help {name}`")),
        (ErrorKind::InvalidValue, Some(flag)) if context(ContextKind::InvalidValue).is_empty() => {
            match flag {
                SHARD => Error::usage("--shard needs a value I/N, e.g. 3/8"),
                TILE_SIZE => missing_value("write", flag, ParamKind::Int),
                _ => missing_value(name, flag, spec.find_param(flag).map_or(ParamKind::Text, |p| p.kind)),
            }
        }
        (ErrorKind::TooManyValues, Some(flag)) => Error::usage(format!("{name}: --{flag} takes no value"))
            .with_help(format!("give --{flag} alone; see `infty help {name}`")),
        _ => {
            let text = error.to_string();
            let line = text.lines().next().unwrap_or_default().trim_start_matches("error: ");
            Error::usage(format!("{name}: {line}")).with_help(format!("see `infty help {name}`"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::ParamSpec;

    fn spec() -> ItemSpec {
        ItemSpec::operator("scale", "")
            .param(ParamSpec::float("factor", ""))
            .param(ParamSpec::switch("fast", ""))
            .param(ParamSpec::switch("resume", "shadowed by the run's --resume"))
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    fn step(name: &str, text: &str) -> RawStep {
        RawStep { name: name.into(), words: if text.is_empty() { Vec::new() } else { words(text) } }
    }

    #[test]
    fn an_item_run_is_read_then_the_item_then_write() {
        let run = parse("scale", &spec(), &words("in.png out.tif --factor 0.5")).unwrap();
        assert_eq!(
            run.steps,
            [step("read", "in.png"), step("scale", "--factor 0.5"), step("write", "out.tif")]
        );
        assert!(!run.options.resume && !run.options.sync && run.options.shard.is_none());
        let text = "--tile-size 64 --resume --sync in.tif --shard 1/3 out.tif --shard=2/3 --tile-size=32";
        let run = parse("org.infty.basic/scale", &spec(), &words(text)).unwrap();
        let expected = [
            step("read", "in.tif"),
            step("org.infty.basic/scale", ""),
            step("write", "out.tif --tile-size 64 --tile-size 32"),
        ];
        assert_eq!(run.steps, expected);
        assert!(run.options.resume && run.options.sync);
        assert_eq!(run.options.shard, Some(Shard { index: 2, count: 3 }));
    }

    #[test]
    fn parameters_keep_their_order_and_values_may_start_with_a_dash() {
        let text = "--fast=no - --factor -2 out.png --fast --factor=--fast";
        let run = parse("scale", &spec(), &words(text)).unwrap();
        assert_eq!(run.steps[0], step("read", "-"));
        assert_eq!(run.steps[1], step("scale", "--fast=no --factor -2 --fast --factor --fast"));
    }

    #[test]
    fn bad_usage_names_the_flag_and_what_to_do() {
        let refused = |text: &str| {
            let error = parse("scale", &spec(), &words(text)).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{text}: {error}");
            (error.to_string(), error.help().map(str::to_string))
        };
        let (message, help) = refused("in.png out.png --facter 2");
        assert_eq!(message, "scale: unknown parameter --facter");
        assert_eq!(help.as_deref(), Some("did you mean --factor? see `infty help scale`"));
        assert_eq!(
            refused("in.png out.png --resme").1.as_deref(),
            Some("did you mean --resume? see `infty help scale`")
        );
        assert_eq!(refused("in.png out.png extra.png").0, "scale: unexpected word 'extra.png'");
        let (message, help) = refused("in.png out.png --factor");
        assert_eq!(
            (message.as_str(), help.as_deref()),
            ("scale: --factor needs a value", Some("give --factor <float>"))
        );
        let (message, help) = refused("in.png out.png --tile-size");
        assert_eq!(
            (message.as_str(), help.as_deref()),
            ("write: --tile-size needs a value", Some("give --tile-size <int>"))
        );
        assert_eq!(refused("in.png out.png --shard").0, "--shard needs a value I/N, e.g. 3/8");
        assert!(refused("in.png out.png --shard 4/3 --shard 1/3")
            .0
            .starts_with("--shard '4/3': expected i/N"));
        assert_eq!(
            refused("in.png --factor 2").0,
            "scale: give an input and an output path: infty scale IN OUT"
        );
        let (message, help) = refused("in.png out.png --resume=yes");
        assert_eq!(message, "scale: --resume takes no value");
        assert_eq!(help.as_deref(), Some("give --resume alone; see `infty help scale`"));
    }
}
