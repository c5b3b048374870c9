//! A tiled TIFF (or BigTIFF) written incrementally: tiles are appended in any order
//! as they finish, and the directory (IFD) is written once at the end. The `tiff`
//! crate writes strips only, and ignores compression when streaming (docs/facts.md).
//!
//! Layout: header, tile data in completion order, then the IFD and its out-of-line
//! values. A tile never written has offset and byte count 0 (a sparse TIFF, as a
//! shard is), which libtiff and tifffile read as empty.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::layout::Layout;
use crate::format::Depth;

/// A reduced-resolution level whose tiles are already in the file.
pub struct Level {
    pub layout: Layout,
    pub offsets: Vec<u64>,
    pub counts: Vec<u64>,
}

/// The output file being written.
pub struct TiledWriter {
    file: File,
    layout: Layout,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    end: u64,
    /// Where the writeback started by [`TiledWriter::place`] has reached.
    flushed: u64,
}

/// Bytes written between two starts of writeback.
const WRITEBACK_STEP: u64 = 32 << 20;

impl TiledWriter {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path, layout: Layout) -> io::Result<TiledWriter> {
        // Readable too: the pyramid reads tiles back.
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        let n = layout.tile_count() as usize;
        let mut writer =
            TiledWriter { file, layout, offsets: vec![0; n], counts: vec![0; n], end: 0, flushed: 0 };
        let header = writer.header(0);
        writer.file.write_all_at(&header, 0)?;
        writer.end = header.len() as u64;
        Ok(writer)
    }

    /// Reopens a partly written `path` whose tiles `done` (index, offset, byte count)
    /// are complete; anything after the last of them is cut off.
    pub fn resume(path: &Path, layout: Layout, done: &[(u32, u64, u64)]) -> io::Result<TiledWriter> {
        let file = File::options().read(true).write(true).open(path)?;
        let n = layout.tile_count() as usize;
        let mut writer =
            TiledWriter { file, layout, offsets: vec![0; n], counts: vec![0; n], end: 0, flushed: 0 };
        writer.end = writer.header(0).len() as u64;
        for &(index, offset, count) in done {
            writer.offsets[index as usize] = offset;
            writer.counts[index as usize] = count;
            writer.end = writer.end.max(offset + count);
        }
        writer.file.set_len(writer.end)?;
        Ok(writer)
    }

    /// Appends the stored bytes of tile `index`.
    pub fn append(&mut self, index: u32, bytes: &[u8]) -> io::Result<()> {
        let offset = self.reserve(bytes.len());
        self.file.write_all_at(bytes, offset)?;
        self.place(index, offset, bytes.len() as u64);
        Ok(())
    }

    /// Reserves `len` bytes at the end for a tile written by the caller (from any
    /// thread, through [`TiledWriter::file`]); returns their offset.
    pub fn reserve(&mut self, len: usize) -> u64 {
        let offset = self.end;
        self.end += len as u64;
        offset
    }

    /// Records that tile `index` is the `count` bytes at `offset`. Every 32 MiB it
    /// starts the disk writing what is written so far, without waiting: dirty pages
    /// do not pile up, and the sync at the end has little left to wait for.
    pub fn place(&mut self, index: u32, offset: u64, count: u64) {
        self.offsets[index as usize] = offset;
        self.counts[index as usize] = count;
        let reached = offset + count;
        if reached >= self.flushed + WRITEBACK_STEP {
            let (from, len) = (self.flushed as libc::off64_t, (reached - self.flushed) as libc::off64_t);
            // SAFETY: the descriptor belongs to an open file. Only a hint: errors
            // surface at the final sync.
            unsafe { libc::sync_file_range(self.file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE) };
            self.flushed = reached;
        }
    }

    /// The file, for writing reserved space.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The image's layout and tile table so far.
    pub fn tiles(&self) -> (Layout, &[u64], &[u64]) {
        (self.layout, &self.offsets, &self.counts)
    }

    /// Writes the directories, the image's with `description` (provenance) pointing
    /// to one per reduced-resolution level (SubIFDs), and syncs the file.
    pub fn finish(mut self, description: &str, levels: &[Level]) -> io::Result<()> {
        let mut sub_ifds = Vec::new();
        for level in levels {
            sub_ifds.push(self.append_ifd(&level.layout, &level.offsets, &level.counts, None, &[])?);
        }
        let (layout, offsets, counts) =
            (self.layout, std::mem::take(&mut self.offsets), std::mem::take(&mut self.counts));
        let main = self.append_ifd(&layout, &offsets, &counts, Some(description), &sub_ifds)?;
        self.file.write_all_at(&self.header(main), 0)?;
        self.file.sync_all()
    }

    /// Appends one IFD (word-aligned) describing a tiled image; returns its offset.
    /// Without a description it is a reduced-resolution level (NewSubfileType 1).
    fn append_ifd(
        &mut self,
        l: &Layout,
        offsets: &[u64],
        counts: &[u64],
        description: Option<&str>,
        sub_ifds: &[u64],
    ) -> io::Result<u64> {
        let spp = l.channels as u16;
        let bits = (l.depth.bytes() * 8) as u16;
        let format = if l.depth == Depth::F32 { 3 } else { 1 };
        let (offsets_type, ifd_type) = if self.layout.big { (LONG8, IFD8) } else { (LONG, IFD) };
        let mut entries = Vec::new();
        if description.is_none() {
            entries.push(Entry::longs(254, &[1]));
        }
        entries.extend([
            Entry::longs(256, &[l.width]),
            Entry::longs(257, &[l.height]),
            Entry::shorts(258, &vec![bits; spp as usize]),
            Entry::shorts(259, &[l.compression.tag()]),
            Entry::shorts(262, &[if spp >= 3 { 2 } else { 1 }]),
        ]);
        if let Some(description) = description {
            entries.push(Entry::ascii(270, description));
        }
        entries.extend([
            Entry::shorts(277, &[spp]),
            Entry::shorts(284, &[1]),
            Entry::ascii(305, concat!("infty ", env!("CARGO_PKG_VERSION"))),
            Entry::longs(322, &[l.tile]),
            Entry::longs(323, &[l.tile]),
            Entry::offsets(324, offsets_type, offsets),
            Entry::offsets(325, offsets_type, counts),
        ]);
        if !sub_ifds.is_empty() {
            entries.push(Entry::offsets(330, ifd_type, sub_ifds));
        }
        if spp % 2 == 0 {
            entries.push(Entry::shorts(338, &[2])); // the last channel is unassociated alpha
        }
        entries.push(Entry::shorts(339, &vec![format; spp as usize]));
        let at = self.end + (self.end & 1); // IFDs start on a word boundary
        let ifd = ifd_bytes(&entries, at, self.layout.big);
        self.file.write_all_at(&ifd, at)?;
        self.end = at + ifd.len() as u64;
        Ok(at)
    }

    fn header(&self, ifd_offset: u64) -> Vec<u8> {
        let mut h = b"II".to_vec();
        if self.layout.big {
            h.extend_from_slice(&43u16.to_le_bytes());
            h.extend_from_slice(&8u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&ifd_offset.to_le_bytes());
        } else {
            h.extend_from_slice(&42u16.to_le_bytes());
            h.extend_from_slice(&(ifd_offset as u32).to_le_bytes());
        }
        h
    }
}

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const LONG8: u16 = 16;
const IFD: u16 = 13;
const IFD8: u16 = 18;

