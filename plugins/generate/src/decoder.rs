//! The decoder's side of generation (docs/reference.md §5.3 step 3, §6): the chain on
//! every pixel of an S×S raster for a batch of latents, with σ and the starting noise
//! scaled to S, the Wiener inverse at the end; and the encoder's z of an image for
//! `--z-from`.

use std::path::Path;

use infty_kit::patches::{colour_planes, rgb_model, ChainSetup, PatchChain};
use infty_kit::resample::area;
use infty_sdk::{FieldMut, ModelBox, ModelInfo, ModelInput, PluginError, Points, RasterInfo, Step};

use crate::settings::Settings;

/// The decoder and its chain at one output size.
pub struct Decoder {
    model: ModelBox,
    /// Its shapes and diffusion.
    pub info: ModelInfo,
    chain: PatchChain,
    /// The side of every sample.
    pub side: u32,
}

impl Decoder {
    /// The decoder at `path`, its chain set up for samples of `side` pixels.
    pub fn open(path: &Path, side: Option<u32>, settings: &Settings) -> Result<Decoder, PluginError> {
        let (model, info) = rgb_model(path, &settings.device, &settings.precision, "sample")?;
        if info.z_dim == 0 {
            return Err(PluginError::invalid_param(
                "model",
                "this model takes no latent z, so nothing can generate with it",
            ));
        }
        if info.guide_channels != 0 {
            return Err(PluginError::invalid_param(
                "model",
                "this model reads a guide field (it was trained for a task such as upscaling), which generation has none of",
            )
            .with_help("give a model trained without --guide"));
        }
        let side = side.unwrap_or(info.train_size);
        // A batch never holds more samples than the run makes.
        let batch = settings.batch.min(settings.count);
        crate::memory::check(&info, side, batch, settings.memory)?;
        let setup = ChainSetup {
            side,
            sampler: &settings.sampler,
            steps: &settings.steps,
            seed: settings.seed,
            inv_snr: (!settings.keep_mollified).then_some(settings.inv_snr),
            strength: 1.0,
        };
        let chain = PatchChain::new(&info, setup)?;
        Ok(Decoder { model, info, chain, side })
    }

    /// Model calls per chain.
    pub fn steps(&self) -> usize {
        self.chain.steps().len()
    }

    /// The samples of latents `z` (`indices.len() × z_dim`), each as 3 planes in
    /// [−1, 1]. Sample i's noise is keyed by (seed, i) alone. `each_step` runs after
    /// every step (progress, cancellation).
    pub fn sample(
        &self,
        z: &[f32],
        indices: &[u32],
        mut each_step: impl FnMut() -> Result<(), PluginError>,
    ) -> Result<Vec<Vec<f32>>, PluginError> {
        let batch = indices.len() as u32;
        let denoise = |step: &Step, x: &[f32]| {
            let t = vec![step.model_t; batch as usize];
            let input = ModelInput {
                at: Points::dense(self.side, batch),
                x: x.into(),
                guide: Default::default(),
                t: t.as_slice().into(),
                z: z.into(),
            };
            let mut eps = vec![0f32; x.len()];
            self.model.denoise(input, eps.as_mut_slice().into()).into_result()?;
            each_step()?;
            Ok(eps.into())
        };
        // Each sample is one patch covering its own raster, its noise drawn as draw i.
        let raster = RasterInfo::new(self.side, self.side, 3);
        let origins = vec![(0, 0); indices.len()];
        let x = self.chain.run(&origins, raster, &[], indices, denoise)?;
        x.chunks_exact(x.len() / indices.len())
            .map(|planes| {
                let mut out = self.chain.unmollify(planes)?.unwrap_or_else(|| planes.to_vec());
                out.iter_mut().for_each(|v| *v = v.clamp(-1.0, 1.0));
                Ok(out)
            })
            .collect()
    }

    /// The encoder's z of the image at `path`: its largest centred square, area-reduced
    /// to the model's training size (the size its encoder was trained on).
    pub fn encode_image(&self, path: &str) -> Result<Vec<f32>, PluginError> {
        let image = infty_sdk::host::open_image(path).map_err(|e| e.with_param("z-from"))?;
        let info = image.info();
        let (size, side) = (self.info.train_size, info.width.min(info.height));
        if side < size {
            return Err(PluginError::invalid_param(
                "z-from",
                format!("{path} is {}x{}; the encoder reads {size}x{size} pixels, so it must be at least that large", info.width, info.height),
            ));
        }
        let window = infty_sdk::Window::new(
            i64::from((info.width - side) / 2),
            i64::from((info.height - side) / 2),
            side,
            side,
        );
        let mut planes = vec![0f32; info.channels as usize * (side * side) as usize];
        image.read(window, FieldMut::new(info, window, &mut planes)?).into_result()?;
        let rgb = colour_planes(&planes, info.channels as usize, (side * side) as usize);
        let x = area(&rgb, side as usize, side as usize, size as usize, size as usize);
        let mut z = vec![0f32; self.info.z_dim as usize];
        self.model
            .encode(Points::dense(size, 1), x.as_slice().into(), z.as_mut_slice().into())
            .into_result()?;
        Ok(z)
    }
}
