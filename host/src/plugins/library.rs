//! Plugin libraries: where they are looked for, and opening one. Plugins are looked
//! for in a `plugins` folder next to the executable (a build), then in
//! `../lib/infty/plugins` from it (an installed copy, `scripts/install`), then in each
//! folder of `INFTY_PLUGIN_PATH`, never in the current directory. A library is refused with a
//! one-line reason when it is no infty plugin or was built for another plugin ABI.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
use abi_stable::library::{lib_header_from_path, LibraryError, RawLibrary};
use abi_stable::StableAbi;
use infty_sdk::host::HostRef;
use infty_sdk::plugin::{
    ExtensionEntry, GeometryExtension, GEOMETRY_EXTENSION_SYMBOL, SAMPLES_EXTENSION_SYMBOL,
};
use infty_sdk::{Manifest, PluginError, PluginRef, SamplesExtension, ABI_VERSION};

use super::manifest_cache::{self, Verdict};
use super::probe;
use crate::error::{Error, Result};

/// A plugin that loaded.
pub struct LoadedPlugin {
    /// The library file.
    pub file: PathBuf,
    /// What it says it is and provides.
    pub manifest: Manifest,
    /// The opened library; opened at first use when the manifest came from the cache.
    module: OnceLock<PluginRef>,
    /// The host's services, handed to the library when it is opened.
    host: HostRef,
    /// The optional extension tables, looked up at their first use.
    samples: OnceLock<Option<&'static SamplesExtension>>,
    geometry: OnceLock<Option<&'static GeometryExtension>>,
}

impl LoadedPlugin {
    /// The plugin's root module, opening its library at the first call.
    pub fn module(&self) -> Result<PluginRef> {
        if let Some(module) = self.module.get() {
            return Ok(*module);
        }
        let stamp = manifest_cache::stamp(&self.file);
        let (module, manifest) = open(&self.file).map_err(|reason| {
            Error::failed(format!("cannot load plugin {}: {reason}", self.file.display()))
        })?;
        if let Some(set_host) = module.set_host() {
            set_host(self.host);
        }
        if manifest != self.manifest {
            manifest_cache::store(&self.file, stamp, &Verdict::Good(manifest));
            return Err(Error::failed(format!(
                "plugin {} provides other items than its cached manifest said; it changed while infty started",
                self.file.display()
            ))
            .with_help("run the command again"));
        }
        Ok(*self.module.get_or_init(|| module))
    }

    /// The plugin's integer-sample extension: None for a plugin built before it (or
    /// with a layout this host does not accept), whose operators then take f32 only.
    pub fn samples_extension(&self) -> Result<Option<&'static SamplesExtension>> {
        self.module()?; // opened, and given the host's services, first
        Ok(*self.samples.get_or_init(|| extension(&self.file, SAMPLES_EXTENSION_SYMBOL)))
    }

    /// The plugin's geometry extension: None for a plugin built before it, whose
    /// operators then take the default geometry.
    pub fn geometry_extension(&self) -> Result<Option<&'static GeometryExtension>> {
        self.module()?;
        Ok(*self.geometry.get_or_init(|| extension(&self.file, GEOMETRY_EXTENSION_SYMBOL)))
    }
}

/// Looks an extension's `symbol` up in the library at `file` and checks its table's layout.
fn extension<T: StableAbi>(file: &Path, symbol: &[u8]) -> Option<&'static T> {
    let library = RawLibrary::load_at(file).ok()?;
    // SAFETY: the symbol, where present, is the function `export_plugin!` writes for
    // the table `symbol` names, which is `T`.
    let entry = unsafe { library.get::<extern "C" fn() -> ExtensionEntry<T>>(symbol) }.ok()?;
    let entry = entry();
    check_layout_compatibility(<T as StableAbi>::LAYOUT, entry.layout).ok()?;
    // The library stays loaded for the life of the process, as abi_stable keeps it.
    std::mem::forget(library);
    Some(entry.table)
}

/// A library file that could not be loaded, and why.
pub struct LoadFailure {
    pub file: PathBuf,
    pub reason: String,
}

/// The folders searched for plugins, in order.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let beside_exe = exe_dir.iter().flat_map(|dir| [dir.join("plugins"), dir.join("../lib/infty/plugins")]);
    let from_env: Vec<PathBuf> = std::env::var_os("INFTY_PLUGIN_PATH")
        .map(|paths| std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    beside_exe.chain(from_env).collect()
}

/// Library files in `dir`, sorted by name; a missing folder has none.
pub fn library_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION))
        .collect();
    files.sort();
    files
}

