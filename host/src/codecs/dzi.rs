//! DeepZoom output (`write out.dzi`), as libvips' `dzsave` writes it and OpenSeadragon
//! reads it: the descriptor `out.dzi` and the tiles `out_files/LEVEL/COL_ROW.jpeg` (PNG
//! when the image has alpha). Level `⌈log2 max(w, h)⌉` is the image itself; each level
//! below is the one above halved by 2×2 means, down to 1×1 at level 0. Tiles are 254 px
//! with 1 px of overlap on every side that has a neighbour (DeepZoom's defaults).
//!
//! The image is computed one band of tiles at a time, top to bottom, and each level keeps
//! only the rows its next row of tiles needs (u8, about 256 rows), so memory grows with
//! the width, not the height.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use infty_sdk::RasterInfo;
use rayon::prelude::*;

use crate::engine::grid::Grid;
use crate::engine::job::Job;
use crate::engine::progress;
use crate::error::{Error, Result};
use crate::raster::Sample;

pub const TILE: u32 = 254;
pub const OVERLAP: u32 = 1;

/// Computes `job` (whose output is `info`) and writes it as DeepZoom at `path` (`.dzi`),
/// in bands of `band` rows. The tiles go to a hidden folder renamed to `NAME_files` when
/// complete, then the descriptor is written: a DeepZoom that exists is a whole one.
pub fn write(job: &Job<'_>, info: RasterInfo, path: &Path, quality: u8, band: u32) -> Result<()> {
    let (folder, stem) = (path.parent().unwrap_or(Path::new("")), path.file_stem().unwrap_or_default());
    let tiles = folder.join(format!("{}_files", stem.to_string_lossy()));
    let part = folder.join(format!(".{}_files.infty-part", stem.to_string_lossy()));
    let failed = |e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", tiles.display()));
    let _ = std::fs::remove_dir_all(&part); // left by a run that was killed
    let _pending = crate::interrupt::pending_output(&part);
    let result = write_tiles(job, info, &part, quality, band);
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&part);
        return Err(error);
    }
    if tiles.exists() {
        std::fs::remove_dir_all(&tiles).map_err(failed)?;
    }
    std::fs::rename(&part, &tiles).map_err(failed)?;
    let descriptor = descriptor(info, suffix(info.channels));
    let temp = folder.join(format!(".{}.infty-part", path.file_name().unwrap_or_default().to_string_lossy()));
    std::fs::write(&temp, descriptor)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| Error::failed(format!("cannot write '{}': {e}", path.display())))
}

/// The `.dzi` descriptor.
fn descriptor(info: RasterInfo, suffix: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"{suffix}\" Overlap=\"{OVERLAP}\" \
         TileSize=\"{TILE}\">\n  <Size Width=\"{}\" Height=\"{}\"/>\n</Image>\n",
        info.width, info.height
    )
}

/// Tiles are JPEG, or PNG where there is an alpha channel.
fn suffix(channels: u32) -> &'static str {
    if channels.is_multiple_of(2) {
        "png"
    } else {
        "jpeg"
    }
}

fn write_tiles(job: &Job<'_>, info: RasterInfo, folder: &Path, quality: u8, band: u32) -> Result<()> {
    let mut pyramid = Pyramid::new(folder, info, quality).map_err(|e| write_error(folder, e))?;
    let grid = Grid { width: info.width, height: info.height, tile: band };
    let (across, c) = (grid.tiles_across(), info.channels as usize);
    let progress = progress::bar(u64::from(grid.tile_count()), 0);
    for first in (0..grid.tile_count()).step_by(across as usize) {
        let height = grid.tile_window(first).height as usize;
        let rows = std::sync::Mutex::new(vec![vec![0u8; info.width as usize * c]; height]);
        let indices: Vec<u32> = (first..first + across).collect();
        job.for_tiles(&grid, &indices, |index, planes| {
            let window = grid.tile_window(index);
            let (w, h, x0) = (window.width as usize, window.height as usize, window.x as usize);
            let samples = planes.into_f32();
            let mut rows = rows.lock().expect("band lock");
            for (y, row) in rows.iter_mut().enumerate().take(h) {
                for x in 0..w {
                    for ch in 0..c {
                        row[(x0 + x) * c + ch] = u8::from_field(samples[ch * w * h + y * w + x]);
                    }
                }
            }
            progress.inc(1);
            Ok(())
        })?;
        for row in rows.into_inner().expect("band lock") {
            pyramid.push(0, row).map_err(|e| write_error(folder, e))?;
        }
    }
    progress.finish_and_clear();
    pyramid.finish().map_err(|e| write_error(folder, e))
}

