//! Checkpoints: safetensors files whose metadata carries the model config and training
//! state. Tensor names are the reference's state_dict names under `decoder.`,
//! `encoder.` and (EMA decoder) `ema.`, so reference checkpoints map one to one.

use std::collections::BTreeMap;
use std::path::Path;

use infty_sdk::PluginError;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tch::{Device, Kind, Tensor};

/// The `format` metadata value of infty network checkpoints.
pub const FORMAT: &str = "infty-net/1";

/// A checkpoint read into memory (float32 tensors on the CPU).
pub struct Checkpoint {
    /// Tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The safetensors metadata (`format`, `config`, `train_state`).
    pub metadata: BTreeMap<String, String>,
}

fn not_safetensors(path: &Path, why: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_input(format!("{} is not a safetensors checkpoint: {why}", path.display()))
        .with_help(
            "infty reads .safetensors checkpoints; convert a reference checkpoint.pkl with \
         scripts/convert-reference-checkpoint",
        )
}

/// Reads a checkpoint. Every tensor must be float32.
pub fn read(path: &Path) -> Result<Checkpoint, PluginError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PluginError::invalid_input(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| not_safetensors(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| not_safetensors(path, e))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(PluginError::invalid_input(format!(
                "checkpoint {}: tensor {name} is {:?}; infty expects float32",
                path.display(),
                view.dtype()
            )));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        tensors.insert(name, Tensor::from_slice(&values).view(shape.as_slice()));
    }
    let metadata = header.metadata().clone().unwrap_or_default().into_iter().collect();
    Ok(Checkpoint { tensors, metadata })
}

/// Writes `tensors` with `metadata` to `path`, through a temporary file renamed into
/// place, so a failed save never leaves a half-written checkpoint.
pub fn write(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: BTreeMap<String, String>,
) -> Result<(), PluginError> {
    let failed = |e: &dyn std::fmt::Display| {
        PluginError::failed(format!("cannot write checkpoint {}: {e}", path.display()))
    };
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, t)| {
            let t = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
            let values = Vec::<f32>::try_from(t.flatten(0, -1)).map_err(|e| failed(&e))?;
            let shape = t.size().iter().map(|&d| d as usize).collect();
            Ok((name.clone(), values.iter().flat_map(|v| v.to_le_bytes()).collect(), shape))
        })
        .collect::<Result<_, PluginError>>()?;
    let views = bytes
        .iter()
        .map(|(name, data, shape)| Ok((name.as_str(), TensorView::new(Dtype::F32, shape.clone(), data)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| failed(&e))?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".part");
    let partial = std::path::PathBuf::from(partial);
    let metadata: std::collections::HashMap<String, String> = metadata.into_iter().collect();
    safetensors::serialize_to_file(views, Some(metadata), &partial).map_err(|e| failed(&e))?;
    // safetensors creates its file readable by the owner only; a checkpoint is shared
    // like any other output (rw-r--r--, what the usual umask 022 gives).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let shared = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(&partial, shared).map_err(|e| failed(&e))?;
    }
    std::fs::rename(&partial, path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        failed(&e)
    })
}

/// Compares the tensors found under `prefix` with the names and shapes a network
/// expects; lists what is missing, unexpected or mis-shaped.
pub fn check_names(
    found: &BTreeMap<String, Tensor>,
    prefix: &str,
    expected: &BTreeMap<String, Vec<i64>>,
) -> Result<(), String> {
    let under: BTreeMap<&str, &Tensor> =
        found.iter().filter_map(|(name, t)| name.strip_prefix(prefix).map(|rest| (rest, t))).collect();
    let missing: Vec<&str> =
        expected.keys().map(String::as_str).filter(|name| !under.contains_key(name)).collect();
    let unexpected: Vec<&str> = under.keys().copied().filter(|name| !expected.contains_key(*name)).collect();
    let misshaped: Vec<String> = expected
        .iter()
        .filter_map(|(name, shape)| {
            let t = under.get(name.as_str())?;
            (t.size() != *shape)
                .then(|| format!("{prefix}{name} is {:?}, the network needs {shape:?}", t.size()))
        })
        .collect();
    let mut problems = Vec::new();
    let list = |names: &[&str]| {
        let shown: Vec<String> = names.iter().take(8).map(|n| format!("{prefix}{n}")).collect();
        let more = if names.len() > 8 { format!(" and {} more", names.len() - 8) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    if !missing.is_empty() {
        problems.push(format!("missing {} tensors: {}", missing.len(), list(&missing)));
    }
    if !unexpected.is_empty() {
        problems.push(format!("{} unexpected tensors: {}", unexpected.len(), list(&unexpected)));
    }
    problems.extend(misshaped.into_iter().take(8));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
