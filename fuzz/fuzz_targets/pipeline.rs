//! The pipeline parser and the built-in steps' checks: the input (as text, lossily)
//! split into words at whitespace, and also given whole as one quoted pipeline (which
//! `split_steps` splits like a shell); every `read` and `write` step then sorted by its
//! declaration (`plugins::params::step_args`) and checked (`builtins::read_step`,
//! `write_step`). Nothing is opened or written.
//!
//! Must hold: no panic, no abort; malformed pipelines are usage errors.
#![no_main]

use infty::pipeline::builtins::{read_spec, read_step, write_spec, write_step};
use infty::pipeline::parse::split_steps;
use infty::plugins::params::step_args;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = text.split_whitespace().map(String::from).collect();
    for words in [words, vec![text.into_owned()]] {
        let Ok(steps) = split_steps(&words) else { continue };
        for step in steps {
            match step.name.as_str() {
                "read" => {
                    if let Ok(args) = step_args(&read_spec(), &step.words) {
                        let _ = read_step(args);
                    }
                }
                "write" => {
                    if let Ok(args) = step_args(&write_spec(), &step.words) {
                        let _ = write_step(args);
                    }
                }
                _ => {}
            }
        }
    }
});
