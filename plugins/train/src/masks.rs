//! Random inpainting masks for training mask-guided models: a box, brush strokes, or
//! both, covering a share of the crop between [`MIN_HOLE`] and [`MAX_HOLE`] on most
//! draws (the test masks of `infty inpaint`'s benchmark: centre boxes of 10% and 25%,
//! brush strokes, lie inside this range).

use rand::Rng;

/// The smallest and largest share of a box's side.
const BOX_SIDE: (f64, f64) = (0.2, 0.7);
/// Brush strokes per mask, their segment count and thickness (share of the side).
const STROKES: (u32, u32) = (1, 4);
const SEGMENTS: (u32, u32) = (2, 6);
const THICKNESS: (f64, f64) = (0.03, 0.1);

/// A `size`² mask, 1 where the pixel is known and 0 in the holes.
pub fn random_mask(size: u32, rng: &mut impl Rng) -> Vec<f32> {
    let mut known = vec![1f32; (size * size) as usize];
    let kind = rng.gen_range(0..3);
    if kind != 1 {
        let side = |r: &mut dyn rand::RngCore| (r.gen_range(BOX_SIDE.0..BOX_SIDE.1) * f64::from(size)) as u32;
        let (w, h) = (side(rng).max(1), side(rng).max(1));
        let (x0, y0) = (rng.gen_range(0..=size - w), rng.gen_range(0..=size - h));
        for y in y0..y0 + h {
            known[(y * size + x0) as usize..(y * size + x0 + w) as usize].fill(0.0);
        }
    }
    if kind != 0 {
        for _ in 0..rng.gen_range(STROKES.0..=STROKES.1) {
            stroke(&mut known, size, rng);
        }
    }
    known
}

/// A random polyline of round segments painted into the holes.
fn stroke(known: &mut [f32], size: u32, rng: &mut impl Rng) {
    let s = f64::from(size);
    let radius = rng.gen_range(THICKNESS.0..THICKNESS.1) * s;
    let mut at = (rng.gen_range(0.0..s), rng.gen_range(0.0..s));
    for _ in 0..rng.gen_range(SEGMENTS.0..=SEGMENTS.1) {
        let angle = rng.gen_range(0.0..std::f64::consts::TAU);
        let length = rng.gen_range(0.1..0.4) * s;
        let to = (
            (at.0 + angle.cos() * length).clamp(0.0, s - 1.0),
            (at.1 + angle.sin() * length).clamp(0.0, s - 1.0),
        );
        for y in 0..size {
            for x in 0..size {
                let p = (f64::from(x) + 0.5, f64::from(y) + 0.5);
                if distance_to_segment(p, at, to) <= radius {
                    known[(y * size + x) as usize] = 0.0;
                }
            }
        }
        at = to;
    }
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t =
        if length2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0) } else { 0.0 };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng, Purpose};

    #[test]
    fn masks_have_holes_and_known_pixels() {
        for i in 0..50 {
            let mask = random_mask(64, &mut rng(3, Purpose::Step, i));
            let hole = mask.iter().filter(|&&m| m == 0.0).count() as f64 / mask.len() as f64;
            assert!(hole > 0.0 && hole < 1.0, "mask {i}: hole share {hole}");
            assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0));
        }
    }
}