/// One IFD entry: tag, type, count and the little-endian value bytes.
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    data: Vec<u8>,
}

impl Entry {
    fn shorts(tag: u16, values: &[u16]) -> Entry {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry { tag, kind: SHORT, count: values.len() as u64, data }
    }

    fn longs(tag: u16, values: &[u32]) -> Entry {
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry { tag, kind: LONG, count: values.len() as u64, data }
    }

    fn offsets(tag: u16, kind: u16, values: &[u64]) -> Entry {
        let data = if kind == LONG8 || kind == IFD8 {
            values.iter().flat_map(|v| v.to_le_bytes()).collect()
        } else {
            values.iter().flat_map(|&v| (v as u32).to_le_bytes()).collect()
        };
        Entry { tag, kind, count: values.len() as u64, data }
    }

    fn ascii(tag: u16, text: &str) -> Entry {
        let mut data: Vec<u8> = text.bytes().filter(|&b| b != 0).collect();
        data.push(0);
        Entry { tag, kind: ASCII, count: data.len() as u64, data }
    }
}

/// The IFD at `offset`: entries (sorted by tag), a zero next-IFD pointer, then the
/// values too long to sit inside their entry.
fn ifd_bytes(entries: &[Entry], offset: u64, big: bool) -> Vec<u8> {
    let (count_size, entry_size, inline) = if big { (8, 20, 8) } else { (2, 12, 4) };
    let mut out = Vec::new();
    let mut extra = Vec::new();
    let extra_start = offset + (count_size + entries.len() * entry_size + inline) as u64;
    let push_offset = |out: &mut Vec<u8>, v: u64| {
        if big {
            out.extend_from_slice(&v.to_le_bytes())
        } else {
            out.extend_from_slice(&(v as u32).to_le_bytes())
        }
    };
    if big {
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    } else {
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    }
    for e in entries {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        push_offset(&mut out, e.count);
        if e.data.len() <= inline {
            let mut value = e.data.clone();
            value.resize(inline, 0);
            out.extend_from_slice(&value);
        } else {
            push_offset(&mut out, extra_start + extra.len() as u64);
            extra.extend_from_slice(&e.data);
            extra.resize(extra.len() + (extra.len() & 1), 0);
        }
    }
    push_offset(&mut out, 0);
    out.extend_from_slice(&extra);
    out
}
