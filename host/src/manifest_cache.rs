//! A cache of plugin manifests, so `infty` opens a plugin library only when one of its
//! items is used. Opening a library runs its initialisers: the network plugin's libtorch
//! costs ~0.3 s and ~110 MB at every start, which a pipeline of other operators should
//! not pay. An entry is keyed by the file's path, size and modification time and by the
//! host's SDK version, so a rebuilt plugin is read again. The cache lives in
//! `INFTY_CACHE_DIR`, else `$XDG_CACHE_HOME/infty`, else `~/.cache/infty`; where none
//! can be written, every plugin is opened at start, as before.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use infty_sdk::{Manifest, SDK_VERSION};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Entry {
    file: PathBuf,
    size: u64,
    modified_ns: u128,
    sdk: String,
    manifest: Manifest,
}

fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("INFTY_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("infty")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/infty")))?;
    Some(dir.join("manifests"))
}

/// `(size, modification time)` of the file, the part of the key that changes on rebuild.
fn stamp(file: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.len(), meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos()))
}

/// One entry file per plugin path (FNV-1a of the path: stable across builds).
fn entry_path(file: &Path) -> Option<PathBuf> {
    let hash = file
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
    Some(cache_dir()?.join(format!("{hash:016x}.json")))
}

/// The cached manifest of `file`, if it is current.
pub fn find(file: &Path) -> Option<Manifest> {
    let entry: Entry = serde_json::from_slice(&std::fs::read(entry_path(file)?).ok()?).ok()?;
    let current = entry.file == file
        && Some((entry.size, entry.modified_ns)) == stamp(file)
        && entry.sdk == SDK_VERSION;
    current.then_some(entry.manifest)
}

/// Records the manifest of `file`; failures only cost the next start a library open.
pub fn store(file: &Path, manifest: &Manifest) {
    let (Some(path), Some((size, modified_ns))) = (entry_path(file), stamp(file)) else { return };
    let entry = Entry {
        file: file.to_path_buf(),
        size,
        modified_ns,
        sdk: SDK_VERSION.into(),
        manifest: manifest.clone(),
    };
    let Ok(json) = serde_json::to_vec(&entry) else { return };
    let Some(dir) = path.parent() else { return };
    // Written beside and renamed, so a concurrent reader sees a whole entry or none.
    let partial = dir.join(format!(
        ".{}.{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    if std::fs::create_dir_all(dir).is_ok()
        && std::fs::write(&partial, json).is_ok()
        && std::fs::rename(&partial, &path).is_err()
    {
        let _ = std::fs::remove_file(&partial);
    }
}
