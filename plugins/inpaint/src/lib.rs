//! infty plugin `org.infty.inpaint`: fills the masked pixels of an image of any size
//! with an ∞-Diff model and reconstruction guidance. `infty inpaint IN OUT --mask M`
//! runs it alone (with the host's streaming, `--resume` and `--shard`); `inpaint
//! --mask M` is the same operator inside a pipeline.

mod mask;
mod operator;
mod sample;
mod settings;

pub use operator::Inpaint;
pub use settings::DEFAULT_MODEL;

infty_sdk::export_plugin! {
    id: "org.infty.inpaint",
    version: env!("CARGO_PKG_VERSION"),
    operators: [Inpaint],
}
