//! The DDPM and DDIM samplers of ∞-Diff, in the mollified-ε parameterisation
//! (docs/reference.md §1.5, §5): the model predicts Tξ, states live in the mollified
//! space, and the host supplies every noise sample.

mod ddim;
mod ddpm;

pub use ddim::Ddim;
pub use ddpm::Ddpm;

infty_sdk::export_plugin! {
    id: "org.infty.samplers",
    version: env!("CARGO_PKG_VERSION"),
    samplers: [Ddpm, Ddim],
}
