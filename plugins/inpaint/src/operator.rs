//! The inpainting operator: finds the patches of the lattice near the mask, samples
//! them from the known pixels around them, and blends them into the holes. Tiles with
//! no such patch are copied.

use std::sync::Mutex;

use infty_kit::fill::membrane_fill;
use infty_kit::patches::param::Mode;
use infty_kit::patches::{colour_planes, rgb_model, ChainSetup, Lattice, PatchCache};
use infty_sdk::{
    FieldMut, FieldRef, GuideKind, ItemSpec, ModelInfo, Operator, Params, PluginError, RasterInfo,
    ThreadingMode, Window,
};

use crate::mask::{known_weights, Mask};
use crate::sample::{GuideUse, InpaintSampler, Patch};
use crate::settings::{self, GuidanceSchedule, Settings};

/// `inpaint`.
pub struct Inpaint {
    settings: Settings,
    mask: Mask,
    sampler: InpaintSampler,
    kept: Mutex<PatchCache>,
}

impl Operator for Inpaint {
    fn spec() -> ItemSpec {
        settings::spec()
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        let settings = Settings::from_params(params)?;
        let mask = Mask::open(&settings.mask, settings.invert_mask)?;
        let (model, info) =
            rgb_model(&settings.model.0, &settings.device, &settings.precision, "inpainting")?;
        let guide =
            check_model(&info, settings.mode == Mode::Guided, &settings.model.0.display().to_string())?;
        let setup = ChainSetup {
            side: info.train_size,
            sampler: &settings.sampler,
            steps: &settings.steps,
            seed: settings.seed,
            inv_snr: Some(settings.inv_snr),
            strength: settings.strength,
        };
        let sampler = InpaintSampler::new(
            model,
            setup,
            guide,
            (settings.guidance, settings.guidance_schedule == GuidanceSchedule::Alpha),
            settings.samples,
        )?;
        Ok(Inpaint { settings, mask, sampler, kept: Mutex::default() })
    }

    // The model runs on libtorch's own threads (or one GPU): one tile at a time.
    fn threading(&self) -> ThreadingMode {
        ThreadingMode::Serial
    }

    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        if !(1..=4).contains(&input.channels) {
            return Err(PluginError::invalid_input(format!(
                "the input has {} channels; inpainting takes gray, gray+alpha, RGB or RGBA",
                input.channels
            )));
        }
        let side = self.sampler.side;
        if input.width < side || input.height < side {
            return Err(PluginError::invalid_input(format!(
                "the input ({}×{}) is smaller than one patch of the model ({side}×{side})",
                input.width, input.height
            ))
            .with_help(format!("give an input of at least {side}×{side} pixels")));
        }
        self.mask.check(input)?;
        Ok(input)
    }

    /// The output window alone when no patch is to be sampled for it; else also the
    /// known pixels around every patch to sample ([`Self::context`]).
    fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        let plan = self.plan(output, input)?;
        let patches: Vec<(u32, u32)> = plan.batches.into_iter().flatten().collect();
        if patches.is_empty() {
            return Ok(output);
        }
        let around = self.context(bounding(&patches, self.sampler.side), input);
        Ok(bounding_windows(&[output, around]))
    }

    fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
        let (raster, window) = (output.raster, output.window);
        let plan = self.plan(window, raster)?;
        let Some(lattice) = plan.lattice.filter(|_| !plan.touching.is_empty()) else {
            copy(&input, &mut output);
            return Ok(());
        };
        let touching = plan.touching.into_iter().zip(plan.batches);
        let mut kept = self.kept.lock().map_err(|_| PluginError::failed("an earlier tile failed"))?;
        let filled =
            kept.blend(raster, window, &lattice, touching, |batch| self.sample_batch(batch, &input))?;
        let border = self.settings.border;
        let around = window.expand(border);
        let weights =
            known_weights(&self.mask.holes(around)?, around.width as usize, around.height as usize, border);
        composite(&input, &filled, &weights, border as usize, &mut output);
        Ok(())
    }
}

