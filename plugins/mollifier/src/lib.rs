//! `org.infty.mollifier`: the ∞-Diff mollifier T and its Wiener inverse.
//!
//! ```text
//! infty run read in.tif ! mollify --sigma 2 ! write smooth.tif
//! infty run read smooth.tif ! unmollify --sigma 2 --inv-snr 0.05 ! write sharp.tif
//! ```
//!
//! T is the reference's DCT-domain Gaussian (docs/reference.md §2.2): a Gaussian blur of σ
//! pixels with half-sample-symmetric (mirror) boundaries. [`kernel`] explains how it is
//! made exact on short axes and tile-invariant on long ones; [`blur::blur`] and
//! [`wiener::unmollify`] are the window functions other Rust code can call directly.

pub mod blur;
pub mod kernel;
mod ops;
mod taps_sum;
pub mod wiener;

pub use ops::{Mollify, Unmollify, SIGMA_MAX};

infty_sdk::export_plugin! {
    id: "org.infty.mollifier",
    version: env!("CARGO_PKG_VERSION"),
    operators: [Mollify, Unmollify],
}
