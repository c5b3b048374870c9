//! A cache of plugin manifests, so `infty` opens a plugin library only when one of its
//! items is used. Opening a library runs its initialisers: the network plugin's libtorch
//! costs ~0.3 s and ~110 MB at every start, which a pipeline of other operators should
//! not pay. An entry is keyed by the file's path and [`Stamp`] and by the host's SDK
//! version, so a rebuilt or replaced plugin is read again. The cache lives in
//! `INFTY_CACHE_DIR`, else `$XDG_CACHE_HOME/infty`, else `~/.cache/infty`; where none
//! can be written, every plugin is probed at start.
//!
//! An entry holds the probe's [`Verdict`]: the manifest of a good library, or the reason a
//! broken one is skipped, so a library that crashed the loader is not loaded again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use infty_sdk::{Manifest, ABI_VERSION};
use serde::{Deserialize, Serialize};

/// What identifies one build of a library file: size, modification and change times,
/// inode. A copy that keeps the mtime (`cp -p`, rsync) still has a new inode and ctime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    modified_ns: u128,
    changed_ns: i128,
    inode: u64,
}

/// What probing one library file found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Verdict {
    /// A plugin, and what it provides.
    Good(Manifest),
    /// Not a usable plugin: the one-line reason it is skipped.
    Bad(String),
}

#[derive(Serialize, Deserialize)]
struct Entry {
    file: PathBuf,
    stamp: Stamp,
    sdk: String,
    verdict: Verdict,
}

fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = var("INFTY_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("infty")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/infty")))?;
    Some(dir.join("manifests"))
}

/// The file's current stamp. Take it before opening the library and pass it to
/// [`store`], so a file rebuilt meanwhile is not cached under its new stamp.
pub fn stamp(file: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(file).ok()?;
    let modified_ns = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    let changed_ns = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
    Some(Stamp { size: meta.len(), modified_ns, changed_ns, inode: meta.ino() })
}

/// One entry file per plugin path (FNV-1a of the path: stable across builds).
fn entry_path(dir: &Path, file: &Path) -> PathBuf {
    let bytes = file.as_os_str().as_encoded_bytes();
    let hash =
        bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
    dir.join(format!("{hash:016x}.json"))
}

/// The cached verdict on `file`, if it is current.
pub fn find(file: &Path) -> Option<Verdict> {
    find_in(&cache_dir()?, file)
}

/// Records the verdict on `file` when it had stamp `before`, if the file is still that
/// build. Failures only cost the next start a probe.
pub fn store(file: &Path, before: Option<Stamp>, verdict: &Verdict) {
    if let (Some(dir), Some(before)) = (cache_dir(), before) {
        store_in(&dir, file, before, verdict);
    }
}

fn find_in(dir: &Path, file: &Path) -> Option<Verdict> {
    let entry: Entry = serde_json::from_slice(&std::fs::read(entry_path(dir, file)).ok()?).ok()?;
    let current = entry.file == file && Some(entry.stamp) == stamp(file) && entry.sdk == ABI_VERSION;
    current.then_some(entry.verdict)
}

fn store_in(dir: &Path, file: &Path, before: Stamp, verdict: &Verdict) {
    if stamp(file) != Some(before) {
        return;
    }
    let entry =
        Entry { file: file.to_path_buf(), stamp: before, sdk: ABI_VERSION.into(), verdict: verdict.clone() };
    let Ok(json) = serde_json::to_vec(&entry) else { return };
    // Written beside and renamed, so a concurrent reader sees a whole entry or none.
    let path = entry_path(dir, file);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = dir.join(format!(".{}.{name}", std::process::id()));
    if std::fs::create_dir_all(dir).is_ok()
        && std::fs::write(&partial, json).is_ok()
        && std::fs::rename(&partial, &path).is_err()
    {
        let _ = std::fs::remove_file(&partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infty_sdk::ItemSpec;

    fn manifest(id: &str) -> Verdict {
        let items = vec![ItemSpec::operator("op", "an operator")].into();
        Verdict::Good(Manifest {
            id: id.into(),
            version: "1.0.0".into(),
            sdk_version: ABI_VERSION.into(),
            items,
        })
    }

    #[test]
    fn entries_hold_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libplugin.so");
        std::fs::write(&file, b"build one").unwrap();
        let before = stamp(&file).unwrap();
        store_in(dir.path(), &file, before, &manifest("org.example.a"));
        assert_eq!(find_in(dir.path(), &file), Some(manifest("org.example.a")));
        // A rebuild of the same size is another build: the entry no longer holds.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"build two").unwrap();
        assert_eq!(find_in(dir.path(), &file), None);
        // A manifest read before the rebuild is not stored under the new stamp.
        store_in(dir.path(), &file, before, &manifest("org.example.stale"));
        assert_eq!(find_in(dir.path(), &file), None);
    }

    #[test]
    fn a_bad_verdict_is_cached_like_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libbroken.so");
        std::fs::write(&file, b"\x7fELF truncated").unwrap();
        let bad = Verdict::Bad("the library crashed the loader (SIGBUS)".into());
        store_in(dir.path(), &file, stamp(&file).unwrap(), &bad);
        assert_eq!(find_in(dir.path(), &file), Some(bad));
    }
}
