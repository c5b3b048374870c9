//! infty plugin `org.infty.superres`: super-resolution with an ∞-Diff model, tile by
//! tile at any scale. `infty upscale IN OUT --scale 4` runs it alone (with the host's
//! streaming, `--resume` and `--shard`); `superres --scale s` is the same operator
//! inside a pipeline.

mod operator;
mod sample;
mod settings;

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, Params, PluginError, RasterInfo, ThreadingMode, Window,
};

pub use settings::DEFAULT_MODEL;

/// `superres`: the operator in a pipeline.
pub struct SuperRes(operator::SuperRes);

/// `upscale`: the same operator under the name users type for the whole job.
pub struct Upscale(operator::SuperRes);

/// Both names share one implementation; only the declaration differs.
macro_rules! super_res_operator {
    ($type:ident, $name:literal, $summary:literal) => {
        impl Operator for $type {
            fn spec() -> ItemSpec {
                settings::spec($name, $summary)
            }
            fn new(params: &Params) -> Result<Self, PluginError> {
                operator::SuperRes::new(params).map($type)
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
    };
}

super_res_operator!(SuperRes, "superres", "Super-resolution with an ∞-Diff model, at any scale");
super_res_operator!(
    Upscale,
    "upscale",
    "Upscale an image with an ∞-Diff model: infty upscale IN OUT --scale 4"
);

infty_sdk::export_plugin! {
    id: "org.infty.superres",
    version: env!("CARGO_PKG_VERSION"),
    operators: [SuperRes, Upscale],
}
