//! TIFF predictors (tag 317), which make samples compress better: horizontal
//! differencing (2, TIFF 6.0 section 14) for integer samples, and the floating-point
//! predictor (3, Adobe's TIFF Technical Note 3) for f32, which lays each row's bytes out
//! as planes, most significant first, and differences those. Both work on one row of
//! interleaved little-endian samples at a time — a row of a tile or strip, as libtiff's
//! `predict.c` does — and leave the first pixel of a row as it is.

use crate::error::{Error, Result};
use crate::format::{Depth, TiffCompression};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predictor {
    None,
    Horizontal,
    Float,
}

impl Predictor {
    /// The TIFF `Predictor` tag value.
    pub fn tag(self) -> u16 {
        match self {
            Predictor::None => 1,
            Predictor::Horizontal => 2,
            Predictor::Float => 3,
        }
    }

    pub fn from_tag(tag: u16) -> Option<Predictor> {
        [Predictor::None, Predictor::Horizontal, Predictor::Float].into_iter().find(|p| p.tag() == tag)
    }

    /// The predictor for samples of `depth` compressed with `compression`: `asked`, or
    /// where none is asked (`--predictor auto`) the one libvips and GDAL users expect —
    /// horizontal for integers, floating-point for f32, none without compression.
    /// `tiled` says whether the file is written in tiles by infty (which has the
    /// floating-point predictor) or in strips by the `tiff` crate (which has not).
    pub fn choose(
        asked: Option<Predictor>,
        depth: Depth,
        compression: TiffCompression,
        tiled: bool,
    ) -> Result<Self> {
        let compressed =
            matches!(compression, TiffCompression::Deflate | TiffCompression::Zstd | TiffCompression::Lzw);
        let fits = |p: Predictor| match p {
            Predictor::None => true,
            Predictor::Horizontal => depth != Depth::F32,
            Predictor::Float => depth == Depth::F32 && tiled,
        };
        let Some(asked) = asked else {
            let best = if depth == Depth::F32 { Predictor::Float } else { Predictor::Horizontal };
            return Ok(if compressed && fits(best) { best } else { Predictor::None });
        };
        let refuse =
            |why: &str, help: &str| Err(Error::usage(format!("write --predictor: {why}")).with_help(help));
        if asked != Predictor::None && !compressed {
            return refuse("a predictor needs compression", "give --compression deflate, zstd or lzw");
        }
        match (asked, fits(asked)) {
            (_, true) => Ok(asked),
            (Predictor::Horizontal, false) => {
                refuse("horizontal differencing is for integer samples", "use --predictor float for f32")
            }
            _ if depth != Depth::F32 => {
                refuse("the floating-point predictor is for f32 samples", "use --predictor horizontal")
            }
            _ => refuse(
                "the floating-point predictor is written to tiled TIFF files only",
                "write a file with --compression deflate or zstd, or give --predictor none",
            ),
        }
    }

