//! infty plugin `org.infty.train`: `infty train` trains ∞-Diff models on folders of
//! images (docs/reference.md §3), and `infty eval-loss` scores a model on held-out crops
//! per timestep band. Both drive the `net` model and the `mollify` operator through
//! the host. `infty train-latent` trains the latent prior (the `latent` model) on the
//! encoder's latents of a trained model, for `infty sample`.

mod batch;
mod data;
mod diffusion;
mod eval;
mod latent;
mod logs;
mod masks;
mod plot;
mod rng;
mod settings;
mod train;
mod validate;

pub use diffusion::LOWRES_FACTORS;
pub use eval::EvalLoss;
pub use latent::TrainLatent;
pub use masks::random_mask;
pub use train::Train;

infty_sdk::export_plugin! {
    id: "org.infty.train",
    version: env!("CARGO_PKG_VERSION"),
    tasks: [Train, EvalLoss, TrainLatent],
}
