//! Conformance helpers for plugin tests: run an operator the way the host does, on
//! the whole raster or tile by tile, to check tile invariance and boundaries; and the
//! sampler conformance kit ([`sampler`]).

pub mod sampler;

use crate::{
    FieldMut, FieldRef, Operator, PluginError, RasterInfo, Sample, Samples, SamplesMut, TypedMut, TypedRef,
    Window,
};

/// Runs `op` over `input` (planar samples of `raster`) in output tiles of `tile` pixels,
/// exactly as the host does: for each tile, ask `input_window`, clip it to the raster,
/// pass that window. `tile` ≥ the raster size means one whole-image call.
pub fn run_tiled<T: Operator>(
    op: &T,
    raster: RasterInfo,
    input: &[f32],
    tile: u32,
) -> Result<(RasterInfo, Vec<f32>), PluginError> {
    assert!(tile > 0, "tile size must be positive");
    let out_raster = op.output_raster(raster)?;
    let plane = out_raster.width as usize * out_raster.height as usize;
    let mut output = vec![0.0f32; plane * out_raster.channels as usize];
    let (row, in_plane) = (raster.width as usize, raster.width as usize * raster.height as usize);
    for ty in (0..out_raster.height).step_by(tile as usize) {
        for tx in (0..out_raster.width).step_by(tile as usize) {
            let window = Window::new(
                i64::from(tx),
                i64::from(ty),
                tile.min(out_raster.width - tx),
                tile.min(out_raster.height - ty),
            );
            let wanted = op.input_window(window, raster)?.clipped_to(&raster.bounds());
            let start = wanted.y as usize * row + wanted.x as usize;
            let view =
                FieldRef::with_strides(raster, wanted, row, in_plane, &input[start.min(input.len())..])?;
            let mut buf = vec![0.0f32; window.area() as usize * out_raster.channels as usize];
            op.process(view, FieldMut::new(out_raster, window, &mut buf)?)?;
            let (w, tile_plane) = (window.width as usize, window.area() as usize);
            for c in 0..out_raster.channels as usize {
                for y in 0..window.height as usize {
                    let dst = c * plane + (ty as usize + y) * out_raster.width as usize + tx as usize;
                    output[dst..dst + w].copy_from_slice(&buf[c * tile_plane + y * w..][..w]);
                }
            }
        }
    }
    Ok((out_raster, output))
}

/// The largest absolute difference between two sample buffers.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "buffers differ in length");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Checks `op`'s integer paths against its f32 `process` on `raster` (one whole-image
/// call each, on pseudo-random samples from `seed`): for each depth `sample_support`
/// takes, `process_typed` must give the f32 result rounded to that depth
/// (`Sample::from_field`). Returns what differs.
pub fn check_sample_support<T: Operator>(op: &T, raster: RasterInfo, seed: u64) -> Result<(), String> {
    let support = T::sample_support();
    if support.u8 {
        check_depth::<T, u8>(op, raster, seed)?;
    }
    if support.u16 {
        check_depth::<T, u16>(op, raster, seed)?;
    }
    Ok(())
}

fn check_depth<T: Operator, S: Sample + PartialEq + std::fmt::Debug + TryFrom<u64>>(
    op: &T,
    raster: RasterInfo,
    seed: u64,
) -> Result<(), String>
where
    for<'a> TypedRef<'a>: From<Samples<'a, S>>,
    for<'a> TypedMut<'a>: From<SamplesMut<'a, S>>,
{
    let failed = |e: PluginError| format!("{}: {e}", S::DEPTH.name());
    let out_raster = op.output_raster(raster).map_err(failed)?;
    let window = op.input_window(out_raster.bounds(), raster).map_err(failed)?.clipped_to(&raster.bounds());
    let mut state = seed;
    let samples: Vec<S> = (0..window.area() * u64::from(raster.channels))
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            S::try_from((state >> 33) % (1 << (8 * S::DEPTH.bytes()))).unwrap_or_default()
        })
        .collect();
    let len = out_raster.bounds().area() as usize * out_raster.channels as usize;
    let mut got = vec![S::default(); len];
    let input = Samples::new(raster, window, &samples).map_err(failed)?;
    let output = SamplesMut::new(out_raster, out_raster.bounds(), &mut got).map_err(failed)?;
    op.process_typed(input.into(), output.into()).map_err(failed)?;
    let field: Vec<f32> = samples.iter().map(|s| s.to_field()).collect();
    let mut want = vec![0.0f32; len];
    let input = FieldRef::new(raster, window, &field).map_err(failed)?;
    op.process(input, FieldMut::new(out_raster, out_raster.bounds(), &mut want).map_err(failed)?)
        .map_err(failed)?;
    match got.iter().zip(&want).position(|(&g, &w)| g != S::from_field(w)) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{} sample {i}: process_typed gave {:?}, the f32 result {} rounds to {:?}",
            S::DEPTH.name(),
            got[i],
            want[i],
            S::from_field(want[i])
        )),
    }
}
