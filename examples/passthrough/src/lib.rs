//! A commented operator skeleton: copy this crate to start a new plugin.
//!
//! Build it with `cargo build --release -p infty-passthrough`, then
//! `INFTY_PLUGIN_PATH=target/release infty plugins` lists `org.example.passthrough`,
//! and `infty run read in.png ! passthrough ! write out.png` copies an image.

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, Params, PluginError, RasterInfo, ThreadingMode, Window,
};

/// Copies its input. Every method below shows the place to change for a real operator.
pub struct Passthrough;

impl Operator for Passthrough {
    /// The declaration: `infty help passthrough`, the CLI and parameter validation
    /// are all generated from it. Add parameters with `.param(ParamSpec::float(...))`.
    fn spec() -> ItemSpec {
        ItemSpec::operator("passthrough", "Copy the input unchanged (example plugin)")
            .with_help("A template for new operators; see examples/passthrough/src/lib.rs.")
    }

    /// Called once per pipeline step with parameters already checked against `spec`.
    fn new(_params: &Params) -> Result<Self, PluginError> {
        Ok(Passthrough)
    }

    /// `Parallel`: the host may call `process` on many tiles at once. Say `Serial`
    /// when the operator holds state that cannot be shared (a GPU context, say).
    fn threading(&self) -> ThreadingMode {
        ThreadingMode::Parallel
    }

    /// The output raster: change it for operators that resize, crop or change channels.
    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        Ok(input)
    }

    /// The input needed for an output window. A blur returns `output.expand(radius)`;
    /// the host reads that (clipped to the image) and passes it to `process`.
    fn input_window(&self, output: Window, _input: RasterInfo) -> Result<Window, PluginError> {
        Ok(output)
    }

    /// Computes `output.window`. Samples are planar f32; `row(c, y)` is one row of
    /// channel `c`. Return an error rather than panicking; a panic is caught and
    /// reported as a bug in this plugin.
    fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
        for c in 0..output.channels() {
            for y in 0..output.window.height as usize {
                output.row_mut(c, y).copy_from_slice(input.row(c, y));
            }
        }
        Ok(())
    }
}

// Writes the FFI: the root module the host loads, with every call guarded.
infty_sdk::export_plugin! {
    id: "org.example.passthrough",
    version: env!("CARGO_PKG_VERSION"),
    operators: [Passthrough],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_sample() {
        let raster = RasterInfo::new(3, 2, 2);
        let input: Vec<f32> = (0..12).map(|v| v as f32 / 11.0).collect();
        let mut output = vec![0.0; 12];
        // Build the operator exactly as the host does, through the ABI object.
        let op =
            infty_sdk::new_operator_box::<Passthrough>(&Passthrough::spec().resolve([]).unwrap()).unwrap();
        op.process(
            FieldRef::new(raster, raster.bounds(), &input).unwrap(),
            FieldMut::new(raster, raster.bounds(), &mut output).unwrap(),
        )
        .unwrap();
        assert_eq!(output, input);
    }
}
