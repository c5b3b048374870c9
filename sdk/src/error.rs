//! The one error type that crosses the plugin boundary.

use std::fmt;

use abi_stable::std_types::{ROption, RString, RVec};
use abi_stable::StableAbi;

/// Who is at fault, which decides the host's exit code.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter value is wrong (exit code 2).
    InvalidParam,
    /// The input data cannot be processed as given (exit code 2).
    InvalidInput,
    /// The request is valid but this plugin does not support it (exit code 2).
    Unsupported,
    /// The user or the host asked to stop (exit code 130).
    Cancelled,
    /// Something failed while running (exit code 1).
    Failed,
    /// The plugin panicked; the SDK caught it at the boundary (exit code 1).
    Panicked,
}

/// An error returned by a plugin: what is wrong, which parameter, and what to do.
///
/// The host adds the item and plugin context when it reports it, so `message`
/// should not repeat the item name.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PluginError {
    /// Who is at fault.
    pub kind: ErrorKind,
    /// One sentence saying what is wrong.
    pub message: RString,
    /// The parameter at fault, without leading dashes.
    pub param: ROption<RString>,
    /// What the user can do about it.
    pub help: ROption<RString>,
    /// Lower-level causes, outermost first.
    pub causes: RVec<RString>,
}

impl PluginError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: RString::from(message.into()),
            param: ROption::RNone,
            help: ROption::RNone,
            causes: RVec::new(),
        }
    }

    /// A bad value for parameter `param`.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParam, message).with_param(param)
    }

    /// Input data that cannot be processed.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A valid request this plugin does not support.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A failure while running.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// Names the parameter at fault.
    pub fn with_param(mut self, param: &str) -> Self {
        self.param = ROption::RSome(param.into());
        self
    }

    /// Adds advice on what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = ROption::RSome(RString::from(help.into()));
        self
    }

    /// Appends a lower-level cause.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.causes.push(cause.to_string().into());
        self
    }

    /// True when the caller, not the plugin, is at fault.
    pub fn is_usage_error(&self) -> bool {
        matches!(self.kind, ErrorKind::InvalidParam | ErrorKind::InvalidInput | ErrorKind::Unsupported)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let ROption::RSome(param) = &self.param {
            write!(f, "param '{param}': ")?;
        }
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_param_and_causes() {
        let e = PluginError::invalid_param("sigma", "must be > 0, got -1").with_cause("parse");
        assert_eq!(e.to_string(), "param 'sigma': must be > 0, got -1: parse");
        assert!(e.is_usage_error());
        assert!(!PluginError::failed("x").is_usage_error());
    }
}