impl Inpaint {
    fn lattice(&self, raster: RasterInfo) -> Lattice {
        let overlap = self.settings.overlap.min(self.sampler.side / 2);
        Lattice::new(raster.width, raster.height, self.sampler.side, overlap)
    }

    /// The patches to sample for `window`, in lattice order: the active patches (those
    /// with a hole within `--border` of them) that touch it, each with the active
    /// patches of its batch. Activity depends on the patch alone, so a patch's batch,
    /// and its sample, never depend on the tile.
    fn plan(&self, window: Window, raster: RasterInfo) -> Result<Plan, PluginError> {
        if !self.mask.check(raster)? {
            return Ok(Plan::default());
        }
        let lattice = self.lattice(raster);
        let batch = self.settings.batch as usize;
        let candidates = lattice.batches_over(window, batch);
        let side = self.sampler.side;
        let border = self.settings.border;
        let reach = bounding(&candidates, side).expand(border);
        let holes = self.mask.holes(reach)?;
        let active = |&(x, y): &(u32, u32)| {
            let area = Window::new(x.into(), y.into(), side, side).expand(border).intersect(&reach);
            (area.y..area.bottom()).any(|yy| {
                let row = (yy - reach.y) * i64::from(reach.width);
                (area.x..area.right()).any(|xx| holes[(row + xx - reach.x) as usize])
            })
        };
        let touching: Vec<(u32, u32)> = lattice.patches_over(window).into_iter().filter(active).collect();
        let batches = touching
            .iter()
            .map(|&origin| lattice.batch_of(origin, batch).into_iter().filter(active).collect())
            .collect();
        Ok(Plan { lattice: Some(lattice), touching, batches })
    }

    /// The pixels the smooth fill of the patches in `patches` reads: a patch side all
    /// around, inside the raster.
    fn context(&self, patches: Window, raster: RasterInfo) -> Window {
        patches.expand(self.sampler.side).clipped_to(&raster.bounds())
    }

    /// The filled patches at `origins`, in order, from the input around them.
    fn sample_batch(
        &self,
        origins: &[(u32, u32)],
        input: &FieldRef<'_>,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        let side = self.sampler.side;
        let mut patches = Vec::with_capacity(origins.len());
        for &origin in origins {
            let at = Window::new(origin.0.into(), origin.1.into(), side, side);
            let around = self.context(at, input.raster);
            let holes = self.mask.holes(around)?;
            let known: Vec<bool> = holes.iter().map(|h| !h).collect();
            let area = around.area() as usize;
            let mut planes = colour_planes(&window_planes(input, around), input.channels(), area);
            if !self.settings.keep_content {
                membrane_fill(&mut planes, &known, around.width as usize, around.height as usize);
            }
            let crop = |plane: &[f32]| -> Vec<f32> {
                (at.y..at.bottom())
                    .flat_map(|y| {
                        let start = ((y - around.y) * i64::from(around.width) + at.x - around.x) as usize;
                        plane[start..start + side as usize].to_vec()
                    })
                    .collect()
            };
            let start = planes.chunks_exact(area).flat_map(crop).collect();
            let known = crop(&known.iter().map(|&k| f32::from(u8::from(k))).collect::<Vec<_>>());
            patches.push(Patch { origin, start, known });
        }
        self.sampler.sample(&patches, input.raster)
    }
}

/// What one output window needs sampled.
#[derive(Default)]
struct Plan {
    lattice: Option<Lattice>,
    /// The active patches that touch the window.
    touching: Vec<(u32, u32)>,
    /// The active patches sampled with each of them.
    batches: Vec<Vec<(u32, u32)>>,
}

/// The smallest window holding the patches of `side` at `origins` (not empty).
fn bounding(origins: &[(u32, u32)], side: u32) -> Window {
    let windows: Vec<Window> =
        origins.iter().map(|&(x, y)| Window::new(x.into(), y.into(), side, side)).collect();
    bounding_windows(&windows)
}

