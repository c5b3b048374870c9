//! The super-resolution operator: plans the input each output window needs, builds
//! each patch's guide from the input, samples the patches and blends them.

use std::sync::Mutex;

use infty_kit::patches::param::Mode;
use infty_kit::patches::{colour_planes, rgb_model, ChainSetup, Lattice, PatchCache};
use infty_kit::resample::{bicubic, BICUBIC_MARGIN};
use infty_sdk::{FieldMut, FieldRef, GuideKind, ModelInfo, Params, PluginError, RasterInfo, Window};

use crate::sample::{Patch, PatchSampler};
use crate::settings::Settings;

/// A patch whose guide varies less than this (in [−1, 1], about a quarter of an
/// 8-bit level) is flat: its output is the guide's colour, without sampling.
const FLAT: f32 = 2e-3;

/// The largest patch side encode mode samples at (the model's size × scale).
const MAX_SIDE: u32 = 1024;

pub struct SuperRes {
    settings: Settings,
    sampler: PatchSampler,
    /// Overlap of neighbouring patches, in output pixels.
    overlap: u32,
    kept: Mutex<PatchCache>,
}

impl SuperRes {
    pub fn new(params: &Params) -> Result<SuperRes, PluginError> {
        let settings = Settings::from_params(params)?;
        let (model, info) =
            rgb_model(&settings.model.0, &settings.device, &settings.precision, "super-resolution")?;
        check_model(&info, settings.mode, &settings.model.0.display().to_string())?;
        let side = match settings.mode {
            Mode::Guided => info.train_size,
            Mode::Encode => (f64::from(info.train_size) * settings.scale).round() as u32,
        };
        if !(8..=MAX_SIDE).contains(&side) {
            return Err(PluginError::invalid_param(
                "scale",
                format!(
                    "encode mode at --scale {} samples patches of {side} pixels; it needs 8 to {MAX_SIDE}",
                    settings.scale
                ),
            )
            .with_help("use --mode guided, which samples at the model's size at any scale"));
        }
        let overlap =
            (f64::from(settings.overlap) * f64::from(side) / f64::from(info.train_size)).round() as u32;
        let setup = ChainSetup {
            side,
            sampler: &settings.sampler,
            steps: &settings.steps,
            seed: settings.seed,
            inv_snr: (!settings.keep_mollified).then_some(settings.inv_snr),
            strength: settings.strength,
        };
        let sampler =
            PatchSampler::new(model, setup, settings.samples, (!settings.free).then_some(settings.scale))?;
        Ok(SuperRes { overlap: overlap.min(side / 2), settings, sampler, kept: Mutex::default() })
    }

    pub fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        if !(1..=4).contains(&input.channels) {
            return Err(PluginError::invalid_input(format!(
                "the input has {} channels; super-resolution takes gray, gray+alpha, RGB or RGBA",
                input.channels
            )));
        }
        let scale = self.settings.scale;
        let size = |n: u32| (f64::from(n) * scale).round() as u32;
        let (width, height) = (size(input.width), size(input.height));
        let side = self.sampler.side;
        if width < side || height < side {
            let least = (f64::from(side) / scale).ceil();
            return Err(PluginError::invalid_input(format!(
                "the input ({}×{}) is too small: at --scale {scale} the output would be {width}×{height}, \
                 smaller than one patch of the model ({side}×{side})",
                input.width, input.height
            ))
            .with_help(format!("give an input of at least {least}×{least} pixels")));
        }
        Ok(RasterInfo::new(width, height, input.channels))
    }

    fn lattice(&self, output: RasterInfo) -> Lattice {
        Lattice::new(output.width, output.height, self.sampler.side, self.overlap)
    }

    /// The input under the patches that touch `output`, plus the bicubic taps.
    pub fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        let out_raster = self.output_raster(input)?;
        let side = i64::from(self.sampler.side);
        let patches = self.lattice(out_raster).batches_over(output, self.settings.batch as usize);
        let (x0, y0) =
            patches.iter().fold((i64::MAX, i64::MAX), |(x, y), p| (x.min(p.0.into()), y.min(p.1.into())));
        let (x1, y1) = patches
            .iter()
            .fold((0, 0), |(x, y), p| (x.max(i64::from(p.0) + side), y.max(i64::from(p.1) + side)));
        let (rx, ry) = ratios(input, out_raster);
        let span = |start: i64, end: i64, ratio: f64| {
            let margin = i64::from(BICUBIC_MARGIN);
            let lo = ((start as f64 + 0.5) * ratio - 0.5).floor() as i64 - margin;
            let hi = ((end as f64 - 0.5) * ratio - 0.5).floor() as i64 + margin + 1;
            (lo, hi)
        };
        let ((ix0, ix1), (iy0, iy1)) = (span(x0, x1, rx), span(y0, y1, ry));
        Ok(Window::new(ix0, iy0, (ix1 - ix0) as u32, (iy1 - iy0) as u32))
    }

    /// Blends the patches over the output window, sampling (in batches) those not kept
    /// from earlier tiles ([`PatchCache::blend`]).
    pub fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
        let (out_raster, window) = (output.raster, output.window);
        let lattice = self.lattice(out_raster);
        let batch = self.settings.batch as usize;
        let touching = lattice.patches_over(window).into_iter().map(|o| (o, lattice.batch_of(o, batch)));
        let mut kept = self.kept.lock().map_err(|_| PluginError::failed("an earlier tile failed"))?;
        let blend = kept.blend(out_raster, window, &lattice, touching, |batch| {
            self.sample_batch(batch, &input, out_raster)
        })?;
        let rgb: Vec<f32> = blend.iter().map(|v| ((v + 1.0) * 0.5).clamp(0.0, 1.0)).collect();
        write_output(&rgb, &input, ratios(input.raster, out_raster), &mut output);
        Ok(())
    }

    /// The samples of the patches at `origins` (3 planes in [−1, 1] each): flat ones
    /// take their guide's colour, the others are sampled in one model batch.
    fn sample_batch(
        &self,
        origins: &[(u32, u32)],
        input: &FieldRef<'_>,
        out_raster: RasterInfo,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        let (side, ratio) = (self.sampler.side, ratios(input.raster, out_raster));
        let area = (side * side) as usize;
        let mut samples = vec![Vec::new(); origins.len()];
        let mut pending = Vec::new();
        for (i, &origin) in origins.iter().enumerate() {
            let at = Window::new(origin.0.into(), origin.1.into(), side, side);
            let guide = colour_planes(&bicubic(input, ratio, at), input.channels(), area);
            match flat_colour(&guide, area) {
                Some(colour) => {
                    samples[i] = colour.iter().flat_map(|&c| std::iter::repeat_n(c, area)).collect()
                }
                None => pending.push((i, Patch { origin, guide })),
            }
        }
        let (indices, patches): (Vec<usize>, Vec<Patch>) = pending.into_iter().unzip();
        if !patches.is_empty() {
            for (i, planes) in indices.into_iter().zip(self.sampler.sample(&patches, out_raster)?) {
                samples[i] = planes;
            }
        }
        Ok(samples)
    }
}

