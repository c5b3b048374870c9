//! The sampler chain on a batch of patches (docs/reference.md §5.2): T and its Wiener
//! inverse on each patch as its own raster, white noise keyed by image coordinates,
//! and a start at any fraction of the schedule.
//!
//! A patch is sampled on its own raster of `side` pixels, as the model saw its
//! training crops: T mirrors at the patch edges, as the reference's DCT does on a crop.
//! The white noise under T is keyed by image coordinates, so neighbouring patches see
//! the same noise where they overlap.

use infty_sdk::noise::NoiseKey;
use infty_sdk::sampler::{run_chain, SamplerSetup, START_NOISE_STREAM};
use infty_sdk::{
    Denoised, FieldMut, FieldRef, ItemSpec, ModelInfo, OperatorBox, PluginError, RasterInfo, SamplerBox, Step,
};

/// A sampler set up for one patch size, with T and its inverse at the patch's σ.
pub struct PatchChain {
    sampler: SamplerBox,
    /// The sampler's schedule, for the x̂0 of each step.
    pub schedule: SamplerSetup,
    /// The patch side in image pixels.
    pub side: u32,
    /// The chain starts at the last step at or below this timestep.
    start_t: f64,
    mollify: OperatorBox,
    unmollify: Option<OperatorBox>,
    seed: u64,
}

/// How a [`PatchChain`] is set up.
pub struct ChainSetup<'a> {
    /// The patch side in image pixels.
    pub side: u32,
    /// The sampler's name and its `--steps`.
    pub sampler: &'a str,
    /// The sampler's `--steps` (a count or a spacing).
    pub steps: &'a str,
    /// The seed of every noise draw.
    pub seed: u64,
    /// The Wiener inverse's 1/SNR; `None` keeps the output mollified.
    pub inv_snr: Option<f64>,
    /// The fraction of the schedule the chain runs, from its start noised that far.
    pub strength: f64,
}

impl PatchChain {
    /// Sampling on patches of `setup.side` pixels with a model described by `info`. At
    /// a side other than the model's training size, σ and the noise scale follow the
    /// reference's change of resolution: σ·S'/S and `noise_mul` = S'/S
    /// (docs/reference.md §2.3).
    pub fn new(info: &ModelInfo, setup: ChainSetup<'_>) -> Result<PatchChain, PluginError> {
        let ratio = f64::from(setup.side) / f64::from(info.train_size);
        let sigma = (info.mollifier_sigma * ratio).to_string();
        let (train_steps, size, noise_mul) =
            (info.diffusion_steps.to_string(), info.train_size.to_string(), ratio.to_string());
        // x̂0 is clamped to [−1, 1] as an image; a residual model's x̂0 is k·(x − guide),
        // which that range does not bound (the tasks clamp the image they return).
        let no_clip = if info.residual_scale().is_some() { "true" } else { "false" };
        let common = [
            ("steps", setup.steps),
            ("schedule", info.noise_schedule.as_str()),
            ("train-steps", &train_steps),
            ("schedule-resolution", &size),
            ("noise-mul", &noise_mul),
            ("no-clip", no_clip),
        ];
        // A bad --steps is named by the sampler; an unknown sampler is ours to name.
        let sampler = infty_sdk::host::sampler(setup.sampler, &common).map_err(|e| {
            if e.param.is_some() {
                e
            } else {
                e.with_param("sampler")
            }
        })?;
        // The same common parameters the host resolved for the sampler give its set-up.
        let schedule = SamplerSetup::from_params(&ItemSpec::sampler(setup.sampler, "").resolve(common)?)?;
        // A σ out of range is the mollifier's to name; a missing mollifier is ours.
        let mollify = infty_sdk::host::operator("mollify", &[("sigma", &sigma)]).map_err(|e| {
            if e.param.is_some() {
                e
            } else {
                e.with_help("sampling patches needs the mollifier plugin (org.infty.mollifier)")
            }
        })?;
        let unmollify = match setup.inv_snr {
            Some(inv_snr) => Some(infty_sdk::host::operator(
                "unmollify",
                &[("sigma", &sigma), ("inv-snr", &inv_snr.to_string())],
            )?),
            None => None,
        };
        Ok(PatchChain {
            start_t: setup.strength * f64::from(info.diffusion_steps - 1),
            sampler,
            schedule,
            side: setup.side,
            mollify,
            unmollify,
            seed: setup.seed,
        })
    }

