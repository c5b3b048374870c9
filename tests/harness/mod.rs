//! Test harness: builds the real `infty` binary and plugin libraries (a no-op when
//! up to date), installs them into a private folder per test, and runs them.

pub mod compat;
pub mod images;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Where the built artifacts are.
pub struct Artifacts {
    /// The cargo target folder (`target/`).
    pub target_dir: PathBuf,
    /// The profile folder (`target/debug`).
    pub profile_dir: PathBuf,
}

impl Artifacts {
    /// The `infty` executable.
    pub fn infty(&self) -> PathBuf {
        self.profile_dir.join("infty")
    }

    /// A plugin library by crate name, e.g. `infty_basic`.
    pub fn plugin(&self, crate_name: &str) -> PathBuf {
        self.profile_dir.join(format!(
            "{}{crate_name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    }
}

/// Builds the binary and plugins once per test process.
pub fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir =
            exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf();
        let target_dir = profile_dir.parent().expect("target/<profile>").to_path_buf();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut build = Command::new(cargo);
        // The whole workspace, as `scripts/test` builds it: a subset of packages would
        // unify dependency features differently and rebuild them.
        build.current_dir(workspace_root()).args(["build", "--workspace", "--target-dir"]).arg(&target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build of the binary and plugins failed");
        Artifacts { target_dir, profile_dir }
    })
}

/// The Python with numpy and tifffile that `scripts/test` installs, an independent
/// TIFF reader for the tests.
pub fn test_python() -> PathBuf {
    let python = artifacts().target_dir.join("test-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-tools (scripts/test does)",
        python.display()
    );
    python
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// A config file `file` in `infty`'s folder: the network config of the bundled model
/// `models/<model>` (its `run.json`), with `changes` made to it. Returns its path.
pub fn bundled_config_with(
    infty: &Infty,
    model: &str,
    file: &str,
    changes: &[(&str, serde_json::Value)],
) -> String {
    let run_json =
        std::fs::read_to_string(workspace_root().join(format!("models/{model}/run.json"))).unwrap();
    let mut config = serde_json::from_str::<serde_json::Value>(&run_json).unwrap()["model"].clone();
    for (key, value) in changes {
        config[*key] = value.clone();
    }
    let path = infty.path(file).display().to_string();
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// What a run of `infty` did.
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        // A signal (abort, segfault) has no code; report it as -1 so tests fail clearly.
        let code = output.status.code().unwrap_or(-1);
        Run { code, stdout: output.stdout, stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
    }

    /// Standard output as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts the run was refused with exit code 2 (bad usage or input), saying
    /// `message`, without a panic reaching the user.
    pub fn assert_refused(&self, message: &str) -> &Self {
        assert_eq!(self.code, 2, "exit code; stderr:\n{}", self.stderr);
        assert!(self.stderr.contains(message), "expected {message:?} in stderr:\n{}", self.stderr);
        assert!(!self.stderr.contains("panicked at"), "a panic reached the user:\n{}", self.stderr);
        self
    }

    /// Panics with the whole output unless the run succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "infty failed:\n{}", self.stderr);
        self
    }
}

/// A private installation: a copy of `infty` with its own plugin folder(s), and a
/// scratch folder for images.
pub struct Infty {
    pub dir: tempfile::TempDir,
    exe: PathBuf,
    plugin_path: Option<OsString>,
}

impl Infty {
    /// `infty` with the given plugin libraries in a folder on `INFTY_PLUGIN_PATH`.
    pub fn with_plugins(plugins: &[PathBuf]) -> Infty {
        let infty = Infty::bare();
        let folder = infty.dir.path().join("plugin-path");
        std::fs::create_dir(&folder).unwrap();
        for plugin in plugins {
            link_or_copy(plugin, &folder.join(plugin.file_name().unwrap()));
        }
        Infty { plugin_path: Some(folder.into_os_string()), ..infty }
    }

    /// `infty` with the basic plugin only.
    pub fn basic() -> Infty {
        Infty::with_plugins(&[artifacts().plugin("infty_basic")])
    }

