//! Coordinate-keyed Gaussian noise: every sample is a pure function of
//! `(seed, stream, global x, global y, channel, resolution)`, so any tile of any
//! size, on any thread or machine, regenerates exactly the same noise (docs/design.md,
//! "Determinism"). Tasks build mollified noise Tξ on top of it (the patch chains of
//! `infty-kit`); samplers never draw noise themselves.
//!
//! The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy
//! as 1, 2, 3", SC 2011), keyed by the seed and the raster size, counting over
//! `(x, y, channel pair, stream)`. Box–Muller turns one counter's four words into two
//! Gaussians (channels 2k and 2k+1), with `libm` so the bits do not depend on the
//! platform's maths library.

use crate::{FieldMut, PluginError, RasterInfo};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: four random words for a counter and a key.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let p0 = u64::from(M0) * u64::from(c[0]);
        let p1 = u64::from(M1) * u64::from(c[2]);
        let (hi0, lo0, hi1, lo1) = ((p0 >> 32) as u32, p0 as u32, (p1 >> 32) as u32, p1 as u32);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The noise of one `(seed, stream)` on one raster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoiseKey {
    key: [u32; 2],
    stream: u32,
}

impl NoiseKey {
    /// Noise for `seed` and `stream` (e.g. the sampling step) on a raster of
    /// `raster.width × raster.height`: another resolution gives independent noise.
    pub fn new(seed: u64, stream: u32, raster: RasterInfo) -> Self {
        let size = (u64::from(raster.width) << 32) | u64::from(raster.height);
        let k = mix64(mix64(seed) ^ size);
        Self { key: [k as u32, (k >> 32) as u32], stream }
    }

    /// The standard Gaussian sample at pixel `(x, y)`, channel `channel`.
    pub fn gaussian(&self, x: u32, y: u32, channel: u32) -> f32 {
        let pair = self.pair(x, y, channel / 2);
        pair[(channel % 2) as usize]
    }

    /// The samples of channels `2·pair` and `2·pair + 1` at `(x, y)` (Box–Muller).
    fn pair(&self, x: u32, y: u32, pair: u32) -> [f32; 2] {
        let r = philox4x32_10([x, y, pair, self.stream], self.key);
        // u1 in (0, 1] so the logarithm is finite; u2 in [0, 1); 53 bits each.
        let bits =
            |hi: u32, lo: u32| ((u64::from(hi) << 32 | u64::from(lo)) >> 11) as f64 / (1u64 << 53) as f64;
        let (u1, u2) = (1.0 - bits(r[0], r[1]), bits(r[2], r[3]));
        let radius = libm::sqrt(-2.0 * libm::log(u1));
        let angle = std::f64::consts::TAU * u2;
        [(radius * libm::cos(angle)) as f32, (radius * libm::sin(angle)) as f32]
    }

    /// Fills `field` with white noise at its global coordinates.
    pub fn fill(&self, mut field: FieldMut<'_>) -> Result<(), PluginError> {
        let window = field.window;
        if window.x < 0
            || window.y < 0
            || window.right() > i64::from(u32::MAX)
            || window.bottom() > i64::from(u32::MAX)
        {
            return Err(PluginError::invalid_input(format!(
                "noise window {window:?} is outside the coordinate range"
            )));
        }
        let channels = field.channels() as u32;
        for row in 0..window.height {
            let y = (window.y + i64::from(row)) as u32;
            for pair in 0..channels.div_ceil(2) {
                for col in 0..window.width {
                    let values = self.pair((window.x + i64::from(col)) as u32, y, pair);
                    for (c, value) in (2 * pair..channels.min(2 * pair + 2)).zip(values) {
                        field.row_mut(c as usize, row as usize)[col as usize] = value;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Window;

    #[test]
    fn philox_matches_the_random123_known_answers() {
        assert_eq!(philox4x32_10([0; 4], [0; 2]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn noise_depends_on_every_key_part_and_nothing_else() {
        let raster = RasterInfo::new(64, 48, 3);
        let key = NoiseKey::new(7, 0, raster);
        let at = key.gaussian(5, 9, 1);
        assert_eq!(at, NoiseKey::new(7, 0, raster).gaussian(5, 9, 1), "pure function");
        for other in [
            NoiseKey::new(8, 0, raster).gaussian(5, 9, 1),
            NoiseKey::new(7, 1, raster).gaussian(5, 9, 1),
            NoiseKey::new(7, 0, RasterInfo::new(128, 96, 3)).gaussian(5, 9, 1),
            key.gaussian(6, 9, 1),
            key.gaussian(5, 10, 1),
            key.gaussian(5, 9, 0),
            key.gaussian(5, 9, 2),
        ] {
            assert_ne!(at, other);
        }
    }

    #[test]
    fn a_window_fills_with_the_samples_at_its_global_coordinates() {
        let raster = RasterInfo::new(40, 30, 3);
        let key = NoiseKey::new(1, 2, raster);
        let window = Window::new(7, 11, 9, 5);
        let mut buf = vec![0.0; 9 * 5 * 3];
        key.fill(FieldMut::new(raster, window, &mut buf).unwrap()).unwrap();
        for c in 0..3 {
            for y in 0..5 {
                for x in 0..9 {
                    assert_eq!(buf[c * 45 + y * 9 + x], key.gaussian(7 + x as u32, 11 + y as u32, c as u32));
                }
            }
        }
    }

    #[test]
    fn white_noise_is_standard_and_uncorrelated() {
        let raster = RasterInfo::new(512, 512, 2);
        let mut buf = vec![0.0; 512 * 512 * 2];
        NoiseKey::new(3, 0, raster).fill(FieldMut::new(raster, raster.bounds(), &mut buf).unwrap()).unwrap();
        let n = buf.len() as f64;
        let mean = buf.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = buf.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        // Standard errors: mean 1/sqrt(n) = 0.0014, variance sqrt(2/n) = 0.002.
        assert!(mean.abs() < 0.006, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        let corr = |dx: usize, dy: usize, dc: usize| {
            let mut sum = 0.0;
            let mut count = 0.0;
            for y in 0..512 - dy {
                for x in 0..512 - dx {
                    sum += f64::from(buf[y * 512 + x])
                        * f64::from(buf[dc * 512 * 512 + (y + dy) * 512 + x + dx]);
                    count += 1.0;
                }
            }
            sum / count
        };
        for (dx, dy, dc) in [(1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1)] {
            let r = corr(dx, dy, dc);
            assert!(r.abs() < 0.01, "correlation at ({dx}, {dy}, channel +{dc}): {r}");
        }
    }
}
