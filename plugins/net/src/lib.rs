//! infty-net: the ∞-Diff sparse operator network on libtorch (tch).

pub mod block;
pub mod config;
pub mod knn;
pub mod layers;
pub mod sparse;
pub mod unet;
pub mod uno;

pub use config::NetConfig;
pub mod checkpoint;
pub mod net;
pub use net::Net;
