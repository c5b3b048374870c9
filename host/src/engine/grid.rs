//! The grid of tiles an output raster is computed in: tiles of one edge, numbered
//! row by row, the last column and row clipped at the raster's edges.

use infty_sdk::Window;

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

    pub fn tile_count(&self) -> u32 {
        self.tiles_across() * self.height.div_ceil(self.tile)
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
}
