//! `to-gray`: luma from RGB(A), keeping alpha.

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, ParamSpec, Params, PluginError, RasterInfo, SparseMut, SparseRef,
};

/// Luma weights of ITU-R BT.709 and BT.601, applied to the encoded (gamma) values.
const REC709: [f32; 3] = [0.2126, 0.7152, 0.0722];
const REC601: [f32; 3] = [0.299, 0.587, 0.114];

/// `to-gray`: 1 → 1, gray+alpha → same, RGB → 1, RGBA → gray+alpha.
pub struct ToGray {
    weights: [f32; 3],
}

impl ToGray {
    /// Channels out for `input_channels` in.
    fn output_channels(input_channels: usize) -> usize {
        match input_channels {
            3 => 1,
            4 => 2,
            n => n,
        }
    }

    fn luma(&self, r: f32, g: f32, b: f32) -> f32 {
        self.weights[0] * r + self.weights[1] * g + self.weights[2] * b
    }
}

impl Operator for ToGray {
    fn spec() -> ItemSpec {
        ItemSpec::operator("to-gray", "Convert RGB to gray (luma), keeping alpha")
            .with_help("Gray and gray+alpha images pass through unchanged.")
            .param(
                ParamSpec::choice("standard", "luma weights", &["rec709", "rec601"])
                    .default_text("rec709")
                    .with_help("rec709: 0.2126 R + 0.7152 G + 0.0722 B; rec601: 0.299 R + 0.587 G + 0.114 B"),
            )
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        let weights = if params.text("standard")? == "rec601" { REC601 } else { REC709 };
        Ok(Self { weights })
    }

    fn output_raster(&self, input: RasterInfo) -> Result<RasterInfo, PluginError> {
        if !(1..=4).contains(&input.channels) {
            return Err(PluginError::unsupported(format!(
                "needs 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got {}",
                input.channels
            )));
        }
        Ok(RasterInfo { channels: Self::output_channels(input.channels as usize) as u32, ..input })
    }

    fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
        let channels = input.channels();
        for y in 0..output.window.height as usize {
            if channels < 3 {
                for c in 0..channels {
                    output.row_mut(c, y).copy_from_slice(input.row(c, y));
                }
                continue;
            }
            let (r, g, b) = (input.row(0, y), input.row(1, y), input.row(2, y));
            for (x, o) in output.row_mut(0, y).iter_mut().enumerate() {
                *o = self.luma(r[x], g[x], b[x]);
            }
            if channels == 4 {
                output.row_mut(1, y).copy_from_slice(input.row(3, y));
            }
        }
        Ok(())
    }

    fn process_sparse(&self, input: SparseRef<'_>, mut output: SparseMut<'_>) -> Result<(), PluginError> {
        let (n, channels) = (input.points.len(), input.raster.channels as usize);
        let plane = |c: usize| &input.values[c * n..(c + 1) * n];
        let out = output.values.as_mut_slice();
        if channels < 3 {
            out.copy_from_slice(&input.values);
            return Ok(());
        }
        let (r, g, b) = (plane(0), plane(1), plane(2));
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = self.luma(r[i], g[i], b[i]);
        }
        if channels == 4 {
            out[n..].copy_from_slice(plane(3));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(standard: &str) -> ToGray {
        ToGray::new(&ToGray::spec().resolve([("standard", standard)]).unwrap()).unwrap()
    }

    #[test]
    fn rgba_becomes_luma_plus_alpha() {
        let op = op("rec601");
        let raster = RasterInfo::new(2, 1, 4);
        // Planar: R plane, G plane, B plane, A plane.
        let input = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.5, 0.25];
        let out_raster = op.output_raster(raster).unwrap();
        assert_eq!(out_raster.channels, 2);
        let mut out = [0.0; 4];
        op.process(
            FieldRef::new(raster, raster.bounds(), &input).unwrap(),
            FieldMut::new(out_raster, out_raster.bounds(), &mut out).unwrap(),
        )
        .unwrap();
        assert_eq!(out, [0.299, 0.587, 0.5, 0.25]);
    }

    #[test]
    fn rec709_weights_sum_to_one_on_white() {
        assert!((op("rec709").luma(1.0, 1.0, 1.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn five_channels_are_refused() {
        let err = op("rec709").output_raster(RasterInfo::new(4, 4, 5)).unwrap_err();
        assert_eq!(err.to_string(), "needs 1 to 4 channels (gray, gray+alpha, RGB, RGBA), got 5");
    }
}
