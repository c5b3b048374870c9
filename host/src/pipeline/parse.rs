//! Splitting a GDAL-style pipeline into steps: `read IN ! OP [--param v]... ! ... !
//! write OUT`. Each step's words are sorted by its declaration (`plugins::params`).

use crate::error::{Error, Result};

/// One step as typed: its name and the words after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStep {
    pub name: String,
    pub words: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