fn bounding_windows(windows: &[Window]) -> Window {
    let (x0, y0) = windows.iter().fold((i64::MAX, i64::MAX), |(x, y), w| (x.min(w.x), y.min(w.y)));
    let (x1, y1) =
        windows.iter().fold((i64::MIN, i64::MIN), |(x, y), w| (x.max(w.right()), y.max(w.bottom())));
    Window::new(x0, y0, (x1 - x0) as u32, (y1 - y0) as u32)
}

/// Every channel of the input over `window`, planar.
fn window_planes(input: &FieldRef<'_>, window: Window) -> Vec<f32> {
    (0..input.channels())
        .flat_map(|c| {
            (window.y..window.bottom()).flat_map(move |y| (window.x..window.right()).map(move |x| (c, x, y)))
        })
        .map(|(c, x, y)| input.at(c, x, y))
        .collect()
}

/// Copies the input's pixels of the output window.
fn copy(input: &FieldRef<'_>, output: &mut FieldMut<'_>) {
    let window = output.window;
    for c in 0..output.channels() {
        for (dy, y) in (window.y..window.bottom()).enumerate() {
            for (dx, x) in (window.x..window.right()).enumerate() {
                output.row_mut(c, dy)[dx] = input.at(c, x, y);
            }
        }
    }
}

/// The output: each known pixel's weight of its input value (`weights`, over the
/// window grown by `border`), the rest from the blended fill (3 planes in [−1, 1]);
/// pixels of weight 1 and alpha are the input's exactly.
fn composite(
    input: &FieldRef<'_>,
    filled: &[f32],
    weights: &[f32],
    border: usize,
    output: &mut FieldMut<'_>,
) {
    let window = output.window;
    let (w, h) = (window.width as usize, window.height as usize);
    let area = w * h;
    let channels = output.channels();
    let colours = if channels.is_multiple_of(2) { channels - 1 } else { channels };
    for y in 0..h {
        for x in 0..w {
            let (gx, gy) = (window.x + x as i64, window.y + y as i64);
            let weight = weights[(y + border) * (w + 2 * border) + x + border];
            let fill = |c: usize| ((filled[c * area + y * w + x] + 1.0) * 0.5).clamp(0.0, 1.0);
            for c in 0..channels {
                let known = input.at(c, gx, gy);
                output.row_mut(c, y)[x] = if weight == 1.0 || c >= colours {
                    known
                } else {
                    let sample = if colours == 1 { (fill(0) + fill(1) + fill(2)) / 3.0 } else { fill(c) };
                    weight * known + (1.0 - weight) * sample
                };
            }
        }
    }
}

/// The guide use `model` allows in `guided` or encode mode; refuses others.
fn check_model(info: &ModelInfo, guided: bool, path: &str) -> Result<GuideUse, PluginError> {
    match (info.guide().map_err(|e| e.with_param("model"))?, guided) {
        (GuideKind::Mask, true) if info.guide_channels == 4 => Ok(GuideUse::Known),
        (GuideKind::Fill, true) if info.guide_channels == 4 => Ok(GuideUse::Filled),
        (GuideKind::Fill, false) if info.residual_scale().is_some() => Err(PluginError::invalid_param(
            "mode",
            format!("'{path}' diffuses what its filled guide lacks (residual_scale), so it needs its guide"),
        )
        .with_help("use --mode guided with this model")),
        (GuideKind::Mask | GuideKind::Fill, false) if info.guide_channels == 4 => Ok(GuideUse::Blind),
        (GuideKind::None, false) if info.guide_channels == 0 => Ok(GuideUse::None),
        (GuideKind::None, true) => Err(PluginError::invalid_param(
            "model",
            format!("'{path}' has no mask guide, so it cannot run --mode guided"),
        )
        .with_help("use --mode encode (the encoder on the known pixels, and guidance), or a model trained with infty train --guide fill (or mask)")),
        (other, _) => Err(PluginError::invalid_param(
            "model",
            format!(
                "'{path}' was trained with guide '{}' ({} channels); inpainting needs guide 'fill', 'mask' or none",
                other.name(),
                info.guide_channels
            ),
        )),
    }
}
