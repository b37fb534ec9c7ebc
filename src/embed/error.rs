//! What can go wrong when the library starts a sandbox.

use crate::linux::report::Floor;
use std::path::PathBuf;

/// Why [`Command::spawn`](super::Command::spawn) (or one of its siblings) failed.
/// Nothing ran in the sandbox when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// No helper binary was found.
    #[error("srt-runc helper not found (looked for: {}); install srt-runc next to this program or on PATH, or name it with Sandbox::helper", show(.looked_for))]
    HelperNotFound { looked_for: Vec<PathBuf> },

    /// The helper binary is not a compatible srt-runc.
    #[error("{}: not a compatible srt-runc helper: expected protocol {expected_protocol} version {expected_version}, found {found}; install the srt-runc built with this library", .path.display())]
    HelperMismatch {
        path: PathBuf,
        expected_protocol: u32,
        expected_version: String,
        found: String,
    },

    /// The helper could not be started.
    #[error("starting the srt-runc helper {}: {source}", .path.display())]
    Helper {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A required layer ([`Sandbox::require`](super::Sandbox::require)) is not in force.
    #[error("required layer '{}' cannot be enforced: {reason}; the command was not started", .layer.name())]
    Floor { layer: Floor, reason: String },

    /// The policy or the command is invalid.
    #[error("invalid sandbox policy: {0}")]
    Policy(String),

    /// The program was not found inside the sandbox.
    #[error("{0}")]
    NotFound(String),

    /// The program exists but cannot be executed.
    #[error("{0}")]
    NotExecutable(String),

    /// The host refused a setup step.
    #[error("the sandbox could not be set up: {0}")]
    Setup(String),

    /// Talking to the helper failed.
    #[error("srt-runc helper: {0}")]
    Io(#[from] std::io::Error),
}

fn show(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
