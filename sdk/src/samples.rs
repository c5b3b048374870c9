//! Samples at the depth a file stores them. Operators see normalised f32 fields by
//! default; an operator may also declare that it takes 8- or 16-bit samples as they are
//! (as libvips' format tables do), so a chain on a u8 image need not widen every sample
//! to f32 and back ([`crate::SampleSupport`] here, the windows in [`crate::Samples`]).
//! They travel in an optional extension table beside the plugin's root module
//! ([`crate::plugin::SamplesExtension`]), so plugins built before it still load.
//!
//! Integer samples stand for the normalised values `v / 255` and `v / 65535`; a field
//! value goes back to an integer sample by rounding to the nearest and clamping to
//! [0, 1] ([`Sample::from_field`]), which is how the host writes f32 results to an
//! integer file. An operator taking integer samples must give what its f32 `process`
//! gives on the normalised samples, converted back that way.

use abi_stable::StableAbi;

/// How a file stores samples: the sample types fields can hold.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Depth {
    /// 8-bit unsigned integers, `v / 255`.
    U8,
    /// 16-bit unsigned integers, `v / 65535`.
    U16,
    /// 32-bit floats, as they are.
    F32,
}

impl Depth {
    /// Parses `u8`, `u16` or `f32`.
    pub fn from_name(name: &str) -> Option<Depth> {
        [Depth::U8, Depth::U16, Depth::F32].into_iter().find(|d| d.name() == name)
    }

    /// `u8`, `u16` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            Depth::U8 => "u8",
            Depth::U16 => "u16",
            Depth::F32 => "f32",
        }
    }

    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 => 2,
            Depth::F32 => 4,
        }
    }
}

/// A sample type a field can hold, with its conversions to and from field values.
pub trait Sample: Copy + Default + Send + Sync + StableAbi + 'static {
    /// Which one it is.
    const DEPTH: Depth;
    /// The field value of this sample.
    fn to_field(self) -> f32;
    /// The nearest sample to a field value (clamped; NaN gives 0 for integers).
    fn from_field(v: f32) -> Self;
}

/// `v / MAX` and back: a division, not a table, so loops of it vectorise.
macro_rules! integer_sample {
    ($($t:ty => $depth:ident),*) => {$(
        impl Sample for $t {
            const DEPTH: Depth = Depth::$depth;
            #[inline]
            fn to_field(self) -> f32 {
                f32::from(self) / f32::from(<$t>::MAX)
            }
            #[inline]
            fn from_field(v: f32) -> Self {
                round_non_negative(unit(v) * f32::from(<$t>::MAX)) as $t
            }
        }
    )*};
}
integer_sample!(u8 => U8, u16 => U16);

impl Sample for f32 {
    const DEPTH: Depth = Depth::F32;
    #[inline]
    fn to_field(self) -> f32 {
        self
    }
    #[inline]
    fn from_field(v: f32) -> Self {
        v
    }
}

/// `v` clamped to [0, 1], NaN to 0 (`max` and `min` return the operand that is a number).
#[inline]
#[allow(clippy::manual_clamp)] // clamp keeps NaN
fn unit(v: f32) -> f32 {
    v.max(0.0).min(1.0)
}

/// `v.round()` for 0 ≤ v ≤ 65535, without a libm call or a saturating conversion, so
/// it vectorises. For v ≥ 0.5, `v + 0.5` rounds to a value with the right floor; below,
/// the result is 0 (the one f32 where `v + 0.5` rounds up to 1 is just below 0.5).
#[inline]
fn round_non_negative(v: f32) -> u32 {
    debug_assert!((0.0..=65535.0).contains(&v), "{v}");
    // SAFETY: v + 0.5 lies in [0.5, 65535.5], well inside i32.
    let up = unsafe { (v + 0.5).to_int_unchecked::<i32>() } as u32;
    if v < 0.5 {
        0
    } else {
        up
    }
}

/// Converts a row of samples to field values (a contiguous loop, so it vectorises).
pub fn row_to_field<T: Sample>(from: &[T], to: &mut [f32]) {
    to.iter_mut().zip(from).for_each(|(t, &f)| *t = f.to_field());
}

/// Converts a row of field values to samples (a contiguous loop, so it vectorises).
pub fn row_from_field<T: Sample>(from: &[f32], to: &mut [T]) {
    to.iter_mut().zip(from).for_each(|(t, &f)| *t = T::from_field(f));
}

/// The integer sample depths an operator takes as they are.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleSupport {
    /// Takes u8 samples.
    pub u8: bool,
    /// Takes u16 samples.
    pub u16: bool,
    /// Integer results equal the f32 results exactly, not just after rounding (true
    /// for operators that only move samples, like a crop). A chain keeps integer
    /// samples through exact operators and through one rounding operator only, so it
    /// gives the same pixels as computing it all in f32.
    pub exact: bool,
}

impl SampleSupport {
    /// f32 only: the default.
    pub const F32: SampleSupport = SampleSupport { u8: false, u16: false, exact: false };
    /// u8 and u16, results rounded.
    pub const INTEGERS: SampleSupport = SampleSupport { u8: true, u16: true, exact: false };
    /// u8 and u16, results exact.
    pub const INTEGERS_EXACT: SampleSupport = SampleSupport { u8: true, u16: true, exact: true };

    /// Whether samples of `depth` are taken (f32 always is).
    pub fn takes(&self, depth: Depth) -> bool {
        match depth {
            Depth::U8 => self.u8,
            Depth::U16 => self.u16,
            Depth::F32 => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_rounding_equals_round_everywhere_it_is_used() {
        let mut v = 0.0f32;
        while v <= 65535.0 {
            assert_eq!(round_non_negative(v), v.round() as u32, "{v}");
            v = if v < 1.0 { v + 1e-4 } else { f32::from_bits(v.to_bits() + 97) };
        }
        for v in [0.49999997f32, 0.5, 1.5, 2.5, 254.5, 65534.5] {
            assert_eq!(round_non_negative(v), v.round() as u32, "{v}");
        }
        assert_eq!(u8::from_field(f32::NAN), 0);
        assert_eq!(u8::from_field(7.0), 255);
    }

    #[test]
    fn integer_samples_round_trip_exactly() {
        assert!((0..=255u8).all(|v| u8::from_field(v.to_field()) == v));
        assert!((0..=65535u16).all(|v| u16::from_field(v.to_field()) == v));
    }

    #[test]
    fn depths_are_named() {
        for depth in [Depth::U8, Depth::U16, Depth::F32] {
            assert_eq!(Depth::from_name(depth.name()), Some(depth));
        }
        assert_eq!(Depth::from_name("u32"), None);
    }
}
