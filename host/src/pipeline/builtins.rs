//! The built-in `read` and `write` steps, declared with the same schema as plugin
//! items so their help and validation come from one place.

use infty_sdk::{ItemSpec, ParamSpec, Params};

use crate::engine::grid::TILE;
use crate::error::{Error, Result};
use crate::format::{Depth, Encoding, Format, TiffCompression};
use crate::plugins::params::StepArgs;
use crate::tiff::predictor::Predictor;

/// The declaration of `read`.
pub fn read_spec() -> ItemSpec {
    ItemSpec::operator("read", "Read an image file or standard input (built in)")
        .with_help("Give the path as the first word: `read in.png`, or `read -` for standard input.")
        .param(ParamSpec::path("path", "file to read, or - for standard input"))
        .param(
            ParamSpec::choice("format", "file format", &["auto", "png", "jpeg", "tiff"])
                .default_text("auto")
                .with_help("auto: recognised from the file's first bytes"),
        )
        .param(ParamSpec::switch("unlimited", "lift the safety limits on image and chunk size").with_help(
            "Images claiming more than 16777216 pixels per side, a TIFF tile or strip decoding to more than \
             256 MiB, a PNG, JPEG or standard-input image needing more than 2 GiB of samples in memory, and \
             more than 2 GiB on standard input are refused as likely corrupt unless this is given.",
        ))
}

/// The declaration of `write`.
pub fn write_spec() -> ItemSpec {
    ItemSpec::operator("write", "Write an image file or standard output (built in)")
        .with_help(
            "Give the path as the first word: `write out.tif`, or `write - --format png` for standard output. \
             The file appears only when complete.",
        )
        .param(ParamSpec::path("path", "file to write, or - for standard output"))
        .param(
            ParamSpec::choice("format", "file format", &["auto", "png", "jpeg", "tiff", "dzi"])
                .default_text("auto")
                .with_help(
                    "auto: from the file extension (.png, .jpg/.jpeg, .tif/.tiff, .dzi). dzi: a DeepZoom pyramid \
                     (OUT.dzi and the tiles in OUT_files/, as libvips' dzsave writes it) for viewers; \
                     see `infty view`.",
                ),
        )
        .param(
            ParamSpec::choice("depth", "sample type", &["auto", "u8", "u16", "f32"])
                .default_text("auto")
                .with_help("auto: the input's, if the format stores it (PNG: u8/u16, JPEG: u8, TIFF: all)"),
        )
        .param(
            ParamSpec::choice("compression", "TIFF compression", &["deflate", "zstd", "lzw", "packbits", "none"])
                .default_text("deflate")
                .with_help(
                    "TIFF files are written tiled (256x256, see --tile-size), tile by tile, with deflate, zstd or none; \
                     lzw and packbits are written in strips from memory.",
                ),
        )
        .param(
            ParamSpec::choice("predictor", "TIFF predictor", &["auto", "none", "horizontal", "float"])
                .default_text("auto")
                .with_help(
                    "Makes deflate, zstd and lzw files smaller (TIFF Predictor 2 and 3; libvips writes one by default, GDAL on request). \
                     auto: horizontal differencing for u8/u16, the floating-point predictor for f32 (tiled files), \
                     none without compression.",
                ),
        )
        .param(
            ParamSpec::int("level", "deflate or zstd compression level").default_int(0).at_least(0.0).at_most(22.0).with_help(
                "0: libvips' and GDAL's defaults, 6 for deflate and 9 for zstd. \
                 Deflate takes 1 (fastest) to 9 (smallest), zstd 1 to 22. Tiled files (deflate, zstd).",
            ),
        )
        .param(ParamSpec::int("quality", "JPEG quality").default_int(92).at_least(1.0).at_most(100.0))
        .param(
            ParamSpec::int("tile-size", "edge of the tiles computed and stored, a multiple of 16")
                .default_int(i64::from(TILE))
                .at_least(16.0)
                .at_most(4096.0)
                .with_help("Larger tiles cost more memory per tile and less halo per pixel (GDAL's BLOCKXSIZE)."),
        )
        .param(ParamSpec::switch("pyramid", "also write reduced levels (1/2, 1/4, ...) as TIFF SubIFDs").with_help(
            "For viewers of huge images: each level is a 2x2 box average of the one above, down to one tile. \
             Tiled TIFF output only.",
        ))
}

/// A checked `read` step.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadStep {
    pub path: String,
    pub format: Option<Format>,
    /// Lift the decoding safety limits (`--unlimited`).
    pub unlimited: bool,
}

