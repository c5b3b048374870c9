//! Writing an image whole to its destination without ever leaving a partial file:
//! encoded by its format's codec, written to a temporary file in the destination
//! folder and renamed.

use std::io::{BufWriter, Cursor, Seek, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{Encoding, Format};
use crate::metadata::{tiff_tags, Metadata};
use crate::raster::Raster;
use crate::tiff::codec as tiff_codec;

use super::png_jpeg;

/// Where an output goes, decided before any pixel is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`-`).
    Stdout,
    /// A regular file, new or replaced: written beside it under a temporary name and
    /// renamed when complete. A symbolic link is followed: its target is replaced.
    File(PathBuf),
    /// A character device or a named pipe (`/dev/null`, a FIFO): written in place, in
    /// one piece, never replaced.
    Stream(PathBuf),
}

impl Destination {
    /// The path written to, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Destination::Stdout => None,
            Destination::File(p) | Destination::Stream(p) => Some(p),
        }
    }
}

/// Checks that `path` can take an output and says how it will be written: the folder
/// exists and is writable, the name is a file's, and an existing special file is
/// written in place (character devices, pipes) or refused (folders, block devices,
/// sockets), never replaced.
pub fn check_destination(path: &str) -> Result<Destination> {
    if path == "-" {
        return Ok(Destination::Stdout);
    }
    let refuse = |why: &str| Error::input(format!("cannot write '{path}': {why}"));
    if path.ends_with('/') || Path::new(path).file_name().is_none() {
        return Err(refuse("the path names a folder, not a file").with_help("give a file name, e.g. out.tif"));
    }
    let given = Path::new(path);
    let is_link = std::fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink());
    // Metadata through any link: `/dev/stdout` is a link to a pipe or a terminal.
    let target = match std::fs::metadata(given).map(|m| m.file_type()) {
        Ok(kind) if kind.is_file() && is_link => std::fs::canonicalize(given)
            .map_err(|e| refuse(&format!("cannot follow its symbolic link: {e}")))?,
        Ok(kind) if kind.is_file() => given.to_path_buf(),
        Ok(kind) if kind.is_char_device() || kind.is_fifo() => return Ok(Destination::Stream(given.into())),
        Ok(kind) => {
            let what = if kind.is_dir() {
                "it is a folder"
            } else if kind.is_block_device() {
                "it is a block device"
            } else {
                "it is a socket or another special file"
            };
            return Err(refuse(what).with_help("write to a regular file, a character device, a pipe or `-`"));
        }
        Err(_) if is_link => {
            return Err(refuse("it is a symbolic link to a missing file")
                .with_help("write to the link's target path instead"))
        }
        Err(_) => given.to_path_buf(),
    };
    let folder = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(refuse(&format!("folder '{}' does not exist", folder.display()))
            .with_help("create the folder first"));
    }
    // The output is written beside the target under a temporary name: the folder must
    // take new files, which only trying tells (permissions, read-only mounts, quotas).
    tempfile::tempfile_in(folder)
        .map_err(|e| refuse(&format!("folder '{}' is not writable: {e}", folder.display())))?;
    Ok(Destination::File(target))
}

/// Encodes `raster` with its `metadata` (and, in a TIFF, infty's `provenance`) and
/// writes it to `destination`; a file is synced to the disk before it takes its name if
/// `sync`.
pub fn write_output(
    raster: &Raster,
    encoding: &Encoding,
    (metadata, provenance): (&Metadata, &str),
    destination: &Destination,
    sync: bool,
) -> Result<()> {
    let path = match destination {
        Destination::File(path) => path,
        Destination::Stdout | Destination::Stream(_) => {
            let mut bytes = Cursor::new(Vec::new());
            encode(raster, encoding, metadata, provenance, &mut bytes)?;
            return write_in_place(bytes.get_ref(), destination);
        }
    };
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let failed = |e: std::io::Error| Error::failed(format!("cannot write '{}': {e}", path.display()));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".infty-").suffix(".part");
    // Like any new file: 0666 less the umask (tempfile's default is 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(folder).map_err(failed)?;
    let _pending = crate::interrupt::pending_output(temp.path());
    {
        let mut out = BufWriter::new(temp.as_file_mut());
        encode(raster, encoding, metadata, provenance, &mut out)?;
        out.flush().map_err(failed)?;
    }
    if sync {
        temp.as_file().sync_all().map_err(failed)?;
    }
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Writes `bytes` to standard output or into a special file, opened without being
/// created or truncated.
fn write_in_place(bytes: &[u8], destination: &Destination) -> Result<()> {
    let (name, result) = match destination.path() {
        None => {
            let mut stdout = std::io::stdout().lock();
            ("standard output".to_string(), stdout.write_all(bytes).and_then(|()| stdout.flush()))
        }
        Some(path) => {
            let written =
                std::fs::OpenOptions::new().write(true).open(path).and_then(|mut f| f.write_all(bytes));
            (format!("'{}'", path.display()), written)
        }
    };
    result.map_err(|e| Error::failed(format!("cannot write to {name}: {e}")))
}

/// Encodes `raster` into `out`.
fn encode<W: Write + Seek>(
    raster: &Raster,
    encoding: &Encoding,
    metadata: &Metadata,
    provenance: &str,
    out: &mut W,
) -> Result<()> {
    match encoding.format {
        Format::Tiff => tiff_codec::encode(raster, encoding, &tiff_tags::tags(metadata, provenance), out),
        Format::Png | Format::Jpeg => png_jpeg::encode(raster, encoding, metadata, out),
        Format::Dzi => Err("DeepZoom is a folder of tiles, written to a .dzi path".to_string()),
    }
    .map_err(|e| Error::failed(format!("cannot encode {}: {e}", encoding.format.name())))
}
