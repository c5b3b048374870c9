//! How an operator moves pixels: the map from its output's pixel grid to its input's,
//! which the host uses to keep georeferencing, resolution and physical pixel sizes true.

use abi_stable::StableAbi;

use crate::RasterInfo;

/// Output pixel coordinates `(u, v)` (corners: pixel `(0, 0)` spans `[0, 1)²`) fall at
/// input coordinates `(x + u / scale_x, y + v / scale_y)`: a crop at `(x, y)` has scale
/// 1, a ×4 upscale has scale 4 and offset 0.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// Output pixels per input pixel, across.
    pub scale_x: f64,
    /// Output pixels per input pixel, down.
    pub scale_y: f64,
    /// Input column of the output's left edge.
    pub x: f64,
    /// Input row of the output's top edge.
    pub y: f64,
}

impl Geometry {
    /// Pixels left where they are.
    pub const IDENTITY: Geometry = Geometry { scale_x: 1.0, scale_y: 1.0, x: 0.0, y: 0.0 };

    /// A window of the input at `(x, y)`, pixels unscaled.
    pub const fn offset(x: f64, y: f64) -> Geometry {
        Geometry { scale_x: 1.0, scale_y: 1.0, x, y }
    }

    /// The whole input resampled onto the whole output (what a resize does): the
    /// default for an operator that does not declare its geometry.
    pub fn resampled(input: RasterInfo, output: RasterInfo) -> Geometry {
        let ratio = |out: u32, inp: u32| if inp == 0 { 1.0 } else { f64::from(out) / f64::from(inp) };
        Geometry {
            scale_x: ratio(output.width, input.width),
            scale_y: ratio(output.height, input.height),
            x: 0.0,
            y: 0.0,
        }
    }

    /// This geometry followed by `next` (which maps the next output onto this one's).
    pub fn then(self, next: Geometry) -> Geometry {
        Geometry {
            scale_x: self.scale_x * next.scale_x,
            scale_y: self.scale_y * next.scale_y,
            x: self.x + next.x / self.scale_x,
            y: self.y + next.y / self.scale_y,
        }
    }

    /// The input position of output position `(u, v)`.
    pub fn to_input(&self, u: f64, v: f64) -> (f64, f64) {
        (self.x + u / self.scale_x, self.y + v / self.scale_y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crop_then_an_upscale_maps_back_through_both() {
        let crop = Geometry::offset(100.0, 40.0);
        let up = Geometry::resampled(RasterInfo::new(50, 30, 3), RasterInfo::new(200, 120, 3));
        assert_eq!((up.scale_x, up.scale_y), (4.0, 4.0));
        let both = crop.then(up);
        assert_eq!(both.to_input(8.0, 4.0), (102.0, 41.0));
        let shifted = up.then(Geometry::offset(8.0, 4.0)); // a crop of the upscaled image
        assert_eq!(shifted.to_input(0.0, 0.0), (2.0, 1.0));
        assert_eq!(Geometry::IDENTITY.then(crop), crop);
    }
}
