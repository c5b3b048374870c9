//! The journal beside an output being written: which tiles are complete, so a run
//! stopped by Ctrl-C, a crash or `kill -9` continues with `--resume` and produces the
//! same pixels. Its first line identifies the job; each later line is one finished
//! tile, appended only after the tile's bytes are in the output file, so a line torn
//! by a crash is simply ignored.

use std::fs::File;
use std::io::{self, Write};
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

/// An open journal.
pub struct Journal {
    file: File,
}

/// A finished tile: index, offset and byte count in the partial output.
pub type Entry = (u32, u64, u64);

impl Journal {
    /// Starts a new journal for the job described by `job` (one line of text).
    pub fn create(path: &Path, job: &str) -> io::Result<Journal> {
        let mut file = File::create(path)?;
        writeln!(file, "{job}")?;
        Ok(Journal { file })
    }

    /// Reopens a journal to append to it.
    pub fn append_to(path: &Path) -> io::Result<Journal> {
        Ok(Journal { file: File::options().append(true).open(path)? })
    }

    /// Records finished tiles, one line each, in one write (a crash tears at most the
    /// last line, which `read` ignores).
    pub fn record(&mut self, entries: &[Entry]) -> io::Result<()> {
        let lines: String =
            entries.iter().map(|(index, offset, count)| format!("{index} {offset} {count}\n")).collect();
        self.file.write_all(lines.as_bytes())
    }
}

/// What a journal says: the job line and the finished tiles whose bytes are inside a
/// partial file of `part_len` bytes, for tile indices below `tiles`.
pub fn read(path: &Path, part_len: u64, tiles: u32) -> io::Result<(String, Vec<Entry>)> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.split_inclusive('\n');
    let job = lines.next().unwrap_or("").trim_end().to_string();
    let entries = lines
        .filter(|line| line.ends_with('\n'))
        .filter_map(|line| {
            let mut words = line.split_whitespace().map(str::parse::<u64>);
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some(Ok(i)), Some(Ok(offset)), Some(Ok(count)), None) => Some((i, offset, count)),
                _ => None,
            }
        })
        .filter(|&(i, offset, count)| i < u64::from(tiles) && count > 0 && offset + count <= part_len)
        .map(|(i, offset, count)| (i as u32, offset, count))
        .collect();
    Ok((job, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_and_entries_past_the_file_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut journal = Journal::create(&path, "job 1").unwrap();
        journal.record(&[(0, 16, 100), (3, 116, 50)]).unwrap();
        journal.record(&[(1, 166, 500)]).unwrap(); // its bytes never reached the file
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"2 666 1").unwrap();
        let (job, entries) = read(&path, 200, 4).unwrap();
        assert_eq!(job, "job 1");
        assert_eq!(entries, [(0, 16, 100), (3, 116, 50)]);
    }
}
