//! Runs one operator over a whole raster, tile by tile: for each output tile the
//! operator names the input window it needs, the host passes that window (clipped
//! to the image) and collects the output. Tiles of one row run in parallel unless
//! the operator is `Serial`.

use infty_sdk::{FieldMut, RasterInfo, ThreadingMode, Window};
use rayon::prelude::*;

use crate::error::Result;
use crate::pipeline::{plugin_error, Stage};
use crate::raster::Raster;

/// Output tile edge in pixels.
const TILE: u32 = 256;

/// The tiles covering `bounds`, row by row.
fn tile_rows(bounds: Window, tile: u32) -> Vec<Vec<Window>> {
    (0..bounds.height.div_ceil(tile))
        .map(|ty| {
            (0..bounds.width.div_ceil(tile))
                .map(|tx| {
                    let (x, y) = (tx * tile, ty * tile);
                    Window::new(
                        i64::from(x),
                        i64::from(y),
                        tile.min(bounds.width - x),
                        tile.min(bounds.height - y),
                    )
                })
                .collect()
        })
        .collect()
}

/// Computes `stage` on `input`, producing a raster described by `info`.
pub fn apply(stage: &Stage, input: &Raster, info: RasterInfo) -> Result<Raster> {
    let compute = |tile: &Window| -> Result<Vec<f32>> {
        let wanted =
            stage.op.input_window(*tile, input.info).into_result().map_err(|e| plugin_error(stage, e))?;
        let window = wanted.clipped_to(&input.info.bounds());
        let mut samples = vec![0.0; info.channels as usize * tile.area() as usize];
        let field = FieldMut::new(info, *tile, &mut samples).expect("a tile buffer fits its tile");
        stage.op.process(input.view(window), field).into_result().map_err(|e| plugin_error(stage, e))?;
        Ok(samples)
    };
    let parallel = stage.op.threading() == ThreadingMode::Parallel;
    let mut output = Raster::zeros(info);
    for row in tile_rows(info.bounds(), TILE) {
        let results: Vec<Result<Vec<f32>>> =
            if parallel { row.par_iter().map(compute).collect() } else { row.iter().map(compute).collect() };
        for (tile, samples) in row.iter().zip(results) {
            output.put(*tile, &samples?);
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_raster_exactly_once() {
        let rows = tile_rows(Window::new(0, 0, 600, 300), 256);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].len(), 3);
        assert_eq!(rows[1][2], Window::new(512, 256, 88, 44));
        let area: u64 = rows.iter().flatten().map(Window::area).sum();
        assert_eq!(area, 600 * 300);
    }
}
