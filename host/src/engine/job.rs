//! A chain of operators computing output tiles: every output tile is computed through
//! the whole chain from just the input it needs, so memory is bounded by the tiles in
//! flight, never by the image size.
//!
//! For an output tile the planner walks the chain backwards, asking each operator
//! which input window it needs (halo, scale) and clipping it to that raster; the
//! source reads only the first of these windows, and each stage computes exactly the
//! window the next one asked for. Exact operators (the mollifier) thus give tiles
//! equal to the whole-image result. Tiles of one tile row run in parallel unless an
//! operator is `Serial`, and go straight to the sink: an in-memory raster here, or a
//! tiled TIFF written as tiles finish (`crate::tiff::sink`).

use std::sync::Mutex;

use infty_sdk::plugin::GeometryExtension;
use infty_sdk::{
    Depth, FieldMut, FieldRef, Geometry, OperatorBox, Params, PluginError, RasterInfo, SampleSupport,
    ThreadingMode, TypedOperatorBox, Window,
};

use super::blend::Blender;
use super::grid::Grid;
use super::planes::Planes;
use super::progress;
use super::source::Source;
use crate::error::{Error, Result};
use crate::raster::Raster;

thread_local! {
    /// The buffer a worker thread reads source windows into.
    static READ_BUFFER: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// One operator step, built and ready.
pub struct Stage {
    /// How errors name it: `scale (org.infty.basic)`.
    pub label: String,
    /// The plugin that provides it, `id@version`, for provenance.
    pub plugin: String,
    /// Every parameter's value, defaults included, for provenance.
    pub settings: serde_json::Value,
    pub op: OperatorBox,
    /// Its integer-sample face, when it has one (`infty_sdk::SamplesExtension`).
    pub typed: Option<TypedFace>,
    /// How it moves pixels.
    pub geometry: GeometryFace,
}

/// How an operator moves pixels: asked of its plugin's geometry extension, or the
/// default (`Geometry::resampled`) for a plugin without one.
#[derive(Default)]
pub struct GeometryFace {
    pub extension: Option<&'static GeometryExtension>,
    pub name: String,
    pub params: Params,
}

impl GeometryFace {
    /// Where the output's pixels lie on the input's, from `input` to `output`.
    pub fn between(
        &self,
        input: RasterInfo,
        output: RasterInfo,
    ) -> std::result::Result<Geometry, PluginError> {
        match self.extension {
            Some(extension) => {
                (extension.geometry)(self.name.as_str().into(), &self.params, input, output).into_result()
            }
            None => Ok(Geometry::resampled(input, output)),
        }
    }
}

/// An operator's integer-sample face and the depths it takes.
pub struct TypedFace {
    pub support: SampleSupport,
    pub op: TypedOperatorBox,
}

/// An error `stage`'s operator returned, with the stage named.
pub fn plugin_error(stage: &Stage, source: PluginError) -> Error {
    Error::Plugin { context: format!("{}:", stage.label), source }
}

/// A chain ready to compute tiles: the source, the stages and each stage's raster.
pub struct Job<'a> {
    pub source: &'a dyn Source,
    pub stages: &'a [Stage],
    /// `rasters[0]` is the source's, `rasters[k]` what stage `k` produces.
    rasters: Vec<RasterInfo>,
    /// The depth every stage computes at (see [`chain_depth`]).
    depth: Depth,
}

impl<'a> Job<'a> {
    /// The chain from `source` through `stages` (producing `rasters[1..]`), whose
    /// output is written at `output` depth.
    pub fn new(source: &'a dyn Source, stages: &'a [Stage], rasters: Vec<RasterInfo>, output: Depth) -> Self {
        let depth = chain_depth(source.native_depth(), stages, output);
        Job { source, stages, rasters, depth }
    }

    fn output(&self) -> RasterInfo {
        *self.rasters.last().expect("the source raster at least")
    }

    fn parallel(&self) -> bool {
        self.stages.iter().all(|s| s.op.threading() == ThreadingMode::Parallel)
    }