fn write_error(folder: &Path, error: std::io::Error) -> Error {
    Error::failed(format!("cannot write DeepZoom tiles into '{}': {error}", folder.display()))
}

/// One level being filled row by row, top to bottom.
struct Level {
    /// The DeepZoom level number (the image's is the largest).
    number: u32,
    width: u32,
    height: u32,
    /// Rows `first..first + rows.len()`, interleaved u8 samples.
    first: u32,
    rows: VecDeque<Vec<u8>>,
    /// Rows of tiles written.
    done: u32,
    /// A row waiting for the next one, to make a row of the level below.
    pending: Option<Vec<u8>>,
}

/// Every level of the image, the image's first.
struct Pyramid {
    folder: PathBuf,
    channels: usize,
    quality: u8,
    levels: Vec<Level>,
}

impl Pyramid {
    fn new(folder: &Path, info: RasterInfo, quality: u8) -> std::io::Result<Pyramid> {
        let top = info.width.max(info.height).next_power_of_two().trailing_zeros();
        let levels: Vec<Level> = (0..=top)
            .map(|k| Level {
                number: top - k,
                width: info.width.div_ceil(1 << k),
                height: info.height.div_ceil(1 << k),
                first: 0,
                rows: VecDeque::new(),
                done: 0,
                pending: None,
            })
            .collect();
        for level in &levels {
            std::fs::create_dir_all(folder.join(level.number.to_string()))?;
        }
        Ok(Pyramid { folder: folder.to_path_buf(), channels: info.channels as usize, quality, levels })
    }

    /// Adds the next row of level `at`; every second row makes one of the level below.
    fn push(&mut self, at: usize, row: Vec<u8>) -> std::io::Result<()> {
        if at + 1 < self.levels.len() {
            match self.levels[at].pending.take() {
                None => self.levels[at].pending = Some(row.clone()),
                Some(above) => {
                    let half = halve(&above, Some(&row), self.channels);
                    self.push(at + 1, half)?;
                }
            }
        }
        self.levels[at].rows.push_back(row);
        self.write_ready(at)
    }

    /// Halves the last row of an odd height, level by level, and checks every tile is out.
    fn finish(mut self) -> std::io::Result<()> {
        for at in 0..self.levels.len() {
            if let Some(last) = self.levels[at].pending.take() {
                let half = halve(&last, None, self.channels);
                self.push(at + 1, half)?;
            }
            let level = &self.levels[at];
            assert_eq!(level.done, level.height.div_ceil(TILE), "level {} has every row", level.number);
        }
        Ok(())
    }