/// A plugin by its cached verdict, or by probing its library in a child process (see
/// `probe`); the error is a one-line reason. The library itself is opened at first use.
pub fn load(file: &Path, host: HostRef) -> Result<LoadedPlugin, String> {
    let manifest = match manifest_cache::find(file).or_else(|| probe::probe(file)) {
        Some(Verdict::Good(manifest)) => manifest,
        Some(Verdict::Bad(reason)) => return Err(reason),
        None => return open_here(file, host),
    };
    Ok(LoadedPlugin {
        file: file.to_path_buf(),
        manifest,
        module: OnceLock::new(),
        host,
        samples: OnceLock::new(),
        geometry: OnceLock::new(),
    })
}

/// Where no child process can be started: opens the library in this process, as
/// before probing existed.
fn open_here(file: &Path, host: HostRef) -> Result<LoadedPlugin, String> {
    let stamp = manifest_cache::stamp(file);
    let (module, manifest) = open(file)?;
    manifest_cache::store(file, stamp, &Verdict::Good(manifest.clone()));
    if let Some(set_host) = module.set_host() {
        set_host(host);
    }
    Ok(LoadedPlugin {
        file: file.to_path_buf(),
        manifest,
        module: OnceLock::from(module),
        host,
        samples: OnceLock::new(),
        geometry: OnceLock::new(),
    })
}

/// Opens one library and reads its manifest. A truncated or corrupt file can crash the
/// system loader here (SIGBUS), which no Rust code can catch: only a probe (a child
/// process) calls this on a file not yet known to be good.
pub(super) fn open(file: &Path) -> Result<(PluginRef, Manifest), String> {
    let header = lib_header_from_path(file).map_err(|e| describe(&e))?;
    check_abi_version(&header.version_strings().to_string())?;
    let module = header.init_root_module::<PluginRef>().map_err(|e| describe(&e))?;
    let manifest =
        (module.manifest())().into_result().map_err(|e: PluginError| format!("its manifest failed: {e}"))?;
    if manifest.id.is_empty() {
        return Err("its manifest has an empty plugin id".to_string());
    }
    Ok((module, manifest))
}

/// Refuses a plugin whose ABI version is not semver-compatible with ours (for 0.x the
/// minor version is the breaking one). Checked before abi_stable's layout check so the
/// user reads the versions rather than a layout report.
fn check_abi_version(plugin_abi: &str) -> Result<(), String> {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
        Some((parts.next()??, parts.next()??))
    };
    let (Some(theirs), Some(ours)) = (parse(plugin_abi), parse(ABI_VERSION)) else {
        return Err(format!("its plugin ABI version '{plugin_abi}' is not a version number"));
    };
    let compatible = if ours.0 == 0 { theirs == ours } else { theirs.0 == ours.0 };
    if compatible {
        return Ok(());
    }
    Err(format!(
        "built for plugin ABI {plugin_abi}, but this infty uses plugin ABI {ABI_VERSION} \
         (incompatible); rebuild the plugin against an infty-sdk with ABI {ABI_VERSION}"
    ))
}

/// How a library the system loader refused is described: such a refusal may come from
/// the environment (a dependency not on the library path), so it is never cached.
pub(super) const NOT_LOADABLE: &str = "not a loadable library";

/// One line for a loading error; abi_stable's own layout reports run to ~1000 lines.
fn describe(error: &LibraryError) -> String {
    match error {
        LibraryError::OpenError { err, .. } => {
            format!("{NOT_LOADABLE} ({})", first_line(&err.to_string()))
        }
        LibraryError::GetSymbolError { .. } => "not an infty plugin (no infty root module in it)".to_string(),
        LibraryError::IncompatibleVersionNumber { actual_version, .. } => {
            check_abi_version(&actual_version.to_string()).err().unwrap_or_else(|| {
                format!("abi_stable refused its plugin ABI {actual_version} (this infty uses {ABI_VERSION})")
            })
        }
        LibraryError::AbiInstability(_) | LibraryError::InvalidCAbi { .. } => format!(
            "its plugin interface layout differs from plugin ABI {ABI_VERSION} (incompatible); \
             rebuild the plugin against an infty-sdk with ABI {ABI_VERSION}"
        ),
        LibraryError::InvalidAbiHeader(header) => {
            format!("built with an incompatible abi_stable (header {header:?}); rebuild it against an infty-sdk with ABI {ABI_VERSION}")
        }
        other => first_line(&other.to_string()).to_string(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_versions_follow_semver_with_0x_minor_as_breaking() {
        assert!(check_abi_version(ABI_VERSION).is_ok());
        let (major, minor) = {
            let mut p = ABI_VERSION.split('.').map(|v| v.parse::<u64>().unwrap());
            (p.next().unwrap(), p.next().unwrap())
        };
        assert!(
            check_abi_version(&format!("{major}.{minor}.999")).is_ok(),
            "patch releases share the layout"
        );
        let next = if major == 0 { format!("0.{}.0", minor + 1) } else { format!("{}.0.0", major + 1) };
        let err = check_abi_version(&next).unwrap_err();
        assert!(err.starts_with(&format!("built for plugin ABI {next}, but this infty uses")), "{err}");
        assert!(check_abi_version("banana").is_err());
    }
}
