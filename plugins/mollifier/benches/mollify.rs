//! In-process speed of `mollify` (and `unmollify` for reference) on a 4096×4096 RGB f32
//! image: the operator called tile by tile in parallel, as the host's engine does.
//!
//! `cargo bench -p infty-mollifier --bench mollify [-- SIZE]`; `bench/mollify` runs it
//! beside OpenCV and libvips.

use std::time::Instant;

use infty_mollifier::{Mollify, Unmollify};
use infty_sdk::{FieldMut, FieldRef, Operator, RasterInfo, Window};
use rayon::prelude::*;

thread_local! {
    static OUT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One pass of `op` over the raster in parallel tiles; returns seconds.
fn run<T: Operator>(op: &T, raster: RasterInfo, input: &[f32], tile: (u32, u32)) -> f64 {
    let (tw, th) = tile;
    let tiles: Vec<Window> = (0..raster.height.div_ceil(th))
        .flat_map(|ty| (0..raster.width.div_ceil(tw)).map(move |tx| (tx * tw, ty * th)))
        .map(|(x, y)| Window::new(x.into(), y.into(), tw.min(raster.width - x), th.min(raster.height - y)))
        .collect();
    let (row, plane) = (raster.width as usize, raster.width as usize * raster.height as usize);
    let start = Instant::now();
    tiles.par_iter().for_each(|tile| {
        let wanted = op.input_window(*tile, raster).unwrap().clipped_to(&raster.bounds());
        let offset = wanted.y as usize * row + wanted.x as usize;
        let view = FieldRef::with_strides(raster, wanted, row, plane, &input[offset..]).unwrap();
        // Output buffers are reused per thread, as a streaming host would.
        OUT.with_borrow_mut(|out| {
            out.resize(tile.area() as usize * raster.channels as usize, 0.0);
            op.process(view, FieldMut::new(raster, *tile, out).unwrap()).unwrap();
            std::hint::black_box(&out);
        });
    });
    start.elapsed().as_secs_f64()
}

fn median_seconds<T: Operator>(
    op: &T,
    raster: RasterInfo,
    input: &[f32],
    tile: (u32, u32),
    runs: usize,
) -> f64 {
    run(op, raster, input, tile); // warm-up
    let mut times: Vec<f64> = (0..runs).map(|_| run(op, raster, input, tile)).collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn main() {
    let args: Vec<u32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let size = args.first().copied().unwrap_or(4096);
    let tile = (args.get(1).copied().unwrap_or(256), args.get(2).copied().unwrap_or(256));
    let raster = RasterInfo::new(size, size, 3);
    let input: Vec<f32> =
        (0..size as usize * size as usize * 3).map(|i| ((i * 2654435761) % 1000) as f32 / 1000.0).collect();
    let megapixels = f64::from(size) * f64::from(size) / 1e6;
    println!(
        "in-process, {size}x{size} RGB f32, {} threads, {}x{} tiles",
        rayon::current_num_threads(),
        tile.0,
        tile.1
    );
    for sigma in ["1", "4"] {
        let op = Mollify::new(&Mollify::spec().resolve([("sigma", sigma)]).unwrap()).unwrap();
        let s = median_seconds(&op, raster, &input, tile, 7);
        println!("mollify --sigma {sigma}: {:.1} ms, {:.0} MP/s", s * 1e3, megapixels / s);
    }
    let op = Unmollify::new(&Unmollify::spec().resolve([("sigma", "1")]).unwrap()).unwrap();
    let s = median_seconds(&op, raster, &input, (256, 256), 3);
    println!("unmollify --sigma 1: {:.1} ms, {:.0} MP/s", s * 1e3, megapixels / s);
}
