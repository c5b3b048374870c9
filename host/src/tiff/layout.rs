//! How each tile of an output image is stored in a tiled TIFF: the engine's grid with
//! the sample depth, compression and offset size, and the encoding of one tile's samples.

use std::io::Write;

use infty_sdk::{RasterInfo, Window};

use crate::engine::grid::Grid;
use crate::engine::planes::Planes;
use crate::error::Result;
use crate::format::Depth;
use crate::raster::Sample;
use crate::tiff::predictor::Predictor;

/// Compression of tiled TIFF output, with its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileCompression {
    None,
    Deflate(u32),
    Zstd(i32),
}

/// The default levels, libvips' and GDAL's: zlib's own 6 for deflate, and 9 for zstd
/// (zstd's own 3 gave files 15% larger than libvips' on bench/inpaint's photo).
pub const DEFLATE_LEVEL: u32 = 6;
pub const ZSTD_LEVEL: i32 = 9;

impl TileCompression {
    /// The TIFF `Compression` tag value.
    pub fn tag(self) -> u16 {
        match self {
            TileCompression::None => 1,
            TileCompression::Deflate(_) => 8,
            TileCompression::Zstd(_) => 50000,
        }
    }

    /// The compression a tag names, at the default level (a file does not say its level).
    pub fn from_tag(tag: u16) -> Option<Self> {
        [TileCompression::None, TileCompression::Deflate(DEFLATE_LEVEL), TileCompression::Zstd(ZSTD_LEVEL)]
            .into_iter()
            .find(|c| c.tag() == tag)
    }
}

/// Memory each tile costs while a tiled output is written, in bytes: its offset, byte
/// count and checksum in the writer's tables, and its entries in the lists of tiles
/// to do and done.
const TABLE_BYTES_PER_TILE: u64 = 32;

/// Refuses a grid whose tiles cannot be numbered in 32 bits, or whose tile tables need
/// more than `available` bytes of memory, before anything is allocated.
fn check_tables(grid: &Grid, available: Option<u64>) -> Result<()> {
    grid.check_tiles(u64::from(u32::MAX), "more than the 4294967295 a file can index")?;
    match available {
        Some(bytes) => grid.check_tiles(
            bytes / TABLE_BYTES_PER_TILE,
            &format!(
                "whose tables need {} MiB, more than the {} MiB of memory available",
                (grid.tiles() * TABLE_BYTES_PER_TILE) >> 20,
                bytes >> 20
            ),
        ),
        None => Ok(()),
    }
}

/// Everything that fixes the bytes of a tiled output: two runs with equal layouts
/// produce interchangeable tiles (what resume and merge rely on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub depth: Depth,
    pub compression: TileCompression,
    /// Applied to each row of a tile before it is compressed.
    pub predictor: Predictor,
    pub tile: u32,
    /// BigTIFF (64-bit offsets); chosen when a classic TIFF could pass 4 GiB.
    pub big: bool,
}

impl Layout {
    /// The layout of `info` in tiles of `tile` px; refused when the tiles cannot be
    /// counted in 32 bits, or their tables would not fit in the memory available.
    /// BigTIFF is chosen from the real tile count.
    pub fn new(
        info: RasterInfo,
        depth: Depth,
        compression: TileCompression,
        predictor: Predictor,
        tile: u32,
    ) -> Result<Layout> {
        let mut layout = Layout {
            width: info.width,
            height: info.height,
            channels: info.channels,
            depth,
            compression,
            predictor,
            tile,
            big: false,
        };
        // Stored tiles are padded to full size; compression can grow data slightly.
        let tile_bytes = u64::from(tile) * u64::from(tile) * u64::from(info.channels) * depth.bytes() as u64;
        check_tables(&layout.grid(), infty_kit::memory::available_bytes())?;
        let bound = u64::from(layout.tile_count()) * (tile_bytes + tile_bytes / 64 + 1024) + (1 << 20);
        layout.big = bound >= u64::from(u32::MAX);
        Ok(layout)
    }

    /// The tile grid these tiles are computed in.
    pub fn grid(&self) -> Grid {
        Grid { width: self.width, height: self.height, tile: self.tile }
    }

    pub fn tiles_across(&self) -> u32 {
        self.grid().tiles_across()
    }

    pub fn tile_count(&self) -> u32 {
        self.grid().tile_count()
    }

    /// The image region of tile `index` (row-major), clipped at the right and bottom.
    pub fn tile_window(&self, index: u32) -> Window {
        self.grid().tile_window(index)
    }

    /// The stored bytes of one tile: `planes` (the samples of `window`, channel-major)
    /// at the file's depth, interleaved, padded to a full tile, predicted, compressed.
    pub fn encode_tile(&self, window: Window, planes: &Planes) -> std::io::Result<Vec<u8>> {
        let mut raw = match planes {
            Planes::U8(p) if self.depth == Depth::U8 => self.interleave(window, p, |v| [v]),
            Planes::U16(p) if self.depth == Depth::U16 => self.interleave(window, p, u16::to_le_bytes),
            Planes::U8(p) => self.converted(window, p),
            Planes::U16(p) => self.converted(window, p),
            Planes::F32(p) => self.converted(window, p),
        };
        if self.predictor != Predictor::None {
            let row_bytes = (self.tile * self.channels) as usize * self.depth.bytes();
            for row in raw.chunks_exact_mut(row_bytes) {
                self.predictor.apply(row, self.channels as usize, self.depth);
            }
        }
        match self.compression {
            TileCompression::None => Ok(raw),
            TileCompression::Deflate(level) => {
                let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
                z.write_all(&raw)?;
                z.finish()
            }
            TileCompression::Zstd(level) => zstd::bulk::compress(&raw, level),
        }
    }

