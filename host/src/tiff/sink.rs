//! The tiled TIFF sink: a job's output written tile by tile as tiles finish, into a
//! partial file beside the output with a journal, so `--resume` continues an
//! interrupted run; a shard's tiles only; the pyramid after the last tile.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use super::journal::{self, Journal, Paths};
use super::layout::Layout;
use super::pyramid;
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
    let result = job.for_tiles(&layout.grid(), &todo, |index, samples| {
        let bytes = layout
            .encode_tile(layout.tile_window(index), &samples)
            .map_err(|e| failed("compress a tile of", e))?;
        // Space is reserved under the lock; the bytes are written outside it.
        let offset = sink.lock().expect("writer lock").0.reserve(bytes.len());
        file.write_all_at(&bytes, offset).map_err(|e| failed("write", e))?;
        let mut sink = sink.lock().expect("writer lock");
        sink.0.place(index, offset, bytes.len() as u64);
        sink.1.record((index, offset, bytes.len() as u64)).map_err(|e| failed("journal", e))?;
        progress.inc(1);
        Ok(())
    });
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
