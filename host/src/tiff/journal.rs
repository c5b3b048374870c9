//! The journal beside an output being written: which tiles are complete, so a run
//! stopped by Ctrl-C, a crash or `kill -9` continues with `--resume` and produces the
//! same pixels. Its first line identifies the job; each later line is one finished
//! tile with the CRC-32 of its bytes, appended only after the bytes are in the partial
//! output, so a line torn by a crash is ignored and a tile damaged since is recomputed.
//! The journal is locked while a run writes: a second run of the same output (a
//! scheduler's requeue overlapping the first) is refused instead of interleaving.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The partial output and its journal, hidden beside the final output.
pub struct Paths {
    pub part: PathBuf,
    pub journal: PathBuf,
}

impl Paths {
    pub fn for_output(output: &Path) -> Paths {
        let folder = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Paths {
            part: folder.join(format!(".{name}.infty-part")),
            journal: folder.join(format!(".{name}.infty-journal")),
        }
    }

    /// Removes both files; missing files are fine.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.part);
        let _ = std::fs::remove_file(&self.journal);
    }
}

/// A finished tile: where its bytes lie in the partial output and their CRC-32, absent
/// for tiles copied as stored from the input (checked against the input instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub index: u32,
    pub offset: u64,
    pub count: u64,
    pub crc: Option<u32>,
}

/// An open, locked journal.
pub struct Journal {
    file: File,
}

impl Journal {
    /// Opens the journal at `path` (created empty if missing) and locks it; `None` when
    /// another process holds the lock. The kernel drops the lock when the process ends,
    /// however it ends, so a crashed run never blocks its `--resume`.
    pub fn lock(path: &Path) -> io::Result<Option<Journal>> {
        loop {
            let file = File::options().read(true).append(true).create(true).open(path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
            // The run that held the lock may have finished and removed the journal
            // between our open and our lock: then lock the file now at the path.
            let at_path = std::fs::metadata(path).map(|m| (m.dev(), m.ino())).ok();
            let locked = file.metadata().map(|m| (m.dev(), m.ino()))?;
            if at_path == Some(locked) {
                return Ok(Some(Journal { file }));
            }
        }
    }

    /// Starts the journal over for the job described by `job` (one line of text).
    pub fn start(&mut self, job: &str) -> io::Result<()> {
        self.file.set_len(0)?;
        writeln!(self.file, "{job}")
    }

    /// What the journal says: the job line (empty for a new journal) and the finished
    /// tiles whose bytes are inside a partial file of `part_len` bytes, for tile
    /// indices below `tiles`.
    pub fn read(&mut self, part_len: u64, tiles: u32) -> io::Result<(String, Vec<Entry>)> {
        let mut text = String::new();
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_string(&mut text)?;
        let mut lines = text.split_inclusive('\n');
        let job = lines.next().unwrap_or("").trim_end().to_string();
        let entries = lines
            .filter(|line| line.ends_with('\n'))
            .filter_map(parse_entry)
            .filter(|e| {
                e.index < tiles
                    && e.count > 0
                    && e.offset.checked_add(e.count).is_some_and(|end| end <= part_len)
            })
            .collect();
        Ok((job, entries))
    }

    /// Records finished tiles, one line each, in one write (a crash tears at most the
    /// last line, which `read` ignores).
    pub fn record(&mut self, entries: &[Entry]) -> io::Result<()> {
        let lines: String = entries
            .iter()
            .map(|e| match e.crc {
                Some(crc) => format!("{} {} {} {crc:08x}\n", e.index, e.offset, e.count),
                None => format!("{} {} {} -\n", e.index, e.offset, e.count),
            })
            .collect();
        self.file.write_all(lines.as_bytes())
    }
}

/// One tile line: `index offset count crc`, the CRC in hex or `-`.
fn parse_entry(line: &str) -> Option<Entry> {
    let mut words = line.split_whitespace();
    let index = words.next()?.parse().ok()?;
    let offset = words.next()?.parse().ok()?;
    let count = words.next()?.parse().ok()?;
    let crc = match words.next()? {
        "-" => None,
        hex => Some(u32::from_str_radix(hex, 16).ok()?),
    };
    words.next().is_none().then_some(Entry { index, offset, count, crc })
}

/// A short fingerprint of a job line, stored in the output's provenance so that
/// `--resume` knows a finished output of the same job when it sees one.
pub fn job_id(job: &str) -> String {
    format!("{:08x}", crc32fast::hash(job.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u32, offset: u64, count: u64, crc: Option<u32>) -> Entry {
        Entry { index, offset, count, crc }
    }

    #[test]
    fn a_torn_last_line_and_entries_past_the_file_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut journal = Journal::lock(&path).unwrap().unwrap();
        journal.start("job 1").unwrap();
        journal.record(&[entry(0, 16, 100, Some(0xdead_beef)), entry(3, 116, 50, None)]).unwrap();
        journal.record(&[entry(1, 166, 500, Some(1))]).unwrap(); // its bytes never reached the file
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"2 666 1 0").unwrap();
        let (job, entries) = journal.read(200, 4).unwrap();
        assert_eq!(job, "job 1");
        assert_eq!(entries, [entry(0, 16, 100, Some(0xdead_beef)), entry(3, 116, 50, None)]);
    }

    #[test]
    fn a_second_run_cannot_lock_the_journal_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let first = Journal::lock(&path).unwrap().expect("free");
        assert!(Journal::lock(&path).unwrap().is_none(), "held by the first");
        drop(first);
        assert!(Journal::lock(&path).unwrap().is_some(), "released");
    }
}
