//! Parameters declared once: [`settings!`](crate::settings!) writes a plugin's settings
//! struct, the [`ParamSpec`]s it is made of (what `infty help`, the command line and
//! validation are generated from) and its reading from checked [`Params`], from one
//! list of fields.
//!
//! ```
//! use infty_sdk::{ItemSpec, ParamSpec};
//!
//! infty_sdk::settings! {
//!     /// What `blur` is set up with.
//!     pub struct BlurSettings {
//!         pub sigma: f64 = ParamSpec::float("sigma", "σ in pixels").default_float(1.0).greater_than(0.0),
//!         pub passes: u32 = ParamSpec::int("passes", "how many times").default_int(1).at_least(1.0),
//!     }
//! }
//!
//! let spec = ItemSpec::operator("blur", "Blur").with_params(BlurSettings::params());
//! let settings = BlurSettings::from_params(&spec.resolve([("passes", "3")]).unwrap()).unwrap();
//! assert_eq!((settings.sigma, settings.passes), (1.0, 3));
//! ```

use crate::{Params, PluginError};

/// A value read from a checked parameter; implement it for a plugin's own types (a
/// choice read as an enum, a file found by name).
pub trait FromParam: Sized {
    /// The value of parameter `name`.
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError>;
}

impl FromParam for f64 {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        params.float(name)
    }
}

impl FromParam for i64 {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        params.int(name)
    }
}

impl FromParam for u64 {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        let value = params.int(name)?;
        u64::try_from(value)
            .map_err(|_| PluginError::invalid_param(name, format!("must be >= 0, got {value}")))
    }
}

impl FromParam for u32 {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        let value = params.int(name)?;
        u32::try_from(value).map_err(|_| {
            PluginError::invalid_param(name, format!("must lie in 0..={}, got {value}", u32::MAX))
        })
    }
}

impl FromParam for bool {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        params.bool(name)
    }
}

impl FromParam for String {
    fn from_param(params: &Params, name: &str) -> Result<Self, PluginError> {
        params.text(name).map(str::to_string)
    }
}

/// Declares a settings struct whose every field is one parameter: `field: Type =
/// ParamSpec expression`, in the order help lists them. Writes the struct (attributes
/// and docs kept), `params()` (the specs) and `from_params(&Params)` (each field read
/// with [`FromParam`] under its spec's name). See the [module docs](crate::settings).
#[macro_export]
macro_rules! settings {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_attr:meta])*
                $field_vis:vis $field:ident : $ty:ty = $spec:expr
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $( $(#[$field_attr])* $field_vis $field: $ty, )*
        }

        impl $name {
            /// The parameters these settings are made of, in the order help lists them.
            $vis fn params() -> ::std::vec::Vec<$crate::ParamSpec> {
                ::std::vec![$($spec),*]
            }

            /// The settings from parameters checked against [`Self::params`].
            $vis fn from_params(
                params: &$crate::Params,
            ) -> ::std::result::Result<Self, $crate::PluginError> {
                let mut specs = Self::params().into_iter();
                ::std::result::Result::Ok(Self {
                    $($field: {
                        let spec = specs.next().expect("one parameter per field");
                        <$ty as $crate::settings::FromParam>::from_param(params, spec.name.as_str())?
                    },)*
                })
            }
        }
    };
}
