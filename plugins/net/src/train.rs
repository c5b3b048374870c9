//! Training state and one optimisation step (docs/reference.md §3.3 steps 5–9): MSE on
//! the mollified noise (or v) at the sampled points, Adam (β 0.9/0.99, no weight decay),
//! gradient clipping at 1.0 separately for decoder and encoder, and an EMA of the
//! decoder every 10 steps, initialised as a copy (docs/reference.md §8.1 #3). The latent
//! prior trains through the same optimiser with AdamW's decoupled weight decay (§3.4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use infty_sdk::{ParamSpec, Params, PluginError};

use crate::checkpoint::Checkpoint;
use crate::sparse::Layout;
use crate::trace::Trace;
use crate::Net;

/// Optimiser settings, recorded in checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Adam's β₁ and β₂.
    pub betas: (f64, f64),
    /// Adam's ε.
    pub eps: f64,
    /// Gradient-norm clip, per network.
    pub grad_clip: f64,
    /// EMA decay of the decoder.
    pub ema_decay: f64,
    /// Steps between EMA updates.
    pub ema_every: u64,
    /// Seed of the per-step dropout randomness.
    pub seed: i64,
    /// AdamW's decoupled weight decay (0: Adam); absent from older checkpoints.
    #[serde(default)]
    pub weight_decay: f64,
}

/// The parameters a trainable model item declares for training, after `mode`:
/// `learning-rate` (default `learning_rate`), `grad-clip`, `ema-decay`, `ema-every`.
pub fn params(learning_rate: f64) -> Vec<ParamSpec> {
    vec![
        ParamSpec::choice("mode", "infer, or train (optimiser state, train steps)", &["infer", "train"])
            .default_text("infer"),
        ParamSpec::float("learning-rate", "the optimiser's learning rate")
            .default_float(learning_rate)
            .greater_than(0.0),
        ParamSpec::float("grad-clip", "gradient-norm clip per network").default_float(1.0).greater_than(0.0),
        ParamSpec::float("ema-decay", "EMA decay").default_float(0.995).at_least(0.0).less_than(1.0),
        ParamSpec::int("ema-every", "steps between EMA updates").default_int(10).at_least(1.0),
    ]
}

impl Hyper {
    /// The settings [`params`] (and `seed`) declare, with AdamW's `weight_decay`.
    pub fn from_params(params: &Params, weight_decay: f64) -> Result<Hyper, PluginError> {
        Ok(Hyper {
            learning_rate: params.float("learning-rate")?,
            betas: (0.9, 0.99),
            eps: 1e-8,
            grad_clip: params.float("grad-clip")?,
            ema_decay: params.float("ema-decay")?,
            ema_every: params.int("ema-every")? as u64,
            seed: params.int("seed")?,
            weight_decay,
        })
    }
}

/// What a checkpoint's `train_state` metadata holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Steps taken.
    pub step: u64,
    /// The optimiser settings.
    pub hyper: Hyper,
}

/// Adam moments of every trainable weight and the EMA of one network.
pub struct Trainer {
    /// Steps taken and settings.
    pub state: TrainState,
    /// The kind forwards and backwards compute in; weights, moments and EMA stay float32
    /// (bf16 is mixed precision: fp32 master weights, as autocast trains).
    pub compute: Kind,
    moments: BTreeMap<String, (Tensor, Tensor)>,
    ema: BTreeMap<String, Tensor>,
    /// The prefix of the weights the EMA follows (`decoder.`), left out of `ema.*` names.
    ema_of: String,
}

/// Weights that train, by name, in a stable order.
fn trainable(vs: &nn::VarStore) -> BTreeMap<String, Tensor> {
    vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect()
}

impl Trainer {
    /// Fresh state for the weights of `vs`: zero moments, the EMA a copy of the weights
    /// under `ema_of`.
    pub fn new(vs: &nn::VarStore, ema_of: &str, hyper: Hyper) -> Self {
        let moments =
            trainable(vs).into_iter().map(|(name, t)| (name, (t.zeros_like(), t.zeros_like()))).collect();
        // Every tensor under `ema_of`, frozen ones too, so `ema.*` loads as a whole network.
        let ema = vs
            .variables()
            .into_iter()
            .filter_map(|(name, t)| Some((name.strip_prefix(ema_of)?.to_string(), t.detach().copy())))
            .collect();
        let ema_of = ema_of.to_string();
        Self { state: TrainState { step: 0, hyper }, compute: Kind::Float, moments, ema, ema_of }
    }

    /// The trainer of weights loaded from `ckpt`: its `train_state` (the run's own
    /// optimiser settings, so a resumed run continues exactly; `hyper` for a checkpoint
    /// without one), its moments and its EMA.
    pub fn resume(vs: &nn::VarStore, ema_of: &str, ckpt: &Checkpoint, hyper: Hyper) -> Result<Self, String> {
        let state = match ckpt.metadata.get("train_state") {
            Some(json) => {
                serde_json::from_str::<TrainState>(json).map_err(|e| format!("its train_state: {e}"))?
            }
            None => TrainState { step: 0, hyper },
        };
        let mut trainer = Trainer::new(vs, ema_of, state.hyper.clone());
        trainer.restore(ckpt, state);
        Ok(trainer)
    }

