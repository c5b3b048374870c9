//! The network pair, decoder and encoder, in one variable store on one device.

use std::collections::BTreeMap;

use infty_sdk::PluginError;
use tch::{nn, Device, Kind, Tensor};

use crate::checkpoint::{check_names, Checkpoint};
use crate::config::NetConfig;
use crate::layers::channels_last;
use crate::sparse::Layout;
use crate::trace::Trace;
use crate::unet::{Decoder, Encoder};

/// Decoder and encoder with their weights.
pub struct Net {
    /// The configuration they were built from.
    pub cfg: NetConfig,
    /// Every weight, named `decoder.*` and `encoder.*`.
    pub vs: nn::VarStore,
    /// The diffusion decoder.
    pub decoder: Decoder,
    /// The encoder.
    pub encoder: Encoder,
}

impl Net {
    /// A freshly initialised network (PyTorch's default initialisation, seeded).
    pub fn new(cfg: &NetConfig, device: Device, seed: i64) -> Result<Self, PluginError> {
        cfg.validate().map_err(|e| PluginError::invalid_input(format!("network config: {e}")))?;
        crate::fit::check_memory(crate::shapes::bytes(&crate::shapes::net(cfg)), "building the network")?;
        crate::allocator::keep_freed_memory();
        tch::manual_seed(seed);
        let vs = nn::VarStore::new(device);
        let decoder = Decoder::new(vs.root() / "decoder", cfg);
        let encoder = Encoder::new(vs.root() / "encoder", cfg);
        // Convolution weights channels-last like the U-Net's activations, or oneDNN
        // copies each weight into that layout on every call. Loading copies into these
        // strides; saving writes them contiguous.
        tch::no_grad(|| {
            for (_, mut var) in vs.variables() {
                if var.dim() == 4 {
                    var.set_data(&channels_last(&var));
                }
            }
        });
        Ok(Self { cfg: cfg.clone(), vs, decoder, encoder })
    }

    /// Names and shapes of the weights under `prefix` (`decoder.` or `encoder.`),
    /// without the prefix.
    pub fn expected(&self, prefix: &str) -> BTreeMap<String, Vec<i64>> {
        self.vs
            .variables()
            .into_iter()
            .filter_map(|(name, t)| name.strip_prefix(prefix).map(|rest| (rest.to_string(), t.size())))
            .collect()
    }

    /// Copies weights in: the decoder from `decoder_prefix` (`decoder.` or, for the EMA
    /// weights, `ema.`) and the encoder from `encoder.`. Strict: every weight must be
    /// present with its shape, and nothing else may sit under those prefixes.
    pub fn load(&mut self, ckpt: &Checkpoint, decoder_prefix: &str) -> Result<(), PluginError> {
        let decoder = self.expected("decoder.");
        let encoder = self.expected("encoder.");
        let problems: Vec<String> = [
            check_names(&ckpt.tensors, decoder_prefix, &decoder).err(),
            check_names(&ckpt.tensors, "encoder.", &encoder).err(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            return Err(PluginError::invalid_input(format!(
                "the checkpoint does not fit this network: {}",
                problems.join("; ")
            ))
            .with_help("check that the checkpoint and its config belong together"));
        }
        let mut variables = self.vs.variables();
        tch::no_grad(|| {
            for (name, var) in variables.iter_mut() {
                var.copy_(&ckpt.tensors[&source_name(name, decoder_prefix)]);
            }
        });
        Ok(())
    }

    /// Starts from another network's weights (fine-tuning): each tensor of the same
    /// name and shape is copied; one of the same rank but another shape (a guide of
    /// more channels) gets the overlapping leading block and zeros elsewhere, so the
    /// new inputs start out ignored. Returns how many tensors were copied whole and in part.
    pub fn init_from(&mut self, ckpt: &Checkpoint, decoder_prefix: &str) -> (usize, usize) {
        let (mut whole, mut part) = (0, 0);
        let mut variables = self.vs.variables();
        tch::no_grad(|| {
            for (name, var) in variables.iter_mut() {
                let Some(from) = ckpt.tensors.get(&source_name(name, decoder_prefix)) else { continue };
                let (to_shape, from_shape) = (var.size(), from.size());
                if to_shape == from_shape {
                    var.copy_(from);
                    whole += 1;
                } else if to_shape.len() == from_shape.len() {
                    let _ = var.zero_();
                    let (mut dst, mut src) = (var.shallow_clone(), from.shallow_clone());
                    for (dim, (&a, &b)) in to_shape.iter().zip(&from_shape).enumerate() {
                        let n = a.min(b);
                        dst = dst.narrow(dim as i64, 0, n);
                        src = src.narrow(dim as i64, 0, n);
                    }
                    dst.copy_(&src.to_device(dst.device()));
                    part += 1;
                }
            }
        });
        (whole, part)
    }

    /// Stores the weights in `kind` (inference): forwards then compute in it. Training
    /// keeps float32 weights and casts its inputs instead (`train::Trainer`).
    pub fn set_kind(&mut self, kind: Kind) {
        self.vs.set_kind(kind);
    }

    /// The kind the weights are stored, and inference computes, in.
    pub fn kind(&self) -> Kind {
        self.vs.kind()
    }

    /// ε̂ `(B, N, C)` in float32, without gradients, in eval mode (dropout off).
    pub fn denoise(&self, x: &Tensor, t: &Tensor, z: &Tensor, layout: &Layout) -> Tensor {
        let x = x.to_kind(self.kind());
        let eps = tch::no_grad(|| self.decoder.forward(&x, t, z, layout, false, &mut Trace::off()));
        eps.to_kind(Kind::Float)
    }

    /// z `(B, Z)` in float32, without gradients.
    pub fn encode(&self, x: &Tensor, layout: &Layout) -> Tensor {
        let x = x.to_kind(self.kind());
        tch::no_grad(|| self.encoder.forward(&x, layout, false, &mut Trace::off())).to_kind(Kind::Float)
    }

    /// The vector-Jacobian product `(∂ε̂/∂x_t)ᵀ·v` of the decoder with respect to the
    /// first C input channels, and ε̂ itself.
    pub fn denoise_vjp(
        &self,
        x: &Tensor,
        t: &Tensor,
        z: &Tensor,
        layout: &Layout,
        v: &Tensor,
    ) -> (Tensor, Tensor) {
        let c = self.cfg.channels;
        let x = x.to_kind(self.kind());
        let xt = x.narrow(2, 0, c).detach().set_requires_grad(true);
        let guide = x.narrow(2, c, x.size()[2] - c).detach();
        let input = Tensor::cat(&[&xt, &guide], 2);
        let eps = self.decoder.forward(&input, t, z, layout, false, &mut Trace::off()).to_kind(Kind::Float);
        let grads = Tensor::run_backward(&[(&eps * v).sum(Kind::Float)], &[&xt], false, false);
        let grad = grads.into_iter().next().unwrap_or_else(|| xt.zeros_like());
        (eps.detach(), grad.to_kind(Kind::Float))
    }
}

/// The checkpoint tensor a variable loads from: the decoder's under `decoder_prefix`
/// (`decoder.` or `ema.`), the others under their own name.
fn source_name(name: &str, decoder_prefix: &str) -> String {
    match name.strip_prefix("decoder.") {
        Some(rest) => format!("{decoder_prefix}{rest}"),
        None => name.to_string(),
    }
}
