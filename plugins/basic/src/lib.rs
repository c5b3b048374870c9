//! `org.infty.basic`: the everyday operators a pipeline needs.
//!
//! - `scale`, `offset`, `clamp`: per-sample arithmetic (dense and sparse);
//! - `to-gray`: luma from RGB(A), keeping alpha;
//! - `crop`: a window of the image.
//!
//! ```text
//! infty run read in.png ! to-gray ! scale --factor 1.2 ! clamp ! write out.png
//! ```

mod crop;
mod gray;
mod pointwise;

pub use crop::Crop;
pub use gray::ToGray;
pub use pointwise::{Clamp, Offset, Scale};

infty_sdk::export_plugin! {
    id: "org.infty.basic",
    version: env!("CARGO_PKG_VERSION"),
    operators: [Scale, Offset, Clamp, ToGray, Crop],
}
