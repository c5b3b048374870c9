//! LayerNorm over the last dimension and the per-item modulation that follows it, in one
//! pass over the features for inference on CPU (docs/network.md#profile).
//!
//! libtorch spends a parallel region on each of `layer_norm` and `addcmul`, and its
//! LayerNorm handles rows of 32 to 128 channels one by one: in a bf16 forward of the
//! bundled model they took a fifth of the time. Here each row is read once, normalised in
//! float32, multiplied by the LayerNorm's weight times the item's scale, shifted, and
//! rounded once to the features' precision. Where autograd needs the graph (training, the
//! guidance's VJP) or the features are not on the CPU, libtorch's own ops run instead.

use half::bf16;
use multiversion::multiversion;
use tch::{Device, Kind, Tensor};

use crate::omp;

/// `LN(x)·weight + bias` over the last dimension (C) of `x` `(B, …, C)`, then, with a
/// modulation `(scale, shift)` (each B·C values broadcast against `x`, e.g. `(B, 1, C)`),
/// `·scale + shift` per item.
pub fn layer_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    modulation: Option<(&Tensor, &Tensor)>,
) -> Tensor {
    let c = *x.size().last().expect("features have a channel dimension");
    let mut inputs = [x, weight, bias].into_iter().chain(modulation.into_iter().flat_map(|(s, t)| [s, t]));
    let fused = x.device() == Device::Cpu && !(grad_enabled() && inputs.any(Tensor::requires_grad));
    if fused {
        if let Some(out) = fused_layer_norm(x, weight, bias, eps, modulation) {
            return out;
        }
    }
    let f = x.layer_norm([c], Some(weight), Some(bias), eps, false);
    match modulation {
        Some((scale, shift)) => shift.addcmul(&f, scale),
        None => f,
    }
}

/// Whether autograd records operations on this thread (it does unless in `no_grad`).
fn grad_enabled() -> bool {
    // SAFETY: sets the thread's grad mode and restores it at once.
    unsafe {
        let enabled = torch_sys::at_grad_set_enabled(0);
        torch_sys::at_grad_set_enabled(enabled);
        enabled != 0
    }
}

/// The fused pass, for float32 and bf16 features of a multiple of 16 channels; `None`
/// for others.
fn fused_layer_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    modulation: Option<(&Tensor, &Tensor)>,
) -> Option<Tensor> {
    let (items, c) = (x.size()[0], *x.size().last().expect("features have a channel dimension"));
    if c == 0 || !(c as usize).is_multiple_of(LANES) || !matches!(x.kind(), Kind::Float | Kind::BFloat16) {
        return None;
    }
    // The per-item affine map of the normalised row, in float32: LN's weight and bias
    // folded into the modulation, `(x̂·w + b)·s + t = x̂·(w·s) + (b·s + t)`.
    let (w, b) = (weight.to_kind(Kind::Float), bias.to_kind(Kind::Float));
    let (w, b) = match modulation {
        Some((s, t)) => {
            let s = s.to_kind(Kind::Float).reshape([items, c]);
            (&w * &s, &b * &s + t.to_kind(Kind::Float).reshape([items, c]))
        }
        None => (w.reshape([1, c]), b.reshape([1, c])),
    };
    let (w, b) = (w.contiguous(), b.contiguous());
    let x = x.contiguous();
    let out = Tensor::empty(x.size(), (x.kind(), Device::Cpu));
    let (c, rows) = (c as usize, (x.numel() as i64 / c) as usize);
    let kind = x.kind();
    let (x_at, out_at) = (x.data_ptr() as usize, out.data_ptr() as usize);
    // SAFETY: `w` and `b` are contiguous float32 CPU tensors, alive until the end.
    let affine =
        unsafe { Affine { weight: slice(&w), bias: slice(&b), rows_per_item: rows / w.size()[0] as usize } };
    omp::parallel_for(rows, GROUP, |share| {
        let (start, len) = (share.start * c, share.len() * c);
        // SAFETY: `x` and `out` are contiguous CPU tensors of `rows·c` elements of the
        // kind matched; the shares are disjoint and `out` is fresh, so no two threads
        // touch the same output and nothing else aliases it.
        unsafe {
            match kind {
                Kind::Float => normalise_f32(
                    rows_at(x_at, start, len),
                    rows_at_mut(out_at, start, len),
                    share.start,
                    c,
                    &affine,
                    eps as f32,
                ),
                _ => normalise_bf16(
                    rows_at(x_at, start, len),
                    rows_at_mut(out_at, start, len),
                    share.start,
                    c,
                    &affine,
                    eps as f32,
                ),
            }
        }
    });
    Some(out)
}

