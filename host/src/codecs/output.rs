//! Writing an image whole to its destination without ever leaving a partial file:
//! encoded by its format's codec, written to a temporary file in the destination
//! folder and renamed.

use std::io::{BufWriter, Cursor, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::format::{Encoding, Format};
use crate::raster::Raster;
use crate::tiff::codec as tiff_codec;

use super::png_jpeg;

/// Checks, before any pixel is read, that `path` can be written.
pub fn check_destination(path: &str) -> Result<()> {
    if path == "-" {
        return Ok(());
    }
    let path = Path::new(path);
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(Error::input(format!(
            "cannot write '{}': folder '{}' does not exist",
            path.display(),
            folder.display()
        ))
        .with_help("create the folder first"));
    }
    if path.is_dir() {
        return Err(Error::input(format!("cannot write '{}': it is a folder", path.display())));
    }
    Ok(())
}

/// Encodes `raster` and writes it to `path` (`-` for standard output).
pub fn write_output(raster: &Raster, encoding: &Encoding, path: &str) -> Result<()> {
    if path == "-" {
        let mut bytes = Cursor::new(Vec::new());
        encode(raster, encoding, &mut bytes)?;
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(bytes.get_ref())
            .and_then(|()| stdout.flush())
            .map_err(|e| Error::failed(format!("cannot write to standard output: {e}")));
    }
    let path = Path::new(path);
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
        encode(raster, encoding, &mut out)?;
        out.flush().map_err(failed)?;
    }
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Encodes `raster` into `out`.
fn encode<W: Write + Seek>(raster: &Raster, encoding: &Encoding, out: &mut W) -> Result<()> {
    match encoding.format {
        Format::Tiff => tiff_codec::encode(raster, encoding, out),
        Format::Png | Format::Jpeg => png_jpeg::encode(raster, encoding, out),
    }
    .map_err(|e| Error::failed(format!("cannot encode {}: {e}", encoding.format.name())))
}
