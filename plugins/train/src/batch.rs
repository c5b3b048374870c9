//! A training batch (reference-spec §3.3 steps 3–6): for each item a noised crop, a
//! uniform random subset of its pixels for the decoder and an independent subset for
//! the encoder, with x_t, Tξ and the guide gathered at the first and the clean crop at
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
        for item in items {
            let points = sample_points(rng, size, count);
            // The encoder sees the clean crop at a fresh, independent subset (§3.3 step 5).
            let encoder_points = sample_points(rng, size, count);
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
