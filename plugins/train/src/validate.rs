//! Held-out loss: fixed crops of the held-out images, each noised once in every
//! timestep band and scored at every pixel, beside the loss of predicting zero,
//! E‖Tξ‖² per sample (about 0.081 at σ = 1 px).

use infty_sdk::{GuideKind, ModelBox, ModelInput, PluginError, Point, Points};
use rand::Rng;

use crate::batch::visible;
use crate::data::Image;
use crate::diffusion::{Diffusion, Noised};
use crate::rng::{rng, Purpose};

/// Timestep bands reported: [0, 100), [100, 200), … for 1000 steps.
pub const BANDS: usize = 10;
/// Crops per model call.
const CHUNK: usize = 8;
/// Validation noise streams start here, after the crop streams.
const NOISE_STREAMS: u64 = 1 << 32;

/// Mean squared error per band, of the model and of predicting zero.
#[derive(Clone, Debug, PartialEq)]
pub struct BandLosses {
    pub model: Vec<f64>,
    pub zero: Vec<f64>,
}

impl BandLosses {
    /// The model's loss averaged over timesteps.
    pub fn mean(&self) -> f64 {
        self.model.iter().sum::<f64>() / self.model.len() as f64
    }

    /// Predicting zero, averaged over timesteps.
    pub fn zero_mean(&self) -> f64 {
        self.zero.iter().sum::<f64>() / self.zero.len() as f64
    }
}

/// The fixed held-out crops of a run.
pub struct HeldOut {
    crops: Vec<Vec<f32>>,
    seed: u64,
}

impl HeldOut {
    /// `count` crops of side `size`, taken in turn from `images` at seeded positions.
    pub fn new(images: &[Image], count: u32, size: u32, seed: u64) -> Result<Self, PluginError> {
        let mut crops = Vec::new();
        for i in 0..if images.is_empty() { 0 } else { count as usize } {
            let image = &images[i % images.len()];
            let mut r = rng(seed, Purpose::Validation, i as u64);
            let x = r.gen_range(0..=image.width - size);
            let y = r.gen_range(0..=image.height - size);
            crops.push(image.crop(x, y, size, false)?);
        }
        Ok(Self { crops, seed })
    }

    pub fn is_empty(&self) -> bool {
        self.crops.is_empty()
    }

    /// Scores `model` on every crop in every band. Each crop is encoded once, whole; for
    /// a mask-guided model, once per band from the known pixels of that band's mask.
    pub fn evaluate(&self, model: &ModelBox, diffusion: &Diffusion) -> Result<BandLosses, PluginError> {
        let steps = diffusion.alphas_cumprod.len();
        let width = steps / BANDS;
        let mut losses = BandLosses { model: vec![0.0; BANDS], zero: vec![0.0; BANDS] };
        let masked = matches!(diffusion.guide, GuideKind::Mask | GuideKind::Fill);
        for (chunk_index, chunk) in self.crops.chunks(CHUNK).enumerate() {
            let clean_z = if masked { Vec::new() } else { encode(model, diffusion.size, chunk)? };
            for band in 0..BANDS {
                let mut noised = Vec::new();
                for (j, crop) in chunk.iter().enumerate() {
                    let i = (chunk_index * CHUNK + j) as u64;
                    let mut r =
                        rng(self.seed, Purpose::Validation, NOISE_STREAMS + i * BANDS as u64 + band as u64);
                    let t = (band * width + r.gen_range(0..width)) as u32;
                    noised.push(diffusion.noise(crop, t, &mut r)?);
                }
                let known_z;
                let z = if masked {
                    known_z = encode_known(model, diffusion.size, &noised)?;
                    &known_z
                } else {
                    &clean_z
                };
                let (model_sum, zero_sum) = score(model, diffusion.size, &noised, z)?;
                losses.model[band] += model_sum / self.crops.len() as f64;
                losses.zero[band] += zero_sum / self.crops.len() as f64;
            }
        }
        Ok(losses)
    }
}

/// The latents of clean crops (RGB in [0, 1]) from the encoder on every pixel, as the
/// reference samples (§3.3 step 11).
fn encode(model: &ModelBox, size: u32, crops: &[Vec<f32>]) -> Result<Vec<f32>, PluginError> {
    let x0: Vec<f32> = crops.iter().flatten().map(|v| v * 2.0 - 1.0).collect();
    let mut z = vec![0f32; crops.len() * model.info().z_dim as usize];
    let at = Points::dense(size, crops.len() as u32);
    model.encode(at, x0.as_slice().into(), z.as_mut_slice().into()).into_result()?;
    Ok(z)
}

/// The latents of noised items from the encoder on their known pixels only, as
/// `infty inpaint` encodes (and training, [`crate::batch`]); one call per item, as the
/// counts differ.
fn encode_known(model: &ModelBox, size: u32, items: &[Noised]) -> Result<Vec<f32>, PluginError> {
    let z_dim = model.info().z_dim as usize;
    let mut z = vec![0f32; items.len() * z_dim];
    for (item, z) in items.iter().zip(z.chunks_exact_mut(z_dim)) {
        let pixels = visible(size, &item.known);
        let points: Vec<Point> = pixels.iter().map(|&i| Point { x: i % size, y: i / size }).collect();
        let plane = (size * size) as usize;
        let x0: Vec<f32> =
            item.x0.chunks_exact(plane).flat_map(|c| pixels.iter().map(|&i| c[i as usize])).collect();
        let at = Points::sparse(size, 1, &points);
        model.encode(at, x0.as_slice().into(), z.into()).into_result()?;
    }
    Ok(z)
}

/// Summed per-item MSE of the model's ε̂ and of zero against Tξ, at every pixel.
fn score(model: &ModelBox, size: u32, items: &[Noised], z: &[f32]) -> Result<(f64, f64), PluginError> {
    let at = Points::dense(size, items.len() as u32);
    let concat =
        |f: fn(&Noised) -> &Vec<f32>| items.iter().flat_map(|n| f(n).iter().copied()).collect::<Vec<_>>();
    let (x_t, noise, guide) = (concat(|n| &n.x_t), concat(|n| &n.noise), concat(|n| &n.guide));
    let t: Vec<f32> = items.iter().map(|n| n.t as f32).collect();
    let input = ModelInput {
        at,
        x: x_t.as_slice().into(),
        guide: guide.as_slice().into(),
        t: t.as_slice().into(),
        z: z.into(),
    };
    let mut eps = vec![0f32; x_t.len()];
    model.denoise(input, eps.as_mut_slice().into()).into_result()?;
    let per_item = x_t.len() / items.len();
    let mut sums = (0.0, 0.0);
    for (e, y) in eps.chunks(per_item).zip(noise.chunks(per_item)) {
        sums.0 += e.iter().zip(y).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>() / per_item as f64;
        sums.1 += y.iter().map(|b| f64::from(*b).powi(2)).sum::<f64>() / per_item as f64;
    }
    Ok(sums)
}
