//! Builds plugins outside the workspace against a copy of the SDK: unaltered (to test
//! the guide's tutorials as a user would build them); altered, to test that the host
//! refuses them with one clear line (another ABI version, or the same ABI version with
//! a different layout); or against the previous release of the SDK, packaged as
//! crates.io would hold it, to test that it still loads.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{artifacts, workspace_root};

/// How the copied SDK differs from the real one.
#[derive(Clone, Copy)]
pub enum Alteration {
    /// Not at all.
    None,
    /// The next incompatible ABI version (0.x → 0.(x+1), x.y → (x+1).0), which is the
    /// SDK crate's version.
    NextAbi,
    /// The same ABI version, but `ErrorKind` gains a variant (a layout change).
    ExtraErrorKind,
}

/// The next version abi_stable treats as incompatible with `version`.
pub fn next_incompatible(version: &str) -> String {
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    match parts[..] {
        [0, minor, _] => format!("0.{}.0", minor + 1),
        [major, _, _] => format!("{}.0.0", major + 1),
        _ => panic!("unexpected version {version}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Builds the passthrough example against an altered SDK copy; returns the library.
pub fn build_altered_plugin(alteration: Alteration) -> PathBuf {
    let source = std::fs::read_to_string(workspace_root().join("examples/passthrough/src/lib.rs")).unwrap();
    let name = match alteration {
        Alteration::None => "unaltered",
        Alteration::NextAbi => "next-abi",
        Alteration::ExtraErrorKind => "extra-error-kind",
    };
    build_plugin(name, alteration, &source)
}

/// Builds a plugin crate whose `lib.rs` is `source` against a copy of the SDK;
/// returns the library, named after `name`.
pub fn build_plugin(name: &str, alteration: Alteration, source: &str) -> PathBuf {
    let root = workspace_root();
    let version = match alteration {
        Alteration::NextAbi => next_incompatible(infty_sdk::ABI_VERSION),
        Alteration::None | Alteration::ExtraErrorKind => infty_sdk::ABI_VERSION.to_string(),
    };
    let work = artifacts().target_dir.join("compat").join(name);
    let _ = std::fs::remove_dir_all(work.join("sdk"));
    copy_dir(&root.join("sdk/src"), &work.join("sdk/src"));
    std::fs::write(
        work.join("sdk/Cargo.toml"),
        format!(
            "[package]\nname = \"infty-sdk\"\nversion = \"{version}\"\nedition = \"2021\"\n\n\
             [dependencies]\nabi_stable = \"=0.11.3\"\nlibm = \"0.2\"\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n"
        ),
    )
    .unwrap();
    if let Alteration::ExtraErrorKind = alteration {
        alter(
            &work.join("sdk/src/error.rs"),
            "    Panicked,\n}",
            "    Panicked,\n    /// Added by the test.\n    Extra,\n}",
        );
    }
    build_against(name, &work, source)
}

/// Replaces `from` by `to` in the file at `path`, which must hold it.
fn alter(path: &Path, from: &str, to: &str) {
    let source = std::fs::read_to_string(path).unwrap();
    let altered = source.replacen(from, to, 1);
    assert_ne!(altered, source, "{} no longer holds {from:?}; update the compat test", path.display());
    std::fs::write(path, altered).unwrap();
}

/// Builds the passthrough example against the previous release of the SDK (0.1.0, when
/// it still held the task code too), unpacked from its packaged `.crate`.
pub fn build_against_previous_sdk() -> PathBuf {
    let root = workspace_root();
    let work = artifacts().target_dir.join("compat/previous-sdk");
    let _ = std::fs::remove_dir_all(work.join("sdk"));
    std::fs::create_dir_all(&work).unwrap();
    let packaged = root.join("tests/plugins/previous-sdk/infty-sdk-0.1.0.crate");
    let status =
        Command::new("tar").arg("xzf").arg(&packaged).arg("-C").arg(&work).status().expect("run tar");
    assert!(status.success(), "unpacking {} failed", packaged.display());
    std::fs::rename(work.join("infty-sdk-0.1.0"), work.join("sdk")).unwrap();
    let source = std::fs::read_to_string(root.join("examples/passthrough/src/lib.rs")).unwrap();
    build_against("previous-sdk", &work, &source)
}

/// Builds a plugin crate whose `lib.rs` is `source` against the SDK in `work/sdk`;
/// returns the library, named after `name`.
fn build_against(name: &str, work: &Path, source: &str) -> PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(work.join("plugin/src")).unwrap();
    std::fs::write(work.join("plugin/src/lib.rs"), source).unwrap();
    std::fs::write(
        work.join("plugin/Cargo.toml"),
        "[package]\nname = \"altered-plugin\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\ninfty-sdk = { path = \"../sdk\" }\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), work.join("plugin/Cargo.lock")).unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(work.join("plugin"))
        .args(["build", "--offline", "--target-dir"])
        .arg(artifacts().target_dir.join("compat/target"))
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the altered plugin failed");
    let built = artifacts().target_dir.join("compat/target/debug").join(format!(
        "{}altered_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    // Give each alteration its own file name so both can sit in one folder.
    let named = work.join(format!(
        "{}altered_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::copy(built, &named).unwrap();
    named
}
