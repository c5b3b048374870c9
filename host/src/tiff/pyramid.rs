//! `write --pyramid`: reduced-resolution levels (1/2, 1/4, … until a level fits one
//! tile) stored as SubIFDs of the image, as viewers of huge TIFFs expect. Each level
//! is a 2×2 box average of the one above, made from that level's tiles read back from
//! the file (so memory stays at a few tiles) and appended to it.

use std::io::{self, Read};
use std::os::unix::fs::FileExt;

use infty_sdk::Window;
use rayon::prelude::*;

use super::layout::{Layout, TileCompression};
use super::writer::{Level, TiledWriter};
use crate::engine::planes::Planes;
use crate::format::Depth;
use crate::raster::Sample;

/// Appends every reduced level of the image in `writer` and returns them.
pub fn build(writer: &mut TiledWriter) -> io::Result<Vec<Level>> {
    let (layout, offsets, counts) = writer.tiles();
    let base = Level { layout, offsets: offsets.to_vec(), counts: counts.to_vec() };
    let mut levels: Vec<Level> = Vec::new();
    loop {
        let above = levels.last().unwrap_or(&base);
        if above.layout.width <= above.layout.tile && above.layout.height <= above.layout.tile {
            return Ok(levels);
        }
        let layout = Layout {
            width: above.layout.width.div_ceil(2),
            height: above.layout.height.div_ceil(2),
            ..above.layout
        };
        let n = layout.tile_count() as usize;
        let mut level = Level { layout, offsets: vec![0; n], counts: vec![0; n] };
        let indices: Vec<u32> = (0..layout.tile_count()).collect();
        // A row of tiles is reduced in parallel, then appended in order.
        for row in indices.chunks(layout.tiles_across() as usize) {
            let tiles: Vec<Vec<u8>> = row
                .par_iter()
                .map(|&index| {
                    let window = layout.tile_window(index);
                    layout.encode_tile(window, &Planes::F32(reduce(writer, above, window)?))
                })
                .collect::<io::Result<_>>()?;
            for (&index, bytes) in row.iter().zip(tiles) {
                let offset = writer.reserve(bytes.len());
                writer.file().write_all_at(&bytes, offset)?;
                level.offsets[index as usize] = offset;
                level.counts[index as usize] = bytes.len() as u64;
            }
        }
        levels.push(level);
    }
}

/// `window` of the level below `above`: each pixel the mean of the (up to) 2×2
/// pixels of `above` it covers. Planar samples.
fn reduce(writer: &TiledWriter, above: &Level, window: Window) -> io::Result<Vec<f32>> {
    let (a, c) = (&above.layout, above.layout.channels as usize);
    let tile = a.tile as i64;
    let mut out = vec![0.0f32; window.area() as usize * c];
    let mut decoded: Vec<(u32, Vec<f32>)> = Vec::new();
    let (w, h) = (window.width as usize, window.height as usize);
    for y in 0..h {
        for x in 0..w {
            let (gx, gy) = (2 * (window.x + x as i64), 2 * (window.y + y as i64));
            let mut sum = vec![0.0f32; c];
            let mut n = 0.0f32;
            for (px, py) in [(gx, gy), (gx + 1, gy), (gx, gy + 1), (gx + 1, gy + 1)] {
                if px >= i64::from(a.width) || py >= i64::from(a.height) {
                    continue;
                }
                let index = (py / tile) as u32 * a.tiles_across() + (px / tile) as u32;
                if !decoded.iter().any(|(i, _)| *i == index) {
                    decoded.push((index, read_tile(writer, above, index)?));
                }
                let samples = &decoded.iter().find(|(i, _)| *i == index).expect("decoded").1;
                let at = ((py % tile) * tile + px % tile) as usize;
                for (ch, s) in sum.iter_mut().enumerate() {
                    *s += samples[ch * (tile * tile) as usize + at];
                }
                n += 1.0;
            }
            for (ch, s) in sum.iter().enumerate() {
                out[ch * w * h + y * w + x] = s / n;
            }
        }
    }
    Ok(out)
}

/// Tile `index` of `level` read back from the file, as planar samples of a full tile.
fn read_tile(writer: &TiledWriter, level: &Level, index: u32) -> io::Result<Vec<f32>> {
    let l = &level.layout;
    let mut stored = vec![0u8; level.counts[index as usize] as usize];
    writer.file().read_exact_at(&mut stored, level.offsets[index as usize])?;
    let (tile, c, bps) = (l.tile as usize, l.channels as usize, l.depth.bytes());
    let mut raw = match l.compression {
        TileCompression::None => stored,
        TileCompression::Deflate(_) => {
            let mut raw = Vec::with_capacity(tile * tile * c * bps);
            flate2::read::ZlibDecoder::new(&stored[..]).read_to_end(&mut raw)?;
            raw
        }
        TileCompression::Zstd(_) => zstd::bulk::decompress(&stored, tile * tile * c * bps)?,
    };
    for row in raw.chunks_exact_mut(tile * c * bps) {
        l.predictor.undo(row, c, l.depth);
    }
    let value = |i: usize| -> f32 {
        let b = &raw[i * bps..(i + 1) * bps];
        match l.depth {
            Depth::U8 => b[0].to_field(),
            Depth::U16 => u16::from_le_bytes([b[0], b[1]]).to_field(),
            Depth::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    };
    let mut planar = vec![0.0f32; tile * tile * c];
    for pixel in 0..tile * tile {
        for ch in 0..c {
            planar[ch * tile * tile + pixel] = value(pixel * c + ch);
        }
    }
    Ok(planar)
}
