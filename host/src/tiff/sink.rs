//! The tiled TIFF sink: a job's output written tile by tile as tiles finish, into a
//! partial file beside the output with a journal, so `--resume` continues an
//! interrupted run; a shard's tiles only; the pyramid after the last tile.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use super::journal::{self, Journal, Paths};
use super::layout::Layout;
use super::pyramid;
use super::source::TiffSource;
use super::writer::TiledWriter;
use crate::engine::job::Job;
use crate::engine::progress;
use crate::engine::shard::Shard;
use crate::error::{Error, Result};

/// What identifies and describes a tiled write.
pub struct TiffPlan {
    pub resume: bool,
    pub shard: Option<Shard>,
    /// One line identifying the job (pipeline, input, settings); a journal written by
    /// another job is not resumed.
    pub job: String,
    /// Provenance stored in the file's ImageDescription.
    pub description: String,
    /// Also write reduced-resolution levels (`write --pyramid`).
    pub pyramid: bool,
}

/// Writes the output of `job` (or the shard of it `plan` names) as a tiled TIFF at
/// `output`, tile by tile, journaled so `--resume` continues an interrupted run.
pub fn run_to_tiff(job: &Job<'_>, layout: Layout, output: &Path, plan: &TiffPlan) -> Result<()> {
    let paths = Paths::for_output(output);
    let failed =
        |what: &str, e: std::io::Error| Error::failed(format!("cannot {what} '{}': {e}", output.display()));
    let (writer, journal, done) = open_output(&paths, layout, output, plan)?;
    let tiles = plan.shard.map_or(0..layout.tile_count(), |s| s.tiles(layout.tile_count()));
    let mut finished = vec![false; layout.tile_count() as usize];
    done.iter().for_each(|&i| finished[i as usize] = true);
    let todo: Vec<u32> = tiles.clone().filter(|&i| !finished[i as usize]).collect();
    let hint = format!("interrupted; `--resume` continues writing '{}'", output.display());
    let _pending = crate::interrupt::resumable_output(hint);
    let progress = progress::bar(tiles.len() as u64, (tiles.len() - todo.len()) as u64);
    let file = writer.file().try_clone().map_err(|e| failed("write", e))?;
    let sink = Mutex::new((writer, journal));
    // Space for `tiles` (index, offset from the first, length) is reserved under the
    // lock; `write` puts their bytes there outside it.
    let store = |tiles: &[(u32, u64, u64)], write: &dyn Fn(u64) -> std::io::Result<()>| -> Result<()> {
        let len = tiles.last().map_or(0, |t| t.1 + t.2);
        let offset = sink.lock().expect("writer lock").0.reserve(len as usize);
        write(offset).map_err(|e| failed("write", e))?;
        let placed: Vec<_> = tiles.iter().map(|&(index, at, count)| (index, offset + at, count)).collect();
        let mut sink = sink.lock().expect("writer lock");
        placed.iter().for_each(|&(index, at, count)| sink.0.place(index, at, count));
        sink.1.record(&placed).map_err(|e| failed("journal", e))?;
        progress.inc(tiles.len() as u64);
        Ok(())
    };
    let stored = job.source.as_tiff().filter(|tiff| job.stages.is_empty() && tiff.chunks_fit(&layout));
    let result = match stored {
        // Nothing changes a pixel and the input stores tiles as the output would:
        // copy them as they are, without decoding, in runs stored back to back.
        Some(tiff) => stored_runs(tiff, &todo).try_for_each(|run| {
            let (from, _) = tiff.stored_at(run[0]);
            let tiles: Vec<_> =
                run.iter().map(|&i| (i, tiff.stored_at(i).0 - from, tiff.stored_at(i).1)).collect();
            let len = tiles.last().map_or(0, |t| t.1 + t.2);
            store(&tiles, &|offset| tiff.copy_stored(from, len, &file, offset))
        }),
        None => job.for_tiles(&layout.grid(), &todo, |index, samples| {
            let bytes = layout
                .encode_tile(layout.tile_window(index), &samples)
                .map_err(|e| failed("compress a tile of", e))?;
            store(&[(index, 0, bytes.len() as u64)], &|offset| file.write_all_at(&bytes, offset))
        }),
    };
    progress.finish_and_clear();
    if let Err(error) = result {
        if error.exit_code() == 2 {
            paths.remove(); // bad input: resuming cannot help
            return Err(error);
        }
        return Err(
            error.with_help(format!("run the same command with --resume to continue '{}'", output.display()))
        );
    }
    let (mut writer, _journal) = sink.into_inner().expect("writer lock");
    // A shard's pyramid is made by `infty merge`, from the whole image.
    let levels = if plan.pyramid && plan.shard.is_none() {
        pyramid::build(&mut writer).map_err(|e| failed("write the pyramid of", e))?
    } else {
        Vec::new()
    };
    writer.finish(&plan.description, &levels).map_err(|e| failed("write", e))?;
    std::fs::rename(&paths.part, output).map_err(|e| failed("write", e))?;
    let _ = std::fs::remove_file(&paths.journal);
    Ok(())
}

/// `tiles` cut into runs of consecutive tiles stored back to back in `tiff`, each
/// at most 64 MiB: one copy each.
fn stored_runs<'t>(tiff: &'t TiffSource, tiles: &'t [u32]) -> impl Iterator<Item = &'t [u32]> + 't {
    let mut run_bytes = tiles.first().map_or(0, |&t| tiff.stored_at(t).1);
    tiles.chunk_by(move |&a, &b| {
        let ((at, len), (next, next_len)) = (tiff.stored_at(a), tiff.stored_at(b));
        let joins = b == a + 1 && at + len == next && run_bytes + next_len <= 64 << 20;
        run_bytes = if joins { run_bytes + next_len } else { next_len };
        joins
    })
}

/// Creates the partial output and journal, or reopens them to resume.
fn open_output(
    paths: &Paths,
    layout: Layout,
    output: &Path,
    plan: &TiffPlan,
) -> Result<(TiledWriter, Journal, Vec<u32>)> {
    let failed = |e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", output.display()));
    let unfinished = paths.journal.exists() && paths.part.exists();
    if unfinished && plan.resume {
        let part_len = std::fs::metadata(&paths.part).map_err(failed)?.len();
        let (job, entries) = journal::read(&paths.journal, part_len, layout.tile_count()).map_err(failed)?;
        if job != plan.job {
            return Err(Error::usage(format!(
                "the unfinished '{}' was started by a different job (pipeline, input or settings differ)",
                output.display()
            ))
            .with_help(format!(
                "run that job again with --resume, or delete '{}' to start over",
                paths.journal.display()
            )));
        }
        let writer = TiledWriter::resume(&paths.part, layout, &entries).map_err(failed)?;
        let journal = Journal::append_to(&paths.journal).map_err(failed)?;
        return Ok((writer, journal, entries.iter().map(|e| e.0).collect()));
    }
    if unfinished {
        return Err(Error::usage(format!("an unfinished run of '{}' exists", output.display())).with_help(
            format!("continue it with --resume, or delete '{}' to start over", paths.journal.display()),
        ));
    }
    if plan.resume {
        eprintln!("infty: nothing to resume for '{}'; starting from the beginning", output.display());
    }
    let writer = TiledWriter::create(&paths.part, layout).map_err(failed)?;
    let journal = Journal::create(&paths.journal, &plan.job).map_err(failed)?;
    Ok((writer, journal, Vec::new()))
}
