//! `infty run`: a pipeline of steps, checked completely before any pixel is read,
//! then executed stage by stage.

pub mod builtins;
pub mod parse;

use infty_sdk::{ItemKind, OperatorBox, RasterInfo};

use crate::engine;
use crate::error::{Error, Result};
use crate::io::{self, Input};
use crate::registry::Registry;
use builtins::{ReadStep, WriteStep};
use parse::{step_args, RawStep};

/// One operator step, built and ready.
pub struct Stage {
    /// How errors name it: `scale (org.infty.basic)`.
    pub label: String,
    pub op: OperatorBox,
}

/// A checked pipeline: `read ! stages... ! write`.
pub struct Pipeline {
    pub read: ReadStep,
    pub stages: Vec<Stage>,
    pub write: WriteStep,
}

impl Pipeline {
    /// Checks the steps and builds every operator. Nothing is read yet.
    pub fn build(steps: &[RawStep], registry: &Registry) -> Result<Pipeline> {
        let (first, last) = match steps {
            [first, .., last] if first.name == "read" && last.name == "write" => (first, last),
            _ => {
                let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::usage(format!(
                    "malformed pipeline: it must start with 'read IN' and end with 'write OUT', got '{}'",
                    names.join(" ! ")
                ))
                .with_help("e.g. infty run read in.png ! scale --factor 2 ! write out.png"));
            }
        };
        let read = builtins::read_step(step_args(&builtins::read_spec(), &first.words)?)?;
        let write = builtins::write_step(step_args(&builtins::write_spec(), &last.words)?)?;
        let stages = steps[1..steps.len() - 1]
            .iter()
            .map(|step| build_stage(step, registry))
            .collect::<Result<_>>()?;
        io::check_destination(&write.path)?;
        Ok(Pipeline { read, stages, write })
    }

    /// Reads the input, runs every stage and writes the output.
    pub fn run(self) -> Result<()> {
        let input = Input::open(&self.read.path, self.read.format)?;
        let encoding = self.write.encoding(input.header.depth);
        let mut info = input.header.info;
        let mut rasters = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            info = stage.op.output_raster(info).into_result().map_err(|e| plugin_error(stage, e))?;
            check_size(&stage.label, &info)?;
            rasters.push(info);
        }
        encoding.format.check(info.channels, encoding.depth).map_err(|e| in_write(&self.write, e))?;
        let mut raster = input.decode()?;
        for (stage, info) in self.stages.iter().zip(rasters) {
            raster = engine::apply(stage, &raster, info)?;
        }
        io::write_output(&raster, &encoding, &self.write.path)
    }
}

fn build_stage(step: &RawStep, registry: &Registry) -> Result<Stage> {
    if step.name == "read" || step.name == "write" {
        return Err(Error::usage(format!(
            "malformed pipeline: '{}' may only be the {} step",
            step.name,
            if step.name == "read" { "first" } else { "last" }
        )));
    }
    let item = registry.get(&step.name, ItemKind::Operator)?;
    let args = step_args(item.spec, &step.words)?;
    if let Some(word) = args.positional.first() {
        return Err(Error::usage(format!("{}: unexpected word '{word}'", item.spec.name))
            .with_help(format!("parameters are written --name value; see `infty help {}`", item.spec.name)));
    }
    let params = item
        .spec
        .resolve(args.params.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map_err(|e| item.error(e))?;
    Ok(Stage { label: item.label(), op: item.new_operator(&params)? })
}

pub fn plugin_error(stage: &Stage, source: infty_sdk::PluginError) -> Error {
    Error::Plugin { context: format!("{}:", stage.label), source }
}

fn in_write(write: &WriteStep, error: Error) -> Error {
    match error {
        Error::Input { message, help } | Error::Usage { message, help } => {
            let e = Error::input(format!("write '{}': {message}", write.path));
            match help {
                Some(h) => e.with_help(h),
                None => e,
            }
        }
        other => other,
    }
}

/// Samples one stage may hold in memory (16 GiB of f32).
const MAX_RASTER_SAMPLES: u64 = 4 << 30;

/// Refuses rasters that are empty, or too large to hold, before anything is allocated.
fn check_size(label: &str, info: &RasterInfo) -> Result<()> {
    if info.width == 0 || info.height == 0 || info.channels == 0 {
        return Err(Error::failed(format!(
            "{label}: produced an empty raster ({}x{}, {} channels)",
            info.width, info.height, info.channels
        )));
    }
    let samples = u64::from(info.width) * u64::from(info.height) * u64::from(info.channels);
    if samples > MAX_RASTER_SAMPLES {
        return Err(Error::input(format!(
            "{label}: a {}x{} raster of {} channels is more than this in-memory pipeline holds \
             ({MAX_RASTER_SAMPLES} samples)",
            info.width, info.height, info.channels
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_huge_rasters_are_refused_before_allocation() {
        assert!(check_size("op", &RasterInfo::new(4096, 4096, 3)).is_ok());
        let empty = check_size("op", &RasterInfo::new(0, 5, 3)).unwrap_err();
        assert_eq!(empty.to_string(), "op: produced an empty raster (0x5, 3 channels)");
        let huge = check_size("up", &RasterInfo::new(100_000, 100_000, 3)).unwrap_err();
        assert_eq!(huge.exit_code(), 2);
        assert!(huge.to_string().starts_with("up: a 100000x100000 raster of 3 channels is more than"));
    }
}
