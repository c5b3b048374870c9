//! `scripts/install` through to a real upscale: the installed copy finds its plugins,
//! libtorch and the bundled model relative to its own executable, with the repository
//! hidden behind an empty folder (a private mount namespace) and no INFTY_* variable set.

use std::path::Path;
use std::process::Command;

use infty_e2e::images::Image;
use infty_e2e::{artifacts, workspace_root};

/// Runs `script` with `sh` in a mount namespace of its own; None when this machine
/// allows none (neither root nor user namespaces).
fn in_private_mounts(script: &str, args: &[&Path]) -> Option<std::process::Output> {
    let mut command = Command::new("unshare");
    command.args(["--mount", "--map-root-user", "sh", "-c", script, "sh"]).args(args);
    for variable in ["INFTY_PLUGIN_PATH", "INFTY_MODEL_PATH", "LD_LIBRARY_PATH", "LIBTORCH"] {
        command.env_remove(variable);
    }
    let probe = Command::new("unshare").args(["--mount", "--map-root-user", "true"]).status();
    probe.is_ok_and(|s| s.success()).then(|| command.output().unwrap())
}

#[test]
fn an_installed_copy_upscales_with_the_repository_out_of_reach() {
    let root = workspace_root();
    // The prefix beside the build (so libtorch is hard-linked, not copied), seen through
    // a mount point outside the repository.
    let prefix = tempfile::tempdir_in(&artifacts().target_dir).unwrap();
    let (mount_point, work) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let install =
        Command::new(root.join("scripts/install")).arg("--debug").arg(prefix.path()).output().unwrap();
    assert!(install.status.success(), "scripts/install failed: {}", String::from_utf8_lossy(&install.stderr));
    for installed in
        ["bin/infty", "lib/infty/plugins/libinfty_net.so", "share/infty/models/default-sr/model.safetensors"]
    {
        assert!(prefix.path().join(installed).is_file(), "{installed} was not installed");
    }
    std::fs::copy(root.join("examples/images/chelsea.png"), work.path().join("in.png")).unwrap();
    let script = r#"set -e
        mount --bind "$1" "$2"
        mount -t tmpfs empty "$3"
        cd "$4"
        "$2/bin/infty" run read in.png ! crop --x 170 --y 80 --width 48 --height 40 ! write small.png
        "$2/bin/infty" upscale small.png out.png --scale 2 --steps 4 --device cpu --model default-sr
        test ! -e "$3/Cargo.toml""#;
    let Some(run) = in_private_mounts(script, &[prefix.path(), mount_point.path(), &root, work.path()])
    else {
        eprintln!("skipped: this machine allows no private mount namespace (unshare --mount)");
        return;
    };
    assert!(run.status.success(), "the installed infty failed: {}", String::from_utf8_lossy(&run.stderr));
    let out = Image::load(&work.path().join("out.png"));
    assert_eq!((out.width, out.height), (96, 80));
}