    /// Applies the predictor to `row`: interleaved samples of `depth`, `channels` a pixel.
    pub fn apply(self, row: &mut [u8], channels: usize, depth: Depth) {
        match (self, depth) {
            (Predictor::None, _) => {}
            (Predictor::Horizontal, Depth::U16) => {
                for i in (channels..row.len() / 2).rev() {
                    let v = u16_at(row, i).wrapping_sub(u16_at(row, i - channels));
                    row[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
                }
            }
            (Predictor::Horizontal, _) => difference(row, channels),
            (Predictor::Float, _) => {
                let copy = row.to_vec();
                let n = row.len() / 4;
                for (k, sample) in copy.chunks_exact(4).enumerate() {
                    for (plane, &byte) in sample.iter().rev().enumerate() {
                        row[plane * n + k] = byte;
                    }
                }
                difference(row, channels);
            }
        }
    }

    /// Undoes [`Predictor::apply`].
    pub fn undo(self, row: &mut [u8], channels: usize, depth: Depth) {
        match (self, depth) {
            (Predictor::None, _) => {}
            (Predictor::Horizontal, Depth::U16) => {
                for i in channels..row.len() / 2 {
                    let v = u16_at(row, i).wrapping_add(u16_at(row, i - channels));
                    row[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
                }
            }
            (Predictor::Horizontal, _) => accumulate(row, channels),
            (Predictor::Float, _) => {
                accumulate(row, channels);
                let planes = row.to_vec();
                let n = row.len() / 4;
                for (k, sample) in row.chunks_exact_mut(4).enumerate() {
                    for (plane, byte) in sample.iter_mut().rev().enumerate() {
                        *byte = planes[plane * n + k];
                    }
                }
            }
        }
    }
}

fn u16_at(row: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([row[2 * i], row[2 * i + 1]])
}

/// Each byte less the one `stride` before it, from the end.
fn difference(bytes: &mut [u8], stride: usize) {
    for i in (stride..bytes.len()).rev() {
        bytes[i] = bytes[i].wrapping_sub(bytes[i - stride]);
    }
}

/// Each byte plus the (already restored) one `stride` before it.
fn accumulate(bytes: &mut [u8], stride: usize) {
    for i in stride..bytes.len() {
        bytes[i] = bytes[i].wrapping_add(bytes[i - stride]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floating_point_predictor_differences_byte_planes_most_significant_first() {
        // 1.0 and 2.0 are 3F800000 and 40000000: planes 3F 40 | 80 00 | 00 00 | 00 00.
        let mut row: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        Predictor::Float.apply(&mut row, 1, Depth::F32);
        assert_eq!(row, [0x3F, 0x01, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn horizontal_differencing_is_per_channel_and_wraps() {
        let mut row = vec![10, 200, 12, 100, 9, 250];
        Predictor::Horizontal.apply(&mut row, 2, Depth::U8);
        assert_eq!(row, [10, 200, 2, 156, 253, 150]);
        let mut row: Vec<u8> = [1000u16, 5, 65535].iter().flat_map(|v| v.to_le_bytes()).collect();
        Predictor::Horizontal.apply(&mut row, 1, Depth::U16);
        let values: Vec<u16> = row.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(values, [1000, 5u16.wrapping_sub(1000), 65530]);
    }

    #[test]
    fn every_predictor_is_undone_exactly() {
        let row: Vec<u8> = (0..4 * 3 * 37).map(|i| (i * 7919 % 251) as u8).collect();
        for (predictor, depth) in [
            (Predictor::Horizontal, Depth::U8),
            (Predictor::Horizontal, Depth::U16),
            (Predictor::Float, Depth::F32),
        ] {
            for channels in [1, 3, 4] {
                let mut coded = row.clone();
                predictor.apply(&mut coded, channels, depth);
                assert_ne!(coded, row);
                predictor.undo(&mut coded, channels, depth);
                assert_eq!(coded, row, "{predictor:?} {depth:?} {channels}");
            }
        }
    }

    #[test]
    fn auto_follows_the_samples_and_the_compression() {
        use TiffCompression as C;
        let auto = |depth, compression, tiled| Predictor::choose(None, depth, compression, tiled).unwrap();
        assert_eq!(auto(Depth::U8, C::Deflate, true), Predictor::Horizontal);
        assert_eq!(auto(Depth::U16, C::Lzw, false), Predictor::Horizontal);
        assert_eq!(auto(Depth::F32, C::Zstd, true), Predictor::Float);
        assert_eq!(
            auto(Depth::F32, C::Lzw, false),
            Predictor::None,
            "the strip writer has no float predictor"
        );
        assert_eq!(auto(Depth::U8, C::None, true), Predictor::None);
        assert_eq!(auto(Depth::U8, C::Packbits, false), Predictor::None);
        let refused = |asked, depth, compression| {
            Predictor::choose(Some(asked), depth, compression, true).unwrap_err().to_string()
        };
        assert!(refused(Predictor::Float, Depth::U8, C::Deflate).contains("for f32 samples"));
        assert!(refused(Predictor::Horizontal, Depth::F32, C::Deflate).contains("for integer samples"));
        assert!(refused(Predictor::Horizontal, Depth::U8, C::None).contains("needs compression"));
    }
}
