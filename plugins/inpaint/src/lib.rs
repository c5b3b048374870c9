//! infty plugin `org.infty.inpaint`: fills the masked pixels of an image of any size
//! with an ∞-Diff model and reconstruction guidance. `infty inpaint IN OUT --mask M`
//! runs it alone (with the host's streaming, `--resume` and `--shard`); `inpaint
//! --mask M` is the same operator inside a pipeline.

mod mask;
mod operator;
mod sample;
mod settings;

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, Params, PluginError, RasterInfo, ThreadingMode, Window,
};

pub use settings::DEFAULT_MODEL;

/// `inpaint`.
pub struct Inpaint(operator::Inpaint);

impl Operator for Inpaint {
    fn spec() -> ItemSpec {
        settings::spec()
    }
    fn new(params: &Params) -> Result<Self, PluginError> {
        operator::Inpaint::new(params).map(Inpaint)
    }
    // The model runs on libtorch's own threads (or one GPU): one tile at a time.
    fn threading(&self) -> ThreadingMode {
        ThreadingMode::Serial
    }
    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        self.0.output_raster(input)
    }
    fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        self.0.input_window(output, input)
    }
    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        self.0.process(input, output)
    }
}

infty_sdk::export_plugin! {
    id: "org.infty.inpaint",
    version: env!("CARGO_PKG_VERSION"),
    operators: [Inpaint],
}
