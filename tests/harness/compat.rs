//! Builds plugins outside the workspace against a copy of the SDK: unaltered (to test
//! the README tutorial as a user would build it), or altered, to test that the host
//! refuses them with one clear line: a different ABI version, or the same version with
//! a different layout.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{artifacts, workspace_root};

/// How the copied SDK differs from the real one.
#[derive(Clone, Copy)]
pub enum Alteration {
    /// Not at all.
    None,
    /// The next incompatible version (0.x → 0.(x+1), x.y → (x+1).0).
    NextVersion,
    /// Same version, but `ErrorKind` gains a variant (a layout change).
    ExtraErrorKind,
}

/// The next version abi_stable treats as incompatible with `version`.
pub fn next_incompatible(version: &str) -> String {
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    match parts[..] {
        [0, minor, _] => format!("0.{}.0", minor + 1),
        [major, _, _] => format!("{}.0.0", major + 1),
        _ => panic!("unexpected SDK version {version}"),
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
        Alteration::NextVersion => "next-version",
        Alteration::ExtraErrorKind => "extra-error-kind",
    };
    build_plugin(name, alteration, &source)
}

/// Builds a plugin crate whose `lib.rs` is `source` against a copy of the SDK;
/// returns the library, named after `name`.
pub fn build_plugin(name: &str, alteration: Alteration, source: &str) -> PathBuf {
    let root = workspace_root();
    let sdk_version = infty_sdk_version(&root);
    let version = match alteration {
        Alteration::NextVersion => next_incompatible(&sdk_version),
        Alteration::None | Alteration::ExtraErrorKind => sdk_version.clone(),
    };
    let work = artifacts().target_dir.join("compat").join(name);
    let _ = std::fs::remove_dir_all(work.join("sdk"));
    copy_dir(&root.join("sdk/src"), &work.join("sdk/src"));
    std::fs::write(
        work.join("sdk/Cargo.toml"),
        format!(
            "[package]\nname = \"infty-sdk\"\nversion = \"{version}\"\nedition = \"2021\"\n\n\
             [dependencies]\nabi_stable = \"=0.11.3\"\nlibm = \"0.2\"\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\n"
        ),
    )
    .unwrap();
    if let Alteration::ExtraErrorKind = alteration {
        let path = work.join("sdk/src/error.rs");
        let source = std::fs::read_to_string(&path).unwrap();
        let altered = source.replacen(
            "    Panicked,\n}",
            "    Panicked,\n    /// Added by the test.\n    Extra,\n}",
            1,
        );
        assert_ne!(altered, source, "the ErrorKind enum moved; update the compat test");
        std::fs::write(&path, altered).unwrap();
    }
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

/// The version in `sdk/Cargo.toml`.
pub fn infty_sdk_version(root: &Path) -> String {
    let manifest = std::fs::read_to_string(root.join("sdk/Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("version = ")).expect("sdk version line");
    line.trim_start_matches("version = ").trim_matches('"').to_string()
}
