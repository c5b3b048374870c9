//! Model files that would exhaust the machine or poison every output: each is refused
//! from its header, before its weights are allocated or read, with what is wrong. The
//! bad files are rewrites of the bundled super-resolution model. Each test is named
//! after the defect it guards against.

use std::path::{Path, PathBuf};

use infty_net::NetModel;
use infty_sdk::model::new_model_box;
use infty_sdk::{ErrorKind, Model, PluginError};
use serde_json::{json, Value};

/// The bundled model's header (JSON) and tensor data.
fn source() -> (Value, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default-sr/model.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), bytes[8 + n..].to_vec())
}

/// Writes a safetensors file of `header` and `data` into `dir`.
fn write(dir: &tempfile::TempDir, header: &Value, data: &[u8]) -> PathBuf {
    let header = serde_json::to_vec(header).unwrap();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(data);
    let path = dir.path().join("model.safetensors");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The model's config with `key` set to `value`.
fn with_config(header: &mut Value, key: &str, value: Value) {
    let mut config: Value = serde_json::from_str(header["__metadata__"]["config"].as_str().unwrap()).unwrap();
    config[key] = value;
    header["__metadata__"]["config"] = json!(config.to_string());
}

fn load(path: &Path) -> Result<(), PluginError> {
    let checkpoint = path.to_str().unwrap();
    let params = [("checkpoint", checkpoint), ("device", "cpu"), ("precision", "fp32")];
    new_model_box::<NetModel>(&NetModel::spec().resolve(params)?).map(|_| ())
}

/// Asserts loading `path` is refused as bad input (exit 2), saying each of `words`.
fn assert_refused(path: &Path, words: &[&str]) {
    let err = load(path).expect_err("the model file must be refused");
    eprintln!("refused: {}", err.message);
    assert!(matches!(err.kind, ErrorKind::InvalidInput | ErrorKind::InvalidParam), "{err:?}");
    for word in words {
        assert!(err.message.contains(word), "expected {word:?} in: {}", err.message);
    }
}

#[test]
fn an_intact_copy_of_the_model_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (header, data) = source();
    load(&write(&dir, &header, &data)).unwrap();
}

#[test]
fn a_config_with_nf_1e9_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, data) = source();
    with_config(&mut header, "nf", json!(1_000_000_000));
    assert_refused(&write(&dir, &header, &data), &["its config", "nf must lie in"]);
}

#[test]
fn a_config_the_weights_do_not_match_names_the_config_field() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, data) = source();
    with_config(&mut header, "nf", json!(64));
    assert_refused(&write(&dir, &header, &data), &["nf", "decoder.linear_out.weight"]);
    let (mut header, data) = source();
    with_config(&mut header, "num_conv_blocks", json!(4));
    assert_refused(
        &write(&dir, &header, &data),
        &["num_conv_blocks", "missing 57 tensors: decoder.down_blocks.3"],
    );
}

/// The header with an extra float32 tensor of 4 GiB declared after the others.
fn with_extra_4_gib_tensor(header: &mut Value, data_len: usize) -> u64 {
    let size = 4u64 << 30;
    header["decoder.extra"] = json!({"dtype": "F32", "shape": [size / 4], "data_offsets": [data_len as u64, data_len as u64 + size]});
    size
}

#[test]
fn an_extra_declared_tensor_of_4_gib_in_a_sparse_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, data) = source();
    let extra = with_extra_4_gib_tensor(&mut header, data.len());
    let path = write(&dir, &header, &data);
    // The 4 GiB are a hole: the file is whole, but reading it would fill memory.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(file.metadata().unwrap().len() + extra).unwrap();
    assert_refused(&path, &["1 unexpected tensors: decoder.extra"]);
}

#[test]
fn a_declared_tensor_beyond_the_end_of_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, data) = source();
    with_extra_4_gib_tensor(&mut header, data.len());
    assert_refused(&write(&dir, &header, &data), &["not a safetensors checkpoint", "the file holds"]);
}

#[test]
fn a_tensor_whose_data_overlaps_another_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut header, data) = source();
    let name = "decoder.linear_out.bias";
    let (start, end) = (
        header[name]["data_offsets"][0].as_u64().unwrap(),
        header[name]["data_offsets"][1].as_u64().unwrap(),
    );
    header[name]["data_offsets"] = json!([start.saturating_sub(4), end.saturating_sub(4)]);
    assert_refused(&write(&dir, &header, &data), &["not a safetensors checkpoint"]);
}

#[test]
fn nan_weights_are_blamed_on_the_model_file_not_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let (header, mut data) = source();
    let name = "decoder.uno.fc0.weight";
    let start = header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    data[start + 8..start + 12].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_refused(&write(&dir, &header, &data), &["non-finite weights in tensor", name]);
}
