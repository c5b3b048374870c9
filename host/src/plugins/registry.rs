//! Plugin discovery and loading.
//!
//! Plugins are looked for in a `plugins` folder next to the executable, then in each
//! folder of `INFTY_PLUGIN_PATH`, never in the current directory. Every library file
//! is tried; one that fails is recorded with a one-line reason and the rest still load.
//! A plugin whose manifest is cached (see `manifest_cache`) is listed from the cache and
//! its library opened at the first use of one of its items, so a plugin that has since
//! broken (e.g. its libtorch moved) is reported then.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use abi_stable::library::{lib_header_from_path, LibraryError};
use infty_sdk::{
    ItemKind, ItemSpec, Manifest, ModelBox, OperatorBox, Params, PluginError, PluginRef, SamplerBox,
    ABI_VERSION,
};

use crate::error::{Error, Result};

/// A plugin that loaded.
pub struct LoadedPlugin {
    /// The library file.
    pub file: PathBuf,
    /// What it says it is and provides.
    pub manifest: Manifest,
    /// The opened library; opened at first use when the manifest came from the cache.
    module: OnceLock<PluginRef>,
}

impl LoadedPlugin {
    fn module(&self) -> Result<PluginRef> {
        if let Some(module) = self.module.get() {
            return Ok(*module);
        }
        let stamp = crate::manifest_cache::stamp(&self.file);
        let (module, manifest) = open(&self.file).map_err(|reason| {
            Error::failed(format!("cannot load plugin {}: {reason}", self.file.display()))
        })?;
        if manifest != self.manifest {
            crate::manifest_cache::store(&self.file, stamp, &manifest);
            return Err(Error::failed(format!(
                "plugin {} provides other items than its cached manifest said; it changed while infty started",
                self.file.display()
            ))
            .with_help("run the command again"));
        }
        Ok(*self.module.get_or_init(|| module))
    }
}

/// A library file that could not be loaded, and why.
pub struct LoadFailure {
    pub file: PathBuf,
    pub reason: String,
}

/// An item found in a loaded plugin.
#[derive(Clone, Copy)]
pub struct ItemRef<'a> {
    pub plugin: &'a LoadedPlugin,
    pub spec: &'a ItemSpec,
}

impl ItemRef<'_> {
    /// How errors name this item: `scale (org.infty.basic)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.spec.name, self.plugin.manifest.id)
    }

    /// A plugin error raised by or for this item, with the item named.
    pub fn error(&self, source: PluginError) -> Error {
        Error::Plugin { context: format!("{}:", self.label()), source }
    }

    /// Builds an operator instance with checked parameters.
    pub fn new_operator(&self, params: &Params) -> Result<OperatorBox> {
        let new_operator = self.plugin.module()?.new_operator();
        new_operator(self.spec.name.as_str().into(), params).into_result().map_err(|e| self.error(e))
    }

    /// Builds a sampler instance with checked parameters.
    pub fn new_sampler(&self, params: &Params) -> Result<SamplerBox> {
        let new_sampler = self.plugin.module()?.new_sampler().ok_or_else(|| {
            self.error(PluginError::unsupported("this plugin was built before samplers existed; rebuild it"))
        })?;
        new_sampler(self.spec.name.as_str().into(), params).into_result().map_err(|e| self.error(e))
    }

    /// Builds a model instance with checked parameters.
    pub fn new_model(&self, params: &Params) -> Result<ModelBox> {
        let new_model = self.plugin.module()?.new_model().ok_or_else(|| {
            self.error(PluginError::unsupported("this plugin was built before models existed; rebuild it"))
        })?;
        new_model(self.spec.name.as_str().into(), params).into_result().map_err(|e| self.error(e))
    }

    /// Runs a task with checked parameters.
    pub fn run_task(&self, params: &Params) -> Result<()> {
        let run_task = self.plugin.module()?.run_task().ok_or_else(|| {
            self.error(PluginError::unsupported("this plugin was built before tasks existed; rebuild it"))
        })?;
        run_task(self.spec.name.as_str().into(), params).into_result().map_err(|e| self.error(e))
    }
}

/// Every plugin found, and every file that failed.
#[derive(Default)]
pub struct Registry {
    pub plugins: Vec<LoadedPlugin>,
    pub failures: Vec<LoadFailure>,
}

impl Registry {
    /// Loads the plugins from the standard folders.
    pub fn discover() -> Self {
        Self::load_dirs(&plugin_dirs())
    }

    /// Loads every plugin library in `dirs`, in order; the first plugin with a given id wins.
    pub fn load_dirs(dirs: &[PathBuf]) -> Self {
        let mut registry = Registry::default();
        for file in dirs.iter().flat_map(|dir| library_files(dir)) {
            match load(&file) {
                Ok(plugin) => registry.add(plugin),
                Err(reason) => registry.failures.push(LoadFailure { file, reason }),
            }
        }
        registry
    }

