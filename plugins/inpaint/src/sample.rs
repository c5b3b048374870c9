//! Sampling a batch of inpainting patches: z from the encoder on the known pixels
//! only, the mask guide for a mask-guided model, and reconstruction guidance through
//! the model's vector-Jacobian product at every step (∞-Diff §6, docs/reference.md §6):
//! `x_{t−1} ← x_{t−1} − λ_t ∇_{x_t} ‖m ⊙ (μ̃0(x_t, t) − T x̄)‖²`.

use infty_kit::guide::{fill_guide, from_residual, mask_guide};
use infty_kit::patches::{ChainSetup, PatchChain};
use infty_sdk::{Denoised, ModelBox, ModelInfo, ModelInput, PluginError, Point, Points, RasterInfo, Step};

/// What a model's guide channels get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideUse {
    /// The model has no guide.
    None,
    /// The known pixels, holes 0, and the mask (`infty train --guide mask`).
    Known,
    /// The known pixels with the holes filled, and the mask (`infty train --guide fill`).
    Filled,
    /// A mask-guided model told nothing is known: it samples from z and guidance alone.
    Blind,
}

pub struct InpaintSampler {
    model: ModelBox,
    info: ModelInfo,
    chain: PatchChain,
    guide: GuideUse,
    /// λ of the reconstruction guidance, and whether λ_t = λ·ᾱ_t/2 (else λ).
    guidance: f64,
    by_alpha: bool,
    /// 1 + inv-snr²: the Wiener inverse's loss at zero frequency, given back.
    dc_gain: f32,
    /// Samples averaged per patch.
    samples: u32,
    /// k of a model that diffuses k·(x − filled start) ([`ModelInfo::residual_scale`]).
    residual: Option<f32>,
    /// The patch side in pixels.
    pub side: u32,
}

/// One patch to fill.
pub struct Patch {
    pub origin: (u32, u32),
    /// 3 planes in [−1, 1], `side²`: the known pixels, holes filled (x̄ and the start).
    pub start: Vec<f32>,
    /// 1 where the pixel is known, 0 in the holes, `side²`.
    pub known: Vec<f32>,
}

impl InpaintSampler {
    pub fn new(
        model: ModelBox,
        setup: ChainSetup<'_>,
        guide: GuideUse,
        (guidance, by_alpha): (f64, bool),
        samples: u32,
    ) -> Result<InpaintSampler, PluginError> {
        let info = model.info();
        let side = setup.side;
        let dc_gain = 1.0 + setup.inv_snr.map_or(0.0, |e| e * e) as f32;
        let chain = PatchChain::new(&info, setup)?;
        let residual = info.residual_scale();
        Ok(InpaintSampler { model, info, chain, guide, guidance, by_alpha, dc_gain, samples, residual, side })
    }

    /// The filled patches (3 planes each, in [−1, 1], unmollified), noise keyed on `raster`.
    pub fn sample(&self, patches: &[Patch], raster: RasterInfo) -> Result<Vec<Vec<f32>>, PluginError> {
        let batch = patches.len();
        let area = (self.side * self.side) as usize;
        let z = self.encode(patches)?;
        let guide: Vec<f32> = match self.guide {
            GuideUse::None => Vec::new(),
            GuideUse::Known => patches.iter().flat_map(|p| mask_guide(&p.start, &p.known)).collect(),
            GuideUse::Filled => patches.iter().flat_map(|p| fill_guide(&p.start, &p.known)).collect(),
            GuideUse::Blind => vec![0.0; batch * 4 * area],
        };
        // T x̄, the target of the guidance and (noised) the chain's start; for a residual
        // model T·k(x̄ − x̄) = 0, as x̄ is the filled start.
        let targets = match self.residual {
            Some(_) => vec![0.0; 3 * area * batch],
            None => {
                patches.iter().map(|p| self.chain.mollify(&p.start)).collect::<Result<Vec<_>, _>>()?.concat()
            }
        };
        let mask: Vec<f32> = patches.iter().flat_map(|p| p.known.repeat(3)).collect();
        let mut denoise = |step: &Step, x: &[f32]| {
            let t = vec![step.model_t; batch];
            let input = ModelInput {
                at: Points::dense(self.side, batch as u32),
                x: x.into(),
                guide: guide.as_slice().into(),
                t: t.as_slice().into(),
                z: z.as_slice().into(),
            };
            let mut eps = vec![0f32; x.len()];
            self.model.denoise(input, eps.as_mut_slice().into()).into_result()?;
            let shift = if self.guidance > 0.0 {
                self.guidance_shift(step, input, x, &eps, &targets, &mask)?
            } else {
                Vec::new()
            };
            Ok(Denoised { eps, shift })
        };
        let origins: Vec<(u32, u32)> = patches.iter().map(|p| p.origin).collect();
        // Several samples average to an estimate of the posterior mean.
        let mut x = vec![0f32; targets.len()];
        for draw in 0..self.samples {
            let sample =
                self.chain.run(&origins, raster, &targets, &vec![draw; origins.len()], &mut denoise)?;
            x.iter_mut().zip(sample).for_each(|(x, s)| *x += s / self.samples as f32);
        }
        // Only the chain's change to the start, x − T x̄, goes through the Wiener inverse;
        // x̄ itself passes exactly, as the inverse of T x̄ would lose its finest detail.
        // The inverse T/(T² + ε²) keeps 1/(1 + ε²) of a flat change; the fill must meet
        // the known pixels at their level, so its gain at zero frequency is made 1. A
        // residual model's change is k times the image's.
        let gain = self.dc_gain / self.residual.unwrap_or(1.0);
        let chunk = 3 * area;
        x.chunks_exact(chunk)
            .zip(targets.chunks_exact(chunk))
            .zip(patches)
            .map(|((planes, target), patch)| {
                let change: Vec<f32> = planes.iter().zip(target).map(|(x, t)| x - t).collect();
                Ok(match self.chain.unmollify(&change)? {
                    Some(change) => patch.start.iter().zip(change).map(|(s, c)| s + c * gain).collect(),
                    None => match self.residual {
                        Some(k) => from_residual(planes, &self.chain.mollify(&patch.start)?, k),
                        None => planes.to_vec(),
                    },
                })
            })
            .collect()
    }

