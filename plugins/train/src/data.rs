//! Training images: a folder of PNG, JPEG and TIFF files, split into training and
//! held-out images, and random crops of them as RGB in [0, 1].
//!
//! PNG and JPEG files are decoded once, downscaled by `--downscale` and kept in memory
//! as 16-bit samples. TIFF files stay open and each crop reads only its window, so a
//! gigapixel TIFF costs a chunk cache, not its size. Unreadable files and images
//! smaller than a crop are skipped with a warning; a folder with no usable image is
//! an error.

use std::path::{Path, PathBuf};

use infty_kit::resample::area;
use infty_sdk::{FieldMut, ImageBox, PluginError, RasterInfo, Window};
use rand::Rng;

use crate::rng::{rng, Purpose};

/// How images become crops.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// Side of the square crops.
    pub crop: u32,
    /// Each image is first downscaled by this factor (area filter).
    pub downscale: f64,
    /// Which images are held out for validation.
    pub split: Split,
    /// Seed of the split.
    pub seed: u64,
}

/// How the held-out images are chosen.
#[derive(Clone, Debug)]
pub enum Split {
    /// About this share of the images, each by its own draw from the seed and its name:
    /// adding or removing images never moves another between training and held-out.
    Fraction(f64),
    /// The images of these names (inside the data folder), as a run recorded them.
    Named(Vec<String>),
}

/// One usable image.
pub struct Image {
    /// Its path, as listed.
    pub name: String,
    /// Size after downscaling.
    pub width: u32,
    pub height: u32,
    pixels: Pixels,
}

enum Pixels {
    /// Three planes of u16 samples, already downscaled.
    Memory(Vec<u16>),
    /// A TIFF read window by window; crops are downscaled `downscale` times as they are read.
    Lazy { source: ImageBox, downscale: f64 },
}

/// The images of a folder, split.
pub struct Dataset {
    pub train: Vec<Image>,
    pub val: Vec<Image>,
}

const EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

impl Dataset {
    /// The held-out images, named inside the data folder `dir` (which may live elsewhere on
    /// another machine), as `run.json` records them.
    pub fn held_out_names(&self, dir: &str) -> Vec<String> {
        let inside = |name: &str| Path::new(name).strip_prefix(dir).ok().map(|p| p.display().to_string());
        self.val.iter().map(|image| inside(&image.name).unwrap_or_else(|| image.name.clone())).collect()
    }

    /// Lists, opens and splits the images under `dir` (recursively).
    pub fn open(dir: &Path, options: &DataOptions) -> Result<Dataset, PluginError> {
        let files = image_files(dir)?;
        if files.is_empty() {
            return Err(PluginError::invalid_param(
                "data",
                format!("no PNG, JPEG or TIFF files in '{}'", dir.display()),
            )
            .with_help("give a folder of training images (searched recursively)"));
        }
        let mut images = Vec::new();
        for file in &files {
            match Image::open(file, options) {
                Ok(image) => images.push(image),
                Err(reason) => infty_sdk::host::warn(&format!("skipped {}: {reason}", file.display())),
            }
        }
        if images.is_empty() {
            return Err(PluginError::invalid_param(
                "data",
                format!(
                    "none of the {} image files in '{}' is usable (see the warnings)",
                    files.len(),
                    dir.display()
                ),
            )
            .with_help(format!(
                "images must be readable and at least {0}x{0} pixels after --downscale {1}",
                options.crop, options.downscale
            )));
        }
        Ok(split(images, dir, options))
    }
}

/// Image files under `dir`, sorted by path.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>, PluginError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| {
            PluginError::invalid_param("data", format!("cannot read the folder '{}': {e}", folder.display()))
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Splits `images` (listed under `dir`) as `options.split` says. By fraction, an image
/// is held out when its draw (seed, name) falls below the fraction; at least one is
/// held out when there are two or more, and never all.
fn split(images: Vec<Image>, dir: &Path, options: &DataOptions) -> Dataset {
    let name = |image: &Image| {
        let inside = Path::new(&image.name).strip_prefix(dir).ok().map(|p| p.display().to_string());
        inside.unwrap_or_else(|| image.name.clone())
    };
    let held_out: Vec<bool> = match &options.split {
        Split::Named(names) => images.iter().map(|image| names.contains(&name(image))).collect(),
        Split::Fraction(fraction) => {
            let draw = |image: &Image| {
                let index = u64::from(crc32fast::hash(name(image).as_bytes()));
                rng(options.seed, Purpose::Split, index).gen::<f64>()
            };
            let n = images.len();
            if *fraction <= 0.0 || n < 2 {
                vec![false; n]
            } else {
                let draws: Vec<f64> = images.iter().map(draw).collect();
                let mut out: Vec<bool> = draws.iter().map(|d| d < fraction).collect();
                let by_draw = |a: &usize, b: &usize| draws[*a].total_cmp(&draws[*b]);
                if !out.contains(&true) {
                    out[(0..n).min_by(by_draw).expect("two or more")] = true;
                }
                if !out.contains(&false) {
                    out[(0..n).max_by(by_draw).expect("two or more")] = false;
                }
                out
            }
        }
    };
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (image, out) in images.into_iter().zip(held_out) {
        if out {
            val.push(image)
        } else {
            train.push(image)
        }
    }
    Dataset { train, val }
}

