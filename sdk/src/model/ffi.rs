//! The ABI-stable face of a model, and the checks that make it hard to call wrongly:
//! buffer lengths, points and timesteps are validated before the model runs.

// `#[sabi_trait]` expands to impls that rustc's non_local_definitions lint flags.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RBox, RResult, RSlice, RSliceMut, RStr};

use super::{Model, ModelInfo, ModelInput, Points, TrainBatch, TrainStats};
use crate::guard::guard;
use crate::{Params, PluginError};

/// What the host and tasks call; implemented by the SDK for every [`Model`].
#[sabi_trait]
pub trait ModelFfi: Send + Sync {
    /// See [`Model::info`].
    fn info(&self) -> ModelInfo;
    /// See [`Model::denoise`].
    fn denoise(&self, input: ModelInput<'_>, eps: RSliceMut<'_, f32>) -> RResult<(), PluginError>;
    /// See [`Model::encode`].
    fn encode(&self, at: Points<'_>, x: RSlice<'_, f32>, z: RSliceMut<'_, f32>) -> RResult<(), PluginError>;
    /// See [`Model::denoise_vjp`].
    fn denoise_vjp(
        &self,
        input: ModelInput<'_>,
        cotangent: RSlice<'_, f32>,
        eps: RSliceMut<'_, f32>,
        grad: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError>;
    /// See [`Model::train_step`].
    fn train_step(&self, batch: TrainBatch<'_>) -> RResult<TrainStats, PluginError>;
    /// See [`Model::save`].
    #[sabi(last_prefix_field)]
    fn save(&self, path: RStr<'_>) -> RResult<(), PluginError>;
}

/// A model instance owned by the caller.
pub type ModelBox = ModelFfi_TO<'static, RBox<()>>;

struct Guarded<T>(T);

fn invalid(message: String) -> PluginError {
    PluginError::invalid_input(message)
}

/// Checks a point set: a non-empty batch, points that divide evenly into items and lie
/// inside the raster.
fn check_points(at: &Points<'_>, what: &str) -> Result<(), PluginError> {
    if at.is_empty() {
        return Err(invalid(format!(
            "{what}: empty batch ({} items on a {}-pixel raster)",
            at.batch, at.size
        )));
    }
    if !at.points.is_empty() && !at.points.len().is_multiple_of(at.batch as usize) {
        return Err(invalid(format!(
            "{what}: {} points do not divide into {} items",
            at.points.len(),
            at.batch
        )));
    }
    if let Some(p) = at.points.iter().find(|p| p.x >= at.size || p.y >= at.size) {
        return Err(invalid(format!(
            "{what}: point (x {}, y {}) lies outside the {}x{} raster",
            p.x, p.y, at.size, at.size
        )));
    }
    Ok(())
}

fn check_len(what: &str, got: usize, want: usize) -> Result<(), PluginError> {
    if got != want {
        return Err(invalid(format!("{what} has {got} samples, the batch needs {want}")));
    }
    Ok(())
}

/// Checks a buffer of `channels` samples per point, naming the expected layout.
fn check_samples(what: &str, got: usize, at: &Points<'_>, channels: u32) -> Result<(), PluginError> {
    let want = at.len(channels);
    if got != want {
        return Err(invalid(format!(
            "{what} has {got} samples; {} items × {channels} channels × {} points need {want}",
            at.batch,
            at.per_item()
        )));
    }
    Ok(())
}

fn check_input(info: &ModelInfo, input: &ModelInput<'_>) -> Result<(), PluginError> {
    let at = &input.at;
    check_points(at, "denoise")?;
    check_samples("x", input.x.len(), at, info.channels)?;
    if info.guide_channels > 0 && input.guide.is_empty() {
        return Err(invalid(format!(
            "this model reads a guide field of {} channels; none was given",
            info.guide_channels
        )));
    }
    if info.guide_channels == 0 && !input.guide.is_empty() {
        return Err(invalid("this model reads no guide field; one was given".into()));
    }
    check_samples("the guide", input.guide.len(), at, info.guide_channels)?;
    check_len("t", input.t.len(), at.batch as usize)?;
    check_len("z", input.z.len(), at.batch as usize * info.z_dim as usize)?;
    let steps = info.diffusion_steps as f32;
    if let Some(t) = input.t.iter().find(|t| !(0.0..steps).contains(*t)) {
        return Err(invalid(format!("timestep {t} lies outside [0, {steps})")));
    }
    check_finite("the input", input.x.iter().chain(input.guide.iter()).chain(input.z.iter()))
}

fn check_finite<'a>(what: &str, mut values: impl Iterator<Item = &'a f32>) -> Result<(), PluginError> {
    if values.any(|v| !v.is_finite()) {
        return Err(invalid(format!("{what} holds NaN or infinite samples")));
    }
    Ok(())
}

/// Refuses a model's result holding NaN or infinity: its inputs were checked finite, so
/// the fault is the model's (an overflow, or weights gone bad), and is named as such
/// instead of surfacing later as a bad input to the next step.
fn check_result<'a>(what: &str, mut values: impl Iterator<Item = &'a f32>) -> Result<(), PluginError> {
    if values.any(|v| !v.is_finite()) {
        return Err(PluginError::failed(format!(
            "numeric fault in the model: its {what} holds NaN or infinite values although its inputs are finite"
        ))
        .with_help("the model's weights or precision overflowed; try --precision fp32, or another model"));
    }
    Ok(())
}

impl<T: Model> ModelFfi for Guarded<T> {
    fn info(&self) -> ModelInfo {
        self.0.info()
    }

    fn denoise(&self, input: ModelInput<'_>, mut eps: RSliceMut<'_, f32>) -> RResult<(), PluginError> {
        guard(|| {
            check_input(&self.0.info(), &input)?;
            check_len("the output", eps.len(), input.x.len())?;
            self.0.denoise(&input, eps.as_mut_slice())?;
            check_result("prediction", eps.iter())
        })
    }

    fn encode(
        &self,
        at: Points<'_>,
        x: RSlice<'_, f32>,
        mut z: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError> {
        guard(|| {
            let info = self.0.info();
            check_points(&at, "encode")?;
            check_samples("the image", x.len(), &at, info.channels)?;
            check_len("z", z.len(), at.batch as usize * info.z_dim as usize)?;
            check_finite("the image", x.iter())?;
            self.0.encode(&at, x.as_slice(), z.as_mut_slice())?;
            check_result("encoding z", z.iter())
        })
    }

    fn denoise_vjp(
        &self,
        input: ModelInput<'_>,
        cotangent: RSlice<'_, f32>,
        mut eps: RSliceMut<'_, f32>,
        mut grad: RSliceMut<'_, f32>,
    ) -> RResult<(), PluginError> {
        guard(|| {
            check_input(&self.0.info(), &input)?;
            for (what, len) in
                [("the cotangent", cotangent.len()), ("the output", eps.len()), ("the gradient", grad.len())]
            {
                check_len(what, len, input.x.len())?;
            }
            check_finite("the cotangent", cotangent.iter())?;
            self.0.denoise_vjp(&input, cotangent.as_slice(), eps.as_mut_slice(), grad.as_mut_slice())?;
            check_result("prediction or gradient", eps.iter().chain(grad.iter()))
        })
    }

    fn train_step(&self, batch: TrainBatch<'_>) -> RResult<TrainStats, PluginError> {
        guard(|| {
            let info = self.0.info();
            // The batch size is trusted only once x's length agrees with it.
            check_points(&batch.input.at, "denoise")?;
            check_samples("x", batch.input.x.len(), &batch.input.at, info.channels)?;
            // z is the encoder's to compute: check everything else.
            let zeros = vec![0.0; batch.input.at.batch as usize * info.z_dim as usize];
            let input = ModelInput { z: zeros.as_slice().into(), ..batch.input };
            check_input(&info, &input)?;
            check_len("the target", batch.target.len(), input.x.len())?;
            check_points(&batch.encoder_at, "the encoder's points")?;
            if batch.encoder_at.batch != input.at.batch {
                return Err(invalid("the encoder's batch differs from the decoder's".into()));
            }
            check_samples("the encoder's image", batch.encoder_x.len(), &batch.encoder_at, info.channels)?;
            check_finite("the training data", batch.target.iter().chain(batch.encoder_x.iter()))?;
            self.0.train_step(&batch)
        })
    }

    fn save(&self, path: RStr<'_>) -> RResult<(), PluginError> {
        guard(|| self.0.save(path.as_str()))
    }
}

/// Builds model `T` from checked parameters and boxes it for the host.
pub fn new_model_box<T: Model>(params: &Params) -> Result<ModelBox, PluginError> {
    let model = T::new(params)?;
    Ok(ModelFfi_TO::from_value(Guarded(model), TD_Opaque))
}
