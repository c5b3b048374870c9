//! The prior's data (docs/reference.md §3.4): the decoder's encoder on random crops of
//! every image and on their mirrors, as the decoder was trained on crops, cached in the
//! run folder as `latents.safetensors` so a resumed run does not encode again.

use std::collections::HashMap;
use std::path::Path;

use infty_sdk::{ModelBox, PluginError, Points};
use rand::Rng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::data::Image;
use crate::rng::{rng, Purpose};

/// Crops per model call.
const CHUNK: usize = 16;

/// Latents, `rows × channels`.
pub struct Latents {
    pub channels: usize,
    pub values: Vec<f32>,
}

impl Latents {
    pub fn rows(&self) -> usize {
        self.values.len() / self.channels.max(1)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.channels..(i + 1) * self.channels]
    }
}

/// The encoder's z of `per_image` random crops of each image and of their mirrors, in
/// a fixed order drawn from `seed` (`stream` keeps the training and held-out images'
/// draws apart). `each` is told the images done.
pub fn encode_images(
    encoder: &ModelBox,
    images: &[Image],
    per_image: u32,
    seed: u64,
    stream: u64,
    mut each: impl FnMut(usize) -> Result<(), PluginError>,
) -> Result<Latents, PluginError> {
    let info = encoder.info();
    let (size, channels) = (info.train_size, info.z_dim as usize);
    let mut values = Vec::with_capacity(images.len() * 2 * per_image as usize * channels);
    for (i, image) in images.iter().enumerate() {
        let mut r = rng(seed, Purpose::Latents, (stream << 32) + i as u64);
        let mut crops = Vec::with_capacity(2 * per_image as usize);
        for _ in 0..per_image {
            let (x, y) = (r.gen_range(0..=image.width - size), r.gen_range(0..=image.height - size));
            for flip in [false, true] {
                crops.push(image.crop(x, y, size, flip)?);
            }
        }
        for chunk in crops.chunks(CHUNK) {
            let x: Vec<f32> = chunk.iter().flatten().map(|v| v * 2.0 - 1.0).collect();
            let mut z = vec![0f32; chunk.len() * channels];
            let at = Points::dense(size, chunk.len() as u32);
            encoder.encode(at, x.as_slice().into(), z.as_mut_slice().into()).into_result()?;
            values.extend(z);
        }
        each(i + 1)?;
    }
    Ok(Latents { channels, values })
}

/// Writes the training and held-out latents to `path`.
pub fn save(path: &Path, train: &Latents, val: &Latents) -> Result<(), PluginError> {
    let failed =
        |e: &dyn std::fmt::Display| PluginError::failed(format!("cannot write {}: {e}", path.display()));
    let bytes = |l: &Latents| l.values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let (train_bytes, val_bytes) = (bytes(train), bytes(val));
    let views = [
        ("train", TensorView::new(Dtype::F32, vec![train.rows(), train.channels], &train_bytes)),
        ("val", TensorView::new(Dtype::F32, vec![val.rows(), val.channels], &val_bytes)),
    ]
    .into_iter()
    .map(|(name, view)| view.map(|v| (name, v)))
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| failed(&e))?;
    let partial = path.with_extension("part");
    safetensors::serialize_to_file(views, None::<HashMap<String, String>>, &partial)
        .map_err(|e| failed(&e))?;
    // safetensors creates its file readable by its owner only; a run folder is shared.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o644)).map_err(|e| failed(&e))?;
    }
    std::fs::rename(&partial, path).map_err(|e| failed(&e))
}

/// Reads the training and held-out latents from `path`.
pub fn load(path: &Path) -> Result<(Latents, Latents), PluginError> {
    let bad = |e: &dyn std::fmt::Display| {
        PluginError::invalid_input(format!("{}: {e}", path.display()))
            .with_help("delete it and start the run again to encode the images anew")
    };
    let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| bad(&e))?;
    let read = |name: &str| -> Result<Latents, PluginError> {
        let view = file.tensor(name).map_err(|e| bad(&e))?;
        if view.dtype() != Dtype::F32 || view.shape().len() != 2 {
            return Err(bad(&format!("tensor {name} is not a float32 matrix")));
        }
        let values =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(Latents { channels: view.shape()[1], values })
    };
    Ok((read("train")?, read("val")?))
}
