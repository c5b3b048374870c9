//! Sampling a batch of patches with the model: the guide and the latents in, a chain
//! of the chosen sampler, the Wiener inverse out (reference-spec §5.2, §6).
//!
//! A patch is sampled on its own raster of `side` pixels, as the model saw its
//! training crops: T mirrors at the patch edges, as the reference's DCT does on a crop.
//! The white noise under T is keyed by output coordinates, so neighbouring patches see
//! the same noise where they overlap.

use infty_sdk::noise::NoiseKey;
use infty_sdk::resample::{area, lowres_guide};
use infty_sdk::sampler::{SamplerSetup, Step, START_NOISE_STREAM};
use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, ModelBox, ModelInfo, ModelInput, OperatorBox, PluginError, Points,
    RasterInfo, SamplerBox,
};

/// Everything one patch size needs: the model, the sampler set up for it, and T and
/// its inverse at the patch's σ.
pub struct PatchSampler {
    model: ModelBox,
    info: ModelInfo,
    sampler: SamplerBox,
    /// The sampler's schedule, for the x̂0 of each step.
    schedule: SamplerSetup,
    /// Output pixels per input pixel, when each step's x̂0 is pulled towards the input.
    consistency: Option<f64>,
    /// The chain starts at the last step at or below this timestep.
    start_t: f64,
    /// The patch side in output pixels.
    pub side: u32,
    mollify: OperatorBox,
    unmollify: Option<OperatorBox>,
    seed: u64,
}

/// One patch to sample: where it lies and its guide (3 planes in [−1, 1], `side²`).
pub struct Patch {
    pub origin: (u32, u32),
    pub guide: Vec<f32>,
}

/// How a [`PatchSampler`] is set up.
pub struct Setup<'a> {
    pub side: u32,
    pub sampler: &'a str,
    pub steps: &'a str,
    pub seed: u64,
    /// `None` keeps the output mollified.
    pub inv_snr: Option<f64>,
    /// The scale, when each step's x̂0 is to agree with the input.
    pub consistency: Option<f64>,
    /// The fraction of the schedule the chain runs, from the guide noised that far.
    pub strength: f64,
}

impl PatchSampler {
    /// Sampling on patches of `setup.side` output pixels. At a side other than the
    /// model's training size, σ and the noise scale follow the reference's change of
    /// resolution: σ·S'/S and `noise_mul` = S'/S (spec §2.3).
    pub fn new(model: ModelBox, setup: Setup<'_>) -> Result<PatchSampler, PluginError> {
        let info = model.info();
        let ratio = f64::from(setup.side) / f64::from(info.train_size);
        let sigma = (info.mollifier_sigma * ratio).to_string();
        let (train_steps, size, noise_mul) =
            (info.diffusion_steps.to_string(), info.train_size.to_string(), ratio.to_string());
        let common = [
            ("steps", setup.steps),
            ("schedule", info.noise_schedule.as_str()),
            ("train-steps", &train_steps),
            ("schedule-resolution", &size),
            ("noise-mul", &noise_mul),
        ];
        // A bad --steps is named by the sampler; an unknown sampler is ours to name.
        let sampler = infty_sdk::host::sampler(setup.sampler, &common).map_err(|e| {
            if e.param.is_some() {
                e
            } else {
                e.with_param("sampler")
            }
        })?;
        let schedule = SamplerSetup::from_params(&ItemSpec::sampler(setup.sampler, "").resolve(common)?)?;
        let mollify = infty_sdk::host::operator("mollify", &[("sigma", &sigma)])
            .map_err(|e| e.with_help("super-resolution needs the mollifier plugin (org.infty.mollifier)"))?;
        let unmollify = match setup.inv_snr {
            Some(inv_snr) => Some(infty_sdk::host::operator(
                "unmollify",
                &[("sigma", &sigma), ("inv-snr", &inv_snr.to_string())],
            )?),
            None => None,
        };
        Ok(PatchSampler {
            start_t: setup.strength * f64::from(info.diffusion_steps - 1),
            model,
            info,
            sampler,
            schedule,
            consistency: setup.consistency,
            side: setup.side,
            mollify,
            unmollify,
            seed: setup.seed,
        })
    }

