//! Host errors and the exit codes they map to: 0 ok, 1 failure while running,
//! 2 bad usage or bad input, 128 + the signal when stopped by one (130 Ctrl-C, 143 SIGTERM).

use infty_sdk::{ErrorKind, PluginError};

/// Everything that can go wrong in a host command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong.
    #[error("{message}")]
    Usage { message: String, help: Option<String> },
    /// An input file or stream cannot be used.
    #[error("{message}")]
    Input { message: String, help: Option<String> },
    /// A plugin returned an error; `context` names the item and plugin.
    #[error("{context} {source}")]
    Plugin { context: String, source: PluginError },
    /// Something failed while running (I/O, an output that cannot be written).
    #[error("{message}")]
    Failed { message: String, help: Option<String> },
}

/// Result with the host error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A command-line mistake.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage { message: message.into(), help: None }
    }

    /// Unusable input.
    pub fn input(message: impl Into<String>) -> Self {
        Error::Input { message: message.into(), help: None }
    }

    /// A failure while running.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed { message: message.into(), help: None }
    }

    /// Adds advice on what to do.
    pub fn with_help(self, text: impl Into<String>) -> Self {
        let help = Some(text.into());
        match self {
            Error::Usage { message, .. } => Error::Usage { message, help },
            Error::Input { message, .. } => Error::Input { message, help },
            Error::Failed { message, .. } => Error::Failed { message, help },
            Error::Plugin { context, source } => {
                Error::Plugin { context, source: PluginError { help: help.map(Into::into).into(), ..source } }
            }
        }
    }

    /// What the user can do about it, if anything is known.
    pub fn help(&self) -> Option<&str> {
        match self {
            Error::Usage { help, .. } | Error::Input { help, .. } | Error::Failed { help, .. } => {
                help.as_deref()
            }
            Error::Plugin { source, .. } => source.help.as_ref().map(|h| h.as_str()).into_option(),
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } | Error::Input { .. } => 2,
            Error::Plugin { source, .. } if source.is_usage_error() => 2,
            Error::Plugin { source, .. } if source.kind == ErrorKind::Cancelled => {
                crate::interrupt::exit_code() as u8
            }
            Error::Plugin { .. } | Error::Failed { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_who_is_at_fault() {
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::input("x").exit_code(), 2);
        assert_eq!(Error::failed("x").exit_code(), 1);
        let plugin = |kind| Error::Plugin { context: "op:".into(), source: PluginError::new(kind, "m") };
        assert_eq!(plugin(ErrorKind::InvalidParam).exit_code(), 2);
        assert_eq!(plugin(ErrorKind::Panicked).exit_code(), 1);
        assert_eq!(plugin(ErrorKind::Cancelled).exit_code(), 130);
        assert_eq!(plugin(ErrorKind::Failed).to_string(), "op: m");
    }
}
