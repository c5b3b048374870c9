//! A training batch (docs/reference.md §3.3 steps 3–6): for each item a noised crop, a
//! uniform random subset of its pixels for the decoder and an independent subset for
//! the encoder, with x_t, the target (Tξ or v) and the guide gathered at the first and the clean crop at
//! the second. Buffers are channel-major per item, as the SDK's `Points` expect.

use infty_sdk::{ModelInput, Point, Points, TrainBatch};
use rand::Rng;

use crate::diffusion::Noised;

/// One step's data, owned.
pub struct Batch {
    size: u32,
    items: u32,
    points: Vec<Point>,
    x_t: Vec<f32>,
    target: Vec<f32>,
    guide: Vec<f32>,
    t: Vec<f32>,
    encoder_points: Vec<Point>,
    encoder_x: Vec<f32>,
}

/// `count` distinct pixels of a `size`² raster, uniformly at random, in draw order
/// (as the reference's `np.random.choice(S², N, replace=False)`).
pub fn sample_points(rng: &mut impl Rng, size: u32, count: usize) -> Vec<Point> {
    rand::seq::index::sample(rng, (size * size) as usize, count)
        .into_iter()
        .map(|i| Point { x: i as u32 % size, y: i as u32 / size })
        .collect()
}

/// The pixels the encoder may see: the known ones, or every pixel when `known` is
/// empty (no mask guide) or marks none.
pub fn visible(size: u32, known: &[f32]) -> Vec<u32> {
    let pixels: Vec<u32> =
        (0..size * size).filter(|&i| known.get(i as usize).is_some_and(|&k| k > 0.0)).collect();
    if pixels.is_empty() {
        (0..size * size).collect()
    } else {
        pixels
    }
}

/// `count` of the `visible` pixels, uniformly at random.
fn sample_visible(rng: &mut impl Rng, size: u32, visible: &[u32], count: usize) -> Vec<Point> {
    rand::seq::index::sample(rng, visible.len(), count)
        .into_iter()
        .map(|j| Point { x: visible[j] % size, y: visible[j] / size })
        .collect()
}

/// Appends the samples of full-crop `planes` at `points`, channel by channel.
fn gather(planes: &[f32], size: u32, points: &[Point], out: &mut Vec<f32>) {
    let plane = (size * size) as usize;
    for channel in planes.chunks_exact(plane) {
        out.extend(points.iter().map(|p| channel[(p.y * size + p.x) as usize]));
    }
}

impl Batch {
    /// Gathers `items` at `rate`·size² random points each.
    pub fn new(items: &[Noised], size: u32, rate: f64, rng: &mut impl Rng) -> Batch {
        let count = ((f64::from(size * size) * rate).round() as usize).clamp(1, (size * size) as usize);
        let mut batch = Batch {
            size,
            items: items.len() as u32,
            points: Vec::new(),
            x_t: Vec::new(),
            target: Vec::new(),
            guide: Vec::new(),
            t: Vec::new(),
            encoder_points: Vec::new(),
            encoder_x: Vec::new(),
        };
        // The encoder sees the clean crop at a fresh, independent subset (§3.3 step 5);
        // with a mask guide, of the known pixels only, as `infty inpaint` encodes. Every
        // item has the same count, so the fewest known pixels may lower it.
        let visible: Vec<Vec<u32>> = items.iter().map(|item| visible(size, &item.known)).collect();
        let encoder_count = visible.iter().map(Vec::len).fold(count, usize::min).max(1);
        for (item, visible) in items.iter().zip(&visible) {
            let points = sample_points(rng, size, count);
            let encoder_points = sample_visible(rng, size, visible, encoder_count);
            gather(&item.x_t, size, &points, &mut batch.x_t);
            gather(&item.target, size, &points, &mut batch.target);
            gather(&item.guide, size, &points, &mut batch.guide);
            gather(&item.x0, size, &encoder_points, &mut batch.encoder_x);
            batch.t.push(item.t as f32);
            batch.points.extend(points);
            batch.encoder_points.extend(encoder_points);
        }
        batch
    }

    /// The batch as the model's training step takes it.
    pub fn as_train(&self) -> TrainBatch<'_> {
        TrainBatch {
            input: ModelInput {
                at: Points::sparse(self.size, self.items, &self.points),
                x: self.x_t.as_slice().into(),
                guide: self.guide.as_slice().into(),
                t: self.t.as_slice().into(),
                z: (&[][..]).into(),
            },
            target: self.target.as_slice().into(),
            encoder_at: Points::sparse(self.size, self.items, &self.encoder_points),
            encoder_x: self.encoder_x.as_slice().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{rng, Purpose};

    #[test]
    fn with_a_mask_guide_the_encoder_sees_only_known_pixels_and_as_many_in_each_item() {
        let size = 8u32;
        let item = |known: Vec<f32>| Noised {
            x0: vec![0.0; 3 * 64],
            x_t: vec![0.0; 3 * 64],
            target: vec![0.0; 3 * 64],
            noise: vec![0.0; 3 * 64],
            guide: Vec::new(),
            known,
            t: 0,
        };
        // 40 and 10 known pixels; the decoder takes 25% (16) of each crop.
        let known = |n: usize| (0..64).map(|i| f32::from(u8::from(i < n))).collect::<Vec<_>>();
        let items = [item(known(40)), item(known(10))];
        let batch = Batch::new(&items, size, 0.25, &mut rng(2, Purpose::Step, 0));
        assert_eq!(batch.points.len(), 2 * 16);
        assert_eq!(batch.encoder_points.len(), 2 * 10, "the fewest known pixels cap the count");
        for (k, p) in batch.encoder_points.iter().enumerate() {
            let limit = if k < 10 { 40 } else { 10 };
            assert!(p.y * size + p.x < limit, "item {}: point {p:?} is in a hole", k / 10);
        }
        // Without a mask, every pixel may be drawn: as many as the decoder's.
        let unmasked = Batch::new(&[item(Vec::new())], size, 0.25, &mut rng(2, Purpose::Step, 0));
        assert_eq!(unmasked.encoder_points.len(), 16);
    }

    #[test]
    fn points_are_distinct_and_gathered_channel_major() {
        let mut r = rng(1, Purpose::Step, 0);
        let points = sample_points(&mut r, 8, 16);
        let mut seen: Vec<u32> = points.iter().map(|p| p.y * 8 + p.x).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 16);
        let planes: Vec<f32> = (0..3 * 64).map(|v| v as f32).collect();
        let mut out = Vec::new();
        gather(&planes, 8, &points[..2], &mut out);
        let flat = |p: &Point| (p.y * 8 + p.x) as f32;
        assert_eq!(
            out,
            [
                flat(&points[0]),
                flat(&points[1]),
                64.0 + flat(&points[0]),
                64.0 + flat(&points[1]),
                128.0 + flat(&points[0]),
                128.0 + flat(&points[1])
            ]
        );
    }
}
