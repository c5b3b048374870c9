//! Finding the model file a `--model` parameter names.

use std::path::{Path, PathBuf};

use infty_sdk::{FromParam, Params, PluginError};

/// The model file a `--model`-like parameter names, found when the settings are read.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelFile(pub PathBuf);

impl FromParam for ModelFile {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        get(params.text(name)?).map(ModelFile).map_err(|e| e.with_param(name))
    }
}

/// The model file `value` names, as tasks' `--model` takes it: `value` as a file, or
/// `NAME/model.safetensors` in a models folder: each folder of `INFTY_MODEL_PATH`, then
/// `models/` beside the infty executable, then `../share/infty/models` from it (an
/// installed copy, `scripts/install`), then the `models/` of the repository infty was
/// built from.
pub fn get(value: &str) -> Result<PathBuf, PluginError> {
    let given = Path::new(value);
    if given.is_file() {
        return Ok(given.to_path_buf());
    }
    let mut folders: Vec<PathBuf> =
        std::env::var_os("INFTY_MODEL_PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(exe_dir) = std::env::current_exe().ok().as_deref().and_then(Path::parent) {
        folders.push(exe_dir.join("models"));
        folders.push(exe_dir.join("../share/infty/models"));
    }
    folders.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"));
    let candidates: Vec<PathBuf> = folders.iter().map(|f| f.join(value).join("model.safetensors")).collect();
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    Err(PluginError::invalid_param(
        "model",
        format!("no model '{value}': not a file, and not found as {}", looked.join(", ")),
    )
    .with_help("give a .safetensors file (from infty train) or set INFTY_MODEL_PATH to a folder of models"))
}
