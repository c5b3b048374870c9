//! `infty merge`: assembles the shard files of a `--shard i/N` run into the final
//! tiled TIFF by copying their compressed tiles, without recomputing anything.

use std::fs::File;
use std::io::BufReader;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ::tiff::decoder::Decoder;
use ::tiff::tags::Tag;

use super::codec::header_of;
use super::journal::Paths;
use super::layout::{Layout, TileCompression};
use super::predictor::Predictor;
use super::writer::{TiledWriter, TILE_CHECKSUMS};
use crate::codecs::output::{check_destination, Destination};
use crate::engine::shard::stem_and_extension;
use crate::error::{Error, Result};
use crate::metadata::{tiff_tags, Metadata};

/// One shard file: its layout, tile table and provenance.
struct ShardFile {
    path: PathBuf,
    file: File,
    layout: Layout,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    /// The CRC-32 of each tile, verified before it is copied.
    checksums: Vec<u32>,
    description: serde_json::Value,
    /// The image's metadata, which the merged file carries.
    metadata: Metadata,
}

/// Merges `shards` (all `<stem>.shard-*-of-N<ext>` beside `output` when empty) into
/// `output`, synced to the disk before it takes its name if `sync`.
pub fn merge(output: &Path, shards: &[PathBuf], sync: bool) -> Result<()> {
    let output = match check_destination(&output.to_string_lossy())? {
        Destination::File(path) => path,
        _ => {
            return Err(Error::usage(format!("merge: '{}' is not a file path", output.display()))
                .with_help("merge writes a tiled TIFF file: give a regular file's path"))
        }
    };
    let output = output.as_path();
    let shards = if shards.is_empty() { find_shards(output)? } else { shards.to_vec() };
    let files: Vec<ShardFile> = shards.iter().map(|p| open_shard(p)).collect::<Result<_>>()?;
    let description = same_job(&files)?;
    let paths = Paths::for_output(output);
    let _pending = crate::interrupt::pending_output(&paths.part);
    match assemble(&files, &description, &paths.part, output, sync) {
        Ok(()) => std::fs::rename(&paths.part, output)
            .map_err(|e| Error::failed(format!("cannot write '{}': {e}", output.display()))),
        Err(error) => {
            let _ = std::fs::remove_file(&paths.part);
            Err(error)
        }
    }
}

/// A shard's job: its provenance without the shard part (nor the shard's own job
/// fingerprint), and the shard count.
fn job_of(shard: &ShardFile) -> (serde_json::Value, Option<u64>) {
    let mut description = shard.description.clone();
    let count = description["shard"]["of"].as_u64();
    if let Some(fields) = description.as_object_mut() {
        fields.remove("shard");
        fields.remove("job");
    }
    (description, count)
}

/// The provenance of the merged image, once every shard is known to be of one job.
fn same_job(files: &[ShardFile]) -> Result<serde_json::Value> {
    let first = job_of(&files[0]);
    for shard in &files[1..] {
        if shard.layout != files[0].layout || shard.metadata != files[0].metadata || job_of(shard) != first {
            return Err(Error::input(format!(
                "'{}' and '{}' are shards of different jobs (pipeline, input or layout differ)",
                files[0].path.display(),
                shard.path.display()
            )));
        }
    }
    Ok(first.0)
}

/// Copies every tile from the shard that has it into a new file at `part` (to become
/// `output`), then builds the pyramid if the job asked for one.
fn assemble(
    files: &[ShardFile],
    description: &serde_json::Value,
    part: &Path,
    output: &Path,
    sync: bool,
) -> Result<()> {
    let layout = files[0].layout;
    let failed = |e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", output.display()));
    let mut writer = TiledWriter::create(part, layout, sync).map_err(failed)?;
    for index in 0..layout.tile_count() {
        let Some(shard) = files.iter().find(|s| s.counts[index as usize] > 0) else {
            let w = layout.tile_window(index);
            return Err(Error::input(format!(
                "tile {index} (at {}, {}) is in none of the {} shard files given",
                w.x,
                w.y,
                files.len()
            ))
            .with_help("a shard is missing or unfinished: run it (with --resume if it was interrupted)"));
        };
        let mut bytes = vec![0u8; shard.counts[index as usize] as usize];
        shard.file.read_exact_at(&mut bytes, shard.offsets[index as usize]).map_err(|e| {
            Error::input(format!("cannot read tile {index} of '{}': {e}", shard.path.display()))
        })?;
        if crc32fast::hash(&bytes) != shard.checksums[index as usize] {
            return Err(Error::input(format!(
                "tile {index} of '{}' is damaged: its bytes do not match the checksum written with them",
                shard.path.display()
            ))
            .with_help("run that shard again (delete the shard file first)"));
        }
        writer.append(index, &bytes).map_err(failed)?;
    }
    let levels = if description["pyramid"] == true {
        super::pyramid::build(&mut writer).map_err(failed)?
    } else {
        Vec::new()
    };
    let tags = tiff_tags::tags(&files[0].metadata, &description.to_string());
    writer.finish(&tags, &levels, None).map_err(failed)
}

