//! The macOS backend: a Seatbelt profile generated from the same [`Policy`] as the
//! Linux plan, run with `/usr/bin/sandbox-exec`.
//!
//! Almost all of it is platform-independent and tested on Linux: profile generation
//! ([`profile::generate`], a pure function), glob→regex conversion ([`glob`]), the
//! `sandbox-exec` command line and environment ([`mod@launch`]), and parsing of the
//! unified log's sandbox denials ([`monitor`]). Only `run` starts processes; it is
//! compiled (type-checked) on every Unix but exported on macOS alone.
//!
//! [`Policy`]: crate::policy::Policy

pub mod base;
pub mod escape;
pub mod fs;
pub mod glob;
pub mod launch;
pub mod mandatory;
pub mod monitor;
pub mod net;
pub mod paths;
pub mod profile;
pub mod sbpl;

#[cfg(unix)]
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod run;

#[cfg(target_os = "macos")]
pub use run::{run, RunOptions};

pub use launch::{launch, Launch, SANDBOX_EXEC};
pub use monitor::Violation;
pub use profile::{generate, LogTag, Profile, ProfileOptions};

/// Why a profile could not be generated or a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum MacosError {
    /// A path or name holds a control character; it cannot be put in a profile safely.
    #[error("{text:?} contains control character U+{code:04X}; such paths cannot be expressed in a Seatbelt profile")]
    ControlCharacter { text: String, code: u32 },
    /// The log tag must be plain ASCII so it can be quoted in log predicates.
    #[error("log tag {0:?} must be 1-64 characters of A-Z, a-z, 0-9 and _")]
    BadLogTag(String),
    /// The policy has a network section but no proxy port was given.
    #[error("the policy allows network access through the proxy, but no proxy port was given")]
    MissingProxyPort,
    /// The policy asks for something Seatbelt cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// A host operation failed while starting a run.
    #[error("{step}: {source}")]
    Io {
        step: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<MacosError> for crate::error::Error {
    fn from(e: MacosError) -> Self {
        crate::error::Error::SetupMsg(format!("macOS sandbox: {e}"))
    }
}
