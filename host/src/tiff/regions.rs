//! Copying a decoded chunk's part of a window into planar samples: interleaved pixels
//! split into channel planes, each sample mapped (kept, or normalised to f32), with
//! the common pixel sizes compiled for AVX2 where the CPU has it.

use infty_sdk::{SamplesMut, Window};

/// Where a chunk meets a window: the chunk's width, the channels, the chunk's top-left
/// pixel, and the part of the window inside the chunk (global coordinates).
pub type Region = (usize, usize, (i64, i64), Window);

/// Copies `area` of an interleaved chunk `chunk_width` pixels wide, whose top-left pixel
/// is `origin`, into the planar samples `out`, mapping each sample.
pub fn copy_region<S: Copy, D: Copy>(
    chunk: &[S],
    (chunk_width, channels, origin, area): Region,
    out: &mut SamplesMut<'_, D>,
    map: impl Fn(S) -> D + Copy,
) {
    let (ox, oy) = ((area.x - out.window.x) as usize, (area.y - out.window.y) as usize);
    for y in 0..area.height as usize {
        let row = (area.y - origin.1) as usize + y;
        let start = (row * chunk_width + (area.x - origin.0) as usize) * channels;
        let src = &chunk[start..start + area.width as usize * channels];
        for c in 0..channels {
            let dst = &mut out.row_mut(c, oy + y)[ox..ox + area.width as usize];
            // A constant pixel size lets the compiler vectorise the strided reads.
            match channels {
                1 => gather::<1, _, _>(src, c, dst, map),
                3 => gather::<3, _, _>(src, c, dst, map),
                4 => gather::<4, _, _>(src, c, dst, map),
                _ => dst.iter_mut().zip(src.chunks_exact(channels)).for_each(|(d, p)| *d = map(p[c])),
            }
        }
    }
}

/// Channel `c` of pixels of `N` samples, compiled for AVX2 where the CPU has it.
fn gather<const N: usize, S: Copy, D>(src: &[S], c: usize, dst: &mut [D], map: impl Fn(S) -> D) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { gather_avx2::<N, S, D>(src, c, dst, map) };
    }
    gather_body::<N, S, D>(src, c, dst, map)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_avx2<const N: usize, S: Copy, D>(src: &[S], c: usize, dst: &mut [D], map: impl Fn(S) -> D) {
    gather_body::<N, S, D>(src, c, dst, map)
}

#[inline(always)]
fn gather_body<const N: usize, S: Copy, D>(src: &[S], c: usize, dst: &mut [D], map: impl Fn(S) -> D) {
    dst.iter_mut().zip(src.chunks_exact(N)).for_each(|(d, p)| *d = map(p[c]));
}