fn is_tiff(path: &Path) -> bool {
    let mut head = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && matches!(head, [b'I', b'I', 42 | 43, 0] | [b'M', b'M', 0, 42 | 43])
}

impl Image {
    fn open(path: &Path, options: &DataOptions) -> Result<Image, String> {
        let name = path.display().to_string();
        let source = infty_sdk::host::open_image(&name).map_err(|e| e.message.to_string())?;
        let info = source.info();
        let d = options.downscale;
        let (width, height) =
            ((f64::from(info.width) / d).floor() as u32, (f64::from(info.height) / d).floor() as u32);
        if width < options.crop || height < options.crop {
            let crop = options.crop;
            return Err(format!(
                "{}x{} pixels ({width}x{height} after --downscale {d}) is smaller than the {crop}x{crop} crop",
                info.width, info.height
            ));
        }
        let pixels = if is_tiff(path) {
            Pixels::Lazy { source, downscale: d }
        } else {
            let rgb = read_rgb(&source, info.bounds()).map_err(|e| e.message.to_string())?;
            let small =
                area(&rgb, info.width as usize, info.height as usize, width as usize, height as usize);
            Pixels::Memory(small.iter().map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16).collect())
        };
        Ok(Image { name, width, height, pixels })
    }

    /// Of `tries` random `size`² crops, the one with the most [`detail`], mirrored left
    /// to right half of the time.
    pub fn detailed_crop(&self, size: u32, tries: u32, r: &mut impl Rng) -> Result<Vec<f32>, PluginError> {
        let mut best: Option<(f64, Vec<f32>)> = None;
        for _ in 0..tries.max(1) {
            let (x, y) = (r.gen_range(0..=self.width - size), r.gen_range(0..=self.height - size));
            let crop = self.crop(x, y, size, r.gen_bool(0.5))?;
            let score = if tries > 1 { detail(&crop, size as usize) } else { 0.0 };
            if best.as_ref().is_none_or(|(most, _)| score > *most) {
                best = Some((score, crop));
            }
        }
        Ok(best.expect("at least one try").1)
    }

    /// The `size`² crop at `(x, y)` of the downscaled image, RGB planes in [0, 1],
    /// mirrored left to right when `flip`.
    pub fn crop(&self, x: u32, y: u32, size: u32, flip: bool) -> Result<Vec<f32>, PluginError> {
        let s = size as usize;
        let mut out = match &self.pixels {
            Pixels::Memory(planes) => {
                let (w, h) = (self.width as usize, self.height as usize);
                let mut out = Vec::with_capacity(3 * s * s);
                for c in 0..3 {
                    for row in y as usize..y as usize + s {
                        let start = (c * h + row) * w + x as usize;
                        out.extend(planes[start..start + s].iter().map(|&v| f32::from(v) / 65535.0));
                    }
                }
                out
            }
            &Pixels::Lazy { ref source, downscale } => {
                let info = source.info();
                // The footprint of the crop in the source, inside the image.
                let x0 = (f64::from(x) * downscale).floor() as i64;
                let y0 = (f64::from(y) * downscale).floor() as i64;
                let side = ((f64::from(size) * downscale).round() as u32).max(size);
                let w = side.min(info.width - x0 as u32);
                let h = side.min(info.height - y0 as u32);
                let rgb = read_rgb(source, Window::new(x0, y0, w, h))?;
                area(&rgb, w as usize, h as usize, s, s)
            }
        };
        if flip {
            out.chunks_exact_mut(s).for_each(<[f32]>::reverse);
        }
        Ok(out)
    }
}

