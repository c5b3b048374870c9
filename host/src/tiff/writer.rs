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

use super::codec::sample_format_of;
use super::ifd::{ifd_bytes, IfdEntry, IFD, IFD8, LONG, LONG8};
use super::journal::Entry;
use super::layout::Layout;
use super::predictor::Predictor;
use crate::metadata::tiff_tags::TagValue;

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
    /// The CRC-32 of each tile's bytes, where known.
    checksums: Vec<Option<u32>>,
    end: u64,
    /// Make the file durable (`--sync`): start writeback as it goes, sync at the end.
    sync: bool,
    /// Where the writeback started by [`TiledWriter::place`] has reached.
    flushed: u64,
}

/// Bytes written between two starts of writeback.
const WRITEBACK_STEP: u64 = 32 << 20;

impl TiledWriter {
    /// Creates (or truncates) `path` and writes the header; with `sync` the file is
    /// durable on the disk when [`TiledWriter::finish`] returns.
    pub fn create(path: &Path, layout: Layout, sync: bool) -> io::Result<TiledWriter> {
        // Readable too: the pyramid reads tiles back.
        let file = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut writer = TiledWriter::new(file, layout, sync);
        let header = writer.header(0);
        writer.file.write_all_at(&header, 0)?;
        writer.end = header.len() as u64;
        Ok(writer)
    }

    fn new(file: File, layout: Layout, sync: bool) -> TiledWriter {
        let n = layout.tile_count() as usize;
        let (offsets, counts, checksums) = (vec![0; n], vec![0; n], vec![None; n]);
        TiledWriter { file, layout, offsets, counts, checksums, end: 0, sync, flushed: 0 }
    }

    /// Reopens a partly written `path` whose tiles `done` are complete; anything after
    /// the last of them is cut off.
    pub fn resume(path: &Path, layout: Layout, done: &[Entry], sync: bool) -> io::Result<TiledWriter> {
        let file = File::options().read(true).write(true).open(path)?;
        let mut writer = TiledWriter::new(file, layout, sync);
        writer.end = writer.header(0).len() as u64;
        for &tile in done {
            writer.set(tile);
            writer.end = writer.end.max(tile.offset + tile.count);
        }
        writer.file.set_len(writer.end)?;
        Ok(writer)
    }

    /// Appends the stored bytes of tile `index`.
    pub fn append(&mut self, index: u32, bytes: &[u8]) -> io::Result<()> {
        let offset = self.reserve(bytes.len());
        self.file.write_all_at(bytes, offset)?;
        if let Some(range) = self.place(Entry { index, offset, count: bytes.len() as u64, crc: None }) {
            start_writeback(&self.file, range);
        }
        Ok(())
    }

    fn set(&mut self, tile: Entry) {
        let i = tile.index as usize;
        (self.offsets[i], self.counts[i], self.checksums[i]) = (tile.offset, tile.count, tile.crc);
    }

    /// Reserves `len` bytes at the end for a tile written by the caller (from any
    /// thread, through [`TiledWriter::file`]); returns their offset.
    pub fn reserve(&mut self, len: usize) -> u64 {
        let offset = self.end;
        self.end += len as u64;
        offset
    }

    /// Records where `tile`'s bytes are. A synced file returns, every 32 MiB, the bytes
    /// the caller should have the disk start writing ([`start_writeback`], outside any
    /// lock: it can wait for the disk's queue), so the sync at the end has little left to
    /// wait for. Otherwise the kernel writes back when it likes: starting it early makes
    /// the disk write while the input is read from it, which slows both.
    pub fn place(&mut self, tile: Entry) -> Option<(u64, u64)> {
        self.set(tile);
        let reached = tile.offset + tile.count;
        if !self.sync || reached < self.flushed + WRITEBACK_STEP {
            return None;
        }
        let range = (self.flushed, reached - self.flushed);
        self.flushed = reached;
        Some(range)
    }

    /// The file, for writing reserved space.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The image's layout and tile table so far.
    pub fn tiles(&self) -> (Layout, &[u64], &[u64]) {
        (self.layout, &self.offsets, &self.counts)
    }