    /// The planar samples of output `tile`, computed through every stage.
    pub fn compute_tile(&self, tile: Window) -> Result<Planes> {
        let n = self.stages.len();
        let mut windows = vec![tile; n + 1];
        for k in (0..n).rev() {
            let stage = &self.stages[k];
            let wanted = stage.op.input_window(windows[k + 1], self.rasters[k]).into_result();
            windows[k] = wanted.map_err(|e| plugin_error(stage, e))?.clipped_to(&self.rasters[k].bounds());
        }
        let (raster, window) = (self.rasters[0], windows[0]);
        let mut samples = if self.depth == Depth::F32 {
            // The source fills every sample of its window, so its buffer is reused from
            // tile to tile without clearing (operators' outputs start zeroed).
            let mut buffer = READ_BUFFER.take();
            buffer.resize(window.area() as usize * raster.channels as usize, 0.0);
            self.source.read(window, field(raster, window, &mut buffer))?;
            Planes::F32(buffer)
        } else {
            let mut planes = Planes::zeros(self.depth, window, raster.channels);
            self.source.read_typed(window, planes.typed_mut(raster, window).expect("integer samples"))?;
            planes
        };
        for (k, stage) in self.stages.iter().enumerate() {
            let (from, to) = (self.rasters[k], self.rasters[k + 1]);
            let mut out = Planes::zeros(self.depth, windows[k + 1], to.channels);
            let result = if let (Planes::F32(input), Planes::F32(output)) = (&samples, &mut out) {
                let input = FieldRef::new(from, windows[k], input).expect("a buffer sized for its window");
                stage.op.process(input, field(to, windows[k + 1], output))
            } else {
                let typed = stage.typed.as_ref().expect("an integer chain has every stage's typed face");
                let input = samples.typed(from, windows[k]).expect("integer samples");
                typed.op.process_typed(input, out.typed_mut(to, windows[k + 1]).expect("integer samples"))
            };
            result.into_result().map_err(|e| plugin_error(stage, e))?;
            if let (0, Planes::F32(buffer)) = (k, std::mem::replace(&mut samples, out)) {
                READ_BUFFER.set(buffer);
            }
        }
        Ok(samples)
    }

    /// How far output tiles must overlap: the largest overlap a stage asks for, in
    /// pixels of the output raster.
    fn overlap(&self) -> u32 {
        let out = self.output();
        let scaled = |(stage, raster): (&Stage, &RasterInfo)| {
            let asked = f64::from(stage.op.tile_overlap());
            (asked * f64::from(out.width) / f64::from(raster.width.max(1))).ceil() as u32
        };
        self.stages.iter().zip(&self.rasters[1..]).map(scaled).max().unwrap_or(0)
    }

    /// Computes every tile of `tiles` (sorted row-major indices of `grid`)
    /// and hands it to `each`, blending overlapping tiles when a stage asks for it.
    /// Worker threads take the next tile in order, so they work side by side on one
    /// band of the image (the source's cache holds that band); one worker if an
    /// operator is `Serial`. The first error stops every worker.
    pub fn for_tiles(
        &self,
        grid: &Grid,
        tiles: &[u32],
        each: impl Fn(u32, Planes) -> Result<()> + Sync,
    ) -> Result<()> {
        let overlap = self.overlap();
        let blender = (overlap > 0).then(|| Blender::new(*grid, self.output().channels, overlap));
        let computed = blender.as_ref().map_or_else(|| tiles.to_vec(), |b| b.tiles_to_compute(tiles));
        let one = |index: u32| -> Result<()> {
            let Some(blender) = &blender else {
                return each(index, self.compute_tile(grid.tile_window(index))?);
            };
            let samples = self.compute_tile(blender.computed_window(index))?.into_f32();
            for (tile, blended) in blender.add(index, &samples, |t| tiles.binary_search(&t).is_ok()) {
                each(tile, Planes::F32(blended))?;
            }
            Ok(())
        };
        let workers = if self.parallel() { rayon::current_num_threads() } else { 1 };
        super::workers::in_order(&computed, workers, |&index| one(index))
    }