    /// The samples of `patches` (3 planes each, in [−1, 1]), noise keyed on `raster`.
    pub fn sample(&self, patches: &[Patch], raster: RasterInfo) -> Result<Vec<Vec<f32>>, PluginError> {
        let batch = patches.len() as u32;
        let z = self.encode(patches)?;
        let guide: Vec<f32> = if self.info.guide_channels == 0 {
            Vec::new()
        } else {
            patches.iter().flat_map(|p| p.guide.iter().copied()).collect()
        };
        let noise = |stream: u32| self.mollified_noise(patches, stream, raster);
        let mollified_guides =
            patches.iter().map(|p| self.on_patch(&self.mollify, &p.guide)).collect::<Result<Vec<_>, _>>()?;
        let denoise = |step: &Step, x: &[f32]| {
            let mut eps = vec![0f32; x.len()];
            let t = vec![step.model_t; batch as usize];
            let input = ModelInput {
                at: Points::dense(self.side, batch),
                x: x.into(),
                guide: guide.as_slice().into(),
                t: t.as_slice().into(),
                z: z.as_slice().into(),
            };
            self.model.denoise(input, eps.as_mut_slice().into()).into_result()?;
            if let Some(scale) = self.consistency {
                self.pull_to_input(step.index as usize, x, &mut eps, &mollified_guides, scale)?;
            }
            Ok(eps)
        };
        let x = self.chain(&noise(START_NOISE_STREAM)?, &mollified_guides, denoise, |step| {
            noise(step.noise_stream())
        })?;
        let per_patch = x.len() / patches.len();
        x.chunks_exact(per_patch)
            .zip(patches)
            .map(|(planes, patch)| self.finish(planes, &patch.guide))
            .collect()
    }

    /// The sampler's chain from its last step at or below the start timestep, whose x_t
    /// is the forward process applied to the mollified guide:
    /// √ᾱ·T(guide) + √(1−ᾱ)·noise_mul·Tξ (at the full strength, ᾱ ≈ 0: pure noise,
    /// the reference's start). Then as [`infty_sdk::sampler::run_chain`].
    fn chain(
        &self,
        initial_noise: &[f32],
        mollified_guides: &[Vec<f32>],
        mut denoise: impl FnMut(&Step, &[f32]) -> Result<Vec<f32>, PluginError>,
        mut noise: impl FnMut(&Step) -> Result<Vec<f32>, PluginError>,
    ) -> Result<Vec<f32>, PluginError> {
        let all = self.sampler.steps();
        let steps: Vec<Step> =
            all.iter().copied().filter(|s| f64::from(s.timestep) <= self.start_t).collect();
        let first = steps.first().or(all.last()).copied().expect("a sampler has steps");
        let ab = self.schedule.schedule.alphas_cumprod[first.index as usize];
        let mut state = self.sampler.start(initial_noise.into());
        let guides = mollified_guides.iter().flatten();
        for (x, g) in state.x.iter_mut().zip(guides) {
            *x = ab.sqrt() as f32 * g + (1.0 - ab).sqrt() as f32 * *x;
        }
        let mut x0 = vec![0.0f32; initial_noise.len()];
        for step in if steps.is_empty() { vec![first] } else { steps } {
            let eps = denoise(&step, &state.x)?;
            let fresh = if step.noise { noise(&step)? } else { Vec::new() };
            self.sampler
                .step(
                    step,
                    &mut state,
                    eps.as_slice().into(),
                    fresh.as_slice().into(),
                    x0.as_mut_slice().into(),
                )
                .into_result()?;
        }
        Ok(state.x.into_vec())
    }

