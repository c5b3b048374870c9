//! A plugin that misbehaves on purpose, so the end-to-end tests can check the host
//! survives it: `panic-process` panics on every tile, `panic-new` while being built.

use infty_sdk::{FieldMut, FieldRef, ItemSpec, Operator, Params, PluginError};

/// Panics in `process`.
pub struct PanicProcess;

impl Operator for PanicProcess {
    fn spec() -> ItemSpec {
        ItemSpec::operator("panic-process", "Panics on every tile (test plugin)")
    }

    fn new(_params: &Params) -> Result<Self, PluginError> {
        Ok(PanicProcess)
    }

    fn process(&self, _input: FieldRef<'_>, _output: FieldMut<'_>) -> Result<(), PluginError> {
        panic!("deliberate test panic in process")
    }
}

/// Panics in `new`.
pub struct PanicNew;

impl Operator for PanicNew {
    fn spec() -> ItemSpec {
        ItemSpec::operator("panic-new", "Panics while being built (test plugin)")
    }

    fn new(_params: &Params) -> Result<Self, PluginError> {
        panic!("deliberate test panic in new")
    }

    fn process(&self, _input: FieldRef<'_>, _output: FieldMut<'_>) -> Result<(), PluginError> {
        Ok(())
    }
}

infty_sdk::export_plugin! {
    id: "org.infty.test.faulty",
    version: env!("CARGO_PKG_VERSION"),
    operators: [PanicProcess, PanicNew],
}
