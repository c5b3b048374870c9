//! Images the host opens for plugins ([`crate::host::open_image`]): any window of a
//! PNG, JPEG or TIFF file on demand. TIFF and BigTIFF are read lazily, chunk by chunk,
//! so a task can take crops of a gigapixel image in bounded memory.

// `#[sabi_trait]` expands to impls that rustc's non_local_definitions lint flags.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult};

use crate::{FieldMut, PluginError, RasterInfo, Window};

/// An opened image; implemented by the host.
#[sabi_trait]
pub trait ImageFfi: Send + Sync {
    /// Its size and channels; samples are normalised to [0, 1] for integer files.
    fn info(&self) -> RasterInfo;
    /// Fills `out` with `window`, which must lie inside the image.
    #[sabi(last_prefix_field)]
    fn read(&self, window: Window, out: FieldMut<'_>) -> RResult<(), PluginError>;
}

/// An opened image owned by the plugin.
pub type ImageBox = ImageFfi_TO<'static, RBox<()>>;
