//! Test support: the reference implementation's golden vectors (`*.safetensors`, described
//! by `manifest.json`). The folder is `INFTY_GOLDEN_DIR`, by default `tests/golden/data`,
//! the public set produced by running samb-t/infty-diff (docs/reference.md). Another set
//! of the same layout (other sizes, seeds and batches) must drive the same tests, so
//! tests read every shape from the files, never from constants.
//!
//! Every accessor panics with a clear message: this crate only serves tests.

use std::path::PathBuf;

use safetensors::{Dtype, SafeTensors};

/// The golden folder.
pub fn golden_dir() -> PathBuf {
    match std::env::var_os("INFTY_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

/// One golden safetensors file and its manifest entry.
pub struct Golden {
    file: String,
    bytes: Vec<u8>,
    manifest: serde_json::Value,
}

/// A tensor's shape and samples.
pub struct Tensor<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Copy> Tensor<T> {
    /// The sub-tensor at `index` along the first dimension, e.g. step `j` of a trajectory.
    pub fn at(&self, index: usize) -> &[T] {
        let len = self.data.len() / self.shape[0];
        &self.data[index * len..(index + 1) * len]
    }
}

impl Golden {
    /// Loads `file` (e.g. `schedule.safetensors`) and the manifest.
    pub fn load(file: &str) -> Golden {
        let dir = golden_dir();
        let read = |name: &str| {
            std::fs::read(dir.join(name)).unwrap_or_else(|e| {
                panic!("{}: {e} (INFTY_GOLDEN_DIR names another golden folder; the default is tests/golden/data)", dir.join(name).display())
            })
        };
        let manifest = serde_json::from_slice(&read("manifest.json")).expect("manifest.json is JSON");
        Golden { file: file.to_string(), bytes: read(file), manifest }
    }

    /// The manifest entry of tensor `name` in this file.
    pub fn entry(&self, name: &str) -> &serde_json::Value {
        &self.manifest["files"][self.file.as_str()]["tensors"][name]
    }

    /// The manifest's numeric `tolerance_max_abs` for tensor `name`.
    pub fn tolerance(&self, name: &str) -> f32 {
        let entry = &self.entry(name)["tolerance_max_abs"];
        entry.as_f64().unwrap_or_else(|| panic!("no numeric tolerance for {name} in the manifest")) as f32
    }

    /// The whole manifest.
    pub fn manifest(&self) -> &serde_json::Value {
        &self.manifest
    }

    fn raw(&self, name: &str, dtype: Dtype) -> (Vec<usize>, Vec<u8>) {
        let tensors = SafeTensors::deserialize(&self.bytes).expect("a safetensors file");
        let view = tensors.tensor(name).unwrap_or_else(|e| panic!("{}: no tensor {name}: {e}", self.file));
        assert_eq!(view.dtype(), dtype, "{}: {name} is {:?}", self.file, view.dtype());
        (view.shape().to_vec(), view.data().to_vec())
    }

    /// Tensor `name` as float32.
    pub fn f32(&self, name: &str) -> Tensor<f32> {
        let (shape, bytes) = self.raw(name, Dtype::F32);
        Tensor {
            shape,
            data: bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(),
        }
    }

    /// Tensor `name` as float64.
    pub fn f64(&self, name: &str) -> Tensor<f64> {
        let (shape, bytes) = self.raw(name, Dtype::F64);
        Tensor {
            shape,
            data: bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
        }
    }

    /// Tensor `name` as int64.
    pub fn i64(&self, name: &str) -> Tensor<i64> {
        let (shape, bytes) = self.raw(name, Dtype::I64);
        Tensor {
            shape,
            data: bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect(),
        }
    }
}