/// The mean squared difference between neighbouring pixels (across and down) of
/// `side`² planes: zero on a flat crop, large on texture and edges.
fn detail(planes: &[f32], side: usize) -> f64 {
    let mut sum = 0.0;
    for plane in planes.chunks_exact(side * side) {
        for (row, next) in plane.chunks_exact(side).zip(plane.chunks_exact(side).skip(1)) {
            sum += row.iter().zip(next).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
        }
        for row in plane.chunks_exact(side) {
            sum += row.windows(2).map(|w| f64::from(w[1] - w[0]).powi(2)).sum::<f64>();
        }
    }
    sum / planes.len() as f64
}

/// A window of `source` as three planes: gray is repeated, alpha dropped.
fn read_rgb(source: &ImageBox, window: Window) -> Result<Vec<f32>, PluginError> {
    let info = source.info();
    let mut planar = vec![0f32; window.area() as usize * info.channels as usize];
    let raster = RasterInfo { channels: info.channels, ..info };
    source.read(window, FieldMut::new(raster, window, &mut planar)?).into_result()?;
    let plane = window.area() as usize;
    let pick: [usize; 3] = if info.channels >= 3 { [0, 1, 2] } else { [0, 0, 0] };
    Ok(pick.iter().flat_map(|&c| planar[c * plane..(c + 1) * plane].iter().copied()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images(names: &[String]) -> Vec<Image> {
        let image = |name: &String| Image {
            name: format!("/data/{name}"),
            width: 1,
            height: 1,
            pixels: Pixels::Memory(vec![0; 3]),
        };
        names.iter().map(image).collect()
    }

    /// The held-out names of `names` (inside /data) split by `split` with seed 3.
    fn held_out(names: &[String], split: Split) -> Vec<String> {
        let options = DataOptions { crop: 1, downscale: 1.0, split, seed: 3 };
        super::split(images(names), Path::new("/data"), &options).held_out_names("/data")
    }

    #[test]
    fn adding_images_never_moves_another_between_training_and_held_out() {
        let names: Vec<String> = (0..200).map(|i| format!("photo-{i}.jpg")).collect();
        let before = held_out(&names[..100], Split::Fraction(0.1));
        let after = held_out(&names, Split::Fraction(0.1));
        assert!((3..=20).contains(&before.len()), "about 10% of 100: {}", before.len());
        let kept: Vec<&String> = after.iter().filter(|n| names[..100].contains(n)).collect();
        assert_eq!(kept, before.iter().collect::<Vec<_>>(), "the first hundred split as before");
    }

    #[test]
    fn at_least_one_held_out_never_all_and_none_of_one() {
        let two: Vec<String> = ["a.png", "b.png"].map(String::from).to_vec();
        assert_eq!(held_out(&two, Split::Fraction(0.001)).len(), 1);
        assert_eq!(held_out(&two, Split::Fraction(1.0)).len(), 1);
        assert!(held_out(&two[..1], Split::Fraction(0.9)).is_empty());
        assert!(held_out(&two, Split::Fraction(0.0)).is_empty());
    }

    #[test]
    fn more_crop_tries_find_the_textured_part() {
        // 64 × 16: flat on the left half, a checkerboard on the right; 8² crops.
        let (w, h) = (64usize, 16usize);
        let plane: Vec<u16> =
            (0..w * h).map(|i| if i % w >= 32 && (i % w + i / w) % 2 == 1 { 65535 } else { 0 }).collect();
        let image = Image {
            name: "half".into(),
            width: w as u32,
            height: h as u32,
            pixels: Pixels::Memory(plane.repeat(3)),
        };
        let textured = |tries: u32| {
            let mut r = rng(5, Purpose::Step, 0);
            let crops = (0..200).map(|_| image.detailed_crop(8, tries, &mut r).unwrap());
            crops.filter(|c| detail(c, 8) > 0.1).count()
        };
        // Uniform crops lie wholly or partly on the checkerboard about 60% of the time;
        // the best of 8 misses it only when all eight miss (0.44⁸ ≈ 0.1%).
        let (one, eight) = (textured(1), textured(8));
        assert!((90..150).contains(&one), "{one} of 200 uniform crops textured");
        assert!(eight >= 198, "{eight} of 200 best-of-8 crops textured");
    }

    #[test]
    fn a_recorded_split_is_kept() {
        let names: Vec<String> = (0..10).map(|i| format!("sub/p{i}.png")).collect();
        let recorded = vec!["sub/p3.png".to_string(), "sub/p7.png".to_string()];
        assert_eq!(held_out(&names, Split::Named(recorded.clone())), recorded);
    }
}