/// The per-item weight and bias, `(items, C)` row-major, float32.
struct Affine<'a> {
    weight: &'a [f32],
    bias: &'a [f32],
    rows_per_item: usize,
}

/// An element the pass reads and writes, through float32.
trait Element: Copy {
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
}

impl Element for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl Element for bf16 {
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    /// Round to nearest even, NaN to the quiet NaN, exactly as libtorch's
    /// `round_to_nearest_even` (written out so that it vectorises).
    fn from_f32(v: f32) -> Self {
        let bits = v.to_bits();
        let rounded = (bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16;
        bf16::from_bits(if v.is_nan() { 0x7fc0 } else { rounded })
    }
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+fma", "x86_64+avx2+fma"))]
fn normalise_f32(x: &[f32], out: &mut [f32], first_row: usize, c: usize, affine: &Affine, eps: f32) {
    normalise(x, out, first_row, c, affine, eps);
}

#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+fma", "x86_64+avx2+fma"))]
fn normalise_bf16(x: &[bf16], out: &mut [bf16], first_row: usize, c: usize, affine: &Affine, eps: f32) {
    normalise(x, out, first_row, c, affine, eps);
}

/// Lanes of the vectorised loops; the fused pass takes rows of a multiple of this.
const LANES: usize = 16;

/// Rows normalised together: each phase below loops over them with no dependency from
/// one row to the next, so the out-of-order core overlaps their reductions and square
/// roots (row by row, the latency of those chains was the whole cost).
const GROUP: usize = 16;

/// Rows `first_row..` of the features, per group of rows: each row's mean, then its
/// biased variance about that mean (two passes, no less exact than libtorch's Welford),
/// then `(v − mean)/√(var + eps)·w + b`. A group is converted to float32 once; rows are
/// read in blocks of 16 lanes, each sum is reduced as a tree, and the square roots of a
/// group are taken together.
#[inline(always)]
fn normalise<T: Element>(x: &[T], out: &mut [T], first_row: usize, c: usize, affine: &Affine, eps: f32) {
    let inv_c = 1.0 / c as f32;
    let mut group = vec![0f32; GROUP * c];
    // The item of the current row, and the first row of the next item.
    let mut item = first_row / affine.rows_per_item;
    let mut next_item = (item + 1) * affine.rows_per_item;
    let mut row_index = first_row;
    for (input, output) in x.chunks(c * GROUP).zip(out.chunks_mut(c * GROUP)) {
        let group = &mut group[..input.len()];
        for (g, v) in group.iter_mut().zip(input) {
            *g = v.to_f32();
        }
        let (mut mean, mut rstd) = ([0f32; GROUP], [0f32; GROUP]);
        for (m, row) in mean.iter_mut().zip(group.chunks_exact(c)) {
            *m = lane_sum(row, |v| v);
        }
        mean.iter_mut().for_each(|m| *m *= inv_c);
        for ((r, row), &m) in rstd.iter_mut().zip(group.chunks_exact(c)).zip(&mean) {
            *r = lane_sum(row, |v| (v - m) * (v - m));
        }
        rstd.iter_mut().for_each(|r| *r = 1.0 / (*r * inv_c + eps).sqrt());
        let rows = group.chunks_exact(c).zip(output.chunks_exact_mut(c));
        for (i, (row, out)) in rows.enumerate() {
            if row_index == next_item {
                item += 1;
                next_item += affine.rows_per_item;
            }
            row_index += 1;
            let (w, b) = (&affine.weight[item * c..(item + 1) * c], &affine.bias[item * c..(item + 1) * c]);
            for (((o, v), w), b) in out.iter_mut().zip(row).zip(w).zip(b) {
                *o = T::from_f32((v - mean[i]) * rstd[i] * w + b);
            }
        }
    }
}

/// `Σ f(v)` over a row whose length is a multiple of the lanes.
#[inline(always)]
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut lanes = [0f32; LANES];
    for block in row.chunks_exact(LANES) {
        for (s, &v) in lanes.iter_mut().zip(block) {
            *s += f(v);
        }
    }
    tree_sum(lanes)
}

/// The sum of the lanes, pairwise: four dependent adds rather than sixteen.
#[inline(always)]
fn tree_sum(mut lanes: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
        width /= 2;
    }
    lanes[0]
}

