//! Checkpoints: safetensors files whose metadata carries the model config and training
//! state. Tensor names are the reference's state_dict names under `decoder.`,
//! `encoder.` and (EMA decoder) `ema.`, so reference checkpoints map one to one.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use infty_sdk::PluginError;
use safetensors::tensor::{Metadata, TensorView};
use safetensors::Dtype;
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

/// A checkpoint's header, read and checked without its tensor data: every tensor
/// declared lies inside the file, its size is its shape's, and it is float32. The
/// callers check the names and shapes against the config and memory, then [`Header::read`].
pub struct Header {
    path: PathBuf,
    /// Where the tensor data starts in the file.
    data_start: u64,
    /// Shapes and data ranges (relative to `data_start`) by name.
    pub tensors: BTreeMap<String, (Vec<i64>, Range<u64>)>,
    /// The safetensors metadata (`format`, `config`, `train_state`).
    pub metadata: BTreeMap<String, String>,
}

/// The largest header accepted: real headers are kilobytes.
const MAX_HEADER: u64 = 16 << 20;

fn not_safetensors(path: &Path, why: impl std::fmt::Display) -> PluginError {
    PluginError::invalid_input(format!("{} is not a safetensors checkpoint: {why}", path.display()))
        .with_help(
            "infty reads .safetensors checkpoints; convert a reference checkpoint.pkl with \
         scripts/convert-reference-checkpoint",
        )
}

/// Reads and checks the header of the checkpoint at `path`; no tensor data is read.
pub fn open(path: &Path) -> Result<Header, PluginError> {
    let cannot = |e: std::io::Error| {
        PluginError::invalid_input(format!("cannot read checkpoint {}: {e}", path.display()))
    };
    let mut file = File::open(path).map_err(cannot)?;
    let file_len = file.metadata().map_err(cannot)?.len();
    let mut n = [0u8; 8];
    file.read_exact(&mut n).map_err(|_| not_safetensors(path, "it is shorter than a header"))?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER || n > file_len - 8 {
        return Err(not_safetensors(path, format!("its header claims {n} bytes; the file has {file_len}")));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(cannot)?;
    // safetensors checks the ranges: contiguous from 0, none overlapping, each of its
    // shape's byte size.
    let parsed: Metadata = serde_json::from_slice(&header).map_err(|e| not_safetensors(path, e))?;
    let data_start = 8 + n;
    let (declared, present) = (parsed.data_len() as u64, file_len - data_start);
    if declared != present {
        return Err(not_safetensors(
            path,
            format!("its header declares {declared} bytes of tensors, the file holds {present}"),
        ));
    }
    let mut tensors = BTreeMap::new();
    for (name, info) in parsed.tensors() {
        if info.dtype != Dtype::F32 {
            return Err(PluginError::invalid_input(format!(
                "checkpoint {}: tensor {name} is {:?}; infty expects float32",
                path.display(),
                info.dtype
            )));
        }
        let shape = info.shape.iter().map(|&d| d as i64).collect();
        let (start, end) = info.data_offsets;
        tensors.insert(name, (shape, start as u64..end as u64));
    }
    let metadata = parsed.metadata().clone().unwrap_or_default().into_iter().collect();
    Ok(Header { path: path.to_path_buf(), data_start, tensors, metadata })
}

impl Header {
    /// The file the header is of.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of tensor data: what reading the checkpoint holds in memory.
    pub fn data_bytes(&self) -> u64 {
        self.tensors.values().map(|(_, range)| range.end - range.start).sum()
    }

    /// Reads every tensor, refusing one with a NaN or infinite value: a model that
    /// would turn any input into NaN.
    pub fn read(self) -> Result<Checkpoint, PluginError> {
        let path = &self.path;
        let cannot = |e: std::io::Error| {
            PluginError::invalid_input(format!("cannot read checkpoint {}: {e}", path.display()))
        };
        let mut file = File::open(path).map_err(cannot)?;
        let mut tensors = BTreeMap::new();
        for (name, (shape, range)) in &self.tensors {
            let mut bytes = vec![0u8; (range.end - range.start) as usize];
            file.seek(SeekFrom::Start(self.data_start + range.start)).map_err(cannot)?;
            file.read_exact(&mut bytes).map_err(cannot)?;
            let values: Vec<f32> =
                bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let bad = values.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                return Err(PluginError::invalid_input(format!(
                    "the model file {} has non-finite weights in tensor {name} ({bad} of {} values are \
                     NaN or infinite)",
                    path.display(),
                    values.len()
                ))
                .with_help("the file is corrupt or its training diverged; use an earlier checkpoint"));
            }
            tensors.insert(name.clone(), Tensor::from_slice(&values).view(shape.as_slice()));
        }
        Ok(Checkpoint { tensors, metadata: self.metadata })
    }
}

/// Reads a checkpoint whose tensors are not checked against a config (e.g. the start
/// of a fine-tuning): its header, then its data if memory holds it.
pub fn read(path: &Path) -> Result<Checkpoint, PluginError> {
    let header = open(path)?;
    crate::fit::check_memory(header.data_bytes(), &format!("reading {}", path.display()))?;
    header.read()
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
    let (missing, unexpected): (Vec<String>, Vec<String>) = (
        missing.iter().map(|n| format!("{prefix}{n}")).collect(),
        unexpected.iter().map(|n| format!("{prefix}{n}")).collect(),
    );
    describe_misfit(&missing, &unexpected, misshaped)
}

/// One line for the tensors a network misses, has not, or has in another shape.
pub fn describe_misfit(
    missing: &[String],
    unexpected: &[String],
    misshaped: Vec<String>,
) -> Result<(), String> {
    let list = |names: &[String]| {
        let more = if names.len() > 8 { format!(" and {} more", names.len() - 8) } else { String::new() };
        format!("{}{more}", names[..names.len().min(8)].join(", "))
    };
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {} tensors: {}", missing.len(), list(missing)));
    }
    if !unexpected.is_empty() {
        problems.push(format!("{} unexpected tensors: {}", unexpected.len(), list(unexpected)));
    }
    problems.extend(misshaped.into_iter().take(8));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
