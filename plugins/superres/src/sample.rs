//! Sampling a batch of super-resolution patches with the model: the guide and the
//! latents in, a chain of the chosen sampler ([`PatchChain`]), the Wiener inverse out
//! (docs/reference.md §5.2, §6).

use infty_kit::guide::{from_residual, to_residual};
use infty_kit::patches::{ChainSetup, PatchChain};
use infty_kit::resample::{area, lowres_guide};
use infty_sdk::{ModelBox, ModelInfo, ModelInput, PluginError, Points, RasterInfo, Step};

/// Everything one patch size needs: the model and the chain set up for it.
pub struct PatchSampler {
    model: ModelBox,
    info: ModelInfo,
    chain: PatchChain,
    /// Output pixels per input pixel, when each step's x̂0 is pulled towards the input.
    consistency: Option<f64>,
    /// Samples averaged per patch.
    samples: u32,
    /// k of a model that diffuses k·(x − guide) ([`ModelInfo::residual_scale`]).
    residual: Option<f32>,
    /// The patch side in output pixels.
    pub side: u32,
}

/// One patch to sample: where it lies and its guide (3 planes in [−1, 1], `side²`).
pub struct Patch {
    pub origin: (u32, u32),
    pub guide: Vec<f32>,
}

impl PatchSampler {
    /// Sampling on patches of `setup.side` output pixels, the mean of `samples` samples
    /// each; `consistency` is the scale when each step's x̂0 is to agree with the input.
    pub fn new(
        model: ModelBox,
        setup: ChainSetup<'_>,
        samples: u32,
        consistency: Option<f64>,
    ) -> Result<PatchSampler, PluginError> {
        let info = model.info();
        let side = setup.side;
        let chain = PatchChain::new(&info, setup)?;
        let residual = info.residual_scale();
        Ok(PatchSampler { model, info, chain, consistency, samples: samples.max(1), residual, side })
    }

    /// The output of `patches` (3 planes each, in [−1, 1]), noise keyed on `raster`.
    pub fn sample(&self, patches: &[Patch], raster: RasterInfo) -> Result<Vec<Vec<f32>>, PluginError> {
        let batch = patches.len() as u32;
        let z = self.encode(patches)?;
        let guide: Vec<f32> = if self.info.guide_channels == 0 {
            Vec::new()
        } else {
            patches.iter().flat_map(|p| p.guide.iter().copied()).collect()
        };
        let mollified_guides =
            patches.iter().map(|p| self.chain.mollify(&p.guide)).collect::<Result<Vec<_>, _>>()?;
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
            Ok(eps.into())
        };
        let origins: Vec<(u32, u32)> = patches.iter().map(|p| p.origin).collect();
        // Each chain starts from its guide: the image, or a residual of zero.
        let starts = match self.residual {
            Some(_) => vec![0.0; patches.iter().map(|p| p.guide.len()).sum()],
            None => mollified_guides.concat(),
        };
        // The mean of independent samples (noise draws 0, 1, …): towards the posterior
        // mean E[x | input] as they grow, the output of least squared error.
        let mut mean: Vec<Vec<f32>> = Vec::new();
        for draw in 0..self.samples {
            let x = self.chain.run(&origins, raster, &starts, &vec![draw; origins.len()], &denoise)?;
            let per_patch = x.len() / patches.len();
            let items = x.chunks_exact(per_patch).zip(patches).zip(&mollified_guides);
            for (i, ((planes, patch), mollified_guide)) in items.enumerate() {
                let sample = self.finish(planes, &patch.guide, mollified_guide)?;
                match mean.get_mut(i) {
                    Some(sum) => sum.iter_mut().zip(&sample).for_each(|(s, v)| *s += v),
                    None => mean.push(sample),
                }
            }
        }
        let n = self.samples as f32;
        mean.iter_mut().flatten().for_each(|v| *v /= n);
        Ok(mean)
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
        self.chain.schedule.predict_x0(index, x, eps, &mut x0);
        for (x0, guide) in x0.chunks_exact_mut(x.len() / mollified_guides.len()).zip(mollified_guides) {
            let mut image = self.to_image(x0.to_vec(), guide);
            self.project(&mut image, guide, scale)?;
            match self.residual {
                Some(k) => x0.copy_from_slice(&to_residual(&image, guide, k)),
                None => x0.copy_from_slice(&image),
            }
        }
        self.chain.schedule.eps_from_x0(index, x, &x0, eps);
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

    /// The sample of one patch: unmollified unless kept mollified, then (with the
    /// consistency pull) back-projected once more, which also restores the low
    /// frequencies the Wiener inverse damps by 1/(1 + inv-snr²).
    fn finish(
        &self,
        planes: &[f32],
        guide: &[f32],
        mollified_guide: &[f32],
    ) -> Result<Vec<f32>, PluginError> {
        let Some(unmollified) = self.chain.unmollify(planes)? else {
            return Ok(self.to_image(planes.to_vec(), mollified_guide));
        };
        let mut out = self.to_image(unmollified, guide);
        if let Some(scale) = self.consistency {
            self.project(&mut out, guide, scale)?;
        }
        Ok(out)
    }

    /// The image a diffused sample stands for: itself, or `guide` plus a residual.
    fn to_image(&self, diffused: Vec<f32>, guide: &[f32]) -> Vec<f32> {
        match self.residual {
            Some(k) => from_residual(&diffused, guide, k),
            None => diffused,
        }
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
}