    /// `infty` copied into `<tmp>/bin/` with no plugins and no `INFTY_PLUGIN_PATH`.
    pub fn bare() -> Infty {
        let artifacts = artifacts();
        let tmp = artifacts.target_dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let dir = tempfile::tempdir_in(tmp).unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        let exe = dir.path().join("bin").join("infty");
        link_or_copy(&artifacts.infty(), &exe);
        Infty { dir, exe, plugin_path: None }
    }

    /// The `plugins` folder next to this copy of the executable.
    pub fn exe_plugin_dir(&self) -> PathBuf {
        self.exe.parent().unwrap().join("plugins")
    }

    /// Sets `INFTY_PLUGIN_PATH` to these folders.
    pub fn set_plugin_path(&mut self, folders: &[PathBuf]) {
        self.plugin_path = Some(std::env::join_paths(folders).unwrap());
    }

    /// A path in the scratch folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.exe);
        // A manifest cache of this scratch folder's own: tests never read the user's.
        command.args(args).current_dir(self.dir.path()).env_remove("INFTY_PLUGIN_PATH");
        command.env("INFTY_CACHE_DIR", self.dir.path().join("cache"));
        if let Some(path) = &self.plugin_path {
            command.env("INFTY_PLUGIN_PATH", path);
        }
        command
    }

    /// Runs `infty args...` in the scratch folder.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).stdin(Stdio::null()).output().expect("start infty"))
    }

    /// Starts `infty args...` without waiting; output is discarded.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start infty")
    }

    /// Starts `infty args...` writing the tiled `output` and returns once its journal
    /// records more than `tiles` finished tiles, the run still going.
    pub fn spawn_until_journaled(&self, args: &[&str], output: &str, tiles: usize) -> std::process::Child {
        let mut child = self.spawn(args);
        let journal = self.path(&format!(".{output}.infty-journal"));
        let start = std::time::Instant::now();
        while std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0) <= tiles {
            assert!(child.try_wait().unwrap().is_none(), "infty finished before it could be stopped");
            assert!(start.elapsed().as_secs() < 120, "no progress in the journal");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child
    }

    /// Runs `infty args...` and reports its peak resident memory in KiB: the largest
    /// `VmHWM` of `/proc/<pid>/status` seen while it runs. (`wait4`'s `ru_maxrss`
    /// would also count the test process's memory the child had before `exec`.)
    pub fn run_measured(&self, args: &[&str]) -> (Run, u64) {
        let child =
            self.command(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
        let mut child = child.expect("start infty");
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak = 0;
        let status = loop {
            let hwm = std::fs::read_to_string(&status_file).ok().and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            });
            peak = peak.max(hwm.unwrap_or(0));
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        (Run { code: status.code().unwrap_or(-1), stdout: Vec::new(), stderr: reader.join().unwrap() }, peak)
    }

    /// Runs `infty args...` with `input` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start infty");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().expect("wait for infty");
        writer.join().unwrap().expect("write standard input");
        Run::from(output)
    }

    /// Runs `infty run <pipeline>` with the pipeline split at spaces.
    pub fn pipeline(&self, pipeline: &str) -> Run {
        let mut args = vec!["run"];
        args.extend(pipeline.split_whitespace());
        self.run(&args)
    }

    /// Asserts that `name` does not exist in the scratch folder, nor any temporary file.
    pub fn assert_no_output(&self, name: &str) {
        assert!(!self.path(name).exists(), "{name} must not exist");
        let leftovers: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".part") || name.contains(".infty-")
            })
            .collect();
        assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
    }
}

fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    }
}

/// The first Rust block after `heading` in the guide `page` (e.g. `docs/plugins.md`), so
/// the tests build the tutorials exactly as a reader copies them.
pub fn doc_rust_block(page: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(workspace_root().join(page)).unwrap();
    let section = text.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("no '{heading}' in {page}"));
    let start = section + text[section..].find("```rust\n").expect("a rust block") + "```rust\n".len();
    text[start..start + text[start..].find("```").unwrap()].to_string()
}
