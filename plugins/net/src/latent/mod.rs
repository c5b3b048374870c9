//! The latent prior: a diffusion model over the decoder's latent z, which unconditional
//! generation samples z from (docs/reference.md §3.4, §4.6, §5.3). `mlp` is the
//! network, `item` the `latent` model item; this module holds the network with its
//! weights and the normalisation of the latents it was trained on.

mod item;
pub mod mlp;

pub use infty_kit::latents::Normalisation;
pub use item::LatentModel;
pub use mlp::{timestep_embedding, LatentConfig, SkipNet};

use infty_sdk::PluginError;
use tch::{nn, Device, Kind, Tensor};

use crate::checkpoint::{check_names, Checkpoint};
use crate::trace::Trace;

/// The `format` metadata value of latent-prior checkpoints.
pub const FORMAT: &str = "infty-latent/1";

/// The prior's network with its weights, named `latent.*`, in one variable store.
pub struct LatentNet {
    /// What it was built from.
    pub cfg: LatentConfig,
    /// Every weight.
    pub vs: nn::VarStore,
    /// The network.
    pub net: SkipNet,
}

impl LatentNet {
    /// A freshly initialised prior (PyTorch's default initialisation, seeded).
    pub fn new(cfg: &LatentConfig, device: Device, seed: i64) -> Result<Self, PluginError> {
        cfg.validate().map_err(|e| PluginError::invalid_input(format!("latent prior config: {e}")))?;
        crate::fit::check_memory(crate::shapes::bytes(&crate::shapes::latent(cfg)), "building the prior")?;
        tch::manual_seed(seed);
        let vs = nn::VarStore::new(device);
        let net = SkipNet::new(vs.root() / "latent", cfg);
        Ok(Self { cfg: cfg.clone(), vs, net })
    }

    /// Copies the weights stored under `prefix` (`latent.`, `ema.`, or a reference
    /// state dict's own prefix). Strict: every weight present with its shape, nothing
    /// else under the prefix.
    pub fn load(&mut self, ckpt: &Checkpoint, prefix: &str) -> Result<(), PluginError> {
        let expected = self
            .vs
            .variables()
            .into_iter()
            .filter_map(|(name, t)| Some((name.strip_prefix("latent.")?.to_string(), t.size())))
            .collect();
        check_names(&ckpt.tensors, prefix, &expected).map_err(|problems| {
            PluginError::invalid_input(format!("the checkpoint does not fit this prior: {problems}"))
                .with_help("check that the checkpoint and its config belong together")
        })?;
        let mut variables = self.vs.variables();
        tch::no_grad(|| {
            for (name, var) in variables.iter_mut() {
                let rest = name.strip_prefix("latent.").unwrap_or(name);
                var.copy_(&ckpt.tensors[&format!("{prefix}{rest}")]);
            }
        });
        Ok(())
    }

    /// ε̂ `(B, C)` in float32, without gradients, dropout off.
    pub fn denoise(&self, x: &Tensor, t: &Tensor) -> Tensor {
        tch::no_grad(|| self.net.forward(&x.to_kind(Kind::Float), t, false, &mut Trace::off()))
    }

    /// The training loss of `training_losses` with the L1 loss type: the mean over the
    /// batch of `mean |ξ − ε̂(x_t, t)|` (docs/reference.md §3.4), with dropout on.
    pub fn l1_loss(&self, x_t: &Tensor, t: &Tensor, noise: &Tensor) -> Tensor {
        let eps = self.net.forward(x_t, t, true, &mut Trace::off());
        (noise - eps).abs().mean(Kind::Float)
    }
}
