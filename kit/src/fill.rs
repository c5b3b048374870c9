//! The smooth fill the chain starts from: holes filled from the known pixels around
//! them by pull-push over an image pyramid (Gortler et al. 1996, "The Lumigraph" §3.3),
//! which gives each level a close start, and successive over-relaxation of Laplace's
//! equation at every level on the way back up, until it converges: the harmonic
//! (membrane) fill.

/// Relaxation stops when no pixel moves more than this (values in [−1, 1]; an 8-bit
/// level is 0.008)...
const TOLERANCE: f32 = 1e-4;
/// ... or after this many sweeps.
const MAX_SWEEPS: usize = 1000;

/// Fills the pixels of `planes` (planar, `width × height` each) where `known` is false
/// with a smooth membrane through the known pixels. Without any known pixel, nothing
/// changes.
pub fn membrane_fill(planes: &mut [f32], known: &[bool], width: usize, height: usize) {
    let weights: Vec<f32> = known.iter().map(|&k| f32::from(u8::from(k))).collect();
    if weights.iter().all(|&w| w == 0.0) {
        return;
    }
    fill_level(planes, &weights, width, height);
}

/// One level: pull to a half-size level where each pixel averages its known children,
/// fill that, push its values into this level's holes (bilinearly), then relax.
fn fill_level(planes: &mut [f32], weights: &[f32], width: usize, height: usize) {
    if weights.iter().all(|&w| w > 0.0) {
        return;
    }
    let area = width * height;
    let channels = planes.len() / area;
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut coarse = vec![0f32; channels * cw * ch];
    let mut coarse_weights = vec![0f32; cw * ch];
    for y in 0..height {
        for x in 0..width {
            let (i, j) = (y * width + x, (y / 2) * cw + x / 2);
            coarse_weights[j] += weights[i];
            for c in 0..channels {
                coarse[c * cw * ch + j] += weights[i] * planes[c * area + i];
            }
        }
    }
    for (j, w) in coarse_weights.iter_mut().enumerate() {
        if *w > 0.0 {
            (0..channels).for_each(|c| coarse[c * cw * ch + j] /= *w);
        }
        *w = w.min(1.0);
    }
    if (cw, ch) != (width, height) {
        fill_level(&mut coarse, &coarse_weights, cw, ch);
    }
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let w = weights[i];
            if w < 1.0 {
                for c in 0..channels {
                    let up = bilinear(&coarse[c * cw * ch..(c + 1) * cw * ch], cw, ch, x, y);
                    planes[c * area + i] = w * planes[c * area + i] + (1.0 - w) * up;
                }
            }
        }
    }
    relax(planes, weights, width, height);
}

/// The half-size plane evaluated at full-size pixel `(x, y)`, edges clamped.
fn bilinear(plane: &[f32], width: usize, height: usize, x: usize, y: usize) -> f32 {
    let axis = |v: usize, len: usize| {
        let u = ((v as f32 + 0.5) * 0.5 - 0.5).clamp(0.0, (len - 1) as f32);
        let lo = u.floor() as usize;
        (lo, (lo + 1).min(len - 1), u - lo as f32)
    };
    let ((x0, x1, fx), (y0, y1, fy)) = (axis(x, width), axis(y, height));
    let row = |y: usize| plane[y * width + x0] * (1.0 - fx) + plane[y * width + x1] * fx;
    row(y0) * (1.0 - fy) + row(y1) * fy
}

/// Successive over-relaxation of Laplace's equation over the pixels with no known
/// value, each moved towards the mean of its neighbours inside the grid, with the
/// optimal ω of a square of the grid's longer side, 2 / (1 + sin(π/n)).
fn relax(planes: &mut [f32], weights: &[f32], width: usize, height: usize) {
    let area = width * height;
    let holes: Vec<usize> = (0..area).filter(|&i| weights[i] == 0.0).collect();
    let omega = 2.0 / (1.0 + (std::f32::consts::PI / width.max(height) as f32).sin());
    for plane in planes.chunks_exact_mut(area) {
        for _ in 0..MAX_SWEEPS {
            let mut moved = 0f32;
            for &i in &holes {
                let (x, y) = (i % width, i / width);
                let mut sum = 0.0;
                let mut count = 0.0;
                for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx >= 0 && ny >= 0 && (nx as usize) < width && (ny as usize) < height {
                        sum += plane[ny as usize * width + nx as usize];
                        count += 1.0;
                    }
                }
                let step = omega * (sum / count - plane[i]);
                plane[i] += step;
                moved = moved.max(step.abs());
            }
            if moved < TOLERANCE {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_pixels_stay_and_a_ramp_is_filled_linear() {
        // A horizontal ramp with a hole in the middle: the harmonic fill is the ramp.
        let (w, h) = (32, 16);
        let ramp: Vec<f32> = (0..w * h).map(|i| (i % w) as f32 / (w - 1) as f32).collect();
        let known: Vec<bool> = (0..w * h).map(|i| !(8..24).contains(&(i % w)) || i / w < 2).collect();
        let mut filled: Vec<f32> = ramp.iter().zip(&known).map(|(&v, &k)| if k { v } else { 0.0 }).collect();
        membrane_fill(&mut filled, &known, w, h);
        for i in 0..w * h {
            if known[i] {
                assert_eq!(filled[i], ramp[i]);
            } else {
                assert!((filled[i] - ramp[i]).abs() < 0.002, "pixel {i}: {} vs {}", filled[i], ramp[i]);
            }
        }
    }

    #[test]
    fn nothing_known_leaves_the_planes() {
        let mut planes = vec![0.25f32; 12];
        membrane_fill(&mut planes, &[false; 12], 4, 3);
        assert_eq!(planes, vec![0.25; 12]);
    }
}
