//! Every random draw of a run is a pure function of the seed, what it is for and an
//! index (the step, the crop): a resumed run draws exactly what the uninterrupted run
//! would have, without saving generator state.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a generator is for; each purpose gets independent streams.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// Which images are held out.
    Split = 1,
    /// The order images are visited in, per epoch.
    Order = 2,
    /// Crops, flips, timesteps, noise, points and guides of a training step.
    Step = 3,
    /// The held-out crops and their noise.
    Validation = 4,
    /// The crops a latent prior's data is encoded from.
    Latents = 5,
}

/// The generator for `purpose` and `index` under `seed`.
pub fn rng(seed: u64, purpose: Purpose, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (purpose as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(index);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_repeat_and_differ() {
        let draw = |p, i| rng(7, p, i).gen::<u64>();
        assert_eq!(draw(Purpose::Step, 3), draw(Purpose::Step, 3));
        assert_ne!(draw(Purpose::Step, 3), draw(Purpose::Step, 4));
        assert_ne!(draw(Purpose::Step, 3), draw(Purpose::Order, 3));
    }
}