    fn add(&mut self, plugin: LoadedPlugin) {
        if let Some(first) = self.plugins.iter().find(|p| p.manifest.id == plugin.manifest.id) {
            let reason = format!(
                "plugin {} is already loaded from {}; this copy is skipped",
                plugin.manifest.id,
                first.file.display()
            );
            self.failures.push(LoadFailure { file: plugin.file, reason });
            return;
        }
        self.plugins.push(plugin);
    }

    /// The item called `name` (or `plugin-id/name`), first plugin first.
    pub fn find_item(&self, name: &str) -> Option<ItemRef<'_>> {
        let (id, name) = match name.rsplit_once('/') {
            Some((id, name)) => (Some(id), name),
            None => (None, name),
        };
        self.plugins.iter().filter(|p| id.is_none_or(|id| p.manifest.id == id)).find_map(|plugin| {
            let spec = plugin.manifest.items.iter().find(|item| item.name == name)?;
            Some(ItemRef { plugin, spec })
        })
    }

    /// The item of `kind` called `name`, or a usage error suggesting a close name.
    pub fn get(&self, name: &str, kind: ItemKind) -> Result<ItemRef<'_>> {
        let kind_name = kind.as_str();
        match self.find_item(name) {
            Some(item) if item.spec.kind == kind => Ok(item),
            Some(item) => {
                let role = if kind == ItemKind::Operator { "; it cannot be a pipeline step" } else { "" };
                Err(Error::usage(format!(
                    "'{name}' is {}, not {}{role}",
                    article(item.spec.kind.as_str()),
                    article(kind_name)
                )))
            }
            None => {
                let names = self.plugins.iter().flat_map(|p| {
                    p.manifest.items.iter().filter(|i| i.kind == kind).map(|i| i.name.as_str())
                });
                let builtins: &[&str] = if kind == ItemKind::Operator { &["read", "write"] } else { &[] };
                let list = format!("`infty plugins` lists every {kind_name}");
                let help = match crate::suggest::closest(name, names.chain(builtins.iter().copied())) {
                    Some(close) => format!("did you mean '{close}'? {list}"),
                    None => list,
                };
                Err(Error::usage(format!("unknown {kind_name} '{name}'")).with_help(help))
            }
        }
    }
}

/// `an operator`, `a sampler`.
fn article(noun: &str) -> String {
    let an = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if an { "an" } else { "a" })
}

/// The folders searched for plugins, in order.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent().map(|dir| dir.join("plugins")));
    let from_env: Vec<PathBuf> = std::env::var_os("INFTY_PLUGIN_PATH")
        .map(|paths| std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    beside_exe.into_iter().chain(from_env).collect()
}

/// Library files in `dir`, sorted by name; a missing folder has none.
fn library_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION))
        .collect();
    files.sort();
    files
}

/// A plugin by its cached manifest, or by opening its library (and caching the
/// manifest); the error is a one-line reason.
fn load(file: &Path) -> Result<LoadedPlugin, String> {
    if let Some(manifest) = crate::manifest_cache::find(file) {
        return Ok(LoadedPlugin { file: file.to_path_buf(), manifest, module: OnceLock::new() });
    }
    let stamp = crate::manifest_cache::stamp(file);
    let (module, manifest) = open(file)?;
    crate::manifest_cache::store(file, stamp, &manifest);
    Ok(LoadedPlugin { file: file.to_path_buf(), manifest, module: OnceLock::from(module) })
}

/// Opens one library, reads its manifest and gives it the host's services.
fn open(file: &Path) -> Result<(PluginRef, Manifest), String> {
    let header = lib_header_from_path(file).map_err(|e| describe(&e))?;
    check_abi_version(&header.version_strings().to_string())?;
    let module = header.init_root_module::<PluginRef>().map_err(|e| describe(&e))?;
    let manifest =
        (module.manifest())().into_result().map_err(|e: PluginError| format!("its manifest failed: {e}"))?;
    if manifest.id.is_empty() {
        return Err("its manifest has an empty plugin id".to_string());
    }
    if let Some(set_host) = module.set_host() {
        set_host(crate::host_api::host_ref());
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

/// One line for a loading error; abi_stable's own layout reports run to ~1000 lines.
fn describe(error: &LibraryError) -> String {
    match error {
        LibraryError::OpenError { err, .. } => {
            format!("not a loadable library ({})", first_line(&err.to_string()))
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
            "appended layouts are compatible"
        );
        let next = if major == 0 { format!("0.{}.0", minor + 1) } else { format!("{}.0.0", major + 1) };
        let err = check_abi_version(&next).unwrap_err();
        assert!(err.starts_with(&format!("built for plugin ABI {next}, but this infty uses")), "{err}");
        assert!(check_abi_version("banana").is_err());
    }
}
