//! `crop`: a window of the image.

use infty_sdk::{
    FieldMut, FieldRef, Geometry, ItemSpec, Operator, ParamSpec, Params, PluginError, RasterInfo,
    SampleSupport, Samples, SamplesMut, TypedMut, TypedRef, Window,
};

/// `crop`: the output raster is the window `(x, y, width, height)` of the input.
pub struct Crop {
    window: Window,
}

impl Operator for Crop {
    fn spec() -> ItemSpec {
        ItemSpec::operator("crop", "Cut out a rectangle of the image")
            .param(ParamSpec::int("x", "left column").default_int(0).at_least(0.0).at_most(u32::MAX as f64))
            .param(ParamSpec::int("y", "top row").default_int(0).at_least(0.0).at_most(u32::MAX as f64))
            .param(ParamSpec::int("width", "width in pixels").at_least(1.0).at_most(u32::MAX as f64))
            .param(ParamSpec::int("height", "height in pixels").at_least(1.0).at_most(u32::MAX as f64))
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        let window = Window::new(
            params.int("x")?,
            params.int("y")?,
            params.int("width")? as u32,
            params.int("height")? as u32,
        );
        Ok(Self { window })
    }

    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        if !input.bounds().contains(&self.window) {
            let w = &self.window;
            return Err(PluginError::invalid_input(format!(
                "the {}x{} window at ({}, {}) extends past the {}x{} image",
                w.width, w.height, w.x, w.y, input.width, input.height
            ))
            .with_help("choose --x, --y, --width and --height inside the image"));
        }
        Ok(RasterInfo { width: self.window.width, height: self.window.height, ..input })
    }

    fn geometry(params: &Params, _input: RasterInfo, _output: RasterInfo) -> Result<Geometry, PluginError> {
        Ok(Geometry::offset(params.int("x")? as f64, params.int("y")? as f64))
    }

    fn input_window(&self, output: Window, _input: RasterInfo) -> Result<Window, PluginError> {
        Ok(Window { x: output.x + self.window.x, y: output.y + self.window.y, ..output })
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        copy(input.into(), output.into())
    }

    fn sample_support() -> SampleSupport {
        SampleSupport::INTEGERS_EXACT
    }

    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> Result<(), PluginError> {
        match (input, output) {
            (TypedRef::U8(i), TypedMut::U8(o)) => copy(i, o),
            (TypedRef::U16(i), TypedMut::U16(o)) => copy(i, o),
            _ => Err(PluginError::invalid_input("input and output samples differ in depth")),
        }
    }
}

/// Copies the samples of `output.window`, which `input` (the shifted window) holds.
fn copy<T: Copy>(input: Samples<'_, T>, mut output: SamplesMut<'_, T>) -> Result<(), PluginError> {
    for c in 0..output.channels() {
        for y in 0..output.window.height as usize {
            output.row_mut(c, y).copy_from_slice(input.row(c, y));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crop(x: &str, y: &str, w: &str, h: &str) -> Crop {
        let given = [("x", x), ("y", y), ("width", w), ("height", h)];
        Crop::new(&Crop::spec().resolve(given).unwrap()).unwrap()
    }

    #[test]
    fn maps_output_windows_to_shifted_input_windows() {
        let op = crop("3", "4", "5", "6");
        let input = RasterInfo::new(10, 10, 1);
        assert_eq!(op.output_raster(input).unwrap(), RasterInfo::new(5, 6, 1));
        assert_eq!(op.input_window(Window::new(1, 2, 2, 2), input).unwrap(), Window::new(4, 6, 2, 2));
    }

    #[test]
    fn integer_samples_are_copied_exactly() {
        infty_sdk::testing::check_sample_support(&crop("3", "4", "50", "6"), RasterInfo::new(60, 10, 4), 1)
            .unwrap();
    }

    #[test]
    fn refuses_windows_past_the_edge() {
        let err = crop("8", "0", "5", "5").output_raster(RasterInfo::new(10, 10, 3)).unwrap_err();
        assert_eq!(err.to_string(), "the 5x5 window at (8, 0) extends past the 10x10 image");
    }

    #[test]
    fn offsets_no_raster_can_reach_are_refused_when_parsed() {
        let given = [("x", "9223372036854775807"), ("width", "5"), ("height", "5")];
        let err = Crop::spec().resolve(given).unwrap_err();
        assert_eq!(err.to_string(), "param 'x': must be <= 4294967295, got 9223372036854775807");
    }
}
