//! GeoTIFF georeferencing (OGC GeoTIFF 1.1, the tags of section 7) and GDAL's own tags,
//! moved with the raster: a crop shifts the tie points, a ×s upscale divides the pixel
//! size by s, and the ground each output pixel covers stays where it was.

use infty_sdk::Geometry;

/// GeoKey `GTRasterTypeGeoKey` and its value `RasterPixelIsPoint`.
const RASTER_TYPE_KEY: u16 = 1025;
const PIXEL_IS_POINT: u16 = 2;

/// The georeferencing tags of an image, each kept as the file stores it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeoTags {
    /// ModelPixelScaleTag (33550): ground units per pixel across, down, and in height.
    pub pixel_scale: Option<Vec<f64>>,
    /// ModelTiepointTag (33922): (I, J, K, X, Y, Z) per point, raster to model.
    pub tiepoints: Option<Vec<f64>>,
    /// ModelTransformationTag (34264): a 4×4 raster-to-model matrix, row by row.
    pub transformation: Option<Vec<f64>>,
    /// GeoKeyDirectoryTag (34735) and its parameters (34736 doubles, 34737 text).
    pub keys: Option<Vec<u16>>,
    pub key_doubles: Option<Vec<f64>>,
    pub key_ascii: Option<String>,
    /// GDAL_METADATA (42112, XML) and GDAL_NODATA (42113).
    pub gdal_metadata: Option<String>,
    pub gdal_nodata: Option<String>,
}

impl GeoTags {
    /// The tags for the raster that `geometry` maps onto this one.
    pub fn moved(self, geometry: Geometry) -> GeoTags {
        let (sx, sy) = (geometry.scale_x, geometry.scale_y);
        // Where a raster position of the output lies on the input. With PixelIsPoint,
        // integer positions are pixel centres, half a pixel from the corners the
        // geometry maps: shift to corners, map, shift back.
        let (ox, oy) = if self.pixel_is_point() {
            (geometry.x + 0.5 / sx - 0.5, geometry.y + 0.5 / sy - 0.5)
        } else {
            (geometry.x, geometry.y)
        };
        let pixel_scale = self.pixel_scale.map(|s| scaled(&s, sx, sy));
        let mut tiepoints = self.tiepoints.map(|points| {
            let mut points = points;
            points.chunks_exact_mut(6).for_each(|p| {
                p[0] = (p[0] - ox) * sx;
                p[1] = (p[1] - oy) * sy;
            });
            points
        });
        // One tie point with a pixel scale is an affine map: tie the output's corner,
        // as GDAL writes it.
        if let (Some(points), Some(scale)) = (tiepoints.as_mut(), pixel_scale.as_ref()) {
            if points.len() == 6 && scale.len() >= 2 {
                points[3] -= points[0] * scale[0];
                points[4] += points[1] * scale[1];
                points[0] = 0.0;
                points[1] = 0.0;
            }
        }
        let transformation = self.transformation.map(|m| {
            let mut m = m;
            for row in m.chunks_exact_mut(4) {
                row[3] += row[0] * ox + row[1] * oy;
                row[0] /= sx;
                row[1] /= sy;
            }
            m
        });
        GeoTags { pixel_scale, tiepoints, transformation, ..self }
    }

    /// Whether the GeoKeys say pixels are points (GTRasterTypeGeoKey = PixelIsPoint).
    fn pixel_is_point(&self) -> bool {
        let Some(keys) = &self.keys else { return false };
        // A header of 4 shorts, then (KeyID, location, count, value) per key; location
        // 0 holds the value inline.
        keys.get(4..)
            .unwrap_or_default()
            .chunks_exact(4)
            .any(|k| k[0] == RASTER_TYPE_KEY && k[1] == 0 && k[3] == PIXEL_IS_POINT)
    }

    pub fn is_empty(&self) -> bool {
        *self == GeoTags::default()
    }
}

/// A pixel scale (x, y, z) for pixels `sx` and `sy` times smaller.
fn scaled(scale: &[f64], sx: f64, sy: f64) -> Vec<f64> {
    let mut scale = scale.to_vec();
    if let Some(x) = scale.get_mut(0) {
        *x /= sx;
    }
    if let Some(y) = scale.get_mut(1) {
        *y /= sy;
    }
    scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn north_up() -> GeoTags {
        GeoTags {
            pixel_scale: Some(vec![30.0, 30.0, 0.0]),
            tiepoints: Some(vec![0.0, 0.0, 0.0, 500_000.0, 4_000_000.0, 0.0]),
            keys: Some(vec![1, 1, 0, 1, RASTER_TYPE_KEY, 0, 1, 1]),
            ..GeoTags::default()
        }
    }

    #[test]
    fn a_crop_moves_the_corner_and_an_upscale_the_pixel_size() {
        let cropped = north_up().moved(Geometry::offset(10.0, 4.0));
        assert_eq!(cropped.tiepoints.unwrap(), [0.0, 0.0, 0.0, 500_300.0, 3_999_880.0, 0.0]);
        let up = Geometry { scale_x: 4.0, scale_y: 4.0, x: 0.0, y: 0.0 };
        let upscaled = north_up().moved(up);
        assert_eq!(upscaled.pixel_scale.unwrap(), [7.5, 7.5, 0.0]);
        assert_eq!(upscaled.tiepoints.unwrap(), north_up().tiepoints.unwrap());
    }

    #[test]
    fn pixel_is_point_keeps_pixel_centres_on_the_ground() {
        let mut point = north_up();
        point.keys = Some(vec![1, 1, 0, 1, RASTER_TYPE_KEY, 0, 1, PIXEL_IS_POINT]);
        let upscaled = point.moved(Geometry { scale_x: 2.0, scale_y: 2.0, x: 0.0, y: 0.0 });
        // The tie point names the input's first pixel centre; the output's first centre
        // lies a quarter of an input pixel (7.5 m) before it, across and down.
        assert_eq!(upscaled.tiepoints.unwrap(), [0.0, 0.0, 0.0, 499_992.5, 4_000_007.5, 0.0]);
    }

    #[test]
    fn a_transformation_matrix_composes_with_the_geometry() {
        let m = vec![2.0, 1.0, 0.0, 100.0, 1.0, -2.0, 0.0, 50.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let tags = GeoTags { transformation: Some(m), ..GeoTags::default() };
        let g = Geometry { scale_x: 2.0, scale_y: 4.0, x: 3.0, y: 1.0 };
        let moved = tags.moved(g).transformation.unwrap();
        // Output pixel (2, 4) is input (4, 2): model (2*4 + 2 + 100, 4 - 4 + 50).
        let at = |m: &[f64], i: f64, j: f64| (m[0] * i + m[1] * j + m[3], m[4] * i + m[5] * j + m[7]);
        assert_eq!(at(&moved, 2.0, 4.0), (110.0, 50.0));
    }
}
