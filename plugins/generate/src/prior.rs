//! z from the latent prior (docs/reference.md §5.3, steps 1–2): a chain of the latent
//! sampler over vectors of the decoder's z size, started from white noise, then mapped
//! back from the prior's normalised space with `z·std + mean`.

use std::path::Path;

use infty_kit::latents::Normalisation;
use infty_sdk::noise::NoiseKey;
use infty_sdk::sampler::{run_chain, START_NOISE_STREAM};
use infty_sdk::{ModelBox, ModelInput, PluginError, Points, RasterInfo, SamplerBox, Step};

/// The prior, its latents' normalisation and the sampler that runs it.
pub struct Prior {
    model: ModelBox,
    norm: Normalisation,
    sampler: SamplerBox,
    channels: u32,
}

impl Prior {
    /// The prior at `path`, refused unless its vectors are the decoder's z (`z_dim`).
    pub fn open(
        path: &Path,
        z_dim: u32,
        device: &str,
        sampler: &str,
        steps: &str,
    ) -> Result<Prior, PluginError> {
        let shown = path.display().to_string();
        let model = infty_sdk::host::model("latent", &[("checkpoint", shown.as_str()), ("device", device)])
            .map_err(|e| e.with_param("prior"))?;
        let info = model.info();
        if info.channels != z_dim {
            return Err(PluginError::invalid_param(
                "prior",
                format!(
                    "'{shown}' models latents of {} dimensions; the decoder's z has {z_dim}",
                    info.channels
                ),
            )
            .with_help("give the prior trained on this decoder's latents (infty train-latent)"));
        }
        let config: serde_json::Value = serde_json::from_str(&info.config_json)
            .map_err(|e| PluginError::invalid_param("prior", format!("its config is not JSON: {e}")))?;
        let norm: Normalisation = serde_json::from_value(config["normalisation"].clone()).map_err(|e| {
            PluginError::invalid_param("prior", format!("'{shown}' has no usable normalisation: {e}"))
        })?;
        norm.validate(z_dim as usize).map_err(|e| PluginError::invalid_param("prior", e))?;
        let (train_steps, schedule) = (info.diffusion_steps.to_string(), info.noise_schedule.to_string());
        // The reference samples z unclipped (clip_denoised=False): latents are not in [−1, 1].
        let common = [
            ("steps", steps),
            ("schedule", schedule.as_str()),
            ("train-steps", train_steps.as_str()),
            ("no-clip", "true"),
        ];
        // The sampler names its own parameter; ours are --latent-sampler and --latent-steps.
        let sampler =
            infty_sdk::host::sampler(sampler, &common).map_err(|e| match e.param.as_ref().into_option() {
                None => e.with_param("latent-sampler"),
                Some(p) if p.as_str() == "steps" => e.with_param("latent-steps"),
                Some(_) => e,
            })?;
        Ok(Prior { model, norm, sampler, channels: z_dim })
    }

    /// Model calls per chain.
    pub fn steps(&self) -> usize {
        self.sampler.steps().len()
    }

    /// The latents of samples `indices`, `indices.len() × z_dim`. Sample i's noise is
    /// keyed by (seed, i) alone, so it does not depend on the batch it is drawn in.
    /// `each_step` runs after every step (progress, cancellation).
    pub fn sample(
        &self,
        indices: &[u32],
        seed: u64,
        mut each_step: impl FnMut() -> Result<(), PluginError>,
    ) -> Result<Vec<f32>, PluginError> {
        let batch = indices.len() as u32;
        let noise = |stream: u32| -> Vec<f32> {
            let key = NoiseKey::new(seed, stream, RasterInfo::new(self.channels, 1, 1));
            indices.iter().flat_map(|&i| (0..self.channels).map(move |d| key.gaussian(d, i, 0))).collect()
        };
        let state = self.sampler.start(noise(START_NOISE_STREAM).as_slice().into());
        let denoise = |step: &Step, x: &[f32]| {
            let t = vec![step.model_t; batch as usize];
            let input = ModelInput {
                at: Points::dense(1, batch),
                x: x.into(),
                guide: Default::default(),
                t: t.as_slice().into(),
                z: Default::default(),
            };
            let mut eps = vec![0f32; x.len()];
            self.model.denoise(input, eps.as_mut_slice().into()).into_result()?;
            each_step()?;
            Ok(eps.into())
        };
        let steps = self.sampler.steps();
        let mut z = run_chain(&self.sampler, &steps, state, denoise, |step| Ok(noise(step.noise_stream())))?;
        self.norm.denormalise(&mut z);
        Ok(z)
    }
}
