//! The grid of tiles an output raster is computed in: tiles of one edge, numbered
//! row by row, the last column and row clipped at the raster's edges.

use infty_sdk::Window;

use crate::error::{Error, Result};

/// Default edge of the output tiles, in pixels (`write --tile-size`; TIFF tiles must
/// be multiples of 16).
pub const TILE: u32 = 256;

/// A raster of `width` x `height` cut into tiles of `tile` x `tile` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub width: u32,
    pub height: u32,
    pub tile: u32,
}

impl Grid {
    pub fn tiles_across(&self) -> u32 {
        self.width.div_ceil(self.tile)
    }

    /// How many tiles cover the raster, counted in 64 bits: a huge raster of small
    /// tiles can hold 2^32 or more, which no tile index of the engine can name.
    pub fn tiles(&self) -> u64 {
        u64::from(self.tiles_across()) * u64::from(self.height.div_ceil(self.tile))
    }

    /// The tile count of a grid checked to hold fewer than 2^32 tiles
    /// ([`Grid::check_tiles`]).
    pub fn tile_count(&self) -> u32 {
        u32::try_from(self.tiles()).expect("a grid checked to hold fewer than 2^32 tiles")
    }

    /// Refuses a grid of more than `most` tiles, saying `why` that is too many and
    /// naming the smallest tile size that keeps within it.
    pub fn check_tiles(&self, most: u64, why: &str) -> Result<()> {
        if self.tiles() <= most {
            return Ok(());
        }
        let fits = (1..=256u32).map(|k| k * 16).find(|&tile| Grid { tile, ..*self }.tiles() <= most);
        let error = Error::usage(format!(
            "a {}x{} output in tiles of {} px would need {} tiles, {why}",
            self.width,
            self.height,
            self.tile,
            self.tiles()
        ));
        Err(match fits {
            Some(tile) => error.with_help(format!("give `write --tile-size {tile}` or larger")),
            None => error.with_help("the output is too large for any tile size; crop or scale it down"),
        })
    }

    /// The image region of tile `index` (row-major), clipped at the right and bottom.
    pub fn tile_window(&self, index: u32) -> Window {
        let (tx, ty) = (index % self.tiles_across() * self.tile, index / self.tiles_across() * self.tile);
        Window::new(tx.into(), ty.into(), self.tile.min(self.width - tx), self.tile.min(self.height - ty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_raster_and_clip_at_the_edges() {
        let grid = Grid { width: 600, height: 300, tile: TILE };
        assert_eq!((grid.tiles_across(), grid.tile_count()), (3, 6));
        assert_eq!(grid.tile_window(5), Window::new(512, 256, 88, 44));
    }

    #[test]
    fn two_to_the_32_tiles_are_refused_not_wrapped() {
        let grid = Grid { width: 1 << 20, height: 1 << 20, tile: 16 };
        assert_eq!(grid.tiles(), 1 << 32);
        let error = grid.check_tiles(u64::from(u32::MAX), "too many").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().ends_with("would need 4294967296 tiles, too many"), "{error}");
        assert_eq!(error.help(), Some("give `write --tile-size 32` or larger"));
        assert!(Grid { tile: 32, ..grid }.check_tiles(u64::from(u32::MAX), "").is_ok());
    }
}