    /// The sampler's chain from its last step at or below the start timestep, whose x_t
    /// is the forward process applied to `starts` (T of each patch's start, in order):
    /// √ᾱ·T(start) + √(1−ᾱ)·noise_mul·Tξ (at the full strength, ᾱ ≈ 0: pure noise, the
    /// reference's start). Then [`run_chain`], with `denoise`'s shift subtracted after
    /// each step. The noise is keyed on `raster` at the patches' origins; a patch's
    /// `draws` entry k > 0 draws its k-th other sample (seed + k·2³²), 0 the seed's own.
    pub fn run(
        &self,
        origins: &[(u32, u32)],
        raster: RasterInfo,
        starts: &[f32],
        draws: &[u32],
        mut denoise: impl FnMut(&Step, &[f32]) -> Result<Denoised, PluginError>,
    ) -> Result<Vec<f32>, PluginError> {
        let steps = self.steps();
        let first = steps[0];
        let ab = self.schedule.schedule.alphas_cumprod[first.index as usize];
        let keys: Vec<(u64, (u32, u32))> = origins
            .iter()
            .zip(draws)
            .map(|(&origin, &draw)| (self.seed.wrapping_add(u64::from(draw) << 32), origin))
            .collect();
        let initial = self.mollified_noise(&keys, START_NOISE_STREAM, raster)?;
        let mut state = self.sampler.start(initial.as_slice().into());
        for (x, s) in state.x.iter_mut().zip(starts) {
            *x = ab.sqrt() as f32 * s + (1.0 - ab).sqrt() as f32 * *x;
        }
        run_chain(&self.sampler, &steps, state, &mut denoise, |step| {
            self.mollified_noise(&keys, step.noise_stream(), raster)
        })
    }

    /// The steps [`PatchChain::run`] takes: the sampler's from its last step at or below
    /// the start timestep (at least one).
    pub fn steps(&self) -> Vec<Step> {
        let all = self.sampler.steps();
        let steps: Vec<Step> =
            all.iter().copied().filter(|s| f64::from(s.timestep) <= self.start_t).collect();
        if steps.is_empty() {
            all.last().copied().into_iter().collect()
        } else {
            steps
        }
    }

    /// Tξ on each patch, ξ the white noise of `stream` and the patch's seed at its
    /// image pixels.
    fn mollified_noise(
        &self,
        patches: &[(u64, (u32, u32))],
        stream: u32,
        raster: RasterInfo,
    ) -> Result<Vec<f32>, PluginError> {
        let side = self.side;
        let mut out = Vec::with_capacity(patches.len() * 3 * (side * side) as usize);
        for &(seed, (ox, oy)) in patches {
            let key = NoiseKey::new(seed, stream, raster);
            let white: Vec<f32> = (0..3)
                .flat_map(|c| (0..side).flat_map(move |y| (0..side).map(move |x| (c, x, y))))
                .map(|(c, x, y)| key.gaussian(ox + x, oy + y, c))
                .collect();
            out.extend(self.mollify(&white)?);
        }
        Ok(out)
    }

    /// T on one patch's 3 planes.
    pub fn mollify(&self, planes: &[f32]) -> Result<Vec<f32>, PluginError> {
        self.on_patch(&self.mollify, planes)
    }

    /// The Wiener inverse on one patch's 3 planes; `None` when the output stays mollified.
    pub fn unmollify(&self, planes: &[f32]) -> Result<Option<Vec<f32>>, PluginError> {
        self.unmollify.as_ref().map(|inverse| self.on_patch(inverse, planes)).transpose()
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
