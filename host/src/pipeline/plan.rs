//! `infty run`: a pipeline of steps, checked completely before any pixel is read,
//! then streamed tile by tile through every stage (`crate::engine`) from the input's
//! source to a tiled TIFF or to a file written whole.

use infty_sdk::{Geometry, ItemKind, RasterInfo};

use super::builtins::{self, ReadStep, WriteStep};
use super::parse::RawStep;
use crate::codecs::dzi;
use crate::codecs::input::open_source;
use crate::codecs::output::{check_destination, write_output, Destination};
use crate::engine::job::{plugin_error, Job, Stage};
use crate::engine::shard::Shard;
use crate::error::{Error, Result};
use crate::format::{Format, TiffCompression};
use crate::metadata::tiff_tags;
use crate::plugins::params::step_args;
use crate::plugins::registry::Registry;
use crate::tiff::journal;
use crate::tiff::layout::{Layout, TileCompression, DEFLATE_LEVEL, ZSTD_LEVEL};
use crate::tiff::sink::{run_to_tiff, TiffPlan};

/// A checked pipeline: `read ! stages... ! write`.
pub struct Pipeline {
    pub read: ReadStep,
    pub stages: Vec<Stage>,
    pub write: WriteStep,
    /// Where the output goes, checked before any work.
    pub destination: Destination,
    /// The steps as given, for provenance and the resume journal.
    pub text: String,
}

/// How a run writes its output: resumable, synced to the disk, and which shard.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    pub resume: bool,
    /// Wait for the disk before the output takes its name (`--sync`).
    pub sync: bool,
    pub shard: Option<Shard>,
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
        let destination = check_destination(&write.path)?;
        let text: Vec<String> =
            steps.iter().map(|s| [std::slice::from_ref(&s.name), &s.words].concat().join(" ")).collect();
        let text = text.join(" ! ");
        Ok(Pipeline { read, stages, write, destination, text })
    }

    /// Reads the input, runs every stage and writes the output, tile by tile.
    pub fn run(self, options: RunOptions) -> Result<()> {
        let source = open_source(&self.read.path, self.read.format, self.read.unlimited)?;
        let mut rasters = vec![source.info()];
        let mut geometry = Geometry::IDENTITY;
        for stage in &self.stages {
            let input = *rasters.last().expect("one");
            let info = stage.op.output_raster(input).into_result().map_err(|e| plugin_error(stage, e))?;
            check_not_empty(&stage.label, &info)?;
            let moved = stage.geometry.between(input, info).map_err(|e| plugin_error(stage, e))?;
            geometry = geometry.then(moved);
            rasters.push(info);
        }
        let info = *rasters.last().expect("one");
        let tiles = match &self.destination {
            Destination::File(output) => tiled(&self.write).map(|compression| (compression, output)),
            _ => None,
        };
        let encoding = self.write.encoding(source.depth(), tiles.is_some())?;
        encoding.format.check(info.channels, encoding.depth).map_err(|e| in_write(&self.write, e))?;
        let metadata = source.metadata().moved(geometry, info, encoding.depth);
        let job = Job::new(source.as_ref(), &self.stages, rasters, encoding.depth);
        if let Some((compression, output)) = tiles {
            let layout = Layout::new(info, encoding.depth, compression, encoding.predictor, self.write.tile)?;
            let output = options.shard.map_or(output.clone(), |s| s.path(output));
            let job_line = self.job_line(&layout, options.shard);
            let plan = TiffPlan {
                resume: options.resume,
                sync: options.sync,
                shard: options.shard,
                tags: tiff_tags::tags(&metadata, &self.provenance(options.shard, Some(&job_line))),
                job: job_line,
                pyramid: self.write.pyramid,
            };
            return run_to_tiff(&job, layout, &output, &plan);
        }
        if encoding.format == Format::Dzi {
            let Destination::File(path) = &self.destination else {
                return Err(Error::usage("write: DeepZoom is a folder of tiles; give a .dzi file path"));
            };
            if options.resume || options.shard.is_some() {
                return Err(Error::usage("--resume and --shard need a tiled TIFF output, not DeepZoom")
                    .with_help("write a .tif, then `infty run read OUT.tif ! write OUT.dzi`"));
            }
            return dzi::write(&job, info, path, encoding.quality, self.write.tile);
        }
        if options.resume || options.shard.is_some() || self.write.pyramid {
            return Err(Error::usage(
                "--resume, --shard and --pyramid need a TIFF file output written tiled (deflate, zstd or none)",
            )
            .with_help("write a .tif file (not a device or pipe) with --compression deflate, zstd or none"));
        }
        check_size(&self.write.path, &info)?;
        let raster = job.run_to_memory(self.write.tile)?;
        let provenance = self.provenance(None, None);
        write_output(&raster, &encoding, (&metadata, &provenance), &self.destination, options.sync)
    }

    /// What identifies this run for the resume journal.
    fn job_line(&self, layout: &Layout, shard: Option<Shard>) -> String {
        let input = std::fs::metadata(&self.read.path).ok();
        let modified = input
            .as_ref()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        serde_json::json!({
            "infty": env!("CARGO_PKG_VERSION"),
            "pipeline": self.text,
            "plugins": self.stages.iter().map(|s| s.plugin.as_str()).collect::<Vec<_>>(),
            "input": { "bytes": input.map(|m| m.len()), "modified_ns": modified.map(|d| d.as_nanos() as u64) },
            "layout": format!("{layout:?}"),
            "shard": shard.map(|s| format!("{}/{}", s.index, s.count)),
        })
        .to_string()
    }

    /// The provenance stored in the output: software, pipeline, plugin versions, every
    /// operator's settings (defaults included), shard, and the fingerprint of a tiled
    /// output's `job` (its journal line), by which `--resume` recognises it finished.
    fn provenance(&self, shard: Option<Shard>, job: Option<&str>) -> String {
        let mut description = serde_json::json!({
            "software": concat!("infty ", env!("CARGO_PKG_VERSION")),
            "pipeline": self.text,
            "plugins": self.stages.iter().map(|s| s.plugin.as_str()).collect::<Vec<_>>(),
            "settings": self.stages.iter().map(|s| &s.settings).collect::<Vec<_>>(),
        });
        if let Some(s) = shard {
            description["shard"] = serde_json::json!({ "index": s.index, "of": s.count });
        }
        if self.write.pyramid {
            description["pyramid"] = true.into();
        }
        if let Some(job) = job {
            description["job"] = journal::job_id(job).into();
        }
        description.to_string()
    }
}

