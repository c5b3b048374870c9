//! The `Task` kind: a job run from the command line that drives other plugins through
//! the host ([`crate::host`]): training, super-resolution, inpainting.
//!
//! `infty <task> ARG... [--param v]...`: the parameters without a default may be given
//! positionally, in the order the task declares them (`infty train photos/ runs/a`).
//!
//! ```
//! use infty_sdk::{ItemSpec, ParamSpec, Params, PluginError, Task};
//!
//! /// Prints the size of an image.
//! pub struct Size;
//!
//! impl Task for Size {
//!     fn spec() -> ItemSpec {
//!         ItemSpec::task("size", "Print an image's size").param(ParamSpec::path("image", "the image"))
//!     }
//!     fn run(params: &Params) -> Result<(), PluginError> {
//!         let image = infty_sdk::host::open_image(params.text("image")?)?;
//!         let info = image.info();
//!         println!("{} x {}", info.width, info.height);
//!         Ok(())
//!     }
//! }
//! ```

use crate::{ItemKind, ItemSpec, Params, PluginError};

/// A job, written with plain Rust types.
pub trait Task: 'static {
    /// The declaration; build it with [`ItemSpec::task`].
    fn spec() -> ItemSpec;

    /// Runs the job with checked parameters. A long job polls
    /// [`host::interrupted`](crate::host::interrupted) and stops cleanly when it is set.
    fn run(params: &Params) -> Result<(), PluginError>;
}

impl ItemSpec {
    /// A task named `name`.
    pub fn task(name: &str, summary: &str) -> Self {
        let mut spec = Self::operator(name, summary);
        spec.kind = ItemKind::Task;
        spec
    }
}