    /// The whole output in memory, for formats written in one piece.
    pub fn run_to_memory(&self, tile: u32) -> Result<Raster> {
        let out = self.output();
        let grid = Grid { width: out.width, height: out.height, tile };
        let all: Vec<u32> = (0..grid.tile_count()).collect();
        let raster = Mutex::new(Raster::zeros(self.output()));
        let progress = progress::bar(all.len() as u64, 0);
        self.for_tiles(&grid, &all, |index, samples| {
            raster.lock().expect("raster lock").put(grid.tile_window(index), &samples.into_f32());
            progress.inc(1);
            Ok(())
        })?;
        progress.finish_and_clear();
        Ok(raster.into_inner().expect("raster lock"))
    }
}

/// The depth a chain computes at: the source's own integer depth when every stage
/// takes it and the pixels come out as they would through f32 — all stages exact, or
/// one rounding, with the output written at that depth (`SampleSupport::exact`) — and
/// no overlaps are blended; f32 otherwise.
fn chain_depth(native: Depth, stages: &[Stage], output: Depth) -> Depth {
    let support = |s: &Stage| s.typed.as_ref().map_or(SampleSupport::F32, |t| t.support);
    let supports: Vec<SampleSupport> = stages.iter().map(support).collect();
    let rounding = supports.iter().filter(|s| !s.exact).count();
    let takes = supports.iter().all(|s| s.takes(native));
    let blends = stages.iter().any(|s| s.op.tile_overlap() > 0);
    if takes && !blends && (rounding == 0 || (rounding == 1 && output == native)) {
        native
    } else {
        Depth::F32
    }
}

fn field(raster: RasterInfo, window: Window, samples: &mut [f32]) -> FieldMut<'_> {
    FieldMut::new(raster, window, samples).expect("a buffer sized for its window")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::grid::TILE;
    use crate::engine::source::MemorySource;
    use infty_sdk::{new_operator_box, ItemSpec, Operator, Params};

    /// An operator whose result depends on the window it runs on, like a sampler.
    struct WindowDependent;

    impl Operator for WindowDependent {
        fn spec() -> ItemSpec {
            ItemSpec::operator("window-dependent", "adds (window x + y) / 1000")
        }
        fn new(_: &Params) -> Result<Self, PluginError> {
            Ok(WindowDependent)
        }
        fn tile_overlap(&self) -> u32 {
            8
        }
        fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
            let offset = (output.window.x + output.window.y) as f32 / 1000.0;
            for y in 0..output.window.height as usize {
                for (o, i) in output.row_mut(0, y).iter_mut().zip(input.row(0, y)) {
                    *o = i + offset;
                }
            }
            Ok(())
        }
    }

    #[test]
    fn overlapping_tiles_are_blended_without_seams() {
        let info = RasterInfo::new(600, 300, 1);
        let source =
            MemorySource { raster: Raster::zeros(info), depth: Depth::F32, metadata: Default::default() };
        let op = new_operator_box::<WindowDependent>(&WindowDependent::spec().resolve([]).unwrap()).unwrap();
        let stages = [Stage {
            label: "window-dependent".into(),
            plugin: "test@0".into(),
            settings: serde_json::Value::Null,
            op,
            typed: None,
            geometry: GeometryFace::default(),
        }];
        let job = Job::new(&source, &stages, vec![info, info], Depth::F32);
        assert_eq!(job.overlap(), 8);
        let out = job.run_to_memory(TILE).unwrap();
        let at = |x: usize, y: usize| out.samples[y * 600 + x];
        // Unblended, a tile border would jump by 0.256 (its windows start 256 px apart);
        // blended over 16 px, neighbours differ by at most about 0.256 · π/32.
        let mut jump = 0.0f32;
        for y in 0..300 {
            for x in 1..600 {
                jump = jump.max((at(x, y) - at(x - 1, y)).abs());
            }
        }
        for x in 0..600 {
            for y in 1..300 {
                jump = jump.max((at(x, y) - at(x, y - 1)).abs());
            }
        }
        assert!(jump < 0.03, "largest step between neighbours {jump}");
        // Away from borders a tile keeps its own value: its computed window's
        // (x + y) / 1000, e.g. (256 - 8 + 0) / 1000 inside the second tile.
        assert_eq!(at(100, 100), 0.0);
        assert!((at(384, 100) - 0.248).abs() < 1e-6, "{}", at(384, 100));
    }
}