/// A checked `write` step; `depth` None means the default for the input.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteStep {
    pub path: String,
    pub format: Format,
    pub depth: Option<Depth>,
    pub compression: TiffCompression,
    /// None: chosen for the depth and compression (`--predictor auto`).
    pub predictor: Option<Predictor>,
    /// Deflate or zstd level; None for the library's default.
    pub level: Option<u8>,
    pub quality: u8,
    pub tile: u32,
    /// Also write reduced-resolution levels.
    pub pyramid: bool,
}

impl WriteStep {
    /// The encoding for an image whose source had `source_depth`, written in tiles by
    /// infty if `tiled` (else in strips, or not TIFF).
    pub fn encoding(&self, source_depth: Depth, tiled: bool) -> Result<Encoding> {
        let depth = self.depth.unwrap_or_else(|| self.format.default_depth(source_depth));
        let predictor = match self.format {
            Format::Tiff => Predictor::choose(self.predictor, depth, self.compression, tiled)?,
            _ => Predictor::None,
        };
        Ok(Encoding {
            format: self.format,
            depth,
            compression: self.compression,
            predictor,
            quality: self.quality,
        })
    }
}

/// Checks the words of a built-in step; the first positional word is the path.
fn resolve(spec: &ItemSpec, args: StepArgs) -> Result<Params> {
    let mut given = args.params;
    match args.positional.as_slice() {
        [] => {}
        [path] => given.push(("path".to_string(), path.clone())),
        [_, extra, ..] => {
            return Err(Error::usage(format!("{}: unexpected word '{extra}'", spec.name))
                .with_help(format!("{} takes one path; parameters are written --name value", spec.name)))
        }
    }
    spec.resolve(given.iter().map(|(n, v)| (n.as_str(), v.as_str()))).map_err(|e| {
        let help = e.help.clone().into_option().map(String::from);
        let error = Error::usage(format!("{}: {e}", spec.name));
        match (e.param.as_ref().map(|p| p.as_str()).into_option(), help) {
            (Some("path"), _) => error.with_help(format!("give a path: `{} FILE`", spec.name)),
            (_, Some(help)) => error.with_help(help),
            _ => error,
        }
    })
}

/// Checks a `read` step.
pub fn read_step(args: StepArgs) -> Result<ReadStep> {
    let params = resolve(&read_spec(), args)?;
    let path = params.text("path").expect("resolved").to_string();
    let format = Format::from_name(params.text("format").expect("resolved"));
    Ok(ReadStep { path, format, unlimited: params.bool("unlimited").expect("resolved") })
}

/// Checks a `write` step.
pub fn write_step(args: StepArgs) -> Result<WriteStep> {
    let params = resolve(&write_spec(), args)?;
    let text = |name| params.text(name).expect("resolved");
    let path = text("path").to_string();
    let format = match Format::from_name(text("format")) {
        Some(format) => format,
        None if path == "-" => {
            return Err(Error::usage("write -: give --format png|jpeg|tiff for standard output"));
        }
        None => Format::from_path(std::path::Path::new(&path)).ok_or_else(|| {
            Error::usage(format!("write: cannot tell the format of '{path}' from its extension"))
                .with_help("use .png, .jpg or .tif, or give --format png|jpeg|tiff")
        })?,
    };
    let compression = match text("compression") {
        "none" => TiffCompression::None,
        "lzw" => TiffCompression::Lzw,
        "packbits" => TiffCompression::Packbits,
        "zstd" => TiffCompression::Zstd,
        _ => TiffCompression::Deflate,
    };
    let predictor = match text("predictor") {
        "none" => Some(Predictor::None),
        "horizontal" => Some(Predictor::Horizontal),
        "float" => Some(Predictor::Float),
        _ => None,
    };
    let level = match params.int("level").expect("resolved") as u8 {
        0 => None,
        10.. if compression == TiffCompression::Deflate => {
            return Err(Error::usage("write --level: deflate takes 1 to 9").with_help("zstd takes up to 22"))
        }
        level => Some(level),
    };
    let quality = params.int("quality").expect("resolved") as u8;
    let tile = params.int("tile-size").expect("resolved") as u32;
    if !tile.is_multiple_of(16) {
        return Err(Error::usage(format!("write --tile-size {tile}: TIFF tiles must be a multiple of 16"))
            .with_help("use e.g. 128, 256 or 512"));
    }
    let pyramid = params.bool("pyramid").expect("resolved");
    Ok(WriteStep {
        path,
        format,
        depth: Depth::from_name(text("depth")),
        compression,
        predictor,
        level,
        quality,
        tile,
        pyramid,
    })
}
