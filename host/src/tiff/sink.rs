//! The tiled TIFF sink: a job's output written tile by tile as tiles finish, into a
//! partial file beside the output with a journal, so `--resume` continues an
//! interrupted run; a shard's tiles only; the pyramid after the last tile.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use super::journal::{self, Entry, Journal, Paths};
use super::layout::Layout;
use super::pyramid;
use super::source::TiffSource;
use super::writer::{start_writeback, TiledWriter};
use crate::engine::job::Job;
use crate::engine::progress;
use crate::engine::shard::Shard;
use crate::engine::workers;
use crate::error::{Error, Result};
use crate::metadata::tiff_tags::{self, TagValue};

/// What identifies and describes a tiled write.
pub struct TiffPlan {
    pub resume: bool,
    pub shard: Option<Shard>,
    /// One line identifying the job (pipeline, input, settings); a journal written by
    /// another job is not resumed.
    pub job: String,
    /// The tags describing the image: its metadata and infty's provenance.
    pub tags: Vec<(u16, TagValue)>,
    /// Also write reduced-resolution levels (`write --pyramid`).
    pub pyramid: bool,
    /// Wait for the disk before the output takes its name (`--sync`).
    pub sync: bool,
}

/// Writes the output of `job` (or the shard of it `plan` names) as a tiled TIFF at
/// `output`, tile by tile, journaled so `--resume` continues an interrupted run.
pub fn run_to_tiff(job: &Job<'_>, layout: Layout, output: &Path, plan: &TiffPlan) -> Result<()> {
    let paths = Paths::for_output(output);
    let failed =
        |what: &str, e: std::io::Error| Error::failed(format!("cannot {what} '{}': {e}", output.display()));
    let Some(mut journal) = Journal::lock(&paths.journal).map_err(|e| failed("lock the journal of", e))?
    else {
        return Err(Error::usage(format!("another infty run is writing '{}' right now", output.display()))
            .with_help("wait for it to finish (or stop it) before running this job again"));
    };
    let stored = job.source.as_tiff().filter(|tiff| job.stages.is_empty() && tiff.chunks_fit(&layout));
    let Some((writer, done)) = open_output(&paths, &mut journal, stored, layout, output, plan)? else {
        return Ok(()); // already complete
    };
    let tiles = plan.shard.map_or(0..layout.tile_count(), |s| s.tiles(layout.tile_count()));
    let mut finished = vec![false; layout.tile_count() as usize];
    done.iter().for_each(|&i| finished[i as usize] = true);
    let todo: Vec<u32> = tiles.clone().filter(|&i| !finished[i as usize]).collect();
    let hint = format!("`--resume` continues writing '{}'", output.display());
    let _pending = crate::interrupt::resumable_output(hint);
    let progress = progress::bar(tiles.len() as u64, (tiles.len() - todo.len()) as u64);
    let file = writer.file().try_clone().map_err(|e| failed("write", e))?;
    let sink = Mutex::new((writer, journal));
    // Space for `tiles` (offsets from the first) is reserved under the lock; `write`
    // puts their bytes there outside it.
    let store = |tiles: &[Entry], write: &dyn Fn(u64) -> std::io::Result<()>| -> Result<()> {
        let len = tiles.last().map_or(0, |t| t.offset + t.count);
        let offset = sink.lock().expect("writer lock").0.reserve(len as usize);
        write(offset).map_err(|e| failed("write", e))?;
        let placed: Vec<Entry> = tiles.iter().map(|&t| Entry { offset: offset + t.offset, ..t }).collect();
        let writeback: Vec<(u64, u64)> = {
            let mut sink = sink.lock().expect("writer lock");
            let ranges = placed.iter().filter_map(|&t| sink.0.place(t)).collect();
            sink.1.record(&placed).map_err(|e| failed("journal", e))?;
            ranges
        };
        writeback.into_iter().for_each(|range| start_writeback(&file, range));
        progress.inc(tiles.len() as u64);
        Ok(())
    };
    let result = match stored {
        // Nothing changes a pixel and the input stores tiles as the output would:
        // copy them as they are, without decoding, in runs stored back to back. The
        // runs go to every worker in order: while one waits for the disk to read, the
        // other writes.
        Some(tiff) => workers::in_order(
            &stored_runs(tiff, &todo).collect::<Vec<_>>(),
            rayon::current_num_threads(),
            |run| {
                let (from, _) = tiff.stored_at(run[0]);
                let tiles: Vec<_> = run
                    .iter()
                    .map(|&index| {
                        let (at, count) = tiff.stored_at(index);
                        Entry { index, offset: at - from, count, crc: None }
                    })
                    .collect();
                let len = tiles.last().map_or(0, |t| t.offset + t.count);
                store(&tiles, &|offset| tiff.copy_stored(from, len, &file, offset))
            },
        ),
        None => job.for_tiles(&layout.grid(), &todo, |index, samples| {
            let bytes = layout
                .encode_tile(layout.tile_window(index), &samples)
                .map_err(|e| failed("compress a tile of", e))?;
            let tile =
                Entry { index, offset: 0, count: bytes.len() as u64, crc: Some(crc32fast::hash(&bytes)) };
            store(&[tile], &|offset| file.write_all_at(&bytes, offset))
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
    // A shard's pyramid is made by `infty merge`, from the whole image; its tiles carry
    // checksums that `infty merge` verifies.
    let levels = if plan.pyramid && plan.shard.is_none() {
        pyramid::build(&mut writer).map_err(|e| failed("write the pyramid of", e))?
    } else {
        Vec::new()
    };
    let checksums = match plan.shard {
        Some(_) => Some(writer.tile_checksums().map_err(|e| failed("read back", e))?),
        None => None,
    };
    writer.finish(&plan.tags, &levels, checksums.as_deref()).map_err(|e| failed("write", e))?;
    std::fs::rename(&paths.part, output).map_err(|e| failed("write", e))?;
    let _ = std::fs::remove_file(&paths.journal);
    Ok(())
}

/// `tiles` cut into runs of consecutive tiles stored back to back in `tiff`, each at
/// most 1 MiB (unless one tile is larger): one read and one write each. A run fits the
/// core's L2 cache between the two (with 8 MiB runs, some copies in the page cache took
/// four times as long); the workers copy neighbouring runs, so the file is read nearly
/// in order.
fn stored_runs<'t>(tiff: &'t TiffSource, tiles: &'t [u32]) -> impl Iterator<Item = &'t [u32]> + 't {
    let mut run_bytes = tiles.first().map_or(0, |&t| tiff.stored_at(t).1);
    tiles.chunk_by(move |&a, &b| {
        let ((at, len), (next, next_len)) = (tiff.stored_at(a), tiff.stored_at(b));
        let joins = b == a + 1 && at + len == next && run_bytes + next_len <= 1 << 20;
        run_bytes = if joins { run_bytes + next_len } else { next_len };
        joins
    })
}

/// Starts the partial output and the (locked) journal, or reopens them to resume with
/// the tiles still intact; `None` when `--resume` finds the output already complete.
fn open_output(
    paths: &Paths,
    journal: &mut Journal,
    stored: Option<&TiffSource>,
    layout: Layout,
    output: &Path,
    plan: &TiffPlan,
) -> Result<Option<(TiledWriter, Vec<u32>)>> {
    let failed = |e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", output.display()));
    let part_len = std::fs::metadata(&paths.part).ok().map(|m| m.len());
    let (job, entries) = journal.read(part_len.unwrap_or(0), layout.tile_count()).map_err(failed)?;
    let unfinished = !job.is_empty() && part_len.is_some();
    if unfinished && plan.resume {
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
        let intact = intact(entries, &paths.part, stored).map_err(failed)?;
        let writer = TiledWriter::resume(&paths.part, layout, &intact, plan.sync).map_err(failed)?;
        return Ok(Some((writer, intact.iter().map(|e| e.index).collect())));
    }
    if unfinished {
        return Err(Error::usage(format!("an unfinished run of '{}' exists", output.display())).with_help(
            format!("continue it with --resume, or delete '{}' to start over", paths.journal.display()),
        ));
    }
    if plan.resume && finished_job(output).as_deref() == Some(&journal::job_id(&plan.job)) {
        eprintln!("infty: '{}' is already complete; nothing to resume", output.display());
        let _ = std::fs::remove_file(&paths.journal);
        return Ok(None);
    }
    if plan.resume {
        eprintln!("infty: nothing to resume for '{}'; starting from the beginning", output.display());
    }
    let started = TiledWriter::create(&paths.part, layout, plan.sync)
        .and_then(|w| journal.start(&plan.job).map(|()| w));
    started.map(|writer| Some((writer, Vec::new()))).map_err(|e| {
        paths.remove();
        failed(e)
    })
}

/// The journal's `entries` whose bytes in `part` are intact: their CRC-32 matches, or,
/// for tiles copied as stored, they equal the input's. Others are computed again.
fn intact(entries: Vec<Entry>, part: &Path, stored: Option<&TiffSource>) -> std::io::Result<Vec<Entry>> {
    let file = std::fs::File::open(part)?;
    let read = |file: &std::fs::File, at: u64, count: u64| -> std::io::Result<Vec<u8>> {
        let mut bytes = vec![0; count as usize];
        file.read_exact_at(&mut bytes, at).map(|()| bytes)
    };
    let mut kept = Vec::with_capacity(entries.len());
    for entry in &entries {
        let bytes = read(&file, entry.offset, entry.count)?;
        let ok = match (entry.crc, stored) {
            (Some(crc), _) => crc32fast::hash(&bytes) == crc,
            (None, Some(tiff)) => tiff.stored_bytes(entry.index)? == bytes,
            (None, None) => false,
        };
        if ok {
            kept.push(*entry);
        }
    }
    if kept.len() < entries.len() {
        eprintln!(
            "infty: {} finished tile(s) of '{}' were damaged since they were written; computing them again",
            entries.len() - kept.len(),
            part.display()
        );
    }
    Ok(kept)
}

/// The job fingerprint in a finished output's provenance, if it has one.
fn finished_job(output: &Path) -> Option<String> {
    let file = std::io::BufReader::new(std::fs::File::open(output).ok()?);
    let provenance = tiff_tags::provenance(&mut ::tiff::decoder::Decoder::new(file).ok()?)?;
    provenance["job"].as_str().map(str::to_string)
}