/// Input pixels per output pixel on each axis (the sizes are rounded, so the axes may
/// differ slightly from 1/scale).
fn ratios(input: RasterInfo, output: RasterInfo) -> (f64, f64) {
    (f64::from(input.width) / f64::from(output.width), f64::from(input.height) / f64::from(output.height))
}

/// The colour of a guide that is constant within [`FLAT`], if it is.
fn flat_colour(guide: &[f32], area: usize) -> Option<[f32; 3]> {
    let mut colour = [0f32; 3];
    for (c, plane) in guide.chunks_exact(area).enumerate() {
        let (lo, hi) = plane.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if hi - lo > FLAT {
            return None;
        }
        colour[c] = 0.5 * (lo + hi);
    }
    Some(colour)
}

/// Writes the RGB result in the output's layout: gray as the mean of RGB, alpha
/// evaluated bicubically from the input.
fn write_output(rgb: &[f32], input: &FieldRef<'_>, ratio: (f64, f64), output: &mut FieldMut<'_>) {
    let (w, h) = (output.window.width as usize, output.window.height as usize);
    let area = w * h;
    let channels = output.channels();
    let gray = channels < 3;
    let alpha = channels.is_multiple_of(2).then(|| bicubic(input, ratio, output.window));
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let colour = [rgb[i], rgb[area + i], rgb[2 * area + i]];
            if gray {
                output.row_mut(0, y)[x] = (colour[0] + colour[1] + colour[2]) / 3.0;
            } else {
                (0..3).for_each(|c| output.row_mut(c, y)[x] = colour[c]);
            }
            if let Some(alpha) = &alpha {
                output.row_mut(channels - 1, y)[x] = alpha[(channels - 1) * area + i].clamp(0.0, 1.0);
            }
        }
    }
}

/// Refuses models that cannot do `mode`.
fn check_model(info: &ModelInfo, mode: Mode, path: &str) -> Result<(), PluginError> {
    match (info.guide().map_err(|e| e.with_param("model"))?, mode) {
        (GuideKind::LowRes, _) if info.guide_channels == 3 => Ok(()),
        (GuideKind::None, Mode::Encode) if info.guide_channels == 0 => Ok(()),
        (GuideKind::None, Mode::Guided) => Err(PluginError::invalid_param(
            "model",
            format!("'{path}' has no low-resolution guide, so it cannot run --mode guided"),
        )
        .with_help("use --mode encode (zero-shot, through the encoder), or a model trained with infty train --guide lowres")),
        (other, _) => Err(PluginError::invalid_param(
            "model",
            format!(
                "'{path}' was trained with guide '{}' ({} channels); super-resolution needs guide 'lowres' or none",
                other.name(),
                info.guide_channels
            ),
        )),
    }
}
