//! Splitting a GDAL-style pipeline into steps and a step's words into parameters:
//! `read IN ! OP [--param v]... ! ... ! write OUT`.

use infty_sdk::{ItemSpec, ParamKind};

use crate::error::{Error, Result};
use crate::suggest;

/// One step as typed: its name and the words after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStep {
    pub name: String,
    pub words: Vec<String>,
}

/// A step's words sorted into positional arguments and `--name value` pairs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StepArgs {
    pub positional: Vec<String>,
    pub params: Vec<(String, String)>,
    pub wants_help: bool,
}

/// Splits the words after `infty run` at `!`. A single word holding the whole
/// pipeline (quoted in the shell) is split like a shell would.
pub fn split_steps(words: &[String]) -> Result<Vec<RawStep>> {
    let owned;
    let words = match words {
        [one] if one.contains(char::is_whitespace) => {
            owned = shlex::split(one).ok_or_else(|| Error::usage("malformed pipeline: unbalanced quotes"))?;
            &owned[..]
        }
        _ => words,
    };
    let mut steps = Vec::new();
    for (index, chunk) in words.split(|w| w == "!").enumerate() {
        let Some((name, rest)) = chunk.split_first() else {
            return Err(Error::usage(format!("malformed pipeline: step {} is empty", index + 1)).with_help(
                "steps are separated by a single '!', e.g. read in.png ! scale --factor 2 ! write out.png",
            ));
        };
        steps.push(RawStep { name: name.clone(), words: rest.to_vec() });
    }
    Ok(steps)
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
            return Err(unknown_param(spec, name));
        };
        let value = match (inline, param.kind) {
            (Some(v), _) => v,
            (None, ParamKind::Bool) => String::new(),
            (None, _) => words.next().cloned().ok_or_else(|| {
                Error::usage(format!("{}: --{name} needs a value", spec.name))
                    .with_help(format!("give --{name} <{}>", param.kind.as_str()))
            })?,
        };
        args.params.push((name.to_string(), value));
    }
    Ok(args)
}

fn unknown_param(spec: &ItemSpec, name: &str) -> Error {
    let names = spec.params.iter().map(|p| p.name.as_str());
    let help = match suggest::closest(name, names) {
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
    fn splits_at_bangs_and_quoted_pipelines() {
        let steps = split_steps(&words("read a.png ! scale --factor 2 ! write -")).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[1], RawStep { name: "scale".into(), words: words("--factor 2") });
        let quoted = split_steps(&["read 'my file.png' ! write out.png".to_string()]).unwrap();
        assert_eq!(quoted[0].words, ["my file.png"]);
    }

    #[test]
    fn empty_steps_are_malformed() {
        for bad in ["read a.png ! ! write b.png", "! read a.png", "read a.png !"] {
            let err = split_steps(&words(bad)).unwrap_err();
            assert!(err.to_string().starts_with("malformed pipeline: step"), "{bad}: {err}");
        }
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