    /// The CRC-32 of every tile written, those not known yet read back from the file.
    pub fn tile_checksums(&self) -> io::Result<Vec<u32>> {
        let checksum = |i: usize| match self.checksums[i] {
            Some(crc) => Ok(crc),
            None => {
                let mut bytes = vec![0; self.counts[i] as usize];
                self.file.read_exact_at(&mut bytes, self.offsets[i]).map(|()| crc32fast::hash(&bytes))
            }
        };
        (0..self.counts.len()).map(checksum).collect()
    }

    /// Writes the directories, the image's with its descriptive `tags` (provenance,
    /// metadata) and, for a shard, its tiles' `checksums`, pointing to one per
    /// reduced-resolution level (SubIFDs), and syncs the file if asked to.
    pub fn finish(
        mut self,
        tags: &[(u16, TagValue)],
        levels: &[Level],
        checksums: Option<&[u32]>,
    ) -> io::Result<()> {
        let mut sub_ifds = Vec::new();
        for level in levels {
            sub_ifds.push(self.append_ifd(&level.layout, &level.offsets, &level.counts, None, &[], None)?);
        }
        let (layout, offsets, counts) =
            (self.layout, std::mem::take(&mut self.offsets), std::mem::take(&mut self.counts));
        let main = self.append_ifd(&layout, &offsets, &counts, Some(tags), &sub_ifds, checksums)?;
        self.file.write_all_at(&self.header(main), 0)?;
        if self.sync {
            self.file.sync_all()?;
        }
        Ok(())
    }

    /// Appends one IFD (word-aligned) describing a tiled image; returns its offset.
    /// Without descriptive tags it is a reduced-resolution level (NewSubfileType 1).
    fn append_ifd(
        &mut self,
        l: &Layout,
        offsets: &[u64],
        counts: &[u64],
        tags: Option<&[(u16, TagValue)]>,
        sub_ifds: &[u64],
        checksums: Option<&[u32]>,
    ) -> io::Result<u64> {
        let spp = l.channels as u16;
        let bits = (l.depth.bytes() * 8) as u16;
        let format = sample_format_of(l.depth);
        let (offsets_type, ifd_type) = if self.layout.big { (LONG8, IFD8) } else { (LONG, IFD) };
        let mut entries = Vec::new();
        match tags {
            Some(tags) => entries.extend(tags.iter().map(|(tag, value)| IfdEntry::of(*tag, value))),
            None => entries.push(IfdEntry::longs(254, &[1])),
        }
        entries.extend([
            IfdEntry::longs(256, &[l.width]),
            IfdEntry::longs(257, &[l.height]),
            IfdEntry::shorts(258, &vec![bits; spp as usize]),
            IfdEntry::shorts(259, &[l.compression.tag()]),
            IfdEntry::shorts(262, &[if spp >= 3 { 2 } else { 1 }]),
        ]);
        entries.extend([
            IfdEntry::shorts(277, &[spp]),
            IfdEntry::shorts(284, &[1]),
            IfdEntry::ascii(305, concat!("infty ", env!("CARGO_PKG_VERSION"))),
        ]);
        if l.predictor != Predictor::None {
            entries.push(IfdEntry::shorts(317, &[l.predictor.tag()]));
        }
        entries.extend([
            IfdEntry::longs(322, &[l.tile]),
            IfdEntry::longs(323, &[l.tile]),
            IfdEntry::offsets(324, offsets_type, offsets),
            IfdEntry::offsets(325, offsets_type, counts),
        ]);
        if !sub_ifds.is_empty() {
            entries.push(IfdEntry::offsets(330, ifd_type, sub_ifds));
        }
        if spp.is_multiple_of(2) {
            entries.push(IfdEntry::shorts(338, &[2])); // the last channel is unassociated alpha
        }
        entries.push(IfdEntry::shorts(339, &vec![format; spp as usize]));
        if let Some(checksums) = checksums {
            entries.push(IfdEntry::longs(TILE_CHECKSUMS, checksums));
        }
        entries.sort_by_key(|e| e.tag);
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

/// Has the disk start writing `(from, len)` of `file`, without waiting for it.
pub fn start_writeback(file: &File, (from, len): (u64, u64)) {
    // SAFETY: the descriptor belongs to an open file. Only a hint: errors surface at the
    // final sync.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            from as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
}

/// A private tag (in TIFF's reusable range) holding the CRC-32 of each tile of a
/// shard, which `infty merge` verifies before copying the tile.
pub const TILE_CHECKSUMS: u16 = 65421;
