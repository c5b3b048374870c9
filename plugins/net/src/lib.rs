//! infty-net: the ∞-Diff sparse operator network on libtorch (tch), as the `net` model
//! item, and the latent prior unconditional generation samples z from, as the `latent`
//! model item (plugin `org.infty.net`).
//!
//! The decoder (`SparseUNet`) and encoder (`SparseEncoder`) follow the reference
//! exactly (docs/reference.md §4), with parity to the golden vectors; weights carry the
//! reference's state_dict names, so reference checkpoints load one to one after
//! conversion to safetensors (`scripts/convert-reference-checkpoint`).
//!
//! ```ignore
//! let model = infty_sdk::host::model("net", &[("checkpoint", "models/sr.safetensors")])?;
//! ```

pub mod allocator;
pub mod block;
pub mod checkpoint;
pub mod config;
pub mod device;
pub mod fit;
pub mod fused;
pub mod knn;
pub mod latent;
pub mod layers;
mod model;
pub mod net;
mod omp;
pub mod precision;
pub mod prediction;
pub mod shapes;
pub mod sparse;
pub mod torch_thread;
pub mod trace;
pub mod train;
pub mod unet;
pub mod uno;

pub use config::NetConfig;
pub use latent::LatentModel;
pub use model::NetModel;
pub use net::Net;

infty_sdk::export_plugin! {
    id: "org.infty.net",
    version: env!("CARGO_PKG_VERSION"),
    models: [NetModel, LatentModel],
}
