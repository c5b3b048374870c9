//! The plugin registry: every plugin found and every file that failed, and the items
//! they provide, looked up by name.
//!
//! Every library file is tried; one that fails is recorded with a one-line reason and
//! the rest still load. A plugin whose manifest is cached (see `manifest_cache`) is
//! listed from the cache and its library opened at the first use of one of its items,
//! so a plugin that has since broken (e.g. its libtorch moved) is reported then.

use std::path::PathBuf;

use infty_sdk::host::HostRef;
use infty_sdk::{ItemKind, ItemSpec, ModelBox, OperatorBox, Params, PluginError, SampleSupport, SamplerBox};

use super::library::{library_files, load, plugin_dirs, LoadFailure, LoadedPlugin};
use crate::engine::job::{GeometryFace, TypedFace};
use crate::error::{Error, Result};
use crate::suggest;

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

    /// Builds the operator's integer-sample face, when its plugin has one and the
    /// operator takes an integer depth (asked first, so no other operator is built twice).
    pub fn new_typed_operator(&self, params: &Params) -> Result<Option<TypedFace>> {
        let Some(extension) = self.plugin.samples_extension()? else { return Ok(None) };
        let name = self.spec.name.as_str();
        let support = (extension.sample_support)(name.into());
        if support == SampleSupport::F32 {
            return Ok(None);
        }
        let made = (extension.new_typed_operator)(name.into(), params).into_result();
        made.map(|op| Some(TypedFace { support, op })).map_err(|e| self.error(e))
    }

    /// How the operator built with `params` moves pixels.
    pub fn geometry(&self, params: &Params) -> Result<GeometryFace> {
        let extension = self.plugin.geometry_extension()?;
        Ok(GeometryFace { extension, name: self.spec.name.to_string(), params: params.clone() })
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
    /// Loads the plugins from the standard folders, handing each the host's services.
    pub fn discover(host: HostRef) -> Self {
        Self::load_dirs(&plugin_dirs(), host)
    }

    /// Loads every plugin library in `dirs`, in order; the first plugin with a given id wins.
    pub fn load_dirs(dirs: &[PathBuf], host: HostRef) -> Self {
        let mut registry = Registry::default();
        for file in dirs.iter().flat_map(|dir| library_files(dir)) {
            match load(&file, host) {
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
                let help = match suggest::closest(name, names.chain(builtins.iter().copied())) {
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