    /// λ_t ∇_{x_t} ‖m ⊙ (x̂0 − T x̄)‖², with x̂0 = (x_t − √(1−ᾱ) ε̂(x_t))/√ᾱ:
    /// ∇ = (v − √(1−ᾱ) J_ε̂ᵀ v)/√ᾱ for v = 2 m ⊙ (x̂0 − T x̄), J_ε̂ᵀ v from the model's VJP.
    /// By default λ_t = λ·ᾱ/2, so λ = 1 moves the known pixels of x̂0 onto T x̄ in one
    /// step, to first order (the step's x_{t−1} carries x̂0 times about √ᾱ); a constant
    /// λ overshoots by about 1/ᾱ at the noisy end of the chain.
    fn guidance_shift(
        &self,
        step: &Step,
        input: ModelInput<'_>,
        x: &[f32],
        eps: &[f32],
        targets: &[f32],
        mask: &[f32],
    ) -> Result<Vec<f32>, PluginError> {
        let index = step.index as usize;
        let schedule = &self.chain.schedule;
        let mut x0 = vec![0f32; x.len()];
        schedule.predict_x0(index, x, eps, &mut x0);
        let cotangent: Vec<f32> =
            x0.iter().zip(targets).zip(mask).map(|((x0, target), m)| 2.0 * m * (x0 - target)).collect();
        let (mut again, mut vjp) = (vec![0f32; x.len()], vec![0f32; x.len()]);
        self.model
            .denoise_vjp(
                input,
                cotangent.as_slice().into(),
                again.as_mut_slice().into(),
                vjp.as_mut_slice().into(),
            )
            .into_result()?;
        let ab = schedule.schedule.alphas_cumprod[index];
        let lambda = if self.by_alpha { self.guidance * ab / 2.0 } else { self.guidance } as f32;
        let (root_ab, root_1m) = (ab.sqrt() as f32, (1.0 - ab).sqrt() as f32);
        Ok(cotangent.iter().zip(&vjp).map(|(v, j)| lambda * (v - root_1m * j) / root_ab).collect())
    }

    /// z of each patch from the encoder on its known pixels only; a patch with none is
    /// encoded from its whole start (the smooth fill).
    fn encode(&self, patches: &[Patch]) -> Result<Vec<f32>, PluginError> {
        let z_dim = self.info.z_dim as usize;
        let mut z = vec![0f32; patches.len() * z_dim];
        for (patch, z) in patches.iter().zip(z.chunks_exact_mut(z_dim)) {
            let side = self.side;
            let points: Vec<Point> = (0..side * side)
                .filter(|&i| patch.known[i as usize] > 0.0)
                .map(|i| Point { x: i % side, y: i / side })
                .collect();
            if points.is_empty() {
                let at = Points::dense(side, 1);
                self.model.encode(at, patch.start.as_slice().into(), z.into()).into_result()?;
            } else {
                let area = (side * side) as usize;
                let values: Vec<f32> = (0..3)
                    .flat_map(|c| points.iter().map(move |p| (c, p)))
                    .map(|(c, p)| patch.start[c * area + (p.y * side + p.x) as usize])
                    .collect();
                let at = Points::sparse(side, 1, &points);
                self.model.encode(at, values.as_slice().into(), z.into()).into_result()?;
            }
        }
        Ok(z)
    }
}
