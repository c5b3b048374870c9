//! Where samples go: one file per sample (`OUT` alone, or `OUT-0000.png`, ... for
//! several), or one grid. Each file is written beside its final path and renamed into
//! place, so an interrupted run never leaves a half-written image.

use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, Rgb32FImage};
use infty_sdk::PluginError;

/// The files a run writes, checked before any work.
#[derive(Debug)]
pub struct Outputs {
    out: PathBuf,
    format: ImageFormat,
    count: u32,
    grid: bool,
}

impl Outputs {
    /// The outputs of `count` samples at `out`; refused when its format is not one we
    /// write or its folder does not exist.
    pub fn new(out: &str, count: u32, grid: bool) -> Result<Outputs, PluginError> {
        let path = PathBuf::from(out);
        let format = match ImageFormat::from_path(&path) {
            Ok(f @ (ImageFormat::Png | ImageFormat::Tiff | ImageFormat::Jpeg)) => f,
            _ => {
                return Err(PluginError::invalid_param("out", format!("cannot tell the format of '{out}'"))
                    .with_help("end it with .png, .tif or .jpg"))
            }
        };
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(PluginError::invalid_param(
                "out",
                format!("folder {} does not exist", folder.display()),
            ));
        }
        if path.is_dir() {
            return Err(
                PluginError::invalid_param("out", format!("{out} is a folder")).with_help("name a file")
            );
        }
        Ok(Outputs { out: path, format, count, grid })
    }

    /// Whether samples are kept until the end (a grid) rather than written as they come.
    pub fn is_grid(&self) -> bool {
        self.grid
    }

    /// The file of sample `index` when each sample has its own.
    pub fn path_of(&self, index: u32) -> PathBuf {
        if self.count == 1 {
            return self.out.clone();
        }
        let stem = self.out.file_stem().unwrap_or_default().to_string_lossy();
        let ext = self.out.extension().unwrap_or_default().to_string_lossy();
        self.out.with_file_name(format!("{stem}-{index:04}.{ext}"))
    }

    /// Writes sample `index` (3 planes of `side²` in [−1, 1]) to its own file.
    pub fn write_sample(&self, index: u32, planes: &[f32], side: u32) -> Result<PathBuf, PluginError> {
        let path = self.path_of(index);
        self.write(&path, &tile(&[planes], side, 1))?;
        Ok(path)
    }

    /// Writes every sample into one grid of `⌈√n⌉` columns.
    pub fn write_grid(&self, samples: &[Vec<f32>], side: u32) -> Result<PathBuf, PluginError> {
        let columns = (samples.len() as f64).sqrt().ceil() as u32;
        let planes: Vec<&[f32]> = samples.iter().map(Vec::as_slice).collect();
        self.write(&self.out, &tile(&planes, side, columns))?;
        Ok(self.out.clone())
    }

    fn write(&self, path: &Path, image: &Rgb32FImage) -> Result<(), PluginError> {
        let failed =
            |e: &dyn std::fmt::Display| PluginError::failed(format!("cannot write {}: {e}", path.display()));
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let partial = path.with_file_name(format!(".{name}.part"));
        let encoded = match self.format {
            // 16 bits per sample where the format has them.
            ImageFormat::Png | ImageFormat::Tiff => image::DynamicImage::ImageRgb32F(image.clone())
                .into_rgb16()
                .save_with_format(&partial, self.format),
            _ => image::DynamicImage::ImageRgb32F(image.clone())
                .into_rgb8()
                .save_with_format(&partial, self.format),
        };
        encoded.map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            failed(&e)
        })?;
        std::fs::rename(&partial, path).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            failed(&e)
        })
    }
}

/// Samples of 3 planes (side², in [−1, 1]) laid out in `columns` columns, in [0, 1].
fn tile(samples: &[&[f32]], side: u32, columns: u32) -> Rgb32FImage {
    let rows = (samples.len() as u32).div_ceil(columns);
    let area = (side * side) as usize;
    let mut image = Rgb32FImage::new(side * columns, side * rows);
    for (i, planes) in samples.iter().enumerate() {
        let (ox, oy) = ((i as u32 % columns) * side, (i as u32 / columns) * side);
        for p in 0..area {
            let value = |c: usize| (planes[c * area + p] + 1.0) / 2.0;
            let (x, y) = (p as u32 % side, p as u32 / side);
            image.put_pixel(ox + x, oy + y, Rgb([value(0), value(1), value(2)]));
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_samples_are_numbered_and_bad_outputs_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.png");
        let several = Outputs::new(out.to_str().unwrap(), 3, false).unwrap();
        assert_eq!(several.path_of(2), dir.path().join("s-0002.png"));
        assert_eq!(Outputs::new(out.to_str().unwrap(), 1, false).unwrap().path_of(0), out);
        assert!(Outputs::new("x.bmp2", 1, false).is_err());
        let missing = dir.path().join("no/such/s.png");
        assert!(Outputs::new(missing.to_str().unwrap(), 1, false)
            .unwrap_err()
            .message
            .contains("does not exist"));
    }

    #[test]
    fn a_grid_places_samples_row_by_row() {
        let side = 2;
        let sample = |v: f32| vec![v; 12];
        let grid = tile(&[&sample(-1.0), &sample(1.0), &sample(0.0)], side, 2);
        assert_eq!((grid.width(), grid.height()), (4, 4));
        assert_eq!(grid.get_pixel(0, 0)[0], 0.0);
        assert_eq!(grid.get_pixel(2, 1)[1], 1.0);
        assert_eq!(grid.get_pixel(1, 3)[2], 0.5);
        assert_eq!(grid.get_pixel(3, 3)[0], 0.0, "the empty cell stays black");
    }
}