/// The shard files of `output`, 1 to N, all present.
fn find_shards(output: &Path) -> Result<Vec<PathBuf>> {
    let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (stem, ext) = stem_and_extension(output);
    let prefix = format!("{stem}.shard-");
    let mut found: Vec<(u32, u32, PathBuf)> = std::fs::read_dir(folder)
        .map_err(|e| Error::input(format!("cannot list '{}': {e}", folder.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            let (i, n) = name.strip_prefix(&prefix)?.strip_suffix(&ext)?.split_once("-of-")?;
            Some((i.parse().ok()?, n.parse().ok()?, path))
        })
        .collect();
    found.sort();
    let Some(&(_, count, _)) = found.first() else {
        return Err(Error::input(format!(
            "no shard files '{prefix}I-of-N{ext}' beside '{}'",
            output.display()
        ))
        .with_help("run the job with --shard I/N first, or name the shard files"));
    };
    if found.iter().any(|(_, n, _)| *n != count) {
        return Err(Error::input(format!(
            "shard files for different shard counts lie beside '{}'",
            output.display()
        ))
        .with_help("name the shard files to merge explicitly"));
    }
    let missing: Vec<String> =
        (1..=count).filter(|i| !found.iter().any(|(k, _, _)| k == i)).map(|i| format!("{i}")).collect();
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "shard(s) {} of {count} are missing for '{}'",
            missing.join(", "),
            output.display()
        ))
        .with_help("run them with --shard I/N (with --resume if interrupted)"));
    }
    Ok(found.into_iter().map(|(_, _, p)| p).collect())
}

fn open_shard(path: &Path) -> Result<ShardFile> {
    let name = path.display();
    let bad = |reason: String| Error::input(format!("'{name}': {reason}"));
    let file = File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut decoder = Decoder::new(BufReader::new(file.try_clone().map_err(|e| bad(e.to_string()))?))
        .map_err(|e| bad(format!("not a TIFF: {e}")))?;
    let header = header_of(&mut decoder).map_err(|e| bad(format!("cannot decode TIFF: {e}")))?;
    let mut tag =
        |t: Tag| decoder.get_tag_u64_vec(t).map_err(|e| bad(format!("not an infty shard ({t:?}: {e})")));
    let compression = tag(Tag::Compression)?.first().copied().unwrap_or(1) as u16;
    let tile = tag(Tag::TileWidth)?.first().copied().unwrap_or(0);
    let (offsets, counts) = (tag(Tag::TileOffsets)?, tag(Tag::TileByteCounts)?);
    let checksums = decoder.get_tag_u32_vec(Tag::Unknown(TILE_CHECKSUMS)).map_err(|_| {
        bad("it carries no tile checksums (written by an older infty?)".into())
            .with_help("run that shard again with this infty")
    })?;
    let metadata = tiff_tags::read(&mut decoder);
    let description = tiff_tags::provenance(&mut decoder).unwrap_or_default();
    let predictor = decoder.find_tag_unsigned::<u16>(Tag::Predictor).ok().flatten().unwrap_or(1);
    let compression =
        TileCompression::from_tag(compression).ok_or_else(|| bad("unknown compression".into()))?;
    let predictor =
        Predictor::from_tag(predictor).ok_or_else(|| bad(format!("unknown predictor {predictor}")))?;
    let tile = u32::try_from(tile).unwrap_or(0);
    if tile == 0 || tile % 16 != 0 {
        return Err(bad(format!("tile size {tile} is not a multiple of 16")));
    }
    let layout = Layout::new(header.info, header.depth, compression, predictor, tile)
        .map_err(|e| bad(e.to_string()))?;
    let tiles = layout.tile_count() as usize;
    if description.get("shard").is_none() || offsets.len() != tiles || checksums.len() != tiles {
        return Err(bad("not a shard written by `infty run --shard`".into()));
    }
    Ok(ShardFile {
        path: path.to_path_buf(),
        file,
        layout,
        offsets,
        counts,
        checksums,
        description,
        metadata,
    })
}
