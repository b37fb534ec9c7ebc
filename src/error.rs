//! Error types shared by the front-ends and the engine.
//!
//! Every error renders as one line that names the file, field or path involved and,
//! where there is one, the fix. The CLI prints `srt-runc: <error>` and maps the
//! variant to the documented exit status (see [`Error::exit_code`]).

use std::path::PathBuf;

/// Everything that can stop a sandbox from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is wrong: a file could not be read or parsed, or a field is invalid.
    #[error("{file}: {field}: {message}")]
    Config {
        file: String,
        field: String,
        message: String,
    },

    /// A configuration error whose text already names the field.
    #[error("{file}: {text}")]
    ConfigText { file: String, text: String },

    /// An srt settings file is unusable; srt exits 1 for these, and so do we.
    #[error("{file}: {text}")]
    Settings { file: String, text: String },

    /// The host refused a step of the sandbox setup.
    #[error("{step}: {source}")]
    Setup {
        step: String,
        #[source]
        source: std::io::Error,
    },

    /// A setup step failed for a reason that is not a plain errno.
    #[error("{0}")]
    SetupMsg(String),

    /// The command could not be found inside the sandbox (exit 127).
    #[error("exec {program:?}: {reason}")]
    NotFound { program: String, reason: String },

    /// The command exists but cannot be executed (exit 126).
    #[error("exec {program:?}: {reason}")]
    NotExecutable { program: String, reason: String },

    /// The sandbox init reported a failure with its own exit status.
    #[error("{message}")]
    Reported { code: i32, message: String },

    /// A layer the caller required (`--require`, the library's floor) is not in force;
    /// the command was not started.
    #[error("required layer '{layer}' cannot be enforced: {reason}; refusing to run")]
    Floor { layer: String, reason: String },

    /// Bad command-line usage.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Builds a configuration error for `field` of `file`.
    pub fn config(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Wraps an errno-carrying failure of one setup step.
    pub fn setup(step: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Error::Setup {
            step: step.into(),
            source: source.into(),
        }
    }

    /// The process exit status the CLI uses for this error (DESIGN.md section 5).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } => 127,
            Error::NotExecutable { .. } => 126,
            Error::Reported { code, .. } => *code,
            Error::Settings { .. } => 1,
            Error::Usage(_) => 125,
            _ => 125,
        }
    }
}

/// Adds step context to `nix` and `std::io` results.
pub trait Context<T> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, nix::Error> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|e| Error::setup(step(), std::io::Error::from(e)))
    }
}

impl<T> Context<T> for Result<T, std::io::Error> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|e| Error::setup(step(), e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Renders a path for messages.
pub fn show(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// A path that must be absolute after resolution; used in messages.
pub type AbsPath = PathBuf;