/// # Safety
/// `t` is a contiguous CPU tensor whose elements are `T`.
unsafe fn slice<T>(t: &Tensor) -> &[T] {
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const T, t.numel()) }
}

/// # Safety
/// `len` elements of `T` start `start` elements after the address `at`.
unsafe fn rows_at<'a, T>(at: usize, start: usize, len: usize) -> &'a [T] {
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts((at as *const T).add(start), len) }
}

/// # Safety
/// As `rows_at`, and nothing else reads or writes those elements meanwhile.
unsafe fn rows_at_mut<'a, T>(at: usize, start: usize, len: usize) -> &'a mut [T] {
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts_mut((at as *mut T).add(start), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libtorch's ops, the path taken when autograd needs the graph.
    fn unfused(x: &Tensor, w: &Tensor, b: &Tensor, modulation: Option<(&Tensor, &Tensor)>) -> Tensor {
        let f = x.layer_norm([x.size()[2]], Some(w), Some(b), 1e-5, false);
        modulation.map_or(f.shallow_clone(), |(s, t)| t.addcmul(&f, s))
    }

    #[test]
    fn the_fused_pass_equals_libtorch_ops() {
        tch::manual_seed(3);
        let _guard = tch::no_grad_guard();
        // The expected value is libtorch's ops in f32 on the same (rounded) inputs. The
        // fused pass computes in f32 and rounds once, so in bf16 it is within half a unit
        // in the last place of that, 2⁻⁸ of the value. libtorch's own bf16 ops are not the
        // yardstick: they round after the norm as well, and how depends on the CPU.
        for (kind, relative) in [(Kind::Float, 1e-5), (Kind::BFloat16, 1.0 / 256.0)] {
            assert!(fused_layer_norm(
                &Tensor::zeros([1, 2, 40], (kind, Device::Cpu)),
                &Tensor::ones([40], (kind, Device::Cpu)),
                &Tensor::zeros([40], (kind, Device::Cpu)),
                1e-5,
                None
            )
            .is_none());
            for c in [32, 48, 128] {
                let opts = (Kind::Float, Device::Cpu);
                let rounded = |t: Tensor| t.to_kind(kind);
                let x = rounded(Tensor::randn([3, 50, c], opts) * 3 + 1);
                let (w, b) = (rounded(Tensor::randn([c], opts)), rounded(Tensor::randn([c], opts)));
                let (s, t) =
                    (rounded(Tensor::randn([3, 1, c], opts)), rounded(Tensor::randn([3, 1, c], opts)));
                let f32 = |t: &Tensor| t.to_kind(Kind::Float);
                for modulated in [false, true] {
                    let fused = fused_layer_norm(&x, &w, &b, 1e-5, modulated.then_some((&s, &t)))
                        .expect("a fused kind");
                    let (s32, t32) = (f32(&s), f32(&t));
                    let expected = unfused(&f32(&x), &f32(&w), &f32(&b), modulated.then_some((&s32, &t32)));
                    let excess =
                        ((fused.to_kind(Kind::Float) - &expected).abs() - expected.abs() * relative - 1e-5)
                            .max()
                            .double_value(&[]);
                    assert!(
                        excess <= 0.0,
                        "{kind:?} C={c} modulated={modulated}: {excess:e} beyond the bound"
                    );
                }
            }
        }
    }
}
