//! An item's words sorted by its declaration: `--name value`, `--name=value`, a switch
//! `--name` alone, and positional words; for pipeline steps, built-in steps and tasks.

use infty_sdk::{ItemSpec, ParamKind};

use crate::error::{Error, Result};
use crate::suggest;

/// A step's words sorted into positional arguments and `--name value` pairs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StepArgs {
    pub positional: Vec<String>,
    pub params: Vec<(String, String)>,
    pub wants_help: bool,
}

/// Sorts a step's words using its schema: `--name value`, `--name=value`, a switch
/// `--name` alone, and positional words.
pub fn step_args(spec: &ItemSpec, words: &[String]) -> Result<StepArgs> {
    let mut args = StepArgs::default();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--help" || word == "-h" {
            args.wants_help = true;
            continue;
        }
        let Some(flag) = word.strip_prefix("--") else {
            args.positional.push(word.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (flag, None),
        };
        let Some(param) = spec.find_param(name) else {
            return Err(unknown_param(spec, name, spec.params.iter().map(|p| p.name.as_str())));
        };
        let value = match (inline, param.kind) {
            (Some(v), _) => v,
            (None, ParamKind::Bool) => String::new(),
            (None, kind) => words.next().cloned().ok_or_else(|| missing_value(&spec.name, name, kind))?,
        };
        args.params.push((name.to_string(), value));
    }
    Ok(args)
}

/// `item`'s `--name` was given without the value it takes.
pub fn missing_value(item: &str, name: &str, kind: ParamKind) -> Error {
    Error::usage(format!("{item}: --{name} needs a value"))
        .with_help(format!("give --{name} <{}>", kind.as_str()))
}

/// `--name` is none of `spec`'s flags; `known` are those it has, for a suggestion.
pub fn unknown_param<'a>(spec: &ItemSpec, name: &str, known: impl IntoIterator<Item = &'a str>) -> Error {
    let help = match suggest::closest(name, known) {
        Some(close) => format!("did you mean --{close}? see `infty help {}`", spec.name),
        None => format!("see `infty help {}`", spec.name),
    };
    Error::usage(format!("{}: unknown parameter --{name}", spec.name)).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::ParamSpec;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(String::from).collect()
    }

    #[test]
    fn sorts_words_by_schema() {
        let spec = ItemSpec::operator("op", "")
            .param(ParamSpec::float("value", ""))
            .param(ParamSpec::switch("fast", ""));
        let args = step_args(&spec, &words("in.png --value -0.5 --fast --value=3")).unwrap();
        assert_eq!(args.positional, ["in.png"]);
        let expected = [("value", "-0.5"), ("fast", ""), ("value", "3")];
        assert_eq!(args.params, expected.map(|(a, b)| (a.to_string(), b.to_string())));
        let err = step_args(&spec, &words("--valu 1")).unwrap_err();
        assert_eq!(err.to_string(), "op: unknown parameter --valu");
        assert_eq!(err.help(), Some("did you mean --value? see `infty help op`"));
        assert_eq!(step_args(&spec, &words("--value")).unwrap_err().to_string(), "op: --value needs a value");
    }
}