    /// Back-projection of the step's x̂0 onto the input (as in ILVR and DDNM): x̂0 gains
    /// the difference between the mollified guide and x̂0 downscaled and evaluated back,
    /// so the output, downscaled, gives the input back. `eps` becomes the noise that
    /// leads any sampler to that x̂0.
    fn pull_to_input(
        &self,
        index: usize,
        x: &[f32],
        eps: &mut [f32],
        mollified_guides: &[Vec<f32>],
        scale: f64,
    ) -> Result<(), PluginError> {
        let mut x0 = vec![0f32; x.len()];
        self.schedule.predict_x0(index, x, eps, &mut x0);
        for (x0, guide) in x0.chunks_exact_mut(x.len() / mollified_guides.len()).zip(mollified_guides) {
            self.project(x0, guide, scale)?;
        }
        self.schedule.eps_from_x0(index, x, &x0, eps);
        Ok(())
    }

    /// The latents of each patch's content: its guide, area-averaged to the model's
    /// size when the patch is larger (the encoder reads the input at the size it was
    /// trained on).
    fn encode(&self, patches: &[Patch]) -> Result<Vec<f32>, PluginError> {
        let (side, size) = (self.side as usize, self.info.train_size as usize);
        let x: Vec<f32> = patches
            .iter()
            .flat_map(|p| if side == size { p.guide.clone() } else { area(&p.guide, side, side, size, size) })
            .collect();
        let mut z = vec![0f32; patches.len() * self.info.z_dim as usize];
        let at = Points::dense(self.info.train_size, patches.len() as u32);
        self.model.encode(at, x.as_slice().into(), z.as_mut_slice().into()).into_result()?;
        Ok(z)
    }

    /// Tξ on each patch, ξ the white noise of `stream` at the patch's output pixels.
    fn mollified_noise(
        &self,
        patches: &[Patch],
        stream: u32,
        raster: RasterInfo,
    ) -> Result<Vec<f32>, PluginError> {
        let key = NoiseKey::new(self.seed, stream, raster);
        let side = self.side;
        let mut out = Vec::with_capacity(patches.len() * 3 * (side * side) as usize);
        for patch in patches {
            let (ox, oy) = patch.origin;
            let white: Vec<f32> = (0..3)
                .flat_map(|c| (0..side).flat_map(move |y| (0..side).map(move |x| (c, x, y))))
                .map(|(c, x, y)| key.gaussian(ox + x, oy + y, c))
                .collect();
            out.extend(self.on_patch(&self.mollify, &white)?);
        }
        Ok(out)
    }

    /// The sample of one patch: unmollified unless kept mollified, then (with the
    /// consistency pull) back-projected once more, which also restores the low
    /// frequencies the Wiener inverse damps by 1/(1 + inv-snr²).
    fn finish(&self, planes: &[f32], guide: &[f32]) -> Result<Vec<f32>, PluginError> {
        let Some(inverse) = &self.unmollify else { return Ok(planes.to_vec()) };
        let mut out = self.on_patch(inverse, planes)?;
        if let Some(scale) = self.consistency {
            self.project(&mut out, guide, scale)?;
        }
        Ok(out)
    }

    /// x ← x + guide − lowres_guide(x), clamped: x downscaled and evaluated back then
    /// equals the guide (up to the clamp and the patch edges).
    fn project(&self, x0: &mut [f32], guide: &[f32], scale: f64) -> Result<(), PluginError> {
        let seen = lowres_guide(x0, self.side, scale)?;
        for ((v, g), s) in x0.iter_mut().zip(guide).zip(seen) {
            *v = (*v + g - s).clamp(-1.0, 1.0);
        }
        Ok(())
    }

    /// `op` on 3 planes as a raster of its own, `side × side`.
    fn on_patch(&self, op: &OperatorBox, planes: &[f32]) -> Result<Vec<f32>, PluginError> {
        let raster = RasterInfo::new(self.side, self.side, 3);
        let mut out = vec![0f32; planes.len()];
        let input = FieldRef::new(raster, raster.bounds(), planes)?;
        op.process(input, FieldMut::new(raster, raster.bounds(), &mut out)?).into_result()?;
        Ok(out)
    }
}
