//! Per-sample arithmetic: each output sample depends on the same input sample only,
//! so these work on dense windows and sparse points alike.

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, ParamSpec, Params, PluginError, SparseMut, SparseRef,
};

/// Applies `f` to every sample of `input`, writing `output` (same window and channels).
fn map_dense(
    input: FieldRef<'_>,
    mut output: FieldMut<'_>,
    f: impl Fn(f32) -> f32,
) -> Result<(), PluginError> {
    for c in 0..output.channels() {
        for y in 0..output.window.height as usize {
            let src = input.row(c, y);
            for (o, &i) in output.row_mut(c, y).iter_mut().zip(src) {
                *o = f(i);
            }
        }
    }
    Ok(())
}

fn map_sparse(
    input: SparseRef<'_>,
    mut output: SparseMut<'_>,
    f: impl Fn(f32) -> f32,
) -> Result<(), PluginError> {
    for (o, &i) in output.values.iter_mut().zip(input.values.iter()) {
        *o = f(i);
    }
    Ok(())
}

/// `scale`: multiply every sample by a factor.
pub struct Scale {
    factor: f32,
}

impl Operator for Scale {
    fn spec() -> ItemSpec {
        ItemSpec::operator("scale", "Multiply every sample by a factor (brightness/contrast, not size)")
            .with_help("Samples are in [0, 1] for 8- and 16-bit images; alpha is scaled too.")
            .param(
                ParamSpec::float("factor", "the multiplier").default_float(1.0).at_least(-1e6).at_most(1e6),
            )
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        Ok(Self { factor: params.float("factor")? as f32 })
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        map_dense(input, output, |v| v * self.factor)
    }

    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> Result<(), PluginError> {
        map_sparse(input, output, |v| v * self.factor)
    }
}

/// `offset`: add a constant to every sample.
pub struct Offset {
    value: f32,
}

impl Operator for Offset {
    fn spec() -> ItemSpec {
        ItemSpec::operator("offset", "Add a constant to every sample")
            .param(ParamSpec::float("value", "what to add").default_float(0.0).at_least(-1e6).at_most(1e6))
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        Ok(Self { value: params.float("value")? as f32 })
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        map_dense(input, output, |v| v + self.value)
    }

    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> Result<(), PluginError> {
        map_sparse(input, output, |v| v + self.value)
    }
}

/// `clamp`: limit every sample to [min, max].
pub struct Clamp {
    min: f32,
    max: f32,
}

impl Operator for Clamp {
    fn spec() -> ItemSpec {
        ItemSpec::operator("clamp", "Limit every sample to [min, max]")
            .param(ParamSpec::float("min", "lowest value kept").default_float(0.0))
            .param(ParamSpec::float("max", "highest value kept").default_float(1.0))
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        let (min, max) = (params.float("min")?, params.float("max")?);
        if min > max {
            return Err(PluginError::invalid_param("min", format!("must be <= max ({max}), got {min}")));
        }
        Ok(Self { min: min as f32, max: max as f32 })
    }

    fn process(&self, input: FieldRef<'_>, output: FieldMut<'_>) -> Result<(), PluginError> {
        map_dense(input, output, |v| v.clamp(self.min, self.max))
    }

    fn process_sparse(&self, input: SparseRef<'_>, output: SparseMut<'_>) -> Result<(), PluginError> {
        map_sparse(input, output, |v| v.clamp(self.min, self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::{Point, RasterInfo};

    fn params<T: Operator>(given: &[(&str, &str)]) -> Params {
        T::spec().resolve(given.iter().copied()).unwrap()
    }

    fn run_dense<T: Operator>(op: &T, samples: &[f32], channels: u32) -> Vec<f32> {
        let raster = RasterInfo::new(samples.len() as u32 / channels, 1, channels);
        let mut out = vec![0.0; samples.len()];
        let input = FieldRef::new(raster, raster.bounds(), samples).unwrap();
        op.process(input, FieldMut::new(raster, raster.bounds(), &mut out).unwrap()).unwrap();
        out
    }

    #[test]
    fn scale_offset_clamp_compute_their_values() {
        let scale = Scale::new(&params::<Scale>(&[("factor", "2.5")])).unwrap();
        assert_eq!(run_dense(&scale, &[0.0, 0.2, 1.0, -4.0], 2), [0.0, 0.5, 2.5, -10.0]);
        let offset = Offset::new(&params::<Offset>(&[("value", "-0.25")])).unwrap();
        assert_eq!(run_dense(&offset, &[0.0, 0.5, 1.0], 1), [-0.25, 0.25, 0.75]);
        let clamp = Clamp::new(&params::<Clamp>(&[("min", "0.1"), ("max", "0.9")])).unwrap();
        assert_eq!(run_dense(&clamp, &[-1.0, 0.5, 2.0], 3), [0.1, 0.5, 0.9]);
    }

    #[test]
    fn clamp_refuses_min_above_max() {
        let err = Clamp::new(&params::<Clamp>(&[("min", "2")])).err().unwrap();
        assert_eq!(err.to_string(), "param 'min': must be <= max (1), got 2");
    }

    #[test]
    fn sparse_points_get_the_same_values_as_dense() {
        let scale = Scale::new(&params::<Scale>(&[("factor", "3")])).unwrap();
        let raster = RasterInfo::new(8, 8, 2);
        let points = [Point { x: 1, y: 2 }, Point { x: 7, y: 7 }];
        let values = [0.1, 0.2, 0.3, 0.4];
        let mut out = [0.0; 4];
        let input = SparseRef::new(raster, &points, &values).unwrap();
        scale.process_sparse(input, SparseMut::new(raster, &points, &mut out).unwrap()).unwrap();
        assert_eq!(out, [0.1f32 * 3.0, 0.2f32 * 3.0, 0.3f32 * 3.0, 0.4f32 * 3.0]);
    }
}
