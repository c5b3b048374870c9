//! The `mollify` and `unmollify` operators.

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, ParamSpec, Params, PluginError, RasterInfo, SampleSupport,
    TypedMut, TypedRef, Window,
};

use crate::kernel::{radius, TapCache};
use crate::wiener::wiener_radius;
use crate::{blur, wiener};

/// Largest σ accepted, in pixels: beyond it T flattens any image to its mean.
pub const SIGMA_MAX: f64 = 256.0;

fn sigma_param() -> ParamSpec {
    ParamSpec::float("sigma", "Gaussian σ in pixels of the raster it acts on")
        .default_float(1.0)
        .greater_than(0.0)
        .at_most(SIGMA_MAX)
        .with_help(
            "∞-Diff configs use 1 px at the training size; at another size use σ·S'/S \
             (docs/reference.md §2.3).",
        )
}

/// The output window grown by `rx`, `ry` (the host clips it to the raster).
fn grow(output: Window, rx: u32, ry: u32) -> Window {
    Window::new(
        output.x - i64::from(rx),
        output.y - i64::from(ry),
        output.width.saturating_add(2 * rx),
        output.height.saturating_add(2 * ry),
    )
}

/// `mollify`: T, the ∞-Diff mollifier.
pub struct Mollify {
    sigma: f64,
    taps: TapCache,
}

impl Operator for Mollify {
    fn spec() -> ItemSpec {
        ItemSpec::operator("mollify", "Gaussian mollifier T of ∞-Diff (mirror boundaries)")
            .with_help(
                "Equals the reference's DCT mollifier: exactly on axes up to 256 px, and on longer \
                 axes the band-limited Gaussian truncated at 4σ (σ ≤ 1.5) or 5σ, at least 3 px. \
                 Tiles give the same result as the whole image.",
            )
            .param(sigma_param())
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        Ok(Self { sigma: params.float("sigma")?, taps: TapCache::default() })
    }

    fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        Ok(grow(output, radius(self.sigma, input.width), radius(self.sigma, input.height)))
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        blur::blur(input.into(), output.into(), self.sigma, &self.taps)
    }

    fn sample_support() -> SampleSupport {
        SampleSupport::INTEGERS
    }

    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> Result<(), PluginError> {
        match (input, output) {
            (TypedRef::U8(i), TypedMut::U8(o)) => blur::blur(i, o, self.sigma, &self.taps),
            (TypedRef::U16(i), TypedMut::U16(o)) => blur::blur(i, o, self.sigma, &self.taps),
            _ => Err(PluginError::invalid_input("input and output samples differ in depth")),
        }
    }
}

/// `unmollify`: the Wiener inverse of T.
pub struct Unmollify {
    sigma: f64,
    inv_snr: f64,
}

impl Operator for Unmollify {
    fn spec() -> ItemSpec {
        ItemSpec::operator("unmollify", "Wiener inverse of the mollifier: g/(g²+ε²) per frequency")
            .with_help(
                "The reference's undo_wiener. Exact on axes up to 256 px; longer axes are filtered \
                 over the tile plus a 16σ+32 px halo.",
            )
            .param(sigma_param())
            .param(
                ParamSpec::float("inv-snr", "ε, the inverse signal-to-noise ratio")
                    .default_float(0.05)
                    .greater_than(0.0)
                    .at_most(1.0)
                    .with_help("Smaller values sharpen more and amplify noise more (gain up to 1/(2ε))."),
            )
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        Ok(Self { sigma: params.float("sigma")?, inv_snr: params.float("inv-snr")? })
    }

    fn input_window(&self, output: Window, input: RasterInfo) -> Result<Window, PluginError> {
        Ok(grow(output, wiener_radius(self.sigma, input.width), wiener_radius(self.sigma, input.height)))
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        wiener::unmollify(input, output, self.sigma, self.inv_snr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::testing::check_sample_support;

    #[test]
    fn integer_samples_give_the_f32_blur_rounded() {
        for (sigma, raster) in [("1", RasterInfo::new(300, 70, 3)), ("2.5", RasterInfo::new(40, 600, 1))] {
            let op = Mollify::new(&Mollify::spec().resolve([("sigma", sigma)]).unwrap()).unwrap();
            assert_eq!(Mollify::sample_support(), SampleSupport::INTEGERS);
            check_sample_support(&op, raster, 7).unwrap();
        }
    }
}