    /// Continues from a checkpoint's `optim.*`, `ema.*` and `train_state`, where present.
    fn restore(&mut self, ckpt: &Checkpoint, state: TrainState) {
        let device = self.moments.values().next().map(|m| m.0.device());
        let load = |name: &str, into: &mut Tensor| {
            if let (Some(t), Some(device)) = (ckpt.tensors.get(name), device) {
                if t.size() == into.size() {
                    *into = t.to_device(device);
                }
            }
        };
        for (name, (m, v)) in self.moments.iter_mut() {
            load(&format!("optim.m.{name}"), m);
            load(&format!("optim.v.{name}"), v);
        }
        for (name, e) in self.ema.iter_mut() {
            load(&format!("ema.{name}"), e);
        }
        self.state = state;
    }

    /// The tensors a checkpoint stores for training: `ema.*`, `optim.m.*`, `optim.v.*`.
    pub fn tensors(&self) -> Vec<(String, Tensor)> {
        let ema = self.ema.iter().map(|(name, t)| (format!("ema.{name}"), t.shallow_clone()));
        let moments = self.moments.iter().flat_map(|(name, (m, v))| {
            [(format!("optim.m.{name}"), m.shallow_clone()), (format!("optim.v.{name}"), v.shallow_clone())]
        });
        ema.chain(moments).collect()
    }

    /// One step of the decoder and encoder: forward with dropout, MSE against `target`,
    /// then [`Trainer::apply`] with the two networks clipped separately.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        net: &Net,
        x: &Tensor,
        t: &Tensor,
        target: &Tensor,
        layout: &Layout,
        encoder_x: &Tensor,
        encoder_layout: &Layout,
    ) -> f64 {
        self.prepare(&net.vs);
        let (x, encoder_x) = (x.to_kind(self.compute), encoder_x.to_kind(self.compute));
        let z = net.encoder.forward(&encoder_x, encoder_layout, true, &mut Trace::off());
        let out = net.decoder.forward(&x, t, &z, layout, true, &mut Trace::off());
        let loss = (out.to_kind(Kind::Float) - target).square().mean(Kind::Float);
        self.apply(&net.vs, &loss, &["decoder.", "encoder."])
    }

    /// Clears the gradients and seeds dropout for the coming step: call before its
    /// forward. Dropout draws from a stream keyed by (seed, step), so a resumed run
    /// repeats it.
    pub fn prepare(&self, vs: &nn::VarStore) {
        let hyper = &self.state.hyper;
        tch::manual_seed(hyper.seed.wrapping_mul(1_000_003).wrapping_add(self.state.step as i64));
        for w in trainable(vs).values() {
            let mut grad = w.grad();
            if grad.defined() {
                let _ = grad.zero_();
            }
        }
    }

    /// Backpropagates `loss`, clips the gradient norm of each group of weights (by name
    /// prefix) separately, takes an Adam(W) step and updates the EMA on its steps.
    /// Returns the loss; a non-finite loss returns before any update.
    pub fn apply(&mut self, vs: &nn::VarStore, loss: &Tensor, clip_groups: &[&str]) -> f64 {
        let hyper = self.state.hyper.clone();
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            // Refused before backward: the weights, moments and step stay as they were.
            return value;
        }
        loss.backward();
        let weights = trainable(vs);
        for part in clip_groups {
            clip_grad_norm(
                weights.iter().filter(|(n, _)| n.starts_with(part)).map(|(_, w)| w),
                hyper.grad_clip,
            );
        }
        self.state.step += 1;
        let step = self.state.step as i32;
        let (b1, b2) = hyper.betas;
        let (correction1, correction2) = (1.0 - b1.powi(step), 1.0 - b2.powi(step));
        tch::no_grad(|| {
            for (name, w) in &weights {
                let grad = w.grad();
                if !grad.defined() {
                    continue;
                }
                let (m, v) = self.moments.get_mut(name).expect("moments exist for every trainable weight");
                let mut w = w.shallow_clone();
                if hyper.weight_decay != 0.0 {
                    // torch.optim.AdamW: p *= 1 − lr·λ before the Adam update.
                    let _ = w.g_mul_scalar_(1.0 - hyper.learning_rate * hyper.weight_decay);
                }
                // torch.optim.Adam: p -= lr/c1 · m / (√v/√c2 + ε).
                *m = &*m * b1 + &grad * (1.0 - b1);
                *v = &*v * b2 + grad.square() * (1.0 - b2);
                let denom = v.sqrt() / correction2.sqrt() + hyper.eps;
                let _ = w.g_sub_(&(&*m / denom * (hyper.learning_rate / correction1)));
            }
            if self.state.step.is_multiple_of(hyper.ema_every) {
                for (name, e) in self.ema.iter_mut() {
                    if let Some(w) = weights.get(&format!("{}{name}", self.ema_of)) {
                        *e = &*e * hyper.ema_decay + w * (1.0 - hyper.ema_decay);
                    }
                }
            }
        });
        value
    }
}

/// `torch.nn.utils.clip_grad_norm_`: scales the gradients so their joint L2 norm is at
/// most `max_norm`.
fn clip_grad_norm<'a>(weights: impl Iterator<Item = &'a Tensor>, max_norm: f64) {
    let grads: Vec<Tensor> = weights.map(Tensor::grad).filter(Tensor::defined).collect();
    let total: f64 = grads.iter().map(|g| g.square().sum(Kind::Float).double_value(&[])).sum::<f64>().sqrt();
    let scale = max_norm / (total + 1e-6);
    if scale < 1.0 {
        tch::no_grad(|| {
            for g in &grads {
                let _ = g.shallow_clone().g_mul_scalar_(scale);
            }
        });
    }
}