    /// Samples of another depth, through their field values, interleaved.
    fn converted<S: Sample>(&self, window: Window, planar: &[S]) -> Vec<u8> {
        match self.depth {
            Depth::U8 => self.interleave(window, planar, |v| [u8::from_field(v.to_field())]),
            Depth::U16 => self.interleave(window, planar, |v| u16::from_field(v.to_field()).to_le_bytes()),
            Depth::F32 => self.interleave(window, planar, |v| v.to_field().to_le_bytes()),
        }
    }

    /// A full tile of interleaved little-endian samples, `N` bytes each; the part
    /// outside `window` stays zero.
    fn interleave<S: Copy, const N: usize>(
        &self,
        window: Window,
        planar: &[S],
        bytes: impl Fn(S) -> [u8; N] + Copy,
    ) -> Vec<u8> {
        let (w, h, c, tile) =
            (window.width as usize, window.height as usize, self.channels as usize, self.tile as usize);
        // Each row is zeroed just before it is written (in cache), not the whole tile first.
        let (row_bytes, tile_bytes) = (tile * c * N, tile * tile * c * N);
        let mut out = Vec::with_capacity(tile_bytes);
        for y in 0..h {
            let start = out.len();
            out.resize(start + row_bytes, 0);
            let row = &mut out[start..start + w * c * N];
            let plane_row = |ch: usize| &planar[ch * w * h + y * w..][..w];
            // A constant pixel size lets the compiler vectorise the strided writes.
            match c {
                1 => scatter::<1, S, N>(row, std::array::from_fn(plane_row), bytes),
                3 => scatter::<3, S, N>(row, std::array::from_fn(plane_row), bytes),
                4 => scatter::<4, S, N>(row, std::array::from_fn(plane_row), bytes),
                _ => (0..c).for_each(|ch| {
                    for (pixel, &v) in row.chunks_exact_mut(c * N).zip(plane_row(ch)) {
                        pixel[ch * N..(ch + 1) * N].copy_from_slice(&bytes(v));
                    }
                }),
            }
        }
        out.resize(tile_bytes, 0);
        out
    }
}

/// Interleaves one row of `C` planes into pixels of `C` samples of `N` bytes, compiled
/// for AVX2 where the CPU has it.
fn scatter<const C: usize, S: Copy, const N: usize>(
    row: &mut [u8],
    planes: [&[S]; C],
    bytes: impl Fn(S) -> [u8; N],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { scatter_avx2::<C, S, N>(row, planes, bytes) };
    }
    scatter_body::<C, S, N>(row, planes, bytes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scatter_avx2<const C: usize, S: Copy, const N: usize>(
    row: &mut [u8],
    planes: [&[S]; C],
    bytes: impl Fn(S) -> [u8; N],
) {
    scatter_body::<C, S, N>(row, planes, bytes)
}

#[inline(always)]
fn scatter_body<const C: usize, S: Copy, const N: usize>(
    row: &mut [u8],
    planes: [&[S]; C],
    bytes: impl Fn(S) -> [u8; N],
) {
    for (x, pixel) in row.chunks_exact_mut(C * N).enumerate() {
        for (ch, plane) in planes.iter().enumerate() {
            pixel[ch * N..(ch + 1) * N].copy_from_slice(&bytes(plane[x]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::grid::TILE;

    #[test]
    fn tiles_cover_the_image_and_clip_at_the_edges() {
        let layout = Layout::new(
            RasterInfo::new(600, 300, 3),
            Depth::U8,
            TileCompression::None,
            Predictor::None,
            TILE,
        )
        .unwrap();
        assert_eq!((layout.tiles_across(), layout.tile_count()), (3, 6));
        assert_eq!(layout.tile_window(5), Window::new(512, 256, 88, 44));
        assert!(!layout.big);
        let huge = Layout::new(
            RasterInfo::new(40_000, 40_000, 3),
            Depth::U8,
            TileCompression::Deflate(DEFLATE_LEVEL),
            Predictor::None,
            TILE,
        )
        .unwrap();
        assert!(huge.big, "4.8 GB of samples needs BigTIFF");
    }

    #[test]
    fn tile_tables_larger_than_memory_are_refused_naming_a_tile_size_that_fits() {
        // 1048576² in 32 px tiles: 2^30 tiles, 32 GiB of tables.
        let grid = Grid { width: 1 << 20, height: 1 << 20, tile: 32 };
        let error = check_tables(&grid, Some(8 << 30)).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().ends_with("tables need 32768 MiB, more than the 8192 MiB of memory available"),
            "{error}"
        );
        assert_eq!(error.help(), Some("give `write --tile-size 64` or larger"));
        assert!(check_tables(&Grid { tile: 64, ..grid }, Some(8 << 30)).is_ok());
        assert!(check_tables(&grid, None).is_ok(), "without a memory figure only the count limits");
    }

    #[test]
    fn a_tile_is_interleaved_converted_and_padded() {
        let layout = Layout {
            tile: 16,
            ..Layout::new(RasterInfo::new(2, 1, 2), Depth::U8, TileCompression::None, Predictor::None, TILE)
                .unwrap()
        };
        let bytes =
            layout.encode_tile(Window::new(0, 0, 2, 1), &Planes::F32(vec![0.0, 1.0, 0.5, 2.0])).unwrap();
        assert_eq!(bytes.len(), 16 * 16 * 2);
        assert_eq!(&bytes[..4], &[0, 128, 255, 255]);
        assert!(bytes[4..].iter().all(|&b| b == 0));
    }
}
