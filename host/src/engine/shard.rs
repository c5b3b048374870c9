//! `--shard I/N`: which output tiles one process of a job array computes, and where.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Which part of the output tiles one process computes (`--shard i/N`, 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `i/N` with 1 ≤ i ≤ N.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::usage(format!("--shard '{text}': expected i/N with 1 <= i <= N, e.g. 3/8"))
                .with_help("with a 0-based array index (Kubernetes), give $((INDEX + 1))/N")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's tiles: a contiguous run of the row-major tile order.
    pub fn tiles(&self, total: u32) -> std::ops::Range<u32> {
        let at = |k: u32| (u64::from(total) * u64::from(k) / u64::from(self.count)) as u32;
        at(self.index - 1)..at(self.index)
    }

    /// Where this shard's tiles go: `out.shard-3-of-8.tif` beside `out.tif`.
    pub fn path(&self, output: &Path) -> PathBuf {
        let (stem, ext) = stem_and_extension(output);
        output.with_file_name(format!("{stem}.shard-{}-of-{}{ext}", self.index, self.count))
    }
}

/// A file name's stem and its extension with the dot (`out`, `.tif`).
pub fn stem_and_extension(path: &Path) -> (String, String) {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    (stem, ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_tiles_exactly_once() {
        let shards: Vec<Shard> = (1..=3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        let ranges: Vec<_> = shards.iter().map(|s| s.tiles(10)).collect();
        assert_eq!(ranges, [0..3, 3..6, 6..10]);
        assert_eq!(shards[1].path(Path::new("a/out.tif")), Path::new("a/out.shard-2-of-3.tif"));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
