//! The noise service: coordinate-keyed white noise (`infty_sdk::noise`) and mollified
//! noise Tξ for any window, made from white noise on the window plus T's halo, so
//! every window that covers a pixel gives it the same value (DESIGN.md, "Determinism").

use infty_sdk::host::NoiseRequest;
use infty_sdk::noise::NoiseKey;
use infty_sdk::{FieldMut, FieldRef, OperatorBox, PluginError};

/// Fills `output` with the noise of `request`: white when `mollifier` is None,
/// otherwise `mollifier` (T at the request's σ) applied to white noise on the window
/// T asks for (the output window plus its halo, clipped to the raster, whose edges T
/// mirrors itself).
pub fn fill(
    request: NoiseRequest,
    mollifier: Option<&OperatorBox>,
    output: FieldMut<'_>,
) -> Result<(), PluginError> {
    let raster = output.raster;
    let key = NoiseKey::new(request.seed, request.stream, raster);
    let Some(t) = mollifier else { return key.fill(output) };
    let wanted = t.input_window(output.window, raster).into_result()?.clipped_to(&raster.bounds());
    let mut white = vec![0.0f32; wanted.area() as usize * raster.channels as usize];
    key.fill(FieldMut::new(raster, wanted, &mut white)?)?;
    t.process(FieldRef::new(raster, wanted, &white)?, output).into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_mollifier::Mollify;
    use infty_sdk::{new_operator_box, Operator, RasterInfo, Window};

    fn mollifier(sigma: f64) -> OperatorBox {
        let params = Mollify::spec().resolve([("sigma", sigma.to_string().as_str())]).unwrap();
        new_operator_box::<Mollify>(&params).unwrap()
    }

    /// The raster's noise, computed in square tiles of `tile` pixels.
    fn tiled(request: NoiseRequest, t: Option<&OperatorBox>, raster: RasterInfo, tile: u32) -> Vec<f32> {
        let (w, h) = (raster.width as usize, raster.height as usize);
        let mut whole = vec![0.0f32; w * h * raster.channels as usize];
        for ty in (0..raster.height).step_by(tile as usize) {
            for tx in (0..raster.width).step_by(tile as usize) {
                let window = Window::new(
                    tx.into(),
                    ty.into(),
                    tile.min(raster.width - tx),
                    tile.min(raster.height - ty),
                );
                let mut buf = vec![0.0f32; window.area() as usize * raster.channels as usize];
                fill(request, t, FieldMut::new(raster, window, &mut buf).unwrap()).unwrap();
                let ww = window.width as usize;
                for (i, row) in buf.chunks_exact(ww).enumerate() {
                    let (c, y) = (i / window.height as usize, i % window.height as usize);
                    let start = c * w * h + (ty as usize + y) * w + tx as usize;
                    whole[start..start + ww].copy_from_slice(row);
                }
            }
        }
        whole
    }

    #[test]
    fn every_tiling_gives_bit_identical_noise() {
        let raster = RasterInfo::new(150, 120, 3);
        for sigma in [0.0, 1.0, 2.5] {
            let t = (sigma > 0.0).then(|| mollifier(sigma));
            let request = NoiseRequest { seed: 11, stream: 4, sigma };
            let whole = tiled(request, t.as_ref(), raster, 1024);
            for tile in [64, 37, 7] {
                let got = tiled(request, t.as_ref(), raster, tile);
                let same = whole.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "σ={sigma}: tiles of {tile} differ from the whole raster");
            }
        }
    }

    #[test]
    fn mollified_noise_has_the_reference_per_pixel_std() {
        // Reference-spec §2.2: std(Tξ) = 0.284 at S = 256, σ = 1 (0.282 in the continuum).
        let raster = RasterInfo::new(256, 256, 3);
        let t = mollifier(1.0);
        let noise = tiled(NoiseRequest { seed: 5, stream: 0, sigma: 1.0 }, Some(&t), raster, 256);
        let n = noise.len() as f64;
        let mean = noise.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let std = (noise.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
        eprintln!("Tξ at 256², σ=1: mean {mean:.5}, std {std:.5}");
        // About 15 600 independent samples (n over the blur's area 4πσ²): std error 0.6%.
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((std - 0.284).abs() < 0.006, "std {std}");
    }
}