/// The tile compression when `write` goes to a tiled TIFF (if its destination is a file).
fn tiled(write: &WriteStep) -> Option<TileCompression> {
    if write.format != Format::Tiff {
        return None;
    }
    match write.compression {
        TiffCompression::None => Some(TileCompression::None),
        TiffCompression::Deflate => {
            Some(TileCompression::Deflate(write.level.map_or(DEFLATE_LEVEL, |l| l as u32)))
        }
        TiffCompression::Zstd => Some(TileCompression::Zstd(write.level.map_or(ZSTD_LEVEL, |l| l as i32))),
        TiffCompression::Lzw | TiffCompression::Packbits => None,
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
    let plugin = format!("{}@{}", item.plugin.manifest.id, item.plugin.manifest.version);
    let settings = settings_json(item.spec.name.as_str(), &params);
    let (op, typed) = (item.new_operator(&params)?, item.new_typed_operator(&params)?);
    Ok(Stage { label: item.label(), plugin, settings, op, typed, geometry: item.geometry(&params)? })
}

/// `{"op": {"param": value, ...}}` with every resolved value.
fn settings_json(name: &str, params: &infty_sdk::Params) -> serde_json::Value {
    use infty_sdk::ParamValue;
    let values: serde_json::Map<String, serde_json::Value> = params
        .entries
        .iter()
        .map(|p| {
            let value = match &p.value {
                ParamValue::Float(v) => serde_json::json!(v),
                ParamValue::Int(v) => serde_json::json!(v),
                ParamValue::Bool(v) => serde_json::json!(v),
                ParamValue::Text(v) => serde_json::json!(v.as_str()),
            };
            (p.name.to_string(), value)
        })
        .collect();
    serde_json::json!({ name: values })
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

/// Samples an output written in one piece (PNG, JPEG, stream) may hold (16 GiB of f32).
const MAX_RASTER_SAMPLES: u64 = 4 << 30;

/// Refuses a raster an operator made empty.
fn check_not_empty(label: &str, info: &RasterInfo) -> Result<()> {
    if info.width == 0 || info.height == 0 || info.channels == 0 {
        return Err(Error::failed(format!(
            "{label}: produced an empty raster ({}x{}, {} channels)",
            info.width, info.height, info.channels
        )));
    }
    Ok(())
}

/// Refuses an output too large to hold in memory, before anything is allocated.
fn check_size(path: &str, info: &RasterInfo) -> Result<()> {
    let samples = u64::from(info.width) * u64::from(info.height) * u64::from(info.channels);
    if samples > MAX_RASTER_SAMPLES {
        return Err(Error::input(format!(
            "write '{path}': a {}x{} image of {} channels is more than a PNG, JPEG or stream output holds \
             in memory ({MAX_RASTER_SAMPLES} samples)",
            info.width, info.height, info.channels
        ))
        .with_help("write a .tif file: TIFF is written tile by tile"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_huge_rasters_are_refused_before_allocation() {
        assert!(check_size("out.png", &RasterInfo::new(4096, 4096, 3)).is_ok());
        let empty = check_not_empty("op", &RasterInfo::new(0, 5, 3)).unwrap_err();
        assert_eq!(empty.to_string(), "op: produced an empty raster (0x5, 3 channels)");
        let huge = check_size("up.png", &RasterInfo::new(100_000, 100_000, 3)).unwrap_err();
        assert_eq!(huge.exit_code(), 2);
        assert!(huge
            .to_string()
            .starts_with("write 'up.png': a 100000x100000 image of 3 channels is more than"));
    }
}
