//! The hot loop of T: `out[x] = h[0]·s₀[x] + Σ_m h[m]·(s₋ₘ[x] + sₘ[x])`, where `s_m`
//! are the source rows (column pass) or shifted copies of one padded row (row pass).
//! Blocks of outputs are accumulated in registers across all taps before one store; on
//! x86-64 with AVX2 and FMA a copy compiled for those runs instead of the baseline.

use infty_sdk::samples::{row_from_field, row_to_field};
use infty_sdk::Sample;

/// Outputs per register block: 8 AVX registers, then 2 for the rest of a row.
const WIDE: usize = 64;
const NARROW: usize = 16;

/// Computes `out` from `data`, where source row `m ∈ −R..=R` starts at
/// `data[offsets[R + m]]` and `taps` holds `h[0..=R]`.
pub fn symmetric_taps(out: &mut [f32], taps: &[f32], data: &[f32], offsets: &[usize]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        return unsafe { symmetric_taps_avx2(out, taps, data, offsets) };
    }
    symmetric_taps_body(out, taps, data, offsets, |acc, h, v| acc + h * v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn symmetric_taps_avx2(out: &mut [f32], taps: &[f32], data: &[f32], offsets: &[usize]) {
    symmetric_taps_body(out, taps, data, offsets, |acc, h, v| h.mul_add(v, acc))
}

/// One chunk of `L` outputs at `x`, accumulated in registers across all taps.
#[inline(always)]
fn chunk<const L: usize>(
    out: &mut [f32],
    x: usize,
    taps: &[f32],
    data: &[f32],
    offsets: &[usize],
    fma: &impl Fn(f32, f32, f32) -> f32,
) {
    let r = taps.len() - 1;
    let row = |m: usize| -> &[f32; L] { data[offsets[m] + x..][..L].try_into().expect("L samples") };
    let mut acc = row(r).map(|v| taps[0] * v);
    for (m, &h) in taps.iter().enumerate().skip(1) {
        let (before, after) = (row(r - m), row(r + m));
        for l in 0..L {
            acc[l] = fma(acc[l], h, before[l] + after[l]);
        }
    }
    out[x..x + L].copy_from_slice(&acc);
}

#[inline(always)]
fn symmetric_taps_body(
    out: &mut [f32],
    taps: &[f32],
    data: &[f32],
    offsets: &[usize],
    fma: impl Fn(f32, f32, f32) -> f32,
) {
    let r = taps.len() - 1;
    assert_eq!(offsets.len(), 2 * r + 1, "one source row per tap");
    let n = out.len();
    let mut x = 0;
    while x + WIDE <= n {
        chunk::<WIDE>(out, x, taps, data, offsets, &fma);
        x += WIDE;
    }
    while x + NARROW <= n {
        chunk::<NARROW>(out, x, taps, data, offsets, &fma);
        x += NARROW;
    }
    if x < n && n >= NARROW {
        // Overlaps the chunk before; overlapping outputs get equal values.
        chunk::<NARROW>(out, n - NARROW, taps, data, offsets, &fma);
        return;
    }
    for (i, o) in out[x..].iter_mut().enumerate() {
        let at = |m: usize| data[offsets[m] + x + i];
        *o = taps
            .iter()
            .enumerate()
            .skip(1)
            .fold(taps[0] * at(r), |acc, (m, &h)| fma(acc, h, at(r - m) + at(r + m)));
    }
}

/// Widens integer samples to their f32 field values, compiled for AVX2 where the CPU
/// has it.
pub fn widen_row<T: Sample>(from: &[T], to: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        return unsafe { widen_row_avx2(from, to) };
    }
    row_to_field(from, to)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn widen_row_avx2<T: Sample>(from: &[T], to: &mut [f32]) {
    row_to_field(from, to)
}

/// Rounds f32 field values to samples (the host's own conversion), compiled for AVX2
/// where the CPU has it.
pub fn narrow_row<T: Sample>(from: &[f32], to: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        return unsafe { narrow_row_avx2(from, to) };
    }
    row_from_field(from, to)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_row_avx2<T: Sample>(from: &[f32], to: &mut [T]) {
    row_from_field(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_plain_formula_for_every_chunking() {
        let data: Vec<f32> = (0..400).map(|i| ((i * 7919) % 97) as f32 / 97.0).collect();
        let taps = [0.5, 0.2, 0.05];
        let offsets = [0, 3, 10, 40, 41];
        // Scalar only; narrow chunks plus an overlapping one; wide, narrow and overlap.
        for len in [7, 37, 150] {
            let mut out = vec![0.0; len];
            symmetric_taps(&mut out, &taps, &data, &offsets);
            for (x, got) in out.iter().enumerate() {
                let s = |m: usize| data[offsets[m] + x];
                let want = 0.5 * s(2) + 0.2 * (s(1) + s(3)) + 0.05 * (s(0) + s(4));
                assert!((got - want).abs() < 1e-6, "len {len}, x={x}: {got} vs {want}");
            }
        }
    }
}
