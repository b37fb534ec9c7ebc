//! The runc-compatible OCI lifecycle: `create`, `start`, `state`, `kill`, `delete`,
//! `list`, plus `spec` and `features`.
//!
//! Callers (podman through conmon, the containerd shim, conformance harnesses) match
//! our error *text* and parse our JSON, so messages and shapes follow runc 1.1.5 (see
//! `reference/oci-runtime-cli.md`). Every error here makes the CLI exit 1.

#[cfg(target_os = "linux")]
pub mod cgroup_cmds;
#[cfg(target_os = "linux")]
pub mod console;
#[cfg(target_os = "linux")]
pub mod exec_cmd;
#[cfg(target_os = "linux")]
pub mod hooks;
#[cfg(target_os = "linux")]
pub mod lifecycle;
#[cfg(target_os = "linux")]
pub mod spec_cmd;
#[cfg(target_os = "linux")]
pub mod state;
pub mod time;

/// The runtime-spec version srt-runc implements (state JSON, `spec`, `features`, `--version`).
pub const OCI_VERSION: &str = "1.0.2";

/// Lifecycle errors; the `Display` text of the runc-compatible ones is what callers match.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// containerd and podman look for "does not exist".
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    AlreadyExists,
    #[error("invalid container id {0:?}: use letters, digits, '_', '.', '+' and '-' (not \".\" or \"..\")")]
    InvalidId(String),
    #[error("cannot start an already running container")]
    AlreadyRunning,
    #[error("cannot start a container that has stopped")]
    StartStopped,
    /// containerd's `checkKillError` maps this to "process already finished".
    #[error("container not running")]
    NotRunning,
    /// runc exits 255 for this one (observed), not 1.
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error("cannot delete container {0} that is not stopped: {1}")]
    DeleteNotStopped(String, &'static str),
    /// Rendered as Go's errors read (`open x: no such file or directory`): podman maps
    /// those exact phrases to exit codes 126/127.
    #[error("{step}: {}", go_style(.source))]
    Io {
        step: String,
        #[source]
        source: std::io::Error,
    },
    /// The policy/plan/engine failed (bad bundle, setup step refused, command missing).
    #[error(transparent)]
    Engine(#[from] crate::error::Error),
    #[error("{0}")]
    Other(String),
}

/// An OS error as Go prints it: lower-case, without Rust's "(os error N)".
pub fn go_style(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl OciError {
    pub fn io(step: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        OciError::Io {
            step: step.into(),
            source: source.into(),
        }
    }
}