    /// Writes each row of tiles of level `at` whose rows are all there, and lets go of
    /// the rows no later tile needs.
    fn write_ready(&mut self, at: usize) -> std::io::Result<()> {
        let (channels, quality) = (self.channels, self.quality);
        let level = &mut self.levels[at];
        let folder = self.folder.join(level.number.to_string());
        while level.done < level.height.div_ceil(TILE) {
            let r = level.done;
            let y0 = (r * TILE).saturating_sub(OVERLAP);
            let y1 = level.height.min((r + 1) * TILE + OVERLAP);
            if level.first + (level.rows.len() as u32) < y1 {
                return Ok(());
            }
            let rows: Vec<&[u8]> = (y0..y1).map(|y| &level.rows[(y - level.first) as usize][..]).collect();
            (0..level.width.div_ceil(TILE)).into_par_iter().try_for_each(|col| {
                let x0 = (col * TILE).saturating_sub(OVERLAP) as usize;
                let x1 = level.width.min((col + 1) * TILE + OVERLAP) as usize;
                let pixels: Vec<u8> =
                    rows.iter().flat_map(|row| &row[x0 * channels..x1 * channels]).copied().collect();
                let file = folder.join(format!("{col}_{r}.{}", suffix(channels as u32)));
                encode_tile(&file, &pixels, (x1 - x0) as u32, y1 - y0, channels, quality)
            })?;
            level.done += 1;
            while level.first < ((r + 1) * TILE).saturating_sub(OVERLAP) && !level.rows.is_empty() {
                level.rows.pop_front();
                level.first += 1;
            }
        }
        Ok(())
    }
}

/// One row of the level below: each sample the mean of the up to 2×2 samples of `upper`
/// and `lower` (absent below an odd height) it covers, rounded.
fn halve(upper: &[u8], lower: Option<&[u8]>, channels: usize) -> Vec<u8> {
    let width = upper.len() / channels;
    let mut out = Vec::with_capacity(width.div_ceil(2) * channels);
    for x in (0..width).step_by(2) {
        for ch in 0..channels {
            let (mut sum, mut n) = (0u32, 0u32);
            for row in std::iter::once(upper).chain(lower) {
                for xx in x..(x + 2).min(width) {
                    sum += u32::from(row[xx * channels + ch]);
                    n += 1;
                }
            }
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    out
}

fn encode_tile(
    file: &Path,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: usize,
    quality: u8,
) -> std::io::Result<()> {
    use image::{ExtendedColorType, ImageEncoder};
    let color = match channels {
        1 => ExtendedColorType::L8,
        2 => ExtendedColorType::La8,
        3 => ExtendedColorType::Rgb8,
        _ => ExtendedColorType::Rgba8,
    };
    let mut bytes = Vec::new();
    let encoded = if channels.is_multiple_of(2) {
        image::codecs::png::PngEncoder::new(&mut bytes).write_image(pixels, width, height, color)
    } else {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
            .write_image(pixels, width, height, color)
    };
    encoded.map_err(std::io::Error::other)?;
    std::fs::write(file, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_and_keeps_odd_edges() {
        // Two RGB-less rows of 3 gray pixels: the last column averages alone.
        assert_eq!(halve(&[10, 20, 30], Some(&[30, 40, 51]), 1), [25, 41]);
        assert_eq!(halve(&[10, 21, 30], None, 1), [16, 30]);
        assert_eq!(halve(&[0, 100, 10, 200], None, 2), [5, 150]);
    }

    #[test]
    fn levels_go_from_the_image_down_to_one_pixel_and_tiles_overlap_their_neighbours() {
        let folder = tempfile::tempdir().unwrap();
        let info = RasterInfo::new(600, 300, 1);
        let mut pyramid = Pyramid::new(folder.path(), info, 90).unwrap();
        assert_eq!(pyramid.levels.len(), 11, "600 px needs levels 0 to 10");
        for y in 0..300u32 {
            pyramid.push(0, (0..600u32).map(|x| ((x + y) % 256) as u8).collect()).unwrap();
        }
        pyramid.finish().unwrap();
        let size = |level: u32, name: &str| {
            let file = folder.path().join(format!("{level}/{name}.jpeg"));
            image::image_dimensions(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        };
        // Level 10 is 600×300 in 3×2 tiles of 254 plus a pixel of overlap inside.
        assert_eq!(size(10, "0_0"), (255, 255));
        assert_eq!(size(10, "1_0"), (256, 255));
        assert_eq!(size(10, "2_1"), (93, 47));
        assert_eq!(size(9, "1_0"), (47, 150), "300×150: the second column is 254 - 1 .. 300");
        assert_eq!(size(0, "0_0"), (1, 1));
        assert!(!folder.path().join("10/3_0.jpeg").exists());
    }
}
