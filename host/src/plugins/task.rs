//! Tasks: `infty <task> ARG... [--param v]...`, run in the plugin with checked
//! parameters; the services it calls meanwhile are `host_api`'s.

use infty_sdk::ItemSpec;

use super::host_api::end_progress;
use super::params::step_args;
use super::registry::ItemRef;
use crate::error::{Error, Result};

/// Runs `item` with the words after its name: required parameters may come first,
/// positionally, in declaration order.
pub fn run(item: ItemRef<'_>, words: &[String]) -> Result<()> {
    let args = step_args(item.spec, words)?;
    let pairs = with_positional(item.spec, &args.positional, &args.params)?;
    let params =
        item.spec.resolve(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| item.error(e))?;
    // A task that stops on Ctrl-C returns a `Cancelled` error: exit code 130.
    let _stop = crate::interrupt::stoppable_task();
    let outcome = item.run_task(&params);
    end_progress();
    outcome
}

/// `(name, text)` pairs: the flags given, and each positional word for the next
/// required parameter not given as a flag.
fn with_positional(
    spec: &ItemSpec,
    positional: &[String],
    params: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut open =
        spec.params.iter().filter(|p| p.default.is_none() && !params.iter().any(|(name, _)| *name == p.name));
    let mut pairs = params.to_vec();
    for word in positional {
        let Some(param) = open.next() else {
            return Err(Error::usage(format!("{}: unexpected argument '{word}'", spec.name))
                .with_help(format!("see `infty help {}`", spec.name)));
        };
        pairs.push((param.name.to_string(), word.clone()));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::ParamSpec;

    #[test]
    fn positional_words_fill_the_required_parameters_in_order() {
        let spec = ItemSpec::task("t", "")
            .param(ParamSpec::path("data", ""))
            .param(ParamSpec::int("steps", "").default_int(1))
            .param(ParamSpec::path("run", ""));
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        let flags = [pair("steps", "5")];
        let words = ["photos".to_string(), "out".to_string()];
        let pairs = with_positional(&spec, &words, &flags).unwrap();
        assert_eq!(pairs, [pair("steps", "5"), pair("data", "photos"), pair("run", "out")]);
        // A required parameter given as a flag is skipped by the positional words.
        let pairs = with_positional(&spec, &words[..1], &[pair("data", "d")]).unwrap();
        assert_eq!(pairs, [pair("data", "d"), pair("run", "photos")]);
        let err = with_positional(&spec, &[words[0].clone(), words[1].clone(), "x".into()], &[]).unwrap_err();
        assert_eq!(err.to_string(), "t: unexpected argument 'x'");
    }
}
