//! Per-sample arithmetic: each output sample depends on the same input sample only,
//! so these work on dense windows and sparse points alike, and on 8- and 16-bit
//! samples through a lookup table of the f32 function (exactly its rounded result).

use infty_sdk::{
    FieldMut, FieldRef, ItemSpec, Operator, ParamSpec, Params, PluginError, Sample, SampleSupport, Samples,
    SamplesMut, SparseMut, SparseRef, TypedMut, TypedRef,
};

/// One per-sample function: its declaration and its value at a field value.
pub trait PointFn: Send + Sync + Sized + 'static {
    /// See [`Operator::spec`].
    fn spec() -> ItemSpec;
    /// See [`Operator::new`].
    fn new(params: &Params) -> Result<Self, PluginError>;
    /// The output for one input sample.
    fn apply(&self, v: f32) -> f32;
}

/// The operator of a [`PointFn`], with its values on every u8 and u16 sample.
pub struct Pointwise<F> {
    f: F,
    u8_table: Vec<u8>,
    u16_table: Vec<u16>,
}

/// `f` at every sample of type `T`, rounded back to `T` as the host writes f32 results.
fn table<T: Sample>(f: &impl PointFn, samples: impl Iterator<Item = T>) -> Vec<T> {
    samples.map(|v| T::from_field(f.apply(v.to_field()))).collect()
}

/// Looks every sample of `input` up in `table`, writing `output`.
fn lookup<T: Copy + Into<usize>>(input: Samples<'_, T>, mut output: SamplesMut<'_, T>, table: &[T]) {
    for c in 0..output.channels() {
        for y in 0..output.window.height as usize {
            for (o, &i) in output.row_mut(c, y).iter_mut().zip(input.row(c, y)) {
                *o = table[i.into()];
            }
        }
    }
}

impl<F: PointFn> Operator for Pointwise<F> {
    fn spec() -> ItemSpec {
        F::spec()
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        let f = F::new(params)?;
        let (u8_table, u16_table) = (table(&f, 0..=u8::MAX), table(&f, 0..=u16::MAX));
        Ok(Self { f, u8_table, u16_table })
    }

    fn process(&self, input: FieldRef<'_>, mut output: FieldMut<'_>) -> Result<(), PluginError> {
        for c in 0..output.channels() {
            for y in 0..output.window.height as usize {
                for (o, &i) in output.row_mut(c, y).iter_mut().zip(input.row(c, y)) {
                    *o = self.f.apply(i);
                }
            }
        }
        Ok(())
    }

    fn process_sparse(&self, input: SparseRef<'_>, mut output: SparseMut<'_>) -> Result<(), PluginError> {
        for (o, &i) in output.values.iter_mut().zip(input.values.iter()) {
            *o = self.f.apply(i);
        }
        Ok(())
    }

    fn sample_support() -> SampleSupport {
        SampleSupport::INTEGERS
    }

    fn process_typed(&self, input: TypedRef<'_>, output: TypedMut<'_>) -> Result<(), PluginError> {
        match (input, output) {
            (TypedRef::U8(i), TypedMut::U8(o)) => lookup(i, o, &self.u8_table),
            (TypedRef::U16(i), TypedMut::U16(o)) => lookup(i, o, &self.u16_table),
            _ => return Err(PluginError::invalid_input("input and output samples differ in depth")),
        }
        Ok(())
    }
}

/// `scale`: multiply every sample by a factor.
pub struct ScaleFn {
    factor: f32,
}

pub type Scale = Pointwise<ScaleFn>;

impl PointFn for ScaleFn {
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

    fn apply(&self, v: f32) -> f32 {
        v * self.factor
    }
}

/// `offset`: add a constant to every sample.
pub struct OffsetFn {
    value: f32,
}

pub type Offset = Pointwise<OffsetFn>;

impl PointFn for OffsetFn {
    fn spec() -> ItemSpec {
        ItemSpec::operator("offset", "Add a constant to every sample")
            .param(ParamSpec::float("value", "what to add").default_float(0.0).at_least(-1e6).at_most(1e6))
    }

    fn new(params: &Params) -> Result<Self, PluginError> {
        Ok(Self { value: params.float("value")? as f32 })
    }

    fn apply(&self, v: f32) -> f32 {
        v + self.value
    }
}

/// `clamp`: limit every sample to [min, max].
pub struct ClampFn {
    min: f32,
    max: f32,
}

pub type Clamp = Pointwise<ClampFn>;

impl PointFn for ClampFn {
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

    fn apply(&self, v: f32) -> f32 {
        v.clamp(self.min, self.max)
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
    fn integer_samples_get_the_rounded_f32_result() {
        let scale = Scale::new(&params::<Scale>(&[("factor", "1.37")])).unwrap();
        let raster = RasterInfo::new(256, 1, 1);
        let bytes: Vec<u8> = (0..=255).collect();
        let mut out = vec![0u8; 256];
        let input = TypedRef::U8(Samples::new(raster, raster.bounds(), &bytes).unwrap());
        let output = TypedMut::U8(SamplesMut::new(raster, raster.bounds(), &mut out).unwrap());
        scale.process_typed(input, output).unwrap();
        let field: Vec<f32> = bytes.iter().map(|v| v.to_field()).collect();
        let want: Vec<u8> = run_dense(&scale, &field, 1).into_iter().map(u8::from_field).collect();
        assert_eq!(out, want);
        assert_eq!(out[100], 137);
        let offset = Offset::new(&params::<Offset>(&[("value", "-0.3")])).unwrap();
        let clamp = Clamp::new(&params::<Clamp>(&[("min", "0.2"), ("max", "0.7")])).unwrap();
        infty_sdk::testing::check_sample_support(&scale, RasterInfo::new(300, 300, 1), 3).unwrap();
        infty_sdk::testing::check_sample_support(&offset, RasterInfo::new(300, 300, 1), 4).unwrap();
        infty_sdk::testing::check_sample_support(&clamp, RasterInfo::new(300, 300, 1), 5).unwrap();
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
